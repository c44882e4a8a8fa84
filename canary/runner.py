"""Run every probe once, concurrently, by an absolute deadline, and gather a Report.

The runner only orchestrates; each concern has its own small module:
- time: `canary._deadline` (the deadline, and the socket scope that ends calls abandoned at it),
- concurrency: `canary._pool` (daemon workers; results handed over as they finish),
- sending: `canary._attempts` (bounded retries of transient failures),
- verdicts: `canary.classify` (every answer classified in the worker, as it arrives),
- the account: `canary.identity` (STS never blocks a verdict).
Clients are made once per service, before any thread starts (creating them is not thread-safe).
A probe that raises becomes ERROR for that probe; the others still run. A probe still in flight at
the deadline becomes a transient `DeadlineExceeded` ERROR; every answer already in hand is kept.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

from canary._attempts import execute
from canary._deadline import Deadline, Scope
from canary._pool import start
from canary.classify import Verdict, classify_exception, remediation_for
from canary.config import CanaryConfig
from canary.identity import Identity, region_of
from canary.model import Outcome, ProbeResult, Report
from canary.probes import PROBES, Call, ProbeParams, Target, build_call

__all__ = ["run", "Runner", "ProbeHook", "probe_result"]

log = logging.getLogger("canary.runner")

# A hook wraps each probe's execution (X-Ray uses it for one subsegment per probe).
ProbeHook = Callable[[ProbeParams, Callable[[], ProbeResult]], ProbeResult]
PENDING_ACCOUNT = "{account}"
# One attempt's total bound, in units of probe_timeout_s: its connect and its reads are each bounded by
# probe_timeout_s; an answer still arriving after twice that (a drip) is abandoned.
ATTEMPT_CAP_FACTOR = 2.0


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def probe_result(probe: ProbeParams, call: Call, v: Verdict, start: float, attempts: int) -> ProbeResult:
    """The report's line for one probe, with the statement that fixes an implicit deny."""
    return ProbeResult(id=probe.probe_id, action=probe.action, resource=call.resource, outcome=v.outcome,
                       deny_reason=v.deny_reason, error_code=v.error_code, message=v.message,
                       transient=v.transient, duration_ms=int((time.monotonic() - start) * 1000),
                       attempts=attempts, remediation=remediation_for(v, call))


def _needs_account(call: Call) -> bool:
    return PENDING_ACCOUNT in repr(call.params)


def _provisional(call: Call) -> bool:
    return PENDING_ACCOUNT in repr((call.params, call.resources))


