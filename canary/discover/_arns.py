"""Map raw calls to IAM: the action(s) each call needs and the resource candidates it is authorized on.

Each API parameter comes with its alternatives (an if/else chose one), each a string of literal
text, environment variables and holes. A resource candidate is one choice per parameter, filled into
the templates in `_tables` as a `Pattern`: literal text where the source (or the stage environment)
tells it, a `Hole` naming the expression where it does not. A hole is never rendered as its literal
neighbour nor as `*` in anything later taken as known: `canary.policy.decide` reads the holes.
"""

from __future__ import annotations

import itertools
import re
from typing import Mapping

from canary.discover import Finding
from canary.discover import _models as models
from canary.discover._analyzer import RawCall
from canary.discover._tables import ARN_TEMPLATES, CONTEXT_PARAMS, DEPENDENT_ACTIONS, DEPENDENT_RESOURCE_PARAMS
from canary.discover._values import Env, Lit, StrV, Unknown
from canary.policy.pattern import AnyOf, Hole, Pattern, free_holes, literal, render

__all__ = ["findings_for", "pattern_of"]

_FIELD = re.compile(r"\{([A-Za-z]+)\}")
_QUEUE_URL = re.compile(r"^https?://(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com(?:\.cn)?/(\d{12})/([^/?]+)")
_QUEUE_HEAD = re.compile(r"^https?://(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com(?:\.cn)?/(\d{12})/")
_EMAIL = re.compile(r"<([^>]+)>")
_OPTIONAL = frozenset({"IndexName"})
_HAS_SUFFIX = re.compile(r":secret:.+-[A-Za-z0-9]{6}$")
SECRET_SUFFIX = Hole("the 6 random characters Secrets Manager appends to the secret's ARN", 6)


def pattern_of(value: StrV, env: Mapping[str, str]) -> Pattern:
    """The value as literal text and holes, with the stage environment filled in."""
    out: list[str | Hole] = []
    for p in value.parts:
        if isinstance(p, Lit):
            text = p.text
        elif isinstance(p, Env) and p.name in env:
            text = env[p.name]
        elif isinstance(p, Env) and p.default is not None:
            text = p.default
        elif isinstance(p, Env):
            out.append(Hole(f"os.environ[{p.name!r}]"))
            continue
        else:
            assert isinstance(p, Unknown)
            out.append(Hole(p.source))
            continue
        if out and isinstance(out[-1], str):
            out[-1] += text
        elif text:
            out.append(text)
    return tuple(out)


def _normalise(name: str, pattern: Pattern) -> Pattern:
    text = literal(pattern)
    if name in ("Name", "Path") and pattern and isinstance(pattern[0], str):
        return (pattern[0].lstrip("/"), *pattern[1:]) if pattern[0].lstrip("/") else tuple(pattern[1:])
    if name in ("Source", "FromEmailAddress") and text is not None:
        m = _EMAIL.search(text)
        return (m.group(1),) if m else pattern
    return pattern


def _concat(items: list[str | Hole]) -> Pattern:
    out: list[str | Hole] = []
    for it in items:
        if isinstance(it, str):
            if not it:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += it
                continue
        out.append(it)
    return tuple(out)


def _segments(value: Pattern) -> list[list[str | Hole]] | None:
    """Split a pattern on the colons of its literal text into ARN segments (the sixth keeps the rest)."""
    segs: list[list[str | Hole]] = [[]]
    for part in value:
        if isinstance(part, Hole):
            segs[-1].append(part)
            continue
        pieces = part.split(":")
        for k, piece in enumerate(pieces):
            if k:
                if len(segs) == 6:
                    segs[-1].append(":")
                else:
                    segs.append([])
            if piece:
                segs[-1].append(piece)
    return segs if len(segs) == 6 else None


def _arn_valued(prefix: str, value: Pattern, fields: dict[str, str]) -> Pattern:
    """A parameter that holds a whole ARN, kept segment by segment.

    An unknown region or account (`f"arn:aws:sns:{region}:{account}:alerts"`, the region from the
    Lambda's own AWS_REGION) is `*`, assumed to be the policy's as elsewhere; a hole anywhere else
    before the resource part keeps only the service known.
    """
    head = value[0] if value and isinstance(value[0], str) else ""
    if literal(value) is not None or head.count(":") >= 5:
        return value
    segs = _segments(value)
    if segs is not None and all(all(isinstance(p, str) for p in segs[i]) for i in (0, 1, 2)):
        out: list[str | Hole] = []
        for i, seg in enumerate(segs):
            if i in (3, 4) and any(isinstance(p, Hole) for p in seg):
                seg = [fields["region" if i == 3 else "account"]]
            out.extend(seg)
            if i < 5:
                out.append(":")
        return _concat(out)
    holes = [h.source for h in value if isinstance(h, Hole)]
    return _concat([f"arn:{fields['partition']}:{prefix}:{fields['region']}:{fields['account']}:",
                    Hole(", ".join(holes) or "the ARN")])


