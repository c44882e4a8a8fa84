"""Turn one SNS alarm notification into one Slack message: the Slack function's whole job.

`handle_sns_alarm` never raises. An SNS-invoked Lambda that raises is retried by SNS, so a
malformed message would crash-loop and a slow Slack would post twice; instead every outcome, good
or bad, is logged once (without the webhook URL) and returned as a small dict.

Environment: `SLACK_WEBHOOK_SSM_PARAMETER` or `SLACK_WEBHOOK_URL` (the webhook), `CANARY_LOG_GROUP`
(where the canary's reports are), `CANARY_STAGE` (used when the alarm has no Stage dimension),
`SLACK_DELIVERY_BUDGET_S` (seconds for delivery including retries; keep it below the function's
timeout), `AWS_ENDPOINT_URL` (an emulator, for local runs).
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any, Mapping

from canary.notifiers.alarm import AlarmMessageError, parse_alarm
from canary.notifiers.secrets import WebhookUnavailable, redact, webhook_url

__all__ = ["handle_sns_alarm", "BUDGET_ENV"]

log = logging.getLogger("canary.notifiers.handler")

BUDGET_ENV = "SLACK_DELIVERY_BUDGET_S"


def handle_sns_alarm(message: str, *, subject: str | None = None, env: Mapping[str, str] | None = None,
                     session: Any = None) -> dict[str, Any]:
    """Post the Slack message for one CloudWatch alarm SNS message; return what happened, never raise.

    Returns `{"posted": bool, "status": int | str, "attempts": int, "reason": str | None, ...}`;
    `status` is Slack's HTTP status, or `malformed`, `no_webhook`, `connection_error`, `error`.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    try:
        return _handle(message, subject, environ, session)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against an SNS retry loop
        tb = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        log.error("alarm notification failed unexpectedly (acknowledged, not retried):\n%s", tb)
        return {"posted": False, "status": "error", "attempts": 0,
                "reason": redact(f"{type(exc).__name__}: {exc}")[:200]}


def _handle(message: str, subject: str | None, env: Mapping[str, str], session: Any) -> dict[str, Any]:
    try:
        alarm = parse_alarm(message)
    except AlarmMessageError as exc:
        reason = redact(exc)
        log.error("ignoring an SNS message that is not a readable CloudWatch alarm (subject %r): %s",
                  redact(subject)[:100] if subject else None, reason)
        return {"posted": False, "status": "malformed", "attempts": 0, "reason": reason}

    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or alarm.region
    endpoint_url = env.get("AWS_ENDPOINT_URL") or None
    sessions = _LazySession(session)

    from canary.notifiers.message import render

    lookup = None
    log_group = (env.get("CANARY_LOG_GROUP") or "").strip() or None
    if alarm.state == "ALARM":
        lookup = _lookup_report(sessions, log_group, region, endpoint_url)
        if lookup.unavailable:
            log.warning("alarm %s: report details unavailable: %s", alarm.name, lookup.unavailable)
    payload = render(alarm, report=lookup.report if lookup else None,
                     details_unavailable=lookup.unavailable if lookup else None,
                     log_group=log_group, stage=alarm.stage or env.get("CANARY_STAGE") or None)
    facts = {"alarm": alarm.name, "state": alarm.state, "kind": alarm.kind,
             "details": None if lookup is None else ("report" if lookup.report is not None else "unavailable")}

    try:
        url = webhook_url(env, session=sessions.get() if env.get("SLACK_WEBHOOK_SSM_PARAMETER") else None,
                          region=region, endpoint_url=endpoint_url)
    except WebhookUnavailable as exc:
        reason = redact(exc)
        log.error("alarm %s %s not posted to Slack: %s", alarm.name, alarm.state, reason)
        return {"posted": False, "status": "no_webhook", "attempts": 0, "reason": reason, **facts}

    from canary.notifiers.slack import DEFAULT_BUDGET_S, SlackWebhook

    delivery = SlackWebhook(url, budget_s=_budget(env, DEFAULT_BUDGET_S)).send(payload)
    if delivery.posted:
        log.info("alarm %s %s posted to Slack (%d attempt(s))", alarm.name, alarm.state, delivery.attempts)
    return {**delivery.to_dict(), **facts}


class _LazySession:
    """Make the boto3 session only if something needs AWS (OK messages with a direct URL need nothing)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def get(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session()
        return self._session


def _lookup_report(sessions: _LazySession, log_group: str | None, region: str | None,
                   endpoint_url: str | None) -> Any:
    from canary.notifiers.report import ReportLookup, latest_report

    if not log_group:
        return ReportLookup(unavailable="CANARY_LOG_GROUP is not set, so the canary's report was not looked up")
    try:
        from botocore.config import Config

        session = sessions.get()
        logs = session.client("logs", region_name=region or session.region_name, endpoint_url=endpoint_url,
                              config=Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 2}))
    except Exception as exc:  # noqa: BLE001 - no client means no details, not no message
        return ReportLookup(unavailable=f"no CloudWatch Logs client ({type(exc).__name__})")
    return latest_report(logs, log_group)


def _budget(env: Mapping[str, str], default: float) -> float:
    raw = env.get(BUDGET_ENV)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using %gs", BUDGET_ENV, raw[:20], default)
        return default
    return max(1.0, value)
