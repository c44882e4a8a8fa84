"""Structured log lines: one JSON line per run holds the whole report, under a fixed key.

The Slack notifier finds the latest report with the CloudWatch Logs filter `REPORT_FILTER`; keep
`REPORT_EVENT` stable, it is part of the contract between the two functions.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["REPORT_EVENT", "REPORT_FILTER", "report_line", "probe_line"]

REPORT_EVENT = "permission_canary_report"
REPORT_FILTER = '{ $.event = "permission_canary_report" }'


def report_line(report: dict[str, Any]) -> str:
    """The run's one findable log line: `{"event": "permission_canary_report", "report": {...}}`."""
    return json.dumps({"event": REPORT_EVENT, "report": report}, separators=(",", ":"), sort_keys=True)


def probe_line(result: dict[str, Any], stage: str) -> str:
    """A compact per-probe line, for humans reading the log stream."""
    keep = ("id", "action", "resource", "outcome", "deny_reason", "error_code", "transient", "duration_ms")
    return json.dumps({"event": "permission_canary_probe", "stage": stage, **{k: result.get(k) for k in keep}},
                      separators=(",", ":"))