def _candidate(prefix: str, service: str, operation: str, params: dict[str, StrV], env: Mapping[str, str],
               fields: dict[str, str]) -> tuple[Pattern | AnyOf, ...] | None:
    """The resource for one choice of parameter values; None where discover does not model the ARN."""
    templates = ARN_TEMPLATES.get(prefix)
    if not templates:
        return None
    members = models.input_members(service, operation)
    # The first template the operation accepts, its missing parameters left as holes; but not one whose
    # parameters the call leaves out while it passes those of an alternative (Publish with TargetArn).
    chosen = None
    for names, template in templates:
        given = all(n in params for n in names)
        if not ((set(names) <= members or given) and all(n in params for n in names if n in _OPTIONAL)):
            continue
        if not given and any(all(n in params for n in other) and not set(other) & set(names)
                             for other, _ in templates):
            continue
        chosen = (names, template)
        break
    if chosen is None:
        return None
    names, template = chosen
    values: dict[str, Pattern] = {k: (v,) for k, v in fields.items()}
    values["SecretSuffix"] = ("-", SECRET_SUFFIX)
    for n in names:
        raw = params.get(n)
        value = (Hole(f"{n} (not visible in the call)"),) if raw is None else _normalise(n, pattern_of(raw, env))
        text = literal(value)
        if text is not None and text.startswith("arn:"):
            if prefix == "secretsmanager" and not _HAS_SUFFIX.search(text):
                return (_concat([text, "-", SECRET_SUFFIX]),)  # a partial ARN: AWS matches name-??????
            return ((text,),)
        if value and isinstance(value[0], str) and value[0].startswith("arn:"):
            return (_arn_valued(prefix, value, fields),)
        if template == "{" + n + "}":
            return (_arn_valued(prefix, value, fields),)
        if n == "QueueUrl":
            value = _queue_name(value, values)
        values[n] = value
    pieces: list[str | Hole] = []
    pos = 0
    for m in _FIELD.finditer(template):
        pieces.append(template[pos:m.start()])
        pieces.extend(values.get(m.group(1), (Hole(m.group(1)),)))
        pos = m.end()
    pieces.append(template[pos:])
    arn = _concat(pieces)
    text = literal(arn)
    if prefix == "ssm" and names == ("Path",):
        # GetParametersByPath: a grant on the path itself, or on everything below it, lets the call through
        below = _concat([*arn, "" if (text or "").endswith("/") else "/", Hole("a parameter below the path")])
        return (AnyOf((arn, below)),)
    if prefix == "ses" and text is not None and "@" in text.rpartition("identity/")[2]:
        domain = text.rpartition("identity/")[0] + "identity/" + text.rpartition("@")[2]
        return (AnyOf(((text,), (domain,))),)
    return (arn,)


def _queue_name(value: Pattern, values: dict[str, Pattern]) -> Pattern:
    """A queue URL's name (and its region and account, where the URL tells them)."""
    text = literal(value)
    if text is not None:
        m = _QUEUE_URL.match(text)
        if m:
            if m.group(1) != "queue":  # the legacy https://queue.amazonaws.com/... names no region
                values.update(region=(m.group(1),))
            values.update(account=(m.group(2),))
            return (m.group(3),)
        if "://" in text:  # another endpoint (a local emulator): the queue name is the last path segment
            return (text.rstrip("/").rpartition("/")[2],)
        return value
    head = value[0] if value and isinstance(value[0], str) else ""
    m = _QUEUE_HEAD.match(head)
    if m:
        values.update(region=(m.group(1),), account=(m.group(2),))
        return _concat([head[m.end():], *value[1:]])
    # The queue's name is the URL's last path segment: known when what follows the last literal "/" is
    # (`get_queue_url(QueueName=q)["QueueUrl"]` is "<endpoint>/<account>/" + q; `f"{BASE}/{name}"`).
    last = max((i for i, part in enumerate(value) if isinstance(part, str) and "/" in part), default=None)
    if last is not None:
        tail = _concat([value[last].rpartition("/")[2], *value[last + 1:]])
        if tail and literal(tail) != "":
            return tail
    holes = [h.source for h in value if isinstance(h, Hole)]
    return (Hole(", ".join(holes) or "QueueUrl"),)


