"""Find the canary's latest report in its log group, so an alarm can say which probe failed and why.

The canary writes one JSON line per run under a fixed key (`canary.logs`); this module asks
CloudWatch Logs for lines matching `REPORT_FILTER` in the last 30 minutes and keeps the newest.
Every line is re-checked here, so a looser server-side filter (moto treats JSON filter patterns as
match-all) or a runtime prefix before the JSON (`[INFO]\\t<time>\\t<request id>\\t{...}`) still yields
the right report. Failure is a reason string, never an exception: the alarm goes out regardless.
"""

from __future__ import annotations

import json
import time
from typing import Any

from canary.logs import REPORT_EVENT, REPORT_FILTER

__all__ = ["latest_report", "parse_report_line", "ReportLookup", "WINDOW_MINUTES"]

WINDOW_MINUTES = 30
MAX_PAGES = 20


class ReportLookup:
    """The outcome of one lookup: `report` when found, else `unavailable` says why (for the message)."""

    __slots__ = ("report", "unavailable")

    def __init__(self, report: dict[str, Any] | None = None, unavailable: str | None = None) -> None:
        self.report = report
        self.unavailable = unavailable


def parse_report_line(message: str) -> dict[str, Any] | None:
    """The report in one log line, or None if the line is not a canary report."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(message[start:])
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("event") == REPORT_EVENT and isinstance(data.get("report"), dict):
        return data["report"]
    return None


def latest_report(logs: Any, log_group: str, *, window_minutes: int = WINDOW_MINUTES,
                  now_ms: int | None = None, deadline: float | None = None) -> ReportLookup:
    """Return the newest report logged to `log_group` in the window, or why there is none.

    `deadline` (time.monotonic()) ends the paging and bounds each request in total (`bounded_here` cuts
    its socket): the pages read so far still count.
    """
    end = now_ms if now_ms is not None else int(time.time() * 1000)
    kwargs: dict[str, Any] = {"logGroupName": log_group, "startTime": end - window_minutes * 60_000,
                              "endTime": end, "filterPattern": REPORT_FILTER}
    from canary._deadline import bounded_here

    best: tuple[int, dict[str, Any]] | None = None
    try:
        for _ in range(MAX_PAGES):
            if deadline is None:
                page = logs.filter_log_events(**kwargs)
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("deadline")
                # a total bound on the request (a read timeout never trips on an answer that drips)
                page = bounded_here(lambda: logs.filter_log_events(**kwargs), left, name="logs-lookup")
            for ev in page.get("events", []):
                report = parse_report_line(str(ev.get("message", "")))
                ts = int(ev.get("timestamp", 0))
                if report is not None and (best is None or ts >= best[0]):
                    best = (ts, report)
            token = page.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    except Exception as exc:  # noqa: BLE001 - a failed lookup degrades the message, never stops it
        if isinstance(exc, TimeoutError):
            if best is not None:
                return ReportLookup(report=best[1])  # the newest among the pages read in time
            return ReportLookup(unavailable=f"logs:FilterLogEvents on {log_group} did not answer in time")
        from canary.classify import classify_exception

        code = classify_exception(exc).error_code or type(exc).__name__
        return ReportLookup(unavailable=f"logs:FilterLogEvents on {log_group} failed ({code})")
    if best is None:
        return ReportLookup(unavailable=f"no canary report in {log_group} in the last {window_minutes} minutes")
    return ReportLookup(report=best[1])
