"""Create what the probes need to stay harmless: the S3 sentinel object, the sentinel queue and topic.

The S3 probes are only unambiguous while their sentinel object exists (a missing key without
`s3:ListBucket` answers 403, like a denial), and the SQS/SNS probes must never send to the API's
own queue or topic. `provision_sentinels` makes those targets exist, idempotently: run it as often
as you like; it creates what is missing and keeps what is there, never overwriting the sentinel
object (it writes it with `If-None-Match: *`) and never deleting anything. The deploy command's
`provision` calls it with the deployer's credentials, not the API's role.
"""

from __future__ import annotations

from typing import Any

from canary.config import CanaryConfig
from canary.errors import CanaryError
from canary.probes import ProbeParams
from canary.probes.s3 import SENTINEL_BODY, SENTINEL_CONTENT_TYPE, S3ObjectProbe
from canary.probes.sns import SnsSentinelProbe
from canary.probes.sqs import RETENTION_S, SqsSentinelProbe

__all__ = ["provision_sentinels", "SentinelError", "SENTINEL_TAG"]

SENTINEL_TAG = {"permission-canary": "sentinel"}


class SentinelError(CanaryError):
    """A sentinel could not be created or checked; the message names the probe and the resource."""


def _error(exc: Exception) -> dict[str, Any]:
    response = getattr(exc, "response", None)
    err = response.get("Error") if isinstance(response, dict) else None
    return err if isinstance(err, dict) else {}


def _code(exc: Exception) -> str:
    return str(_error(exc).get("Code") or "")


def _fail(probe: ProbeParams, what: str, exc: Exception) -> SentinelError:
    from canary.classify import classify_exception  # unwraps moto's shape like the runner does

    v = classify_exception(exc)
    return SentinelError(f"probe {probe.probe_id} ({probe.action}): cannot provision {what}: "
                         f"{v.error_code}: {v.message}")


def _s3_object(s3: Any, p: S3ObjectProbe) -> str:
    where = f"s3://{p.bucket}/{p.object_key}"
    try:
        s3.put_object(Bucket=p.bucket, Key=p.object_key, Body=SENTINEL_BODY, ContentType=SENTINEL_CONTENT_TYPE,
                      IfNoneMatch="*")
    except Exception as exc:  # noqa: BLE001 - classified just below
        if _code(exc) == "PreconditionFailed":
            return f"kept S3 sentinel object {where} (already there; left unchanged)"
        raise _fail(p, f"the S3 sentinel object {where}", exc) from None
    return f"created S3 sentinel object {where}"


def _sqs_queue(sqs: Any, p: SqsSentinelProbe) -> str:
    name = p.sentinel_queue
    retention = str(RETENTION_S)
    try:
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except Exception as exc:  # noqa: BLE001
            if _code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise
        else:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
            if attrs.get("MessageRetentionPeriod") == retention:
                return f"kept SQS sentinel queue {name} (retention {RETENTION_S} s)"
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": retention})
            return f"kept SQS sentinel queue {name} (retention set to {RETENTION_S} s)"
        sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": retention}, tags=SENTINEL_TAG)
    except SentinelError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(p, f"the SQS sentinel queue {name}", exc) from None
    return f"created SQS sentinel queue {name} (retention {RETENTION_S} s, no consumer)"


def _sns_topic(sns: Any, p: SnsSentinelProbe, region: str, account: str, partition: str) -> str:
    name = p.sentinel_topic
    arn = f"arn:{partition}:sns:{region}:{account}:{name}"
    try:
        try:
            sns.get_topic_attributes(TopicArn=arn)
            existed = True
        except Exception as exc:  # noqa: BLE001
            if _code(exc) != "NotFound":
                raise
            existed = False
        if not existed:
            arn = sns.create_topic(Name=name, Tags=[{"Key": k, "Value": v} for k, v in SENTINEL_TAG.items()])["TopicArn"]
        subs = sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
    except Exception as exc:  # noqa: BLE001
        raise _fail(p, f"the SNS sentinel topic {name}", exc) from None
    line = f"{'kept' if existed else 'created'} SNS sentinel topic {name}"
    if subs:
        return (f"{line} - WARNING: it has {len(subs)} subscription(s); every sns:Publish probe reaches them. "
                "Remove them, or point the probe at a topic nobody subscribes to")
    return f"{line} (no subscribers)"


def provision_sentinels(config: CanaryConfig, session: Any, *, endpoint_url: str | None = None) -> list[str]:
    """Create the sentinels the config's probes need (idempotent); one line per sentinel, created or kept.

    Raises SentinelError naming the probe and the resource when a sentinel cannot be made (e.g. the
    bucket does not exist, or the deployer may not write to it).
    """
    lines: list[str] = []
    seen: set[tuple[str, ...]] = set()
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint_url)
        return clients[service]

    identity: tuple[str, str] | None = None
    for probe in config.probes:
        if isinstance(probe, S3ObjectProbe):
            key: tuple[str, ...] = ("s3", probe.bucket, probe.object_key)
            if key not in seen:
                seen.add(key)
                lines.append(_s3_object(client("s3"), probe))
        elif isinstance(probe, SqsSentinelProbe):
            key = ("sqs", probe.sentinel_queue)
            if key not in seen:
                seen.add(key)
                lines.append(_sqs_queue(client("sqs"), probe))
        elif isinstance(probe, SnsSentinelProbe):
            key = ("sns", probe.sentinel_topic)
            if key not in seen:
                seen.add(key)
                if identity is None:
                    try:
                        arn = client("sts").get_caller_identity()["Arn"]
                    except Exception as exc:  # noqa: BLE001
                        raise _fail(probe, "the SNS sentinel topic (sts:GetCallerIdentity failed)", exc) from None
                    identity = (arn.split(":")[4], arn.split(":")[1])
                account, partition = identity
                sns = client("sns")
                lines.append(_sns_topic(sns, probe, sns.meta.region_name, account, partition))
    return lines