def show(candidate: Pattern | AnyOf) -> str:
    """A candidate for people: `?` for each part the source does not tell (`*` for a secret's suffix).

    For equivalent resources (an SES address or its domain) the first, the one the code names.
    """
    pattern = candidate.patterns[0] if isinstance(candidate, AnyOf) else candidate
    return "".join(p if isinstance(p, str) else "*" if p.length else "?" for p in pattern)


def _holes(candidate: Pattern | AnyOf) -> list[str]:
    pats = candidate.patterns if isinstance(candidate, AnyOf) else (candidate,)
    out: list[str] = []
    for p in pats:
        out += [h.source for h in free_holes(p) if h.source not in out]
    return out


_TEMPLATE_FIELD = re.compile(r"\{(\*[^}]*|[A-Za-z0-9.]+\??)\}")


def _kms_key(value: Pattern, fields: dict[str, str]) -> Pattern:
    """The key an SSE-KMS parameter names: an ARN as is, a key id as its ARN; an alias stands for a key not named."""
    text = literal(value) or ""
    head = value[0] if value and isinstance(value[0], str) else ""
    if "alias/" in head:
        return (Hole(f"the KMS key that {head}{'' if text else '...'} points to"),)
    if head.startswith("arn:"):
        return value
    return _concat([f"arn:{fields['partition']}:kms:{fields['region']}:{fields['account']}:key/", *value])


def _fill(templates: tuple[str, ...], params: dict[str, StrV], env: Mapping[str, str],
          fields: dict[str, str]) -> Pattern:
    """The first ARN template whose parameters the call passes, filled in (holes for those it does not)."""
    def needs(t: str) -> list[str]:
        return [n for n in _TEMPLATE_FIELD.findall(t) if not n.startswith("*") and not n.endswith("?")
                and n not in fields]

    template = next((t for t in templates if all(n in params for n in needs(t))), templates[-1])
    if template == "{SSEKMSKeyId}":
        raw = params.get("SSEKMSKeyId")
        return _kms_key(pattern_of(raw, env) if raw is not None else (Hole("SSEKMSKeyId"),), fields)
    pieces: list[str | Hole] = []
    pos = 0
    for m in _TEMPLATE_FIELD.finditer(template):
        pieces.append(template[pos:m.start()])
        pos = m.end()
        name = m.group(1)
        if name.startswith("*"):
            pieces.append(Hole(name[1:]))
            continue
        optional, name = name.endswith("?"), name.rstrip("?")
        if name in fields:
            pieces.append(fields[name])
        elif name in params:
            value = pattern_of(params[name], env)
            if name == "CopySource":  # "bucket/key", "/bucket/key" or "bucket/key?versionId=..."
                value = _normalise("Name", value)
                if value and isinstance(value[-1], str) and "?versionId=" in value[-1]:
                    value = (*value[:-1], value[-1].partition("?versionId=")[0])
            pieces.extend(value)
        elif not optional:
            pieces.append(Hole(f"{name} (not visible in the call)"))
    pieces.append(template[pos:])
    return _concat(pieces)


def _may_be(value: StrV, wanted: str, env: Mapping[str, str]) -> str | None:
    """Why the value may be `wanted` (it is, or the source does not tell it); None when it cannot be."""
    pattern = pattern_of(value, env)
    text = literal(pattern)
    if text is not None:
        return f"is {wanted!r}" if text == wanted else None
    holes = ", ".join(h.source for h in free_holes(pattern))
    return f"may be {wanted!r} ({holes} is not known from the source)"


Alternatives = tuple[tuple[str, tuple[StrV, ...]], ...]


def _dependent(call: RawCall, prefix: str, cands: tuple[Pattern | AnyOf, ...], modelled: bool,
               env: Mapping[str, str], fields: dict[str, str]
               ) -> list[tuple[str, str, tuple[Pattern | AnyOf, ...], bool, Alternatives | None]]:
    """(action, why, candidates, modelled, its own resource's parameters or None for the call's) for the
    actions the call's parameters add."""
    given = dict(call.params)
    out: list[tuple[str, str, tuple[Pattern | AnyOf, ...], bool, Alternatives | None]] = []
    for param, when, action, resource in DEPENDENT_ACTIONS.get((prefix, call.operation), ()):
        if param and param not in given:
            continue
        if when is None:
            why = f"the call passes {param}=" if param else f"{call.operation} reads the source object"
        else:
            reasons = [r for r in (_may_be(v, when, env) for v in given[param]) if r]
            if not reasons:
                continue
            why = f"{param} {reasons[0]}"
        if resource == "call":
            out.append((action, why, cands, modelled, None))
            continue
        if resource == "*":
            out.append((action, why, (("*",),), True, ()))
            continue
        assert isinstance(resource, tuple)
        names = sorted(n for n in given if any("{" + n in t for t in resource))
        found: list[Pattern | AnyOf] = []
        for combo in itertools.product(*(given[n] for n in names)):
            arn = _fill(resource, dict(zip(names, combo)), env, fields)
            if arn not in found:
                found.append(arn)
        mapping = DEPENDENT_RESOURCE_PARAMS.get((prefix, call.operation, action), {})
        alts = tuple((own, given[src]) for own, src in sorted(mapping.items()) if src in given)
        out.append((action, why, tuple(found), True, alts))
    return out


