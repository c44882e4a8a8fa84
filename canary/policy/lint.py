"""Warn about identity-policy mistakes that make a statement grant nothing, or far too much.

These are the mistakes behind "works locally, AccessDenied in production": a typo in an action
name, an ARN with an empty account that matches no real resource, a statement without `Resource`,
and the opposite failure, a wildcard that also grants `DeleteTable`. Warnings never change the exit
code of `check-policy` unless `--strict` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from canary.policy import actions as _actions
from canary.policy.evaluate import _as_list, _documents, statement_label

__all__ = ["LintWarning", "lint", "rejections", "CODES", "REJECTED"]

CODES = {
    "principal-in-identity-policy": "Principal/NotPrincipal belongs in resource policies; identity policies reject it",
    "action-without-resource": "a statement with Action but no Resource grants nothing",
    "malformed-statement": "a statement IAM would reject (effect, Action/NotAction, Resource/NotResource)",
    "malformed-arn": "a Resource that is neither `*` nor an ARN matches nothing",
    "arn-empty-account": "an empty account segment where the service requires one matches nothing",
    "arn-empty-region": "an empty region segment where the service requires one matches nothing",
    "arn-unexpected-segment": "S3 bucket/object ARNs have no region or account; one given matches nothing",
    "unknown-service": "an action prefix no botocore service model signs as",
    "unknown-action": "an action name no operation of the service has",
    "destructive-wildcard": "a wildcard that also grants destructive actions the probes never call",
    "allow-not-action": "Allow with NotAction grants every other action of every service",
}

# Lints for documents IAM refuses to attach: nothing in such a document is granted.
REJECTED = frozenset({"principal-in-identity-policy", "action-without-resource", "malformed-statement"})

# Services whose resource ARNs always carry both a region and an account.
_NEEDS_REGION_AND_ACCOUNT = frozenset({"dynamodb", "ses", "sqs", "sns", "ssm", "secretsmanager", "lambda",
                                       "logs", "kms", "states", "events", "kinesis", "execute-api"})


@dataclass(frozen=True)
class LintWarning:
    """One finding: a stable code, the statement (Sid or index), and a sentence saying what to do."""

    code: str
    statement: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "statement": self.statement, "message": self.message}


def _arn_warnings(label: str, text: str) -> list[LintWarning]:
    if text == "*" or "${" in text:
        return []
    parts = text.split(":", 5)
    if parts[0] != "arn":
        return [LintWarning("malformed-arn", label, f"Resource {text!r} is not an ARN (arn:partition:service:"
                                                    "region:account:resource) nor '*'; it matches nothing")]
    if len(parts) < 6:
        if parts[-1].endswith("*"):
            return []
        return [LintWarning("malformed-arn", label, f"Resource {text!r} has {len(parts)} of the 6 ARN segments; "
                                                    "it matches nothing")]
    _, _, service, region, account, _ = parts
    out: list[LintWarning] = []
    if service in _NEEDS_REGION_AND_ACCOUNT:
        if account == "":
            out.append(LintWarning("arn-empty-account", label,
                                   f"Resource {text!r} has an empty account segment; {service} ARNs always carry "
                                   "the account ID, so this matches nothing (use the account ID or '*')"))
        if region == "":
            out.append(LintWarning("arn-empty-region", label,
                                   f"Resource {text!r} has an empty region segment; {service} ARNs always carry "
                                   "the region, so this matches nothing (use the region or '*')"))
    elif service == "s3" and (region not in ("", "*") or account not in ("", "*")):
        out.append(LintWarning("arn-unexpected-segment", label,
                               f"Resource {text!r} names a region or account; S3 bucket and object ARNs have "
                               "neither (arn:aws:s3:::bucket/key), so this matches nothing"))
    return out


def _action_warnings(label: str, text: str, allow: bool, used: set[str]) -> list[LintWarning]:
    if text == "*":
        return ([LintWarning("destructive-wildcard", label,
                             "Action '*' grants every action of every service, including every Delete*")]
                if allow else [])
    prefix, sep, name = text.partition(":")
    if not sep:
        return [LintWarning("unknown-action", label,
                            f"action {text!r} has no service prefix (expected service:Action)")]
    if "*" in prefix or "?" in prefix:
        return []
    names = _actions.actions_for(prefix)
    if names is None:
        hint = _actions.suggest(text)
        did = f"; did you mean {hint[0]!r}?" if hint else ""
        return [LintWarning("unknown-service", label,
                            f"action {text!r}: no AWS service model signs as {prefix!r}{did}")]
    if "*" not in name and "?" not in name:
        if name.lower() not in names:
            instead = _actions.authorized_as(prefix, name)
            if instead:
                did = f"; the API operation {name} is authorized by {' and '.join(repr(a) for a in instead)}"
            else:
                hint = _actions.suggest(text)
                did = f"; did you mean {hint[0]!r}?" if hint else ""
            return [LintWarning("unknown-action", label,
                                f"action {text!r} is not an IAM action of {prefix.lower()}, so it grants nothing"
                                f"{did} (AWS's Service Authorization Reference)")]
        return []
    granted = _actions.expand(text) or []
    if not granted:
        return [LintWarning("unknown-action", label, f"action pattern {text!r} matches no action of {prefix.lower()}")]
    if not allow:
        return []
    risky = [a for a in granted if _actions.is_destructive(a) and a.lower() not in used]
    if not risky:
        return []
    more = f" and {len(risky) - 6} more" if len(risky) > 6 else ""
    shown = ", ".join(a.partition(":")[2] for a in risky[:6]) + more
    return [LintWarning("destructive-wildcard", label,
                        f"{text!r} also grants {shown}, which no probe calls; list the actions the code needs instead")]


def _statement_warnings(stmt: Any, label: str, used: set[str]) -> list[LintWarning]:
    if not isinstance(stmt, dict):
        return [LintWarning("malformed-statement", label, "a statement must be an object")]
    out: list[LintWarning] = []
    if "Principal" in stmt or "NotPrincipal" in stmt:
        key = "Principal" if "Principal" in stmt else "NotPrincipal"
        out.append(LintWarning("principal-in-identity-policy", label,
                               f"{key} is for resource-based policies; IAM rejects an identity policy that has "
                               f"it (remove \"{key}\" from the statement)"))
    effect = stmt.get("Effect")
    if effect not in ("Allow", "Deny"):
        out.append(LintWarning("malformed-statement", label,
                               f"Effect must be \"Allow\" or \"Deny\" (case-sensitive), got {effect!r}; "
                               "IAM rejects the document (write \"Allow\" or \"Deny\")"))
    has_action, has_not_action = "Action" in stmt, "NotAction" in stmt
    if has_action and has_not_action:
        out.append(LintWarning("malformed-statement", label, "a statement has either Action or NotAction, not both "
                                                             "(IAM rejects both; keep one)"))
    elif not (has_action or has_not_action):
        out.append(LintWarning("malformed-statement", label, "a statement needs Action or NotAction "
                                                             "(add \"Action\": the actions to allow or deny)"))
    has_res, has_not_res = "Resource" in stmt, "NotResource" in stmt
    if has_res and has_not_res:
        out.append(LintWarning("malformed-statement", label, "a statement has either Resource or NotResource, "
                                                             "not both (IAM rejects both; keep one)"))
    elif (has_action or has_not_action) and not (has_res or has_not_res):
        out.append(LintWarning("action-without-resource", label,
                               "the statement has Action but no Resource, which IAM rejects in an identity "
                               "policy (add \"Resource\": the ARNs the actions apply to)"))
    allow = effect == "Allow"
    if has_not_action and allow:
        out.append(LintWarning("allow-not-action", label,
                               "Allow with NotAction grants every action not listed, in every service"))
    for text in _as_list(stmt.get("Action")) + _as_list(stmt.get("NotAction")):
        out.extend(_action_warnings(label, str(text), allow and has_action, used))
    for text in _as_list(stmt.get("Resource")) + _as_list(stmt.get("NotResource")):
        out.extend(_arn_warnings(label, str(text)))
    return out


def lint(policy: dict[str, Any] | list[dict[str, Any]], used_actions: Iterable[str] = ()) -> list[LintWarning]:
    """Return the warnings for a policy; `used_actions` are the actions the probes (or code) call."""
    used = {a.lower() for a in used_actions}
    out: list[LintWarning] = []
    for pidx, _doc, stmts in _documents(policy):
        for i, stmt in enumerate(stmts):
            out.extend(_statement_warnings(stmt, statement_label(stmt, i, pidx), used))
    return out


def rejections(policy: dict[str, Any] | list[dict[str, Any]]) -> list[LintWarning]:
    """The lints that make IAM refuse the whole document (so it cannot be attached and grants nothing)."""
    return [w for w in lint(policy) if w.code in REJECTED]
