"""Deliver a rendered message to a Slack incoming webhook: retry what can succeed, within a time budget.

slack_sdk's `WebhookClient` does the HTTP and runs its retry handlers; the handlers here are its
built-in ones (rate limit, server error, connection error) with one addition: each retry must fit in
the remaining time budget, so a Lambda never times out mid-sleep and loses the message silently.
429 waits exactly `Retry-After`; 5xx and connection errors back off with full jitter. Any other 4xx
(`invalid_payload`, `channel_not_found`, `no_active_hooks`, ...) cannot succeed on retry: it is
logged once with Slack's reason. slack_sdk is imported inside `send()` (about 190 ms), and its own
logger is silenced because it writes the request URL, which is the secret, at debug and info level.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from typing import Any

from canary.notifiers import Delivery
from canary.notifiers.secrets import redact, remember_secret

__all__ = ["SlackWebhook", "DEFAULT_BUDGET_S", "BLOCK_ERRORS"]

log = logging.getLogger("canary.notifiers.slack")

DEFAULT_BUDGET_S = 20.0
MIN_ATTEMPT_S = 1.0  # do not start an attempt with less time than this left
_REASON_CHARS = 200
# Slack's answers when the blocks themselves are the problem; the text fallback alone can still go out.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "too_many_blocks"})


class _Budget:
    """Shared by one send's retry handlers: the deadline, the attempt count, why retrying stopped."""

    def __init__(self, budget_s: float, timeout_s: float, backoff_s: float, backoff_cap_s: float) -> None:
        self.deadline = time.monotonic() + budget_s
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.attempts = 1
        self.next_sleep = 0.0
        self.gave_up: str | None = None
        self.client: Any = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def fits(self, sleep_s: float, why: str) -> bool:
        if self.remaining() - sleep_s >= MIN_ATTEMPT_S:
            self.next_sleep = sleep_s
            return True
        self.gave_up = f"{why}; not retried: the {self.remaining():.0f}s left of the time budget is not enough"
        return False

    def backoff(self, retry: int) -> float:
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_s * 2 ** retry))

    def sleep_then_count(self) -> None:
        time.sleep(max(0.0, self.next_sleep))
        self.attempts += 1
        if self.client is not None:
            self.client.timeout = max(0.5, min(self.timeout_s, self.remaining()))


def _retry_after(response: Any) -> float:
    """Seconds from a 429's Retry-After (seconds form); 1 s when absent or unreadable."""
    for k, v in (getattr(response, "headers", None) or {}).items():
        if k.lower() == "retry-after":
            raw = v[0] if isinstance(v, list) and v else v
            try:
                return max(0.0, float(str(raw).strip()))
            except ValueError:
                return 1.0
    return 1.0


@functools.lru_cache(maxsize=1)
def _handler_classes() -> tuple[type, type, type]:
    """slack_sdk's built-in retry handlers, each also bounded by the send's time budget."""
    from http.client import RemoteDisconnected
    from urllib.error import URLError

    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    class RateLimit(RateLimitErrorRetryHandler):  # type: ignore[misc]
        def __init__(self, budget: _Budget, max_retry_count: int) -> None:
            super().__init__(max_retry_count=max_retry_count)
            self.budget = budget

        def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
            if not super()._can_retry(state=state, request=request, response=response, error=error):
                return False
            wait = _retry_after(response)
            return self.budget.fits(wait, f"rate limited (Retry-After {wait:g}s)")

        def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                     error: Any = None) -> None:
            # The built-in adds up to 1 s of jitter and fails on a non-integer header; honour it exactly.
            state.next_attempt_requested = True
            self.budget.sleep_then_count()
            state.increment_current_attempt()

    class ServerError(ServerErrorRetryHandler):  # type: ignore[misc]
        def __init__(self, budget: _Budget, max_retry_count: int) -> None:
            super().__init__(max_retry_count=max_retry_count)
            self.budget = budget

        def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
            # Any 5xx (the built-in retries 500 and 503 only; gateways answer 502 and 504 too).
            if response is None or not 500 <= response.status_code < 600:
                return False
            return self.budget.fits(self.budget.backoff(state.current_attempt), f"HTTP {response.status_code}")

        def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                     error: Any = None) -> None:
            state.next_attempt_requested = True
            self.budget.sleep_then_count()
            state.increment_current_attempt()

    class Connection(ConnectionErrorRetryHandler):  # type: ignore[misc]
        def __init__(self, budget: _Budget, max_retry_count: int) -> None:
            super().__init__(max_retry_count=max_retry_count,
                             error_types=[URLError, ConnectionError, RemoteDisconnected, TimeoutError])
            self.budget = budget

        def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
            if not super()._can_retry(state=state, request=request, response=response, error=error):
                return False
            return self.budget.fits(self.budget.backoff(state.current_attempt), "connection failed")

        def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                     error: Any = None) -> None:
            state.next_attempt_requested = True
            self.budget.sleep_then_count()
            state.increment_current_attempt()

    return RateLimit, ServerError, Connection