class Runner:
    """One configured run: build calls, make clients, execute by the deadline, gather the report.

    `account_arn` (e.g. the Lambda context's `invoked_function_arn`) gives the account without STS.
    """

    def __init__(self, config: CanaryConfig, session: Any | None = None, *, region: str | None = None,
                 endpoint_url: str | None = None, stage: str | None = None, deadline_s: float | None = None,
                 sequential: bool = False, hook: ProbeHook | None = None,
                 on_result: Callable[[ProbeResult], None] | None = None, account_arn: str | None = None) -> None:
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
        self.workers = 1 if sequential else self.settings.max_workers
        self.hook = hook
        self.on_result = on_result
        self.account_arn = account_arn

    def _clients(self, services: set[str], region: str) -> dict[str, Any]:
        from botocore.config import Config

        s = self.settings
        cfg = Config(connect_timeout=s.probe_timeout_s, read_timeout=s.probe_timeout_s,
                     retries={"total_max_attempts": 1},
                     max_pool_connections=max(10, min(self.workers, len(self.config.probes))))
        return {svc: self.session.client(svc, region_name=region, endpoint_url=self.endpoint_url, config=cfg)
                for svc in sorted(services)}

    def _probe(self, probe: ProbeParams, call: Call, client: Any, deadline: Deadline, scope: Scope,
               identity: Identity, beat: Callable[[], None]) -> ProbeResult:
        """One probe, start to verdict, in a worker; never raises."""
        def body() -> ProbeResult:
            start = time.monotonic()
            sent = call
            if identity.target() is not None and _provisional(call):
                sent = build_call(probe, identity.target())  # STS answered meanwhile: the real ARNs
            elif _needs_account(call):  # the request itself names the account: wait for it, boundedly
                target = identity.wait(min(identity.timeout_s, deadline.remaining()))
                if target is None:
                    return probe_result(probe, call, Verdict(
                        Outcome.ERROR, "AccountUnknown", "the request needs the account id and "
                        f"sts:GetCallerIdentity gave none ({identity.error or 'no answer in time'})",
                        transient=True), start, 0)
                sent = build_call(probe, target)
            verdict, attempts = execute(sent, client, retries=self.settings.retries,
                                        attempt_s=self.settings.probe_timeout_s, deadline=deadline, scope=scope,
                                        beat=beat)
            return probe_result(probe, sent, verdict, start, attempts)

        start = time.monotonic()
        try:
            return self.hook(probe, body) if self.hook else body()
        except Exception as exc:  # noqa: BLE001 - a bug in one probe must not stop the others
            log.exception("probe %s raised", probe.probe_id)
            return probe_result(probe, call, Verdict(Outcome.ERROR, type(exc).__name__, str(exc)), start, 1)

    def _progress(self, _: int, result: ProbeResult) -> None:
        if self.on_result:
            try:
                self.on_result(result)
            except Exception:  # noqa: BLE001 - progress output never breaks a run
                log.exception("progress callback failed")

    def run(self) -> Report:
        deadline = Deadline(self.deadline_s)
        started = _now_iso()
        region = region_of(self.session, self.region)
        probes = self.config.probes
        identity = Identity(self.session, region, self.endpoint_url, account_arn=self.account_arn,
                            timeout_s=min(self.settings.probe_timeout_s, self.deadline_s)).start()
        target = identity.target() or Target(region=region, account=PENDING_ACCOUNT)
        results: dict[int, ProbeResult] = {}
        calls: dict[int, Call] = {}
        for i, probe in enumerate(probes):
            try:
                calls[i] = build_call(probe, target)
            except Exception as exc:  # noqa: BLE001
                results[i] = ProbeResult(probe.probe_id, probe.action, "", Outcome.ERROR,
                                         error_code=type(exc).__name__, message=f"could not build the call: {exc}")
        clients: dict[str, Any] = {}
        try:
            clients = self._clients({c.service for c in calls.values()}, region)
        except Exception as exc:  # noqa: BLE001 - e.g. a bad endpoint URL: every probe is ERROR
            v = classify_exception(exc)
            results.update({i: probe_result(probes[i], c, v, time.monotonic(), 0) for i, c in calls.items()})
            calls = {}
        scope = Scope("run")
        cap = ATTEMPT_CAP_FACTOR * self.settings.probe_timeout_s

        def overdue(i: int, began: float, attempts: int) -> ProbeResult:
            return probe_result(probes[i], calls[i], Verdict(
                Outcome.ERROR, "Timeout", f"no complete answer within {cap:.1f}s (the total bound of one attempt, "
                "twice probe_timeout_s); the call was abandoned", transient=True), began, attempts)

        workers = start({i: (lambda beat, i=i, c=c: self._probe(probes[i], c, clients[c.service], deadline,
                                                                scope, identity, beat))
                         for i, c in calls.items()}, workers=self.workers, scope=scope)
        identity.resolve()  # here, while the workers probe; bounded by its own total time
        done, late = workers.collect(deadline, cap_s=cap, overdue=overdue, on_result=self._progress)
        results.update(done)
        late_v = Verdict(Outcome.ERROR, "DeadlineExceeded",
                         f"no answer within the run's deadline ({self.deadline_s:.1f}s)", transient=True)
        results.update({i: probe_result(probes[i], calls[i], late_v, deadline.start, 1) for i in late})
        for c in clients.values():
            c.close()  # idle keep-alive sockets; a warm container keeps nothing from this run
        identity.stop()
        return self._report(started, deadline, results, identity, region)

    def _report(self, started: str, deadline: Deadline, results: dict[int, ProbeResult], identity: Identity,
                region: str) -> Report:
        final = identity.target() or Target(region=region, account="*")
        for i, r in results.items():
            if r.message and PENDING_ACCOUNT in r.message:
                r.message = r.message.replace(PENDING_ACCOUNT, final.account)
            if PENDING_ACCOUNT in r.resource or (r.remediation and PENDING_ACCOUNT in repr(r.remediation)):
                call = build_call(self.config.probes[i], final)
                r.resource = call.resource
                if r.remediation is not None:
                    r.remediation = remediation_for(Verdict(r.outcome, r.error_code, r.message, r.deny_reason),
                                                    call)
        report = Report(stage=self.stage, started_at=started, principal=identity.principal,
                        namespace=self.settings.namespace)
        report.results = [results[i] for i in sorted(results)]
        report.duration_ms = int((time.monotonic() - deadline.start) * 1000)
        if identity.principal is None:
            log.warning("caller identity unknown: %s", identity.error)
        return report


def run(config: CanaryConfig, session: Any | None = None, **kwargs: Any) -> Report:
    """Run all probes of `config` once and return the report (see `Runner` for the options)."""
    return Runner(config, session, **kwargs).run()


assert PROBES, "probe registry is empty"
