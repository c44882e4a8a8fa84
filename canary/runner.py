"""Run every probe once, concurrently, within a deadline, and gather a Report.

The runner owns what all probes share: clients (one per service, made once, before any thread
starts, because creating boto3 clients is not thread-safe), timeouts, bounded retries with full
jitter for transient errors only, and the overall deadline that keeps a Lambda from timing out
mid-run. A probe that raises anything at all becomes ERROR for that probe; the others still run.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from typing import Any, Callable

from canary.classify import Verdict, classify_exception, denied_action, remediation
from canary.config import CanaryConfig
from canary.model import Outcome, ProbeResult, Report
from canary.probes import PROBES, Call, ProbeParams, Target, build_call

__all__ = ["run", "Runner", "ProbeHook", "resolve_target"]

log = logging.getLogger("canary.runner")

# A hook wraps each probe's execution (X-Ray uses it for one subsegment per probe).
ProbeHook = Callable[[ProbeParams, Callable[[], ProbeResult]], ProbeResult]
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Who the credentials belong to cannot change while the access key stays the same, so a warm Lambda
# container (or any long-lived process) asks STS once per key, not once per run.
_IDENTITY_CACHE: dict[tuple[str, str, str | None], tuple[Target, str | None, str | None]] = {}


def _identity_key(session: Any, region: str, endpoint_url: str | None) -> tuple[str, str, str | None] | None:
    creds = session.get_credentials()
    access_key = getattr(creds, "access_key", None) if creds is not None else None
    return (access_key, region, endpoint_url) if access_key else None


def resolve_target(session: Any, region: str | None = None, endpoint_url: str | None = None,
                   timeout_s: float = 5.0) -> tuple[Target, str | None, str | None]:
    """Account and region to build ARNs with, the caller's ARN, and why STS failed (if it did).

    `sts:GetCallerIdentity` needs no permission, so it works for any role; when it fails the probes
    still run (the account in their ARNs is then `*`).
    """
    from botocore.config import Config

    reg = region or session.region_name
    if not reg:
        from canary.errors import ConfigError

        raise ConfigError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region")
    cfg = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 2})
    try:
        key = _identity_key(session, reg, endpoint_url)
        if key is not None and key in _IDENTITY_CACHE:
            return _IDENTITY_CACHE[key]
        sts = session.client("sts", region_name=reg, endpoint_url=endpoint_url, config=cfg)
        ident = sts.get_caller_identity()
        partition = str(ident["Arn"]).split(":")[1]
        found = (Target(region=reg, account=ident["Account"], partition=partition), str(ident["Arn"]), None)
        if key is not None:
            _IDENTITY_CACHE[key] = found
        return found
    except Exception as exc:  # noqa: BLE001 - any failure here only degrades the ARNs
        v = classify_exception(exc)
        log.warning("sts:GetCallerIdentity failed (%s); ARNs will use account '*'", v.error_code)
        return Target(region=reg, account="*"), None, f"{v.error_code}: {v.message}"


PENDING_ACCOUNT = "{account}"


def _region(session: Any, region: str | None) -> str:
    reg = region or session.region_name
    if not reg:
        from canary.errors import ConfigError

        raise ConfigError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region")
    return str(reg)


class _Identity:
    """`sts:GetCallerIdentity`, run beside the probes rather than before them.

    Only the report's ARNs need the account; the requests rarely do (a probe whose request names
    an ARN waits for it). The calling thread resolves it while the workers probe, so the round trip
    overlaps the probes, and it keeps the caller's tracing context.
    """

    def __init__(self, session: Any, region: str, endpoint_url: str | None, timeout_s: float) -> None:
        self._args = (session, region, endpoint_url, timeout_s)
        self._ready = threading.Event()
        self._value: tuple[Target, str | None, str | None] = (Target(region=region, account="*"), None, "not resolved")

    def resolve(self) -> None:
        try:
            self._value = resolve_target(*self._args)
        finally:
            self._ready.set()

    def get(self) -> tuple[Target, str | None, str | None]:
        self._ready.wait()
        return self._value

    def target(self) -> Target:
        return self.get()[0]

    def done(self) -> bool:
        return self._ready.is_set()


class Runner:
    """One configured run: build calls, make clients, execute, classify."""

    def __init__(self, config: CanaryConfig, session: Any | None = None, *, region: str | None = None,
                 endpoint_url: str | None = None, stage: str | None = None, deadline_s: float | None = None,
                 sequential: bool = False, hook: ProbeHook | None = None,
                 on_result: Callable[[ProbeResult], None] | None = None) -> None:
        if session is None:
            import boto3

            session = boto3.Session()
        self.config = config
        self.settings = config.settings
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self.stage = stage or config.settings.stage or "default"
        self.deadline_s = min(deadline_s, self.settings.deadline_s) if deadline_s else self.settings.deadline_s
        self.sequential = sequential
        self.hook = hook
        self.on_result = on_result
        self._rng = random.Random()

    # -- building ---------------------------------------------------------------------------

    def _clients(self, services: set[str], region: str) -> dict[str, Any]:
        from botocore.config import Config

        s = self.settings
        cfg = Config(connect_timeout=s.probe_timeout_s, read_timeout=s.probe_timeout_s,
                     retries={"total_max_attempts": 1}, max_pool_connections=max(10, s.max_workers))
        return {svc: self.session.client(svc, region_name=region, endpoint_url=self.endpoint_url, config=cfg)
                for svc in sorted(services)}

    # -- executing --------------------------------------------------------------------------

    def _attempt(self, client: Any, call: Call) -> Verdict:
        try:
            response = getattr(client, call.operation)(**call.params)  # discarded, never logged
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
            return classify_exception(exc, call.harmless_errors)
        body = response.get("Body") if isinstance(response, dict) else None
        if hasattr(body, "close"):
            body.close()  # S3 GetObject: free the connection without reading the data
        return Verdict(Outcome.ALLOWED)

    def _execute(self, call: Call, client: Any, deadline: float) -> tuple[Verdict, int]:
        attempts = 0
        while True:
            attempts += 1
            verdict = self._attempt(client, call)
            if not verdict.transient or attempts > self.settings.retries:
                break
            backoff = self._rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1)))
            if time.monotonic() + backoff + self.settings.probe_timeout_s > deadline:
                break  # no time left for another full attempt
            time.sleep(backoff)
        return verdict, attempts

    def _result(self, probe: ProbeParams, call: Call, v: Verdict, start: float, attempts: int) -> ProbeResult:
        rem = None
        if v.outcome is Outcome.DENIED and v.deny_reason == "implicit":
            # The denied action may not be the probe's own (e.g. kms:Decrypt behind ssm:GetParameter):
            # AWS names it in the message, and the fix must grant that one.
            named = denied_action(v.message or "")
            rem = (remediation(named[0], (named[1],) if named[1] else call.resources)
                   if named and named[0].lower() != call.action.lower() else remediation(call.action, call.resources))
        return ProbeResult(id=probe.probe_id, action=probe.action, resource=call.resource, outcome=v.outcome,
                           deny_reason=v.deny_reason, error_code=v.error_code, message=v.message,
                           transient=v.transient, duration_ms=int((time.monotonic() - start) * 1000),
                           attempts=attempts, remediation=rem)

    def _final(self, probe: ProbeParams, call: Call, identity: _Identity) -> Call:
        """The call with the real account in its ARNs (built again only if it was provisional)."""
        if call.resource.find(PENDING_ACCOUNT) < 0 and not any(PENDING_ACCOUNT in r for r in call.alt_resources):
            return call
        return build_call(probe, identity.target())

    def _guarded(self, probe: ProbeParams, call: Call, client: Any, deadline: float,
                 identity: _Identity) -> ProbeResult:
        def body() -> ProbeResult:
            start = time.monotonic()
            sent = build_call(probe, identity.target()) if PENDING_ACCOUNT in repr(call.params) else call
            verdict, attempts = self._execute(sent, client, deadline)
            return self._result(probe, self._final(probe, sent, identity), verdict, start, attempts)

        start = time.monotonic()
        try:
            result = self.hook(probe, body) if self.hook else body()
        except Exception as exc:  # noqa: BLE001 - a bug in one probe must not stop the others
            log.exception("probe %s raised", probe.probe_id)
            result = self._result(probe, self._final(probe, call, identity),
                                  Verdict(Outcome.ERROR, type(exc).__name__, str(exc)), start, 1)
        if self.on_result:
            try:
                self.on_result(result)
            except Exception:  # noqa: BLE001 - progress output never breaks a run
                log.exception("progress callback failed")
        return result

    def run(self) -> Report:
        t0 = time.monotonic()
        deadline = t0 + self.deadline_s
        started = _now_iso()
        region = _region(self.session, self.region)
        provisional = Target(region=region, account=PENDING_ACCOUNT)
        identity = _Identity(self.session, region, self.endpoint_url,
                             min(self.settings.probe_timeout_s, self.deadline_s))
        results: dict[int, ProbeResult] = {}
        calls: dict[int, Call] = {}
        for i, probe in enumerate(self.config.probes):
            try:
                calls[i] = build_call(probe, provisional)
            except Exception as exc:  # noqa: BLE001
                results[i] = ProbeResult(probe.probe_id, probe.action, "", Outcome.ERROR,
                                         error_code=type(exc).__name__, message=f"could not build the call: {exc}")
        services = {calls[i].service for i in calls}
        try:
            clients = self._clients(services, region)
        except Exception as exc:  # noqa: BLE001 - e.g. a bad endpoint URL: every probe is ERROR
            v = classify_exception(exc)
            identity.resolve()
            for i, call in calls.items():
                results[i] = self._result(self.config.probes[i], self._final(self.config.probes[i], call, identity),
                                          v, time.monotonic(), 0)
            calls, clients = {}, {}
        if self.sequential or self.settings.max_workers == 1 or not calls:
            if not identity.done():
                identity.resolve()
            for i, call in calls.items():
                results[i] = self._guarded(self.config.probes[i], call, clients[call.service], deadline, identity)
        else:
            self._run_pool(calls, clients, deadline, results, identity)
        _, principal, sts_error = identity.get() if identity.done() else (provisional, None, "no answer in time")
        report = Report(stage=self.stage, started_at=started, principal=principal,
                        namespace=self.settings.namespace)
        report.results = [results[i] for i in sorted(results)]
        report.duration_ms = int((time.monotonic() - t0) * 1000)
        if sts_error and principal is None:
            log.warning("caller identity unknown: %s", sts_error)
        return report

    def _run_pool(self, calls: dict[int, Call], clients: dict[str, Any], deadline: float,
                  results: dict[int, ProbeResult], identity: _Identity) -> None:
        pool = ThreadPoolExecutor(max_workers=min(self.settings.max_workers, len(calls)),
                                  thread_name_prefix="probe")
        futures: dict[Future[ProbeResult], int] = {
            pool.submit(self._guarded, self.config.probes[i], call, clients[call.service], deadline, identity): i
            for i, call in calls.items()}
        identity.resolve()  # here, while the workers probe
        pending = set(futures)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for f in done:
                results[futures[f]] = f.result()
        for f in pending:  # the deadline passed: report, do not wait
            i = futures[f]
            f.cancel()
            probe = self.config.probes[i]
            call = (self._final(probe, calls[i], identity) if identity.done()
                    else build_call(probe, Target(region=calls[i].resource.split(":")[3] or "*", account="*")))
            results[i] = self._result(probe, call, Verdict(
                Outcome.ERROR, "DeadlineExceeded",
                f"no answer within the run's deadline ({self.deadline_s:.1f}s)", transient=True),
                deadline - self.deadline_s, 1)
        pool.shutdown(wait=False, cancel_futures=True)


def run(config: CanaryConfig, session: Any | None = None, **kwargs: Any) -> Report:
    """Run all probes of `config` once and return the report (see `Runner` for the options)."""
    return Runner(config, session, **kwargs).run()


assert PROBES, "probe registry is empty"
