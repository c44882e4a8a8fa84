"""Results of a canary run: one ProbeResult per probe, gathered into a Report.

Plain dataclasses (no pydantic) so that the result side costs nothing at import time.
`Report.to_dict()` is the public JSON contract (DESIGN.md "Report").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "ProbeResult", "Report", "exit_code"]


class Outcome(str, enum.Enum):
    """What a probe proved about the role."""

    ALLOWED = "ALLOWED"
    DENIED = "DENIED"
    ERROR = "ERROR"


@dataclass
class ProbeResult:
    """The classified outcome of one probe call."""

    id: str
    action: str
    resource: str
    outcome: Outcome
    deny_reason: str | None = None
    error_code: str | None = None
    message: str | None = None
    transient: bool = False
    duration_ms: int = 0
    attempts: int = 1
    remediation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome.value,
            "deny_reason": self.deny_reason,
            "error_code": self.error_code,
            "message": self.message,
            "transient": self.transient,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "remediation": self.remediation,
        }


@dataclass
class Report:
    """Everything one run proved; `ok` only when every probe was ALLOWED."""

    stage: str
    started_at: str
    principal: str | None
    results: list[ProbeResult] = field(default_factory=list)
    duration_ms: int = 0
    namespace: str = "PermissionCanary"

    @property
    def allowed(self) -> int:
        return sum(r.outcome is Outcome.ALLOWED for r in self.results)

    @property
    def denied(self) -> int:
        return sum(r.outcome is Outcome.DENIED for r in self.results)

    @property
    def errored(self) -> int:
        return sum(r.outcome is Outcome.ERROR for r in self.results)

    @property
    def ok(self) -> bool:
        return self.denied == 0 and self.errored == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stage": self.stage,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "principal": self.principal,
            "summary": {"allowed": self.allowed, "denied": self.denied, "error": self.errored},
            "results": [r.to_dict() for r in self.results],
        }


def exit_code(report: Report | dict[str, Any]) -> int:
    """Map a report to the CLI contract: 0 all allowed, 1 any denied, 3 errors but none denied."""
    if isinstance(report, Report):
        denied, errored = report.denied, report.errored
    else:
        summary = report.get("summary", {})
        denied, errored = int(summary.get("denied", 0)), int(summary.get("error", 0))
    if denied:
        return 1
    if errored:
        return 3
    return 0
