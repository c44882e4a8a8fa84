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

from pydantic import Field

from canary.probes import Call, ProbeParams, Target, register

__all__ = ["SqsSentinelProbe", "SqsQueueProbe", "queue_url", "MESSAGE_BODY", "RETENTION_S", "QUEUE_NAME"]

QUEUE_NAME = r"^[A-Za-z0-9_-]{1,80}$"
RETENTION_S = 60
MESSAGE_BODY = "chalice-permission-canary probe message; nothing consumes it and it expires in 60 s"
_DNS = {"aws-cn": "amazonaws.com.cn"}


def queue_url(name: str, t: Target) -> str:
    """The queue's URL, built from its name (SQS routes by the URL in the request)."""
    return f"https://sqs.{t.region}.{_DNS.get(t.partition, 'amazonaws.com')}/{t.account}/{name}"


class SqsSentinelProbe(ProbeParams):
    """The sentinel queue, created by `provision` (a standard queue; FIFO names are refused)."""

    sentinel_queue: str = Field(pattern=QUEUE_NAME)

    def resource_name(self) -> str:
        return self.sentinel_queue


class SqsQueueProbe(ProbeParams):
    """The API's real queue, by name (a FIFO queue's name ends in `.fifo`)."""

    queue: str = Field(pattern=r"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$")

    def resource_name(self) -> str:
        return self.queue


@register("sqs:SendMessage", SqsSentinelProbe, services=("sqs",))
def send_message(p: SqsSentinelProbe, t: Target) -> Call:
    return Call(action=p.action, service="sqs", operation="send_message",
                params={"QueueUrl": queue_url(p.sentinel_queue, t), "MessageBody": MESSAGE_BODY},
                resource=t.arn("sqs", p.sentinel_queue),
                why_harmless="sends one small message to the canary's sentinel queue only, never the API's "
                             "queue (its workers would consume it); the sentinel has no consumer and keeps "
                             "messages 60 s")


@register("sqs:GetQueueAttributes", SqsQueueProbe, services=("sqs",))
def get_queue_attributes(p: SqsQueueProbe, t: Target) -> Call:
    return Call(action=p.action, service="sqs", operation="get_queue_attributes",
                params={"QueueUrl": queue_url(p.queue, t), "AttributeNames": ["QueueArn"]},
                resource=t.arn("sqs", p.queue),
                why_harmless="reads one attribute (QueueArn) of the API's queue: no message is sent, "
                             "received or changed")
