"""Check offline which probes an identity policy grants, before anything is deployed.

The Lambda never imports this package: only `check-policy` and `discover --check` do. The
evaluator is pure; `check_config` pairs it with the probe registry so that the resources checked are
exactly the ones the runtime canary would call.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canary.errors import CanaryError
from canary.policy.evaluate import (CONDITIONAL, EXPLICITLY_DENIED, GRANTED, NOT_GRANTED, CompiledPolicy, Decision,
                                    compile_policy, evaluate)
from canary.policy.decide import UNRESOLVED, decide
from canary.policy.lint import LintWarning, lint, rejections
from canary.policy.stage import StagePolicy, StagePolicyError, stage_policy

__all__ = ["evaluate", "Decision", "compile_policy", "CompiledPolicy", "check_config", "ProbeVerdict",
           "load_policy", "lint", "LintWarning", "PolicyError", "stage_policy", "StagePolicy", "StagePolicyError",
           "GRANTED", "NOT_GRANTED", "EXPLICITLY_DENIED", "CONDITIONAL", "UNRESOLVED", "decide", "PolicyRejected", "require_attachable"]


class PolicyError(CanaryError):
    """A policy file cannot be read or is not an IAM policy document; the message names the file."""


@dataclass(frozen=True)
class ProbeVerdict:
    """What the policy says about one probe: its id, action, the ARNs checked, and the decision."""

    probe_id: str
    action: str
    resources: tuple[str, ...]
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.probe_id, "action": self.action, "resources": list(self.resources),
                "verdict": self.decision.verdict, "statement": self.decision.statement,
                "condition_keys": list(self.decision.condition_keys), "reason": self.decision.reason}


class PolicyRejected(PolicyError):
    """IAM would refuse to attach the policy document, so nothing in it is granted (exit 2)."""


def require_attachable(policy: Any, source: str) -> None:
    """Raise PolicyRejected, in one line naming each lint and its fix, for a document IAM would reject.

    Used by `check-policy` and `discover --check` alike: verdicts on such a document would be fiction.
    """
    found = rejections(policy)
    if found:
        why = "; ".join(f"{w.statement or 'statement'}: {w.message} [lint {w.code}]" for w in found)
        raise PolicyRejected(f"{source}: IAM would reject this policy document, so it cannot be attached and "
                             f"grants nothing: {why}")


def check_config(config: Any, policy: Any, target: Any = None) -> list[ProbeVerdict]:
    """Decide every probe of a validated config against `policy`, with ARNs built for `target`.

    The probe's ARNs are alternatives IAM accepts either of (an SES address or its domain), decided by
    the same procedure as `discover --check`.
    """
    from canary.policy.pattern import AnyOf
    from canary.probes import ANY_TARGET, probe_resources

    compiled = compile_policy(policy)
    tgt = ANY_TARGET if target is None else target
    out = []
    for params in config.probes:
        resources = tuple(probe_resources(params, tgt))
        candidates = (AnyOf(tuple((r,) for r in resources)),) if resources else ()
        out.append(ProbeVerdict(params.probe_id, params.action, resources,
                                decide(compiled, params.action, candidates)))
    return out


def _check_document(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise PolicyError(f"{where}: not a policy document: expected an object with \"Version\" and "
                          f"\"Statement\", got {type(doc).__name__}")
    if "Statement" not in doc:
        hint = (" (this looks like a probe config, not a policy)" if "probes" in doc
                else " (this looks like a single statement; wrap it in {\"Version\": \"2012-10-17\", "
                     "\"Statement\": [...]})" if "Effect" in doc else "")
        raise PolicyError(f"{where}: not a policy document: no \"Statement\" field{hint}")
    stmts = doc["Statement"]
    items = stmts if isinstance(stmts, list) else [stmts]
    for i, s in enumerate(items):
        if not isinstance(s, dict):
            raise PolicyError(f"{where}: not a policy document: Statement[{i}] must be an object, "
                              f"got {type(s).__name__}")
    return doc


def load_policy(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check an IAM policy document (JSON); errors name the file and what is wrong."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{p}: policy file not found") from None
    except IsADirectoryError:
        raise PolicyError(f"{p}: is a directory, not a policy file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: cannot read policy file: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{p}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return _check_document(doc, str(p))
