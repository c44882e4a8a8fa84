"""Deliver a rendered message to a Slack incoming webhook: retry what can succeed, within a deadline.

Every POST has a TOTAL time bound (`canary.notifiers._http`): a Slack that hangs or drips its answer
costs at most one attempt's share of the deadline, never the function's timeout. At most
`MAX_ATTEMPTS` POSTs per message: 429 waits exactly `Retry-After` when that fits, 5xx, connection
errors and timeouts back off with full jitter. Any other 4xx cannot succeed on retry and is
reported with Slack's reason; documented answers (api.slack.com changelog 2016-05-17 "Improving
error conditions for Incoming Webhooks"): 400 `invalid_payload`/`user_not_found`, 403
`action_prohibited`, 404 `channel_not_found`, 410 `channel_is_archived`, 500 `rollup_error`;
seen in practice for removed or rotated hooks: 403 `invalid_token`, 404 `no_service`/`no_team`/
`no_active_hooks`. Those mean "this URL is dead": `WEBHOOK_GONE` tells the handler to re-read it.

The HTTP is stdlib (urllib): it logs nothing, so the URL, which is the secret, never reaches a log.
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

from canary.notifiers import Delivery
from canary.notifiers.secrets import redact, remember_secret

__all__ = ["SlackWebhook", "DEFAULT_BUDGET_S", "BLOCK_ERRORS", "MAX_ATTEMPTS", "webhook_gone"]

log = logging.getLogger("canary.notifiers.slack")

DEFAULT_BUDGET_S = 20.0
MAX_ATTEMPTS = 3      # POSTs per message, whatever happens (fallbacks and a re-read webhook included)
MIN_ATTEMPT_S = 1.0   # do not start an attempt with less time than this left
_REASON_CHARS = 200
# Slack's answers when the blocks themselves are the problem; the text fallback alone can still go out.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "too_many_blocks"})
# Statuses that say the webhook URL itself is no longer valid (removed, rotated, channel gone).
_GONE_STATUSES = frozenset({403, 404, 410})


def webhook_gone(delivery: Delivery) -> bool:
    """True when Slack's answer says the URL is dead (re-reading a rotated secret may help)."""
    return not delivery.posted and isinstance(delivery.status, int) and delivery.status in _GONE_STATUSES


def _retry_after(headers: dict[str, str]) -> float:
    """Seconds from a 429's Retry-After (seconds form); 1 s when absent or unreadable."""
    for k, v in headers.items():
        if k.lower() == "retry-after":
            try:
                return max(0.0, float(str(v).strip()))
            except ValueError:
                return 1.0
    return 1.0


class SlackWebhook:
    """A Notifier posting to one incoming webhook; `send` never raises and never reveals the URL."""

    def __init__(self, url: str, *, budget_s: float = DEFAULT_BUDGET_S, timeout_s: float = 10.0,
                 max_attempts: int = MAX_ATTEMPTS, backoff_s: float = 0.25, backoff_cap_s: float = 4.0) -> None:
        remember_secret(url)
        self._url = url
        self.budget_s = budget_s
        self.timeout_s = timeout_s
        self.max_attempts = max(1, min(MAX_ATTEMPTS, max_attempts))
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s

    def __repr__(self) -> str:
        return f"SlackWebhook(url={'[REDACTED]'!r}, budget_s={self.budget_s})"

    def send(self, payload: dict[str, Any], *, deadline: float | None = None) -> Delivery:
        """Post `payload` (`text` + `blocks`) by `deadline` (time.monotonic(); default now + budget_s).

        If Slack refuses the blocks themselves (`invalid_blocks`, `msg_blocks_too_long`), the `text`
        fallback is sent alone: a plain alert beats a lost one.
        """
        end = time.monotonic() + self.budget_s if deadline is None else min(deadline, time.monotonic() + self.budget_s)
        delivery = self._deliver(payload, end)
        if delivery.posted:
            return delivery
        if delivery.status in ("connection_error", "timeout"):
            log.error("Slack webhook unreachable after %d attempt(s): %s", delivery.attempts, delivery.reason)
        elif delivery.status == 429 or int(delivery.status) >= 500:
            log.error("Slack did not accept the message after %d attempt(s): HTTP %s %s",
                      delivery.attempts, delivery.status, delivery.reason)
        else:
            log.error("Slack rejected the message: HTTP %s %s (not retried: fix the webhook or the payload)",
                      delivery.status, delivery.reason)
        return delivery

    def _deliver(self, payload: dict[str, Any], end: float) -> Delivery:
        attempt = 0
        body = payload
        last: Delivery | None = None
        while attempt < self.max_attempts:
            attempt += 1
            delivery, wait = self._post_once(body, attempt, end)
            if delivery.posted:
                return delivery
            last = delivery
            if (delivery.status == 400 and delivery.reason in BLOCK_ERRORS and body.get("blocks")):
                log.warning("Slack refused the message's blocks (%s); sending its text alone", delivery.reason)
                text = f"{payload.get('text') or 'permission canary alarm'} (details dropped: Slack answered {delivery.reason})"
                body = {"text": text}
                continue
            if wait is None:
                return delivery
            if attempt >= self.max_attempts:
                break
            left = end - time.monotonic()
            if left - wait < MIN_ATTEMPT_S:
                return Delivery(False, delivery.status, attempt,
                                f"{delivery.reason}; not retried: the {max(0.0, left):.0f}s left of the time "
                                f"budget is not enough")
            time.sleep(wait)
        assert last is not None
        return last

    def _post_once(self, payload: dict[str, Any], attempt: int, end: float) -> tuple[Delivery, float | None]:
        """One POST; the Delivery, and how long to wait before retrying (None: do not retry)."""
        from canary.notifiers._http import DeadlineExceeded, request

        from urllib.parse import urlsplit

        if urlsplit(self._url).scheme.lower() not in ("http", "https"):
            return Delivery(False, "connection_error", attempt, "the webhook is not an http(s) URL"), None
        backoff = random.uniform(0, min(self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1)))
        try:
            data = json.dumps(payload).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return Delivery(False, "error", attempt, f"the message is not JSON ({exc})"), None
        try:
            resp = request("POST", self._url, deadline=min(end, time.monotonic() + self.timeout_s), body=data,
                           headers={"Content-Type": "application/json; charset=utf-8"}, per_read_s=self.timeout_s)
        except DeadlineExceeded as exc:
            return Delivery(False, "timeout", attempt, f"no complete answer in time ({exc})"), backoff
        except Exception as exc:  # noqa: BLE001 - delivery failures are results, not crashes
            reason = redact(f"{type(exc).__name__}: {exc}")[:_REASON_CHARS]
            return Delivery(False, "connection_error", attempt, reason), backoff
        text = redact(" ".join(resp.body.decode("utf-8", "replace").split()))[:_REASON_CHARS]
        if resp.status == 200:
            return Delivery(True, 200, attempt, text or "ok"), None
        delivery = Delivery(False, resp.status, attempt, text or f"HTTP {resp.status}")
        if resp.status == 429:
            wait = _retry_after(resp.headers)
            return Delivery(False, 429, attempt, f"{delivery.reason} (Retry-After {wait:g}s)"), wait
        if 500 <= resp.status < 600:
            return delivery, backoff
        return delivery, None
