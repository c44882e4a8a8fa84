"""Compare what the code calls with what the stage's policy grants, from files alone.

The policy is the one chalice would deploy for the stage: the policy file when `autogen_policy` is
false (found by `canary.policy.stage_policy`), or, when chalice generates the policy itself, the
policy chalice's own analyzer builds from `app.py` — which is how the story's missing
`dynamodb:UpdateItem` reaches production. A gap is an action the policy does not grant (or
explicitly denies); the fix is printed as statements built by `canary.classify.remediation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canary.discover import Discovery, Finding

__all__ = ["Gap", "CheckResult", "check", "stage_policy_document"]


@dataclass(frozen=True)
class Gap:
    finding: Finding
    verdict: str
    statement: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.finding.action, "resource": self.finding.resource,
                "resources_checked": list(self.finding.check_resources), "location": self.finding.location,
                "verdict": self.verdict, "statement": self.statement, "reason": self.reason}


@dataclass
class CheckResult:
    policy_source: str
    gaps: list[Gap] = field(default_factory=list)      # NOT_GRANTED / EXPLICITLY_DENIED: exit 1
    warnings: list[Gap] = field(default_factory=list)  # CONDITIONAL, or granted only elsewhere (unresolved)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.gaps

    def statements(self) -> list[dict[str, Any]]:
        """Statements that close every NOT_GRANTED gap: one per resource set, its actions merged."""
        from canary.classify import remediation

        merged: dict[str, dict[str, Any]] = {}
        for g in self.gaps:
            if g.verdict != "NOT_GRANTED":
                continue
            stmt = remediation(g.finding.action, g.finding.check_resources)
            key = json.dumps(stmt["Resource"], sort_keys=True)
            if key in merged:
                acts = merged[key]["Action"]
                acts = acts if isinstance(acts, list) else [acts]
                if stmt["Action"] not in acts:
                    acts.append(stmt["Action"])
                merged[key]["Action"] = sorted(acts) if len(acts) > 1 else acts[0]
            else:
                merged[key] = dict(stmt)
        return list(merged.values())

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "policy": self.policy_source, "checked": self.checked,
                "gaps": [g.to_dict() for g in self.gaps], "warnings": [w.to_dict() for w in self.warnings],
                "statements_to_add": self.statements()}


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
    """Evaluate every finding against `policy`; unresolved resources count as gaps only if granted nowhere."""
    from canary.policy import compile_policy, evaluate

    compiled = compile_policy(policy)
    everywhere = _policy_resources(policy)
    result = CheckResult(policy_source=policy_source)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for f in discovery.findings:
        key = (f.action, f.check_resources)
        if key in seen:
            continue
        seen.add(key)
        result.checked += 1
        d = evaluate(compiled, f.action, f.check_resources)
        if d.verdict == "GRANTED":
            continue
        if d.verdict == "CONDITIONAL":
            result.warnings.append(Gap(f, d.verdict, d.statement, d.reason))
            continue
        unknown = not f.resolved or f.resource == "*"  # "*": discover does not model this service's ARNs
        if d.verdict == "NOT_GRANTED" and unknown and everywhere:
            anywhere = evaluate(compiled, f.action, everywhere)
            if anywhere.verdict in ("GRANTED", "CONDITIONAL"):
                why = (f"the resource is not known from the source ({', '.join(f.unresolved)})" if f.unresolved
                       else "discover does not model this action's resource ARN")
                result.warnings.append(Gap(f, "UNRESOLVED", anywhere.statement, f"{why}; {anywhere.reason}"))
                continue
        result.gaps.append(Gap(f, d.verdict, d.statement, d.reason))
    return result


def _policy_resources(policy: dict[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    stmts = policy.get("Statement", [])
    for st in stmts if isinstance(stmts, list) else [stmts]:
        if isinstance(st, dict) and st.get("Effect") == "Allow":
            res = st.get("Resource", [])
            for r in res if isinstance(res, list) else [res]:
                if isinstance(r, str) and r not in out:
                    out.append(r)
    return tuple(out)
