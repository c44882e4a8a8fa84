"""The Lambda side of the canary: what each Chalice function does, kept apart from the decorators.

Nothing heavy happens at import: the probe config is loaded on the first invocation and cached for
the container's life, boto3 and the engine are imported inside the handlers, X-Ray only when the
invocation is traced. No handler raises because of a probe: a DENIED or ERROR is data in the
report; even a missing or invalid config becomes an ERROR report (and ProbesErrored metric), so
the errors alarm still fires.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from canary.config import CanaryConfig
    from canary.model import Report

__all__ = ["run_scheduled", "run_manual", "alarm_to_slack", "parse_payload", "run_deadline", "load_lambda_config",
           "SAFETY_MARGIN_MAX_S", "DEFAULT_CONFIG_PATH"]

log = logging.getLogger("canary.handlers")

DEFAULT_CONFIG_PATH = "chalicelib/canary.json"
SAFETY_MARGIN_MAX_S = 5.0
SAFETY_MARGIN_MIN_S = 1.0
MIN_DEADLINE_S = 0.5
LOG_MARGIN_S = 0.3  # kept back from the publish bound to print the report line
PUBLISH_MAX_S = 5.0
MAX_PAYLOAD_PROBES = 1000
_CACHE: dict[tuple[str, str], "CanaryConfig"] = {}


def _stage(env: Mapping[str, str]) -> str:
    return env.get("CANARY_STAGE") or env.get("STAGE") or "default"


def _config_path(env: Mapping[str, str]) -> Path:
    p = Path(env.get("CANARY_CONFIG") or DEFAULT_CONFIG_PATH)
    if p.is_absolute():
        return p
    return Path(env.get("LAMBDA_TASK_ROOT") or os.getcwd()) / p


def load_lambda_config(env: Mapping[str, str] | None = None) -> "CanaryConfig":
    """Load the stage's probe config once per container (keyed by path and stage)."""
    env = os.environ if env is None else env
    path = _config_path(env)
    key = (str(path), _stage(env))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    from canary.config import load_config

    fill = dict(env)
    fill.setdefault("STAGE", _stage(env))
    config = load_config(path, env=fill)
    _CACHE[key] = config
    return config


def run_deadline(configured_s: float, remaining_ms: int | None) -> float:
    """The run's deadline: the config's, cut to what Lambda has left minus a margin to publish and log."""
    if remaining_ms is None:
        return configured_s
    remaining = remaining_ms / 1000.0
    margin = min(SAFETY_MARGIN_MAX_S, max(SAFETY_MARGIN_MIN_S, remaining * 0.1))
    return max(MIN_DEADLINE_S, min(configured_s, remaining - margin))


def publish_bound(remaining_ms: int | None) -> float:
    """The metrics publish's total bound: what Lambda has left after the run, minus time to log the report."""
    from canary.publishers import DEFAULT_TIMEOUT_S

    if remaining_ms is None:
        return DEFAULT_TIMEOUT_S
    return max(0.1, min(PUBLISH_MAX_S, remaining_ms / 1000.0 - LOG_MARGIN_S))


def _remaining_ms(context: Any) -> int | None:
    fn = getattr(context, "get_remaining_time_in_millis", None)
    try:
        return int(fn()) if callable(fn) else None
    except Exception:  # noqa: BLE001 - a context without a clock only loses the cut
        return None


def _error_report(stage: str, probe_id: str, code: str, message: str) -> "Report":
    from datetime import datetime, timezone

    from canary.model import Outcome, ProbeResult, Report

    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Report(stage=stage, started_at=started, principal=None,
                  results=[ProbeResult(id=probe_id, action="canary:Run", resource="", outcome=Outcome.ERROR,
                                       error_code=code, message=message)])


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _log_report(report: dict[str, Any]) -> None:
    from canary.logs import probe_line, report_line

    for r in report.get("results", []):
        _emit(probe_line(r, str(report.get("stage"))))
    _emit(report_line(report))


_SESSIONS: dict[tuple[str | None, ...], Any] = {}
_SESSION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def _session() -> Any:
    """One boto3 session per container: warm runs reuse its loaded service models and credentials.

    Keyed on the environment a session reads, so a changed environment gets a fresh one.
    """
    key = tuple(os.environ.get(k) for k in _SESSION_ENV)
    if key not in _SESSIONS:
        import boto3

        _SESSIONS.clear()
        _SESSIONS[key] = boto3.Session()
    return _SESSIONS[key]


