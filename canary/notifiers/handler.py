"""Turn one SNS alarm notification into one Slack message: the Slack function's whole job.

Never a lost alert: when the message cannot be posted (after at most `MAX_ATTEMPTS` POSTs, and one
re-read of a webhook Slack calls dead), `handle_sns_alarm` raises `AlarmNotDelivered`. The
invocation then fails, Lambda retries it (`canary.alarms.SLACK_RETRIES`, twice) and then sends the
event to the undelivered-alerts queue, whose own alarm pages. Only a message that is not an alarm
at all (not JSON, no AlarmName) is acknowledged without a post: a retry cannot help it; it is logged.

Bounded in time: everything ends by the function's own deadline (`context.get_remaining_time_in_millis()`
minus a reserve for logging), and each AWS lookup has a TOTAL bound (`canary._deadline.bounded_here`): the
webhook read at most `SSM_MAX_S`, the report lookup at most `LOOKUP_MAX_S` and never more than
`LOOKUP_SHARE` of what is left, so the POSTs keep the larger part.

Bounded in posts: at most `MAX_ATTEMPTS` POSTs per invocation; a message already posted by this
container (same SNS MessageId, or the same bytes) is not posted again. Worst case per alarm, when
Slack takes a message but the answer is lost each time: MAX_ATTEMPTS x (1 + SLACK_RETRIES) = 9.

Only the canary's own alarms (`alarm.canary_kind`: the names and metrics `template`/`provision`
create, in the config's namespace) are rendered as canary messages with its report; any other alarm
on the topic is posted plainly, escaped, with no report and no advice.

Environment: `SLACK_WEBHOOK_SSM_PARAMETER` or `SLACK_WEBHOOK_URL` (the webhook), `CANARY_LOG_GROUP`
(where the canary's reports are), `CANARY_STAGE`, `CANARY_NAMESPACE` (else the config file's
`namespace`, else `PermissionCanary`), `SLACK_DELIVERY_BUDGET_S` (cap for the whole delivery),
`AWS_ENDPOINT_URL` (an emulator, for local runs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
import traceback
from collections import OrderedDict
from typing import Any, Mapping

from canary.errors import CanaryError
from canary.notifiers.alarm import REGION_NAME, AlarmMessageError, canary_kind, parse_alarm
from canary.notifiers.secrets import PARAMETER_ENV, WebhookUnavailable, redact, webhook_url

__all__ = ["handle_sns_alarm", "AlarmNotDelivered", "forget_posted", "canary_namespace", "BUDGET_ENV", "RESERVE_S", "LOOKUP_MAX_S", "SSM_MAX_S"]

log = logging.getLogger("canary.notifiers.handler")

BUDGET_ENV = "SLACK_DELIVERY_BUDGET_S"
RESERVE_S = 1.5       # kept back from the function's remaining time: log the outcome, return or raise
LOOKUP_MAX_S = 8.0    # the report lookup's cap...
LOOKUP_SHARE = 0.35   # ...and its share of the time left (details are nice; the post is what matters)
SSM_MAX_S = 5.0       # reading the webhook parameter
DEFAULT_NAMESPACE = "PermissionCanary"
_SEEN_MAX = 256

_posted: "OrderedDict[str, float]" = OrderedDict()
_posted_lock = threading.Lock()


class AlarmNotDelivered(CanaryError):
    """The alarm was not posted; raised so the invocation fails and the platform retries, then keeps it."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        super().__init__(f"alarm {result.get('alarm') or '?'} not delivered to Slack: {result.get('status')} "
                         f"{result.get('reason') or ''}".strip())


