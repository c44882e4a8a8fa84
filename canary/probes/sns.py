"""SNS probe: publish only to a sentinel topic that has no subscribers.

A publish to the API's own topic would reach its subscribers (emails, queues, functions), so
`sns:Publish` is proven on a *sentinel* topic that `provision` creates without subscriptions: the
message is accepted, billed as one publish, and delivered to nobody. Name the sentinel so that the
statement granting the API's topic also covers it (e.g. resource `arn:aws:sns:*:*:events-dev*`,
sentinel `events-dev-permission-canary`); otherwise the probe is honestly DENIED.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator, model_validator

from canary.probes import Call, ProbeParams, Target, need, register, sentinel_only

__all__ = ["SnsSentinelProbe", "MESSAGE", "SUBJECT"]

SUBJECT = "permission canary probe"
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MESSAGE = "chalice-permission-canary probe message to its sentinel topic; it has no subscribers"


class SnsSentinelProbe(ProbeParams):
    """The sentinel topic, by name, created by `provision` (a standard topic; FIFO names are refused)."""

    sentinel_topic: str

    @model_validator(mode="before")
    @classmethod
    def _never_the_api_topic(cls, data: Any) -> Any:
        return sentinel_only(data, "topic", "sentinel_topic",
                             "sns:Publish publishes only to a sentinel topic (a message on the API's topic would "
                             "reach its subscribers): name it in 'sentinel_topic' and create it with "
                             "`permission-canary provision`")

    @field_validator("sentinel_topic")
    @classmethod
    def _name(cls, v: str) -> str:
        if v.endswith(".fifo"):
            raise ValueError(f"{v!r} is a FIFO topic name; the sentinel must be a standard topic (drop '.fifo')")
        if not _TOPIC.match(v):
            raise ValueError(f"{v!r} is not an SNS topic name (up to 256 letters, digits, '-' or '_'); give the "
                             "name, not an ARN: the probe builds the ARN from the account and region")
        return v

    def resource_name(self) -> str:
        return self.sentinel_topic


@register("sns:Publish", SnsSentinelProbe, services=("sns",))
def publish(p: SnsSentinelProbe, t: Target) -> Call:
    arn = t.arn("sns", p.sentinel_topic)
    return Call(action=p.action, service="sns", operation="publish",
                params={"TopicArn": arn, "Subject": SUBJECT, "Message": MESSAGE},
                resource=arn, expect=(need("MessageId"),),
                why_harmless="publishes to the canary's sentinel topic only, never the API's topic (its "
                             "subscribers would receive it); the sentinel has no subscribers")
