"""Write `discover --check` results as SARIF 2.1.0, so code scanning puts each gap on the line of its call.

One result per checked call that is not granted (error), unresolved (warning), conditional or advisory (note),
located at the call's file and line. Paths are relative to the repository root the run starts in
(GitHub resolves them against the checkout), else to the app directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from canary.discover._check import CheckResult, Row

__all__ = ["sarif", "RULES"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES: dict[str, tuple[str, str, str]] = {  # verdict -> (rule id, level, short description)
    "NOT_GRANTED": ("permission-not-granted", "error",
                    "The stage's IAM policy grants this call's action on none of the resources it may touch"),
    "EXPLICITLY_DENIED": ("permission-explicitly-denied", "error",
                          "An explicit Deny in the stage's IAM policy matches this call"),
    "UNRESOLVED": ("permission-unresolved", "warning",
                   "The source does not tell the whole resource name; the policy grants only some of its values"),
    "CONDITIONAL": ("permission-conditional", "note",
                    "The policy grants this call only when a Condition holds (not evaluated offline)"),
    "ADVISORY": ("permission-advisory", "note",
                 "The policy lacks an action the call needs only in a rare case (a failed multipart upload's "
                 "clean-up): not a gap"),
    "UNMAPPED": ("permission-unmapped", "warning",
                 "AWS lists no IAM action for this operation, or botocore has no model for the service: "
                 "check its permission by hand"),
}


def _uri(app_dir: Path, rel: str) -> str:
    full = (app_dir / rel).resolve()
    try:
        return full.relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        return Path(rel).as_posix()


def _result(row: Row, app_dir: Path) -> dict[str, Any]:
    rule, level, _ = RULES["ADVISORY" if row.finding.advisory is not None else row.verdict]
    text = f"{row.finding.action} on {row.resource}: {row.verdict}. {row.reason}"
    if row.to_fill:
        text += f". To fill in: {'; '.join(row.to_fill)}"
    return {
        "ruleId": rule, "level": level, "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(app_dir, row.finding.file)},
            "region": {"startLine": max(1, row.finding.line)}}}],
        "properties": {"action": row.finding.action, "verdict": row.verdict,
                       "candidates": [c for c, _ in row.candidates]},
    }


def _by_hand(file: str, line: int, text: str, app_dir: Path) -> dict[str, Any]:
    rule, level, _ = RULES["UNMAPPED"]
    return {"ruleId": rule, "level": level, "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(app_dir, file)},
                                                "region": {"startLine": max(1, line)}}}]}


def sarif(result: CheckResult, app_dir: Path, version: str, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The SARIF log for one `discover --check` run (`warnings`: discover's `file:line: text` warnings)."""
    rows = result.gaps + result.unresolved + result.warnings
    extra = [_by_hand(f.file, f.line, f"{f.service}.{f.operation}: {f.note}", app_dir) for f in result.unmapped]
    for w in warnings:
        where, _, text = w.partition(": ")
        file, _, line = where.rpartition(":")
        if file and line.isdigit():
            extra.append(_by_hand(file, int(line), text, app_dir))
    return {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "permission-canary", "version": version,
                "rules": [{"id": rid, "shortDescription": {"text": desc}, "defaultConfiguration": {"level": lvl}}
                          for rid, lvl, desc in RULES.values()]}},
            "results": [_result(r, app_dir) for r in rows] + extra,
        }],
    }