def _bypasses_proxy(url: str) -> bool:
    from urllib.parse import urlsplit
    from urllib.request import proxy_bypass

    host = urlsplit(url).hostname or ""
    return bool(host) and bool(proxy_bypass(host))


def _quiet_sdk_logger() -> logging.Logger:
    """A logger for slack_sdk that emits nothing: it logs the webhook URL on retries and at debug."""
    sdk = logging.getLogger("canary.notifiers.slack.sdk")
    sdk.setLevel(logging.CRITICAL)
    sdk.propagate = False
    if not sdk.handlers:
        sdk.addHandler(logging.NullHandler())
    return sdk


class SlackWebhook:
    """A Notifier posting to one incoming webhook; `send` never raises and never reveals the URL."""

    def __init__(self, url: str, *, budget_s: float = DEFAULT_BUDGET_S, timeout_s: float = 10.0,
                 max_retries: int = 2, backoff_s: float = 0.25, backoff_cap_s: float = 4.0) -> None:
        remember_secret(url)
        self._url = url
        self.budget_s = budget_s
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s

    def __repr__(self) -> str:
        return f"SlackWebhook(url={'[REDACTED]'!r}, budget_s={self.budget_s})"

    def send(self, payload: dict[str, Any]) -> Delivery:
        """Post `payload` (`text` + `blocks`); retry 429 / 5xx / connection errors inside the budget.

        If Slack refuses the blocks themselves (`invalid_blocks`, `msg_blocks_too_long`), the `text`
        fallback is sent alone once: a plain alert beats a lost one.
        """
        budget = _Budget(self.budget_s, self.timeout_s, self.backoff_s, self.backoff_cap_s)
        delivery = self._post(payload, budget)
        if (not delivery.posted and delivery.status == 400 and delivery.reason in BLOCK_ERRORS
                and payload.get("blocks")):
            log.warning("Slack refused the message's blocks (%s); sending its text alone", delivery.reason)
            budget.attempts += 1
            budget.gave_up = None
            text = f"{payload.get('text') or 'permission canary alarm'} (details dropped: Slack answered {delivery.reason})"
            delivery = self._post({"text": text}, budget)
        if delivery.posted:
            return delivery
        if delivery.status == "connection_error":
            log.error("Slack webhook unreachable after %d attempt(s): %s", delivery.attempts, delivery.reason)
        elif delivery.status == 429 or int(delivery.status) >= 500:
            log.error("Slack did not accept the message after %d attempt(s): HTTP %s %s",
                      delivery.attempts, delivery.status, delivery.reason)
        else:
            log.error("Slack rejected the message: HTTP %s %s (not retried: fix the webhook or the payload)",
                      delivery.status, delivery.reason)
        return delivery

    def _post(self, payload: dict[str, Any], budget: _Budget) -> Delivery:
        try:
            from slack_sdk.webhook import WebhookClient

            rate, server, conn = _handler_classes()
            client = WebhookClient(
                url=self._url, timeout=max(0.5, min(self.timeout_s, budget.remaining())),  # type: ignore[arg-type]
                logger=_quiet_sdk_logger(),
                retry_handlers=[rate(budget, self.max_retries), server(budget, self.max_retries),
                                conn(budget, self.max_retries)])
            if client.proxy and _bypasses_proxy(self._url):
                client.proxy = None  # slack_sdk reads HTTPS_PROXY but ignores NO_PROXY; honour it
            budget.client = client
            resp = client.send_dict(payload)
        except Exception as exc:  # noqa: BLE001 - delivery failures are results, not crashes
            reason = redact(f"{type(exc).__name__}: {exc}")[:_REASON_CHARS]
            return Delivery(posted=False, status="connection_error", attempts=budget.attempts, reason=reason)

        status = int(resp.status_code)
        body = redact(" ".join(str(resp.body or "").split()))[:_REASON_CHARS]
        if status == 200:
            return Delivery(posted=True, status=200, attempts=budget.attempts, reason=body or "ok")
        reason = body or f"HTTP {status}"
        if budget.gave_up:
            reason = f"{reason} ({budget.gave_up})"
        return Delivery(posted=False, status=status, attempts=budget.attempts, reason=reason)