# Lambda sets these itself to the function's region, so a default written in the code never applies there.
_LAMBDA_REGION_VARS = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})


def findings_for(calls: list[RawCall], env: Mapping[str, str], *, region: str = "*", account: str = "*",
                 partition: str = "aws") -> list[Finding]:
    """Map each raw call to one Finding per IAM action it needs, with every resource candidate.

    Actions a call's parameters add (`ACL=` needs s3:PutObjectAcl; `_tables.DEPENDENT_ACTIONS`) are
    findings of their own at the same place, saying why.
    """
    base = {"partition": partition, "region": region, "account": account}
    out: list[Finding] = []
    seen: set[tuple[str, str, int, tuple[object, ...]]] = set()
    for call in calls:
        fields = dict(base)
        code_region = call.region.resolve(env) if call.region is not None else None
        lambda_set = call.region is not None and any(isinstance(p, Env) and p.name in _LAMBDA_REGION_VARS
                                                       for p in call.region.parts)
        if code_region and not lambda_set:  # the client's region: its calls go there, whatever --region says
            fields["region"] = code_region
        prefix = models.iam_prefix(call.service)
        passed = tuple(n for n, _ in call.params)
        resource_params = tuple((n, alts) for n, alts in call.params if n not in CONTEXT_PARAMS)
        names = [n for n, _ in resource_params]
        candidates: list[Pattern | AnyOf] = []
        modelled = True
        for combo in itertools.product(*(alts for _, alts in resource_params)):
            got = _candidate(prefix, call.service, call.operation, dict(zip(names, combo)), env, fields)
            if got is None:
                modelled = False
                break
            candidates += [c for c in got if c not in candidates]
        cands: tuple[Pattern | AnyOf, ...] = tuple(candidates) if modelled else ()
        if call.actions:
            auth = models.Authorization(call.actions)
        else:
            auth = models.authorization(call.service, call.operation)
        unresolved: list[str] = []
        for c in cands:
            unresolved += [h for h in _holes(c) if h not in unresolved]
        resource = " | ".join(show(c) for c in cands) if cands else "*"
        check = tuple(render(p, "*") for c in cands
                      for p in (c.patterns if isinstance(c, AnyOf) else (c,))) or ("*",)
        first = tuple((n, alts[0]) for n, alts in resource_params)
        actions: tuple[str, ...] = auth.actions or ("",)
        extra = [] if auth.needs_no_grant or not auth.actions else _dependent(call, prefix, cands, modelled, env,
                                                                               fields)
        todo = [(a, None, cands, modelled, None) for a in actions] + list(extra)
        for action, because, dcands, dmodelled, own_alts in todo:
            key = (action, call.file, call.line, (call.operation, dcands))
            if key in seen:
                continue
            seen.add(key)
            if dcands is not cands:
                dres = " | ".join(show(c) for c in dcands) if dcands else "*"
                dcheck = tuple(render(p, "*") for c in dcands
                               for p in (c.patterns if isinstance(c, AnyOf) else (c,))) or ("*",)
                dunres = tuple(dict.fromkeys(h for c in dcands for h in _holes(c)))
            else:
                dres, dcheck, dunres = resource, check, tuple(unresolved)
            alts = resource_params if own_alts is None else own_alts
            out.append(Finding(action=action, resource=dres, check_resources=dcheck,
                               unresolved=dunres, file=call.file, line=call.line, service=call.service,
                               operation=call.operation, via=call.via, params=tuple((n, a[0]) for n, a in alts),
                               key_names=call.key_names if own_alts is None else (),
                               candidates=dcands, modelled=dmodelled, alternatives=alts,
                               not_in_stage=call.not_in_stage, note=auth.note if because is None else None,
                               needs_no_grant=auth.needs_no_grant, because=because, passed=passed))
    return out