def handle_sns_alarm(message: str, *, subject: str | None = None, env: Mapping[str, str] | None = None,
                     session: Any = None, context: Any = None, message_id: str | None = None) -> dict[str, Any]:
    """Post the Slack message for one CloudWatch alarm SNS message; raise `AlarmNotDelivered` if it was not.

    Returns `{"posted": bool, "status": int | str, "attempts": int, "reason": str | None, ...}`
    when the message was posted (or is not an alarm: `status` `malformed`, or was already posted:
    `duplicate`). The raised error's `.result` has the same shape, `status` being Slack's HTTP
    status or `no_webhook`, `connection_error`, `timeout`, `error`.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    deadline = _deadline(environ, context)
    # A redelivery carries the same SNS MessageId and the same bytes; both must match.
    key = f"{message_id or ''}:{hashlib.sha256(str(message).encode('utf-8', 'replace')).hexdigest()}"
    if _already_posted(key):
        log.info("message %s was already posted by this container; not posting it again", key[:64])
        return {"posted": True, "status": "duplicate", "attempts": 0, "reason": "already posted"}
    try:
        result = _handle(message, subject, environ, session, deadline)
    except AlarmNotDelivered:
        raise
    except Exception as exc:  # noqa: BLE001 - unexpected: fail the invocation so the alert is retried, then kept
        tb = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        log.error("alarm notification failed unexpectedly (the invocation fails; Lambda retries it):\n%s", tb)
        raise AlarmNotDelivered({"posted": False, "status": "error", "attempts": 0,
                                 "reason": redact(f"{type(exc).__name__}: {exc}")[:200]}) from None
    if result.get("posted"):
        _remember_posted(key)
    elif result.get("status") != "malformed":
        raise AlarmNotDelivered(result)
    return result


def _deadline(env: Mapping[str, str], context: Any) -> float:
    """When everything must be done (time.monotonic()): the budget, and never past the function's timeout."""
    from canary.notifiers.slack import DEFAULT_BUDGET_S

    now = time.monotonic()
    budget = _budget(env, DEFAULT_BUDGET_S)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        try:
            left = float(remaining()) / 1000.0 - RESERVE_S
        except (TypeError, ValueError):
            left = budget
        budget = min(budget, max(0.0, left))
    return now + budget


def forget_posted() -> None:
    """Forget which messages this container posted (tests; a new container starts empty anyway)."""
    with _posted_lock:
        _posted.clear()


def _already_posted(key: str) -> bool:
    with _posted_lock:
        return key in _posted


def _remember_posted(key: str) -> None:
    with _posted_lock:
        _posted[key] = time.time()
        while len(_posted) > _SEEN_MAX:
            _posted.popitem(last=False)


def canary_namespace(env: Mapping[str, str]) -> str:
    """The canary's metric namespace: CANARY_NAMESPACE, else the config file's, else the default."""
    explicit = (env.get("CANARY_NAMESPACE") or "").strip()
    if explicit:
        return explicit
    path = (env.get("CANARY_CONFIG") or "").strip()
    if path:
        try:
            ns = _config_namespace(path)
            if ns:
                return ns
        except Exception as exc:  # noqa: BLE001 - an unreadable config must not stop the alert
            log.warning("cannot read the namespace from %s (%s); assuming %s", path[:200], type(exc).__name__,
                        DEFAULT_NAMESPACE)
    return DEFAULT_NAMESPACE


def _config_namespace(path: str) -> str | None:
    """The top-level `namespace` of the probe config (JSON, or YAML's plain `namespace: X` line).

    No validation and no YAML parser here: the canary validated this file when it was deployed, and
    the Slack function needs one string from it.
    """
    import json
    import re

    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read(1 << 20)
    if path.lower().endswith((".yaml", ".yml")):
        m = re.search(r"^namespace:[ \t]*[\"']?([^\s\"'#]+)", text, re.MULTILINE)
        return m.group(1) if m else None
    data = json.loads(text)
    ns = data.get("namespace") if isinstance(data, dict) else None
    return ns if isinstance(ns, str) and ns else None


