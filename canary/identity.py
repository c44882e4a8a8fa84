"""Who the canary runs as, and in which account: known without STS where possible, never waited on for a verdict.

Most probes name only a table, bucket or parameter in their request; only the report's ARNs need
the account. The account comes, in order, from what the caller already knows (the Lambda context's
`invoked_function_arn`, a configured role ARN), from an earlier answer for the same access key, or
from `sts:GetCallerIdentity`, asked by the calling thread (which keeps its X-Ray context) while the
workers probe. That lookup has its own total bound; a probe whose *request* needs the account (an
SQS queue URL, an SNS topic ARN) waits for it at most that long, and every other probe never waits.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from canary._deadline import DeadlineExceeded, bounded_here
from canary.probes import Target

__all__ = ["Identity", "account_from_arn", "region_of"]

log = logging.getLogger("canary.identity")

_ARN = re.compile(r"^arn:(aws[a-zA-Z-]*):[^:]*:[^:]*:(\d{12}):")

# Who the credentials belong to cannot change while the access key stays the same, so a warm Lambda
# container (or any long-lived process) asks STS once per key, not once per run.
_CACHE: dict[tuple[str, str, str | None], tuple[Target, str]] = {}


def account_from_arn(arn: str | None) -> tuple[str, str] | None:
    """(partition, account) from any ARN that carries an account, e.g. a Lambda function or role ARN."""
    m = _ARN.match(arn or "")
    return (m.group(1), m.group(2)) if m else None


def region_of(session: Any, region: str | None) -> str:
    reg = region or session.region_name
    if not reg:
        from canary.errors import ConfigError

        raise ConfigError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region")
    return str(reg)


def _cache_key(session: Any, region: str, endpoint_url: str | None) -> tuple[str, str, str | None] | None:
    try:
        creds = session.get_credentials()
    except Exception:  # noqa: BLE001 - no credentials: nothing to key on
        return None
    access_key = getattr(creds, "access_key", None) if creds is not None else None
    return (access_key, region, endpoint_url) if access_key else None


def _sts_client(session: Any, region: str, endpoint_url: str | None, timeout_s: float) -> Any:
    from botocore.config import Config

    cfg = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 2})
    return session.client("sts", region_name=region, endpoint_url=endpoint_url, config=cfg)


def _ask(sts: Any, region: str) -> tuple[Target, str]:
    ident = sts.get_caller_identity()
    arn = str(ident["Arn"])
    return Target(region=region, account=str(ident["Account"]), partition=arn.split(":")[1]), arn


class Identity:
    """The account (for ARNs) and the caller's ARN (for the report), found without blocking the probes."""

    def __init__(self, session: Any, region: str, endpoint_url: str | None = None, *,
                 account_arn: str | None = None, timeout_s: float = 5.0) -> None:
        self.session, self.region, self.endpoint_url = session, region, endpoint_url
        self.timeout_s = timeout_s
        self.principal: str | None = None
        self.error: str | None = None
        self._target: Target | None = None
        known = account_from_arn(account_arn)
        if known:
            self._target = Target(region=region, account=known[1], partition=known[0])
        self._done = threading.Event()

    def start(self) -> "Identity":
        """Make the STS client (in the calling thread: creating clients is not thread-safe), or finish from the cache."""
        self._sts: Any = None
        self._key = _cache_key(self.session, self.region, self.endpoint_url)
        if self._key is not None and self._key in _CACHE:
            target, self.principal = _CACHE[self._key]
            self._target = self._target or target
            self._done.set()
            return self
        try:
            self._sts = _sts_client(self.session, self.region, self.endpoint_url, self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - only the report's principal is lost
            self._fail(exc)
        return self

    def resolve(self) -> None:
        """Ask STS now, in this thread, bounded in total by `timeout_s` (a no-op when already known)."""
        if self._done.is_set() or self._sts is None:
            return
        try:
            target, arn = bounded_here(lambda: _ask(self._sts, self.region), self.timeout_s, name="sts-identity")
        except Exception as exc:  # noqa: BLE001 - any failure here only degrades the report
            self._fail(exc)
            return
        finally:
            self._sts.close()  # its keep-alive socket would outlive the run
        if self._key is not None:
            _CACHE[self._key] = (target, arn)
        self.principal = arn
        self._target = self._target or target
        self._done.set()

    def _fail(self, exc: BaseException) -> None:
        try:
            if isinstance(exc, DeadlineExceeded):
                self.error = f"DeadlineExceeded: {exc}"
            else:
                from canary.classify import classify_exception

                v = classify_exception(exc)  # type: ignore[arg-type]
                self.error = f"{v.error_code}: {v.message}"
        except Exception:  # noqa: BLE001 - naming the failure must not keep anyone waiting
            self.error = type(exc).__name__
        finally:
            self._done.set()
        log.warning("sts:GetCallerIdentity failed (%s); the report names no principal", self.error.split(":")[0])

    def target(self) -> Target | None:
        """The account's target if known now (never waits)."""
        return self._target

    def wait(self, seconds: float) -> Target | None:
        """Wait up to `seconds` for the account (known at once when it came from an ARN)."""
        if self._target is None:
            self._done.wait(max(0.0, seconds))
        return self._target

    def stop(self) -> None:
        """Nothing more to wait for: an unfinished lookup is abandoned (its thread ends by its own bound)."""
        if not self._done.is_set() and self.error is None:
            self.error = "no answer in time"
