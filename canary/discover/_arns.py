"""Turn raw calls into findings: the IAM action(s) and the ARN each call is authorized against.

The ARN comes from the call's own parameters (`TableName`, `Bucket`/`Key`, `QueueUrl`, ...), through
the templates in `_tables`. A part the source does not show is `?` in the ARN people read and
`*` in the ARN a policy is checked against; the expression behind it is kept so that the output
can say exactly what could not be resolved.
"""

from __future__ import annotations

import itertools
import re
from typing import Mapping

from canary.discover import Finding
from canary.discover import _models as models
from canary.discover._analyzer import RawCall
from canary.discover._tables import ARN_TEMPLATES
from canary.discover._values import StrV

__all__ = ["findings_for"]

_FIELD = re.compile(r"\{([A-Za-z]+)\}")
_QUEUE_URL = re.compile(r"^https?://(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com(?:\.cn)?/(\d{12})/([^/?]+)")
_EMAIL = re.compile(r"<([^>]+)>")
_OPTIONAL = frozenset({"IndexName"})


def _normalise(name: str, value: str) -> str:
    if name == "Name" or name == "Path":
        return value.lstrip("/")
    if name in ("Source", "FromEmailAddress"):
        m = _EMAIL.search(value)
        return m.group(1) if m else value
    return value


def _arn(prefix: str, service: str, operation: str, params: dict[str, StrV], env: Mapping[str, str],
         region: str, account: str, partition: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(ARN for people, ARNs to check, unresolved expressions) for one call."""
    templates = ARN_TEMPLATES.get(prefix)
    if not templates:
        return "*", ("*",), ()
    members = models.input_members(service, operation)
    chosen = None
    for names, template in templates:
        given = all(n in params for n in names)
        if (set(names) <= members or given) and all(n in params for n in names if n in _OPTIONAL):
            chosen = (names, template)
            break
    if chosen is None:
        return "*", ("*",), ()
    names, template = chosen
    shown: dict[str, str] = {"partition": partition, "region": region, "account": account}
    check: dict[str, str] = dict(shown)
    unresolved: list[str] = []
    for n in names:
        value = params.get(n)
        if value is None:
            unresolved.append(f"{n}=(not visible)")
            shown[n], check[n] = "?", "*"
            continue
        text = value.resolve(env)
        if text is None:
            unresolved.extend(value.missing(env))
            shown[n] = _normalise(n, value.render(env, "?"))
            check[n] = _normalise(n, value.render(env, "*"))
            continue
        text = _normalise(n, text)
        if text.startswith("arn:"):
            return text, (text,), ()
        if n == "QueueUrl":
            m = _QUEUE_URL.match(text)
            if m:
                shown.update(region=m.group(1), account=m.group(2))
                check.update(region=m.group(1), account=m.group(2))
                text = m.group(3)
        shown[n] = check[n] = text
    def fill(values: dict[str, str]) -> str:
        return _FIELD.sub(lambda m: values.get(m.group(1), "*"), template)

    arn, check_arn = fill(shown), fill(check)
    extra: tuple[str, ...] = ()
    if prefix == "ses" and "@" in check_arn.rpartition("identity/")[2]:
        extra = (check_arn.rpartition("identity/")[0] + "identity/" + check_arn.rpartition("@")[2],)
    return arn, (check_arn, *extra), tuple(unresolved)


def findings_for(calls: list[RawCall], env: Mapping[str, str], *, region: str = "*", account: str = "*",
                 partition: str = "aws") -> list[Finding]:
    """Map each raw call to one Finding per IAM action it needs."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str, int]] = set()
    for call in calls:
        prefix = models.iam_prefix(call.service)
        names = [n for n, _ in call.params]
        # one finding per combination of alternatives (interim, until the verdicts read alternatives)
        for combo in itertools.product(*(alts for _, alts in call.params)):
            params = dict(zip(names, combo))
            arn, check, unresolved = _arn(prefix, call.service, call.operation, params, env, region, account,
                                          partition)
            actions = call.actions or models.iam_actions(call.service, call.operation)
            for action in actions:
                key = (action, arn, call.file, call.line)
                if key in seen:
                    continue
                seen.add(key)
                out.append(Finding(action=action, resource=arn, check_resources=check, unresolved=unresolved,
                                   file=call.file, line=call.line, service=call.service,
                                   operation=call.operation, via=call.via, params=tuple(zip(names, combo)),
                                   key_names=call.key_names))
    return out