def _run(context: Any, probes: list[str] | None, publish: bool) -> dict[str, Any]:
    env = os.environ
    stage = _stage(env)
    from canary.errors import CanaryError

    settings = None
    try:
        config = load_lambda_config(env)
        settings = config.settings
    except CanaryError as exc:
        report = _error_report(stage, "config", "ConfigError", str(exc))
    else:
        try:
            config = config.select(probes)
        except CanaryError as exc:  # a mistyped id in a manual run: say so, publish nothing
            data = _error_report(stage, "payload", "UnknownProbe", str(exc)).to_dict()
            _log_report(data)
            return data
        from canary.runner import run
        from canary.tracing import traced_run

        deadline = run_deadline(config.settings.deadline_s, _remaining_ms(context))
        try:
            with traced_run(stage, env) as xray:
                report = run(config, _session(), stage=stage, deadline_s=deadline,
                             hook=xray.hook if xray else None,
                             account_arn=getattr(context, "invoked_function_arn", None) or None)
                if xray is not None:
                    xray.summary = report.to_dict()["summary"]  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - a canary that crashes publishes nothing; report it instead
            log.exception("the run failed")
            report = _error_report(stage, "run", type(exc).__name__, str(exc)[:500])
    data = report.to_dict()
    if publish:
        from canary.config import Settings
        from canary.publishers import publish as publish_metrics

        problem = publish_metrics(report, settings or Settings(), timeout_s=publish_bound(_remaining_ms(context)))
        if problem:
            data["publish_error"] = problem
    _log_report(data)
    return data


def run_scheduled(context: Any) -> dict[str, Any]:
    """The scheduled run: probe, publish metrics, log the report line; return the summary."""
    data = _run(context, None, publish=True)
    return {"ok": data["ok"], "stage": data["stage"], "summary": data["summary"]}


class PayloadError(ValueError):
    """The manual function's payload is not `{}` or `{"probes": [...], "publish": bool}`."""


def parse_payload(payload: Any) -> tuple[list[str] | None, bool]:
    """Read `{"probes": [ids], "publish": bool}` (both optional); raise PayloadError otherwise."""
    if payload is None or payload == "":
        return None, True
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
            raise PayloadError("payload is not JSON; send {} or {\"probes\": [\"id\", ...], \"publish\": false}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"payload must be a JSON object, got {type(payload).__name__}; "
                           "send {} or {\"probes\": [\"id\", ...], \"publish\": false}")
    unknown = sorted(set(payload) - {"probes", "publish"})
    if unknown:
        raise PayloadError(f"unknown payload key(s) {', '.join(unknown)}; allowed: probes, publish")
    probes = payload.get("probes")
    if probes is not None and (not isinstance(probes, list) or not all(isinstance(p, str) and p for p in probes)):
        raise PayloadError("\"probes\" must be a list of probe ids (strings)")
    if probes is not None and len(probes) > MAX_PAYLOAD_PROBES:
        raise PayloadError(f"\"probes\" names {len(probes)} ids; at most {MAX_PAYLOAD_PROBES} (leave it out to run all)")
    if probes == []:
        raise PayloadError("\"probes\" is empty: name at least one probe id, or leave \"probes\" out to run them all")
    publish = payload.get("publish", True)
    if not isinstance(publish, bool):
        raise PayloadError("\"publish\" must be true or false")
    return probes, publish


def run_manual(payload: Any, context: Any) -> dict[str, Any]:
    """The manual run (`chalice invoke`, the deploy gate): return the full report."""
    try:
        probes, publish = parse_payload(payload)
    except PayloadError as exc:
        data = _error_report(_stage(os.environ), "payload", "InvalidPayload", str(exc)).to_dict()
        _log_report(data)
        return data
    return _run(context, probes, publish)


def alarm_to_slack(message: str, subject: str | None = None, context: Any = None,
                   message_id: str | None = None) -> dict[str, Any]:
    """Hand a CloudWatch alarm notification to the Slack notifier (or log it when there is none).

    Raises when the alarm was not delivered, so the invocation fails and Lambda retries it, then
    keeps it in the undelivered-alerts queue (`canary.notifiers.handler`).
    """
    try:
        from canary.notifiers.handler import handle_sns_alarm
    except ImportError:
        handle_sns_alarm = None
    if handle_sns_alarm is not None:
        return handle_sns_alarm(message, subject=subject, context=context, message_id=message_id)
    try:
        alarm = json.loads(message)
    except ValueError:
        alarm = {"raw": message[:1000]}
    keep = ("AlarmName", "NewStateValue", "OldStateValue", "NewStateReason", "StateChangeTime", "Region")
    parsed = {k: alarm.get(k) for k in keep} if isinstance(alarm, dict) else {"raw": str(alarm)[:1000]}
    _emit(json.dumps({"event": "permission_canary_alarm", "subject": subject, "alarm": parsed}, separators=(",", ":")))
    return {"delivered": False, "reason": "no notifier installed", "alarm": parsed}
