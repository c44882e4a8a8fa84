"""Resolve the Slack webhook URL, and keep it out of every log line, return value and error message.

Anyone holding an incoming-webhook URL can post to the channel, so it is a secret: in the Lambda it
lives in an SSM SecureString named by `SLACK_WEBHOOK_SSM_PARAMETER` (read once per container, so a
burst of alarms costs one GetParameter); `SLACK_WEBHOOK_URL` is the local shortcut. Every URL this
module hands out is remembered, and `redact()` removes it (and its path, which urllib errors quote
on their own) from any text before it is logged or returned.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Mapping
from urllib.parse import urlsplit

from canary.errors import CanaryError
from canary.redact import withheld

__all__ = ["WebhookUnavailable", "webhook_url", "redact", "remember_secret", "clear_cache",
           "PARAMETER_ENV", "URL_ENV"]

PARAMETER_ENV = "SLACK_WEBHOOK_SSM_PARAMETER"
URL_ENV = "SLACK_WEBHOOK_URL"
REDACTED = "[REDACTED]"

_cache: dict[str, str] = {}
_secrets: set[str] = set()
_lock = threading.Lock()
# Slack webhook paths look like /services/T000/B000/XXXX (and workflow triggers /triggers/...).
_SLACK_PATH = re.compile(r"(hooks\.slack(?:-gov)?\.com)?/(services|triggers|workflows)/[A-Za-z0-9_/\-]+")


class WebhookUnavailable(CanaryError):
    """No usable webhook URL: not configured, or the SSM parameter could not be read."""


def remember_secret(value: str) -> None:
    """Register a secret so that `redact()` removes it, its path and its last segment from any text."""
    if not value:
        return
    with _lock:
        _secrets.add(value)
        parts = urlsplit(value)
        if parts.path and len(parts.path) > 8:
            _secrets.add(parts.path)
            last = parts.path.rstrip("/").rsplit("/", 1)[-1]
            if len(last) >= 8:
                _secrets.add(last)


def redact(text: Any) -> str:
    """Return `text` as a string with every remembered secret and any Slack webhook path replaced."""
    out = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in out:
            out = out.replace(s, REDACTED)
    return _SLACK_PATH.sub(lambda m: (m.group(1) or "") + f"/{m.group(2)}/{REDACTED}", out)


def clear_cache() -> None:
    """Forget cached URLs (tests; a rotated parameter is otherwise picked up by the next cold start)."""
    with _lock:
        _cache.clear()


def _check(url: str, source: str) -> str:
    url = url.strip()
    remember_secret(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("https", "http") or not urlsplit(url).netloc:
        raise WebhookUnavailable(f"{source} does not hold an http(s) URL")
    return url


def webhook_url(env: Mapping[str, str], *, session: Any = None, region: str | None = None,
                endpoint_url: str | None = None, deadline: float | None = None, refresh: bool = False) -> str:
    """The webhook URL: `SLACK_WEBHOOK_SSM_PARAMETER` (SecureString, cached) wins over `SLACK_WEBHOOK_URL`.

    `deadline` (time.monotonic()) bounds the whole SSM read; `refresh` bypasses the cache (a webhook
    Slack calls dead may have been rotated in the parameter since this container read it).
    """
    name = (env.get(PARAMETER_ENV) or "").strip()
    if name:
        with _lock:
            cached = None if refresh else _cache.get(name)
        if cached:
            return cached
        url = _check(_read_parameter(name, session=session, region=region, endpoint_url=endpoint_url,
                                     deadline=deadline), f"SSM parameter {name!r}")
        with _lock:
            _cache[name] = url
        return url
    direct = (env.get(URL_ENV) or "").strip()
    if direct:
        return _check(direct, f"${URL_ENV}")
    raise WebhookUnavailable(f"no Slack webhook configured: set {PARAMETER_ENV} (the name of an SSM "
                             f"SecureString) or {URL_ENV}")


def _read_parameter(name: str, *, session: Any, region: str | None, endpoint_url: str | None,
                    deadline: float | None = None) -> str:
    import time

    from botocore.config import Config

    from canary._deadline import DeadlineExceeded, bounded_here

    if session is None:
        import boto3

        session = boto3.Session()
    try:
        ssm = session.client("ssm", region_name=region or session.region_name, endpoint_url=endpoint_url,
                             config=Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 3}))
        left = (deadline if deadline is not None else time.monotonic() + 10.0) - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("no time left to read the webhook")

        def read() -> Any:
            with withheld():  # in this thread: bounded_here runs the call here, so the filter applies
                return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

        value = bounded_here(read, left, name="ssm-webhook")
    except Exception as exc:  # noqa: BLE001 - any failure means "no URL"; say which and why
        if isinstance(exc, DeadlineExceeded):
            raise WebhookUnavailable(f"cannot read SSM parameter {name!r}: no complete answer in time") from None
        from canary.classify import classify_exception

        why = classify_exception(exc).error_code or type(exc).__name__
        raise WebhookUnavailable(f"cannot read SSM parameter {name!r} ({why}); the Slack function needs "
                                 f"ssm:GetParameter on it (and kms:Decrypt for a customer-managed key)") from None
    if not isinstance(value, str):
        raise WebhookUnavailable(f"SSM parameter {name!r} has no string value")
    remember_secret(value.strip())
    return value