def _handle(message: str, subject: str | None, env: Mapping[str, str], session: Any,
            deadline: float) -> dict[str, Any]:
    try:
        alarm = parse_alarm(message)
    except AlarmMessageError as exc:
        reason = redact(exc)
        log.error("ignoring an SNS message that is not a readable CloudWatch alarm (subject %r): %s",
                  redact(subject)[:100] if subject else None, reason)
        return {"posted": False, "status": "malformed", "attempts": 0, "reason": reason}

    own_region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    region = own_region or (alarm.region if alarm.region and REGION_NAME.match(alarm.region) else None)
    endpoint_url = env.get("AWS_ENDPOINT_URL") or None
    sessions = _LazySession(session)
    stage = (env.get("CANARY_STAGE") or "").strip() or None
    kind = canary_kind(alarm, namespace=canary_namespace(env), stage=stage)
    alarm = dataclasses.replace(alarm, kind=kind or "unknown")
    facts = {"alarm": alarm.name, "state": alarm.state, "kind": alarm.kind, "canary": kind is not None}

    from_ssm = bool((env.get(PARAMETER_ENV) or "").strip())
    try:
        url = webhook_url(env, session=sessions.get() if from_ssm else None, region=region,
                          endpoint_url=endpoint_url, deadline=min(deadline - 1.0, time.monotonic() + SSM_MAX_S))
    except WebhookUnavailable as exc:
        reason = redact(exc)
        log.error("alarm %s %s not posted to Slack: %s", alarm.name, alarm.state, reason)
        return {"posted": False, "status": "no_webhook", "attempts": 0, "reason": reason, **facts}

    from canary.notifiers.message import render, render_plain

    log_group = (env.get("CANARY_LOG_GROUP") or "").strip() or None
    lookup = None
    if kind is None:
        payload = render_plain(alarm)
        facts["details"] = None
        log.warning("alarm %s is not one of the canary's alarms (namespace %s, metric %s): posted plainly",
                    alarm.name, alarm.namespace, alarm.metric)
    else:
        if alarm.state == "ALARM" and kind in ("denied", "errors", "heartbeat"):
            left = deadline - time.monotonic()
            lookup = _lookup_report(sessions, log_group, region, endpoint_url,
                                    time.monotonic() + min(LOOKUP_MAX_S, max(0.0, left * LOOKUP_SHARE)))
            if lookup.unavailable:
                log.warning("alarm %s: report details unavailable: %s", alarm.name, lookup.unavailable)
        payload = render(alarm, report=lookup.report if lookup else None,
                         details_unavailable=lookup.unavailable if lookup else None,
                         log_group=log_group, stage=alarm.stage or stage)
        facts["details"] = None if lookup is None else ("report" if lookup.report is not None else "unavailable")

    from canary.notifiers.slack import MAX_ATTEMPTS, SlackWebhook, webhook_gone

    delivery = SlackWebhook(url).send(payload, deadline=deadline)
    left_attempts = MAX_ATTEMPTS - delivery.attempts
    if webhook_gone(delivery) and from_ssm and left_attempts > 0 and deadline - time.monotonic() > 1.0:
        # A rotated webhook: the cached URL is dead; read the parameter again (once) past the cache.
        try:
            fresh = webhook_url(env, session=sessions.get(), region=region, endpoint_url=endpoint_url,
                                deadline=min(deadline - 1.0, time.monotonic() + SSM_MAX_S), refresh=True)
        except WebhookUnavailable as exc:
            fresh = None
            log.error("re-reading the webhook after Slack answered %s failed: %s", delivery.status, redact(exc))
        if fresh and fresh != url:
            log.warning("Slack answered %s %s; the webhook parameter holds a new URL: posting there",
                        delivery.status, delivery.reason)
            again = SlackWebhook(fresh, max_attempts=left_attempts).send(payload, deadline=deadline)
            delivery = dataclasses.replace(again, attempts=delivery.attempts + again.attempts)
        elif fresh:
            delivery = dataclasses.replace(delivery, reason=f"{delivery.reason} (the webhook parameter, re-read, "
                                                             f"holds the same URL: replace it)")
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
                   endpoint_url: str | None, deadline: float) -> Any:
    from canary.notifiers.report import ReportLookup, latest_report

    if not log_group:
        return ReportLookup(unavailable="CANARY_LOG_GROUP is not set, so the canary's report was not looked up")
    if deadline - time.monotonic() < 0.2:
        return ReportLookup(unavailable="no time left to look the canary's report up")
    try:
        from botocore.config import Config

        session = sessions.get()
        logs = session.client("logs", region_name=region or session.region_name, endpoint_url=endpoint_url,
                              config=Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 2}))
    except Exception as exc:  # noqa: BLE001 - no client means no details, not no message
        return ReportLookup(unavailable=f"no CloudWatch Logs client ({type(exc).__name__})")
    return latest_report(logs, log_group, deadline=deadline)


def _budget(env: Mapping[str, str], default: float) -> float:
    raw = env.get(BUDGET_ENV)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using %gs", BUDGET_ENV, raw[:20], default)
        return default
    return max(1.0, value) if value == value else default
