"""Write a probe config for what the code calls, from the probe registry as it is, that runs as written.

The registry (`canary.probes.PROBES`) is read, never copied: a probe added for S3 or SQS shows up
here with no change. Each probe's fields come from its own params model: a field whose name
matches an API parameter of the call (`table` <- `TableName`, `from` <- `Source`, or the snake
case of the parameter) takes the value from the source, written as `${VAR}` where the code reads an
environment variable, so the config follows the stage like the Lambda does. Sentinel keys are never
taken from the code, so a probe never touches a real item.

No placeholder is ever written: a probe whose required field the source (with the stage's
environment) does not fully tell is left out, and `left_out` says which field to fill in and why. A
value rewritten by a decorator, or an environment variable the stage does not set, is not resolved.
Calls the stage never runs are not probed.
"""

from __future__ import annotations

import itertools
import typing
from typing import Any, Mapping

from canary.discover import Discovery, Finding

__all__ = ["FILL_ME", "emit_config", "not_probed", "left_out"]

FILL_ME = "__FILL_ME__"  # never written; kept so that tests (and validate) can say so
SENTINEL = "__permission_canary__"

# probe field -> the API parameters that name the same thing (besides the generic snake_case match)
_FIELD_PARAMS: dict[str, tuple[str, ...]] = {
    "table": ("TableName",), "index": ("IndexName",), "bucket": ("Bucket",),
    "queue": ("QueueUrl", "QueueName"), "queue_url": ("QueueUrl",), "topic": ("TopicArn", "TargetArn"),
    "topic_arn": ("TopicArn", "TargetArn"), "secret": ("SecretId",), "secret_id": ("SecretId",),
    "parameter": ("Name",), "name": ("Name",), "from": ("Source", "FromEmailAddress"),
    "sender": ("Source", "FromEmailAddress"), "function": ("FunctionName",), "stream": ("StreamName",),
}
# Fields that name a specific item or object: always a sentinel or left out, never the app's own.
# So is every `sentinel_*` field (e.g. SNS publishes to a sentinel topic, never to the app's own).
_NEVER_FROM_CODE = frozenset({"key", "object_key", "item", "message", "body", "value"})


def _from_code(name: str) -> bool:
    return name not in _NEVER_FROM_CODE and not name.startswith("sentinel")


def _key_prefix(params: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The resolved folder an S3 key starts with (`orders/` in f"orders/{id}.json"), for a sentinel beside it."""
    from canary.discover._values import Env, Lit

    key = params.get("Key")
    if key is None:
        return None
    head = ""
    for p in key.parts:
        if isinstance(p, Lit):
            head += p.text
        elif isinstance(p, Env) and (p.name in env or p.default is not None):
            head += env.get(p.name, p.default or "")
        else:
            break
    return head[: head.rfind("/") + 1] or None


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    if origin is dict:
        return True
    return any(_is_dict(a) for a in typing.get_args(annotation)) if typing.get_args(annotation) else False


def _value(names: tuple[str, ...], params: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The `${VAR}` form of the matching API parameter, only when the stage environment resolves it fully."""
    from botocore import xform_name

    wanted: set[str] = set()
    for n in names:
        wanted.update(_FIELD_PARAMS.get(n, ()))
    for pname, value in params.items():
        if pname in wanted or xform_name(pname) in names:
            text = value.template()
            if text is not None and value.resolve(env) is not None:
                return str(text)
    return None


def _unresolved(names: tuple[str, ...], params: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    from botocore import xform_name

    wanted: set[str] = set()
    for n in names:
        wanted.update(_FIELD_PARAMS.get(n, ()))
    for pname, value in params.items():
        if pname in wanted or xform_name(pname) in names:
            missing = value.missing(env)
            return f"{pname} is not known from the source ({', '.join(missing) or 'not a plain string'})"
    return None


# Calls whose `Key=` names the table's whole primary key (a Query's key condition may name only part of it).
_WHOLE_KEY_OPS = frozenset({"GetItem", "DeleteItem", "UpdateItem"})


def _table_keys(discovery: Discovery) -> dict[str, tuple[str, ...]]:
    """The primary key attribute names of each table, from the calls that show a whole `Key=` for it."""
    seen: dict[str, set[tuple[str, ...]]] = {}
    for f in discovery.findings:
        if f.operation in _WHOLE_KEY_OPS and f.key_names and " | " not in f.resource and "?" not in f.resource:
            seen.setdefault(f.resource, set()).add(tuple(sorted(f.key_names)))
    # one table, one key: calls that disagree leave it unknown rather than guessed
    return {table: keys.pop() for table, keys in seen.items() if len(keys) == 1}


def _probe(finding: Finding, params: Mapping[str, Any], env: Mapping[str, str],
           table_keys: Mapping[str, tuple[str, ...]] | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """(probe, []) when every required field is known; (None, what to fill) otherwise."""
    from canary.probes import PROBES

    model = PROBES[finding.action].params
    probe: dict[str, Any] = {"action": finding.action}
    missing: list[str] = []
    for name, info in model.model_fields.items():
        if name in ("action", "id"):
            continue
        key = info.alias or name
        if _is_dict(info.annotation):
            if info.is_required():
                known = (finding.key_names if finding.operation in _WHOLE_KEY_OPS else ()) or \
                    (table_keys or {}).get(finding.resource) or finding.key_names
                if known:
                    probe[key] = {k: SENTINEL for k in known}
                elif "/index/" in finding.resource:
                    missing.append(f"{key}: the index's key attribute names (the source does not show them)")
                else:
                    missing.append(f"{key}: the table's key attribute names (no call to this table shows its "
                                   "whole key in a Key=...)")
            continue
        value = _value((name, key), params, env) if _from_code(name) else None
        if value is None and name == "prefix" and finding.service == "s3":
            value = _key_prefix(params, env)
        if value is not None:
            probe[key] = value
        elif info.is_required():
            why = (_unresolved((name, key), params, env) if _from_code(name) else None) or (
                "a sentinel resource for the canary (never the app's own)" if name.startswith("sentinel")
                else "not in the call")
            missing.append(f"{key}: {why}")
    if missing:
        return None, missing
    if finding.service == "sesv2" and "api" in model.model_fields:
        probe["api"] = "v2"
    return probe, []


def _combos(finding: Finding) -> list[dict[str, Any]]:
    alts = finding.alternatives or tuple((n, (v,)) for n, v in finding.params)
    names = [n for n, _ in alts]
    return [dict(zip(names, combo)) for combo in itertools.product(*(a for _, a in alts))]


def _plan(discovery: Discovery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    probes: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    yes, _ = discovery.probed()
    table_keys = _table_keys(discovery)
    for f in yes:
        for params in _combos(f):
            p, missing = _probe(f, params, discovery.env, table_keys)
            if p is not None:
                if p not in probes:
                    probes.append(p)
                continue
            entry = {"action": f.action, "location": f.location, "resource": f.resource, "fill_in": missing}
            if entry not in skipped:
                skipped.append(entry)
    return probes, skipped


def emit_config(discovery: Discovery) -> dict[str, Any]:
    """A probe config (contract shape) with one probe per probed action and fully known resource."""
    probes, _ = _plan(discovery)
    _give_ids(probes)
    return {"version": 1, "probes": probes}


def left_out(discovery: Discovery) -> list[dict[str, Any]]:
    """The probes left out of `emit_config`, each with where the call is and which field to fill in."""
    return _plan(discovery)[1]


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
            pid = slug(f"{action}-{first}") or slug(action)
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
