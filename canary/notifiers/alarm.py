"""Parse the CloudWatch alarm message that SNS delivers, into the few facts a notification needs.

CloudWatch sends two shapes: a single-metric `Trigger` (`MetricName`, `Namespace`, `Dimensions`)
and a metric-math `Trigger` (`Metrics[]`, each maybe with `MetricStat.Metric`). Which canary alarm
fired is read from the metric it watches, falling back to the alarm-name suffix, because names are
user-editable and metrics are the contract (DESIGN.md "Alarms"). Anything unparseable raises
`AlarmMessageError`, which the handler logs and acknowledges: a malformed message must never
become a Lambda crash loop.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from canary.errors import CanaryError

__all__ = ["Alarm", "AlarmMessageError", "KINDS", "STATES", "REGION_NAME", "parse_alarm", "alarm_from_dict",
           "canary_kind", "partition_of"]

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
# alarm kind -> the metric it watches (DESIGN.md "Metrics") and the alarm-name suffix the deploy tools use.
KINDS: dict[str, tuple[str, str]] = {
    "denied": ("ProbesDenied", "-denied"),
    "errors": ("ProbesErrored", "-errors"),
    "heartbeat": ("ProbesRun", "-heartbeat"),
}
# AWS region names in every partition: us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1,
# us-isob-east-1, eu-isoe-west-1, us-isof-south-1, ap-southeast-7, mx-central-1 ... Only a name that
# matches becomes part of a console link (or an AWS client's region); anything else gives no link.
REGION_NAME = re.compile(r"\A[a-z]{2}(?:-(?:gov|iso[a-z]?))?-[a-z]{2,10}-[0-9]{1,2}\Z")
_KIND_BY_METRIC = {metric: kind for kind, (metric, _) in KINDS.items()}


class AlarmMessageError(CanaryError):
    """The SNS message is not a CloudWatch alarm state change we can read; the message says why."""


@dataclass(frozen=True)
class Alarm:
    """One alarm state change, as much as a notification needs of it."""

    name: str
    state: str
    old_state: str | None = None
    reason: str | None = None
    description: str | None = None
    changed_at: str | None = None
    arn: str | None = None
    region: str | None = None
    account: str | None = None
    partition: str = "aws"
    kind: str = "unknown"
    metric: str | None = None
    namespace: str | None = None
    stage: str | None = None
    periods: int | None = None
    period_s: int | None = None
    # True only for a one-metric Trigger (what `template`/`provision` create); metric math and
    # composite alarms are False. `dimensions` are that metric's.
    single_metric: bool = False
    dimensions: tuple[tuple[str, str], ...] = ()


def parse_alarm(message: str) -> Alarm:
    """Read the raw SNS `Message` string (CloudWatch alarm JSON); also accepts a whole SNS event."""
    if not isinstance(message, str) or not message.strip():
        raise AlarmMessageError("the SNS message is empty")
    try:
        data = json.loads(message)
    except ValueError as exc:
        raise AlarmMessageError(f"the SNS message is not JSON ({getattr(exc, 'msg', exc)} at position "
                                f"{getattr(exc, 'pos', '?')})") from None
    except RecursionError:
        raise AlarmMessageError("the SNS message nests too deeply to be a CloudWatch alarm notification") from None
    return alarm_from_dict(data)


def _unwrap_sns(data: Any) -> Any:
    """Accept `{"Records": [{"Sns": {"Message": "..."}}]}` too (what a hand-made test event looks like)."""
    if isinstance(data, dict) and isinstance(data.get("Records"), list) and data["Records"]:
        sns = data["Records"][0].get("Sns") if isinstance(data["Records"][0], dict) else None
        if isinstance(sns, dict) and isinstance(sns.get("Message"), str):
            try:
                return json.loads(sns["Message"])
            except ValueError as exc:
                raise AlarmMessageError(f"Records[0].Sns.Message is not JSON ({exc.msg})") from None
    return data


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def alarm_from_dict(data: Any) -> Alarm:
    """Validate the alarm JSON: `AlarmName` and a known `NewStateValue` are required, the rest optional."""
    try:
        return _alarm_from_dict(data)
    except AlarmMessageError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
        # Fields of the wrong type (a MetricStat that is a number): not what CloudWatch sends.
        raise AlarmMessageError(f"the alarm message has fields of the wrong shape ({type(exc).__name__}); "
                                "CloudWatch never sends this") from None


def _alarm_from_dict(data: Any) -> Alarm:
    data = _unwrap_sns(data)
    if not isinstance(data, dict):
        raise AlarmMessageError(f"the SNS message is JSON but not an object (got {type(data).__name__})")
    name = _str(data, "AlarmName")
    if name is None:
        raise AlarmMessageError("the alarm message has no AlarmName (is this a CloudWatch alarm notification?)")
    state = data.get("NewStateValue")
    if state is None:
        raise AlarmMessageError(f"alarm {name!r}: the message has no NewStateValue")
    if state not in STATES:
        raise AlarmMessageError(f"alarm {name!r}: unknown NewStateValue {str(state)[:40]!r} "
                                f"(expected one of {', '.join(STATES)})")
    trigger = data.get("Trigger") if isinstance(data.get("Trigger"), dict) else {}
    metric, namespace, dims = _metric_of(trigger)
    single = isinstance(trigger.get("MetricName"), str) and not trigger.get("Metrics")
    arn = _str(data, "AlarmArn")
    arn_parts = arn.split(":") if arn else []
    region = arn_parts[3] if len(arn_parts) > 4 and REGION_NAME.match(arn_parts[3]) else None
    partition = arn_parts[1] if len(arn_parts) > 4 and arn_parts[1] else "aws"
    account = _str(data, "AWSAccountId") or (arn_parts[4] if len(arn_parts) > 4 and arn_parts[4] else None)
    periods = trigger.get("EvaluationPeriods")
    period = trigger.get("Period")
    return Alarm(
        name=name, state=state, old_state=_str(data, "OldStateValue"), reason=_str(data, "NewStateReason"),
        description=_str(data, "AlarmDescription"), changed_at=_str(data, "StateChangeTime"), arn=arn,
        region=region, account=account, partition=partition, kind=_kind(metric, name), metric=metric,
        namespace=namespace, stage=dims.get("Stage"),
        periods=periods if isinstance(periods, int) else None,
        period_s=period if isinstance(period, int) else None,
        single_metric=single, dimensions=tuple(sorted(dims.items())),
    )


def _dimensions(raw: Any) -> dict[str, str]:
    """CloudWatch writes `{"name": .., "value": ..}` in SNS messages and `{"Name", "Value"}` in the API."""
    out: dict[str, str] = {}
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict):
            k, v = d.get("name", d.get("Name")), d.get("value", d.get("Value"))
            if isinstance(k, str) and isinstance(v, str):
                out[k] = v
    return out


def _metric_of(trigger: Mapping[str, Any]) -> tuple[str | None, str | None, dict[str, str]]:
    """The watched metric: the single-metric fields, else the canary metric among metric-math inputs."""
    if isinstance(trigger.get("MetricName"), str):
        return trigger["MetricName"], _str(trigger, "Namespace"), _dimensions(trigger.get("Dimensions"))
    found: list[tuple[str, str | None, dict[str, str]]] = []
    metrics = trigger.get("Metrics")
    for m in metrics if isinstance(metrics, list) else []:
        stat = m.get("MetricStat") if isinstance(m, dict) else None
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if isinstance(metric, dict) and isinstance(metric.get("MetricName"), str):
            found.append((metric["MetricName"], _str(metric, "Namespace"), _dimensions(metric.get("Dimensions"))))
    known = [f for f in found if f[0] in _KIND_BY_METRIC]
    if len({f[0] for f in known}) == 1:
        return known[0]
    # Several canary metrics (or none) in one expression: report the first, let the name decide the kind.
    if found:
        first = known[0] if known else found[0]
        return (None if len(known) > 1 else first[0]), first[1], first[2]
    return None, None, {}


def _kind(metric: str | None, name: str) -> str:
    if metric in _KIND_BY_METRIC:
        return _KIND_BY_METRIC[metric]
    for kind, (_, suffix) in KINDS.items():
        if name.endswith(suffix):
            return kind
    return "unknown"


def partition_of(region: str | None) -> str | None:
    """The partition a valid region name belongs to (None for an invalid name)."""
    if not region or not REGION_NAME.match(region):
        return None
    if region.startswith("cn-"):
        return "aws-cn"
    if "-gov-" in region:
        return "aws-us-gov"
    if "-iso" in region:
        return {"iso": "aws-iso", "isob": "aws-iso-b", "isoe": "aws-iso-e", "isof": "aws-iso-f"}.get(
            region.split("-")[1], "aws-iso")
    return "aws"


def canary_kind(alarm: Alarm, *, namespace: str, stage: str | None = None) -> str | None:
    """Which of the canary's own alarms this is (`denied`, `errors`, `heartbeat`, `undelivered`), else None.

    Only an alarm exactly as `template`/`provision` create it counts: its name is one of theirs
    (`<namespace>-<stage>-<key>`), it watches one metric, in the config's namespace, with the stage's
    `Stage` dimension (the undelivered-alerts alarm: the stage's dead-letter queue in `AWS/SQS`).
    Anything else published to the topic (an RDS CPU alarm, a metric-math or composite alarm, a
    look-alike name) is not the canary's and must not be dressed up as one.
    """
    from canary.alarms import ALARMS, UNDELIVERED_KEY, UNDELIVERED_METRIC, UNDELIVERED_NAMESPACE, alarm_name, \
        undelivered_queue_name

    if not alarm.single_metric:
        return None
    dims = dict(alarm.dimensions)
    stage = stage or dims.get("Stage")
    if not stage:
        stage = alarm.name.rsplit("-", 1)[0][len(namespace) + 1:] if alarm.name.startswith(namespace + "-") else ""
    if not stage:
        return None
    for spec in ALARMS:
        if (alarm.name == alarm_name(spec, stage, namespace) and alarm.namespace == namespace
                and alarm.metric == spec.metric and dims == {"Stage": stage}):
            return spec.key
    if (alarm.name == f"{namespace}-{stage}-{UNDELIVERED_KEY}" and alarm.namespace == UNDELIVERED_NAMESPACE
            and alarm.metric == UNDELIVERED_METRIC and dims == {"QueueName": undelivered_queue_name(stage)}):
        return UNDELIVERED_KEY
    return None
