"""SQS probes: send only to a sentinel queue; read one attribute of the API's real queue.

A message sent to the API's own queue would be consumed by its workers, so `sqs:SendMessage` is
proven on a *sentinel* queue that `provision` creates with the shortest retention SQS allows
(60 s) and no consumer: each probe leaves one small message there that expires within a minute.
Name the sentinel so that the statement granting the real queue also covers it (e.g. real queue
`orders-dev`, policy resource `arn:aws:sqs:*:*:orders-dev*`, sentinel `orders-dev-permission-canary`);
otherwise the probe is honestly DENIED for a queue the policy never meant.
`sqs:GetQueueAttributes` on the real queue (attribute `QueueArn` only) proves it exists and is
reachable with the role, and returns no message data.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import field_validator, model_validator

from canary.probes import Call, ProbeParams, Target, need, register, sentinel_only

__all__ = ["SqsSentinelProbe", "SqsQueueProbe", "queue_url", "MESSAGE_BODY", "RETENTION_S"]

_STANDARD = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ANY_QUEUE = re.compile(r"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$")
RETENTION_S = 60
MESSAGE_BODY = "chalice-permission-canary probe message; nothing consumes it and it expires in 60 s"
_DNS = {"aws-cn": "amazonaws.com.cn"}


def _queue_name(v: str, pattern: re.Pattern[str]) -> str:
    if v.endswith(".fifo") and pattern is _STANDARD:
        raise ValueError(f"{v!r} is a FIFO queue name; the sentinel must be a standard queue (drop '.fifo')")
    if not pattern.match(v):
        raise ValueError(f"{v!r} is not an SQS queue name (up to 80 letters, digits, '-' or '_'); give the "
                         "name, not a URL or ARN: the probe builds the URL from the account and region")
    return v


def queue_url(name: str, t: Target) -> str:
    """The queue's URL, built from its name (SQS routes by the URL in the request)."""
    return f"https://sqs.{t.region}.{_DNS.get(t.partition, 'amazonaws.com')}/{t.account}/{name}"


class SqsSentinelProbe(ProbeParams):
    """The sentinel queue, created by `provision` (a standard queue; FIFO names are refused)."""

    sentinel_queue: str

    @model_validator(mode="before")
    @classmethod
    def _never_the_api_queue(cls, data: Any) -> Any:
        return sentinel_only(data, "queue", "sentinel_queue",
                             "sqs:SendMessage sends only to a sentinel queue (a message on the API's queue would "
                             "reach its workers): name it in 'sentinel_queue' and create it with `permission-canary "
                             "provision`; 'queue' belongs to sqs:GetQueueAttributes")

    @field_validator("sentinel_queue")
    @classmethod
    def _name(cls, v: str) -> str:
        return _queue_name(v, _STANDARD)

    def resource_name(self) -> str:
        return self.sentinel_queue


class SqsQueueProbe(ProbeParams):
    """The API's real queue, by name (a FIFO queue's name ends in `.fifo`)."""

    queue: str

    @field_validator("queue")
    @classmethod
    def _name(cls, v: str) -> str:
        return _queue_name(v, _ANY_QUEUE)

    def resource_name(self) -> str:
        return self.queue


@register("sqs:SendMessage", SqsSentinelProbe, services=("sqs",))
def send_message(p: SqsSentinelProbe, t: Target) -> Call:
    return Call(action=p.action, service="sqs", operation="send_message",
                params={"QueueUrl": queue_url(p.sentinel_queue, t), "MessageBody": MESSAGE_BODY},
                resource=t.arn("sqs", p.sentinel_queue),
                expect=(need("MessageId"), need("MD5OfMessageBody", hashlib.md5(MESSAGE_BODY.encode()).hexdigest())),
                why_harmless="sends one small message to the canary's sentinel queue only, never the API's "
                             "queue (its workers would consume it); the sentinel has no consumer and keeps "
                             "messages 60 s")


@register("sqs:GetQueueAttributes", SqsQueueProbe, services=("sqs",))
def get_queue_attributes(p: SqsQueueProbe, t: Target) -> Call:
    return Call(action=p.action, service="sqs", operation="get_queue_attributes",
                params={"QueueUrl": queue_url(p.queue, t), "AttributeNames": ["QueueArn"]},
                resource=t.arn("sqs", p.queue), expect=(need("Attributes.QueueArn"),),
                why_harmless="reads one attribute (QueueArn) of the API's queue: no message is sent, "
                             "received or changed")
