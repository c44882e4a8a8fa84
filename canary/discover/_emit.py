"""Write a probe config skeleton for what the code calls, from the probe registry as it is.

The registry (`canary.probes.PROBES`) is read, never copied: a probe added for S3 or SQS shows up
here with no change. Each probe's fields come from its own params model: a field whose name
matches an API parameter of the call (`table` <- `TableName`, `from` <- `Source`, or the snake
case of the parameter) takes the value from the source, written as `${VAR}` where the code reads an
environment variable, so the config follows the stage like the Lambda does. Everything else the
model requires is a clearly marked placeholder (`__FILL_ME__<field>`); sentinel keys are never
taken from the code, so a probe never touches a real item.
"""

from __future__ import annotations

import typing
from typing import Any

from canary.discover import Discovery, Finding

__all__ = ["FILL_ME", "emit_config", "not_probed"]

FILL_ME = "__FILL_ME__"
SENTINEL = "__permission_canary__"

# probe field -> the API parameters that name the same thing (besides the generic snake_case match)
_FIELD_PARAMS: dict[str, tuple[str, ...]] = {
    "table": ("TableName",), "index": ("IndexName",), "bucket": ("Bucket",),
    "queue": ("QueueUrl", "QueueName"), "queue_url": ("QueueUrl",), "topic": ("TopicArn", "TargetArn"),
    "topic_arn": ("TopicArn", "TargetArn"), "secret": ("SecretId",), "secret_id": ("SecretId",),
    "parameter": ("Name",), "name": ("Name",), "from": ("Source", "FromEmailAddress"),
    "sender": ("Source", "FromEmailAddress"), "function": ("FunctionName",), "stream": ("StreamName",),
}
# Fields that name a specific item or object: always a sentinel or a placeholder, never the app's own.
# So is every `sentinel_*` field (e.g. SNS publishes to a sentinel topic, never to the app's own).
_NEVER_FROM_CODE = frozenset({"key", "object_key", "item", "message", "body", "value"})


def _from_code(name: str) -> bool:
    return name not in _NEVER_FROM_CODE and not name.startswith("sentinel")


def _key_prefix(finding: Finding) -> str | None:
    """The literal folder an S3 key starts with (`orders/` in f"orders/{id}.json"), for a sentinel beside it."""
    from canary.discover._values import Lit

    key = dict(finding.params).get("Key")
    if key is None or not key.parts or not isinstance(key.parts[0], Lit):
        return None
    head = key.parts[0].text
    return head[: head.rfind("/") + 1] or None


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    if origin is dict:
        return True
    return any(_is_dict(a) for a in typing.get_args(annotation)) if typing.get_args(annotation) else False


def _value(names: tuple[str, ...], finding: Finding) -> str | None:
    from botocore import xform_name

    params = dict(finding.params)
    wanted: set[str] = set()
    for n in names:
        wanted.update(_FIELD_PARAMS.get(n, ()))
    for pname, value in params.items():
        if pname in wanted or xform_name(pname) in names:
            text = value.template()
            if text is not None:
                return str(text)
    return None


def _probe(finding: Finding) -> dict[str, Any]:
    from canary.probes import PROBES

    model = PROBES[finding.action].params
    probe: dict[str, Any] = {"action": finding.action}
    for name, info in model.model_fields.items():
        if name in ("action", "id"):
            continue
        key = info.alias or name
        if _is_dict(info.annotation):
            if info.is_required():
                names = finding.key_names or (f"{FILL_ME}partition_key_name",)
                probe[key] = {k: SENTINEL for k in names}
            continue
        value = _value((name, key), finding) if _from_code(name) else None
        if value is None and name == "prefix" and finding.service == "s3":
            value = _key_prefix(finding)
        if value is not None:
            probe[key] = value
        elif info.is_required():
            probe[key] = f"{FILL_ME}{key}"
    if finding.service == "sesv2" and "api" in model.model_fields:
        probe["api"] = "v2"
    return probe


def emit_config(discovery: Discovery) -> dict[str, Any]:
    """A probe config (contract shape) with one probe per probed action and resource found."""
    probes: list[dict[str, Any]] = []
    yes, _ = discovery.probed()
    for f in yes:
        p = _probe(f)
        if p not in probes:
            probes.append(p)
    _give_ids(probes)
    return {"version": 1, "probes": probes}


def _give_ids(probes: list[dict[str, Any]]) -> None:
    """Set an explicit id only where two probes of one action would get the same default id."""
    from canary.probes import slug

    by_action: dict[str, list[dict[str, Any]]] = {}
    for p in probes:
        by_action.setdefault(p["action"], []).append(p)
    for action, group in by_action.items():
        if len(group) < 2:
            continue
        used: set[str] = set()
        for i, p in enumerate(group, 1):
            first = next((v for k, v in p.items() if k != "action" and isinstance(v, str)), "")
            pid = slug(f"{action}-{first.replace(FILL_ME, '')}") or slug(action)
            if pid in used:
                pid = f"{pid}-{i}"
            used.add(pid)
            p["id"] = pid


def not_probed(discovery: Discovery) -> list[dict[str, Any]]:
    """The actions found that no probe covers yet, each with where the code calls it."""
    _, no = discovery.probed()
    out: dict[str, dict[str, Any]] = {}
    for f in no:
        entry = out.setdefault(f.action, {"action": f.action, "reason": "not probed (no harmless probe yet)",
                                          "locations": []})
        if f.location not in entry["locations"]:
            entry["locations"].append(f.location)
    return [out[a] for a in sorted(out)]
