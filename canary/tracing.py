"""Trace a run with AWS X-Ray: one subsegment per probe, annotated with its id, action and outcome.

Active only in Lambda with tracing on (`AWS_XRAY_DAEMON_ADDRESS` and `_X_AMZN_TRACE_ID` set);
anywhere else `traced_run()` yields no hook and aws_xray_sdk is never imported, so local runs
print no "context missing" noise.

aws-xray-sdk is optional. It is not in the runtime requirements, because it depends on botocore and
`chalice package` would then ship botocore (about 17 MB) in every function's zip. Without it the
Lambda's active tracing still records each invocation (the function's own segment); the probes
just get no subsegments of their own, and the run says so in one INFO log line, once per container.
Add `aws-xray-sdk` to the API's requirements to get them (docs/bench.md gives the cost).

botocore is patched, so every AWS call (STS, each probe, PutMetricData) gets its own `aws`
subsegment and carries the trace header. The patch marks any 4xx answer as an error and records
the exception as a fault, which would paint the expected harmless refusal of a write probe
(`ConditionalCheckFailedException`) as a failure in the service map. So while a run is traced,
nothing is streamed to the daemon mid-run; each probe's hook clears the flags and cause on its
call subsegments whose only exception is the harmless code the probe reported (and only when
the probe was ALLOWED), and the whole run subtree is sent once, when the run ends. A DENIED
probe keeps its error flag; an ERROR probe is marked as a fault on its probe subsegment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:
    from canary.model import ProbeResult
    from canary.probes import ProbeParams

__all__ = ["tracing_active", "traced_run", "XRayRun", "sdk_available", "NO_SDK"]

log = logging.getLogger("canary.tracing")
_patched = False
_HOLD = 10 ** 9  # streaming threshold while a run is open: send nothing until it ends


def tracing_active(env: Mapping[str, str] | None = None) -> bool:
    """True only inside Lambda with active tracing (the daemon address and a trace header are set)."""
    env = os.environ if env is None else env
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME") and env.get("AWS_XRAY_DAEMON_ADDRESS")
                and env.get("_X_AMZN_TRACE_ID"))


def sdk_available() -> bool:
    """True when aws-xray-sdk can be imported (it is optional; see the module docstring)."""
    import importlib.util

    try:
        return importlib.util.find_spec("aws_xray_sdk") is not None
    except (ImportError, ValueError):
        return False


_said_missing = False
NO_SDK = ("x-ray: aws-xray-sdk is not installed, so the probes get no subsegments (the invocation is still "
          "traced by Lambda); add aws-xray-sdk to the requirements to get one subsegment per probe")


def _recorder() -> Any:
    global _patched
    from aws_xray_sdk.core import patch, xray_recorder

    if not _patched:
        patch(("botocore",))
        _patched = True
    return xray_recorder


def _clear_flags(entity: Any) -> None:
    entity.fault = False
    entity.error = False
    entity.throttle = False
    entity.cause = {}


def _exception_types(entity: Any) -> set[str]:
    cause = getattr(entity, "cause", None)
    if not isinstance(cause, dict):
        return set()
    return {str(e.get("type") if isinstance(e, dict) else getattr(e, "type", "")) for e in cause.get("exceptions", [])}


class XRayRun:
    """The subsegment of one run, and the probe hook that hangs each probe's subsegment under it."""

    def __init__(self, recorder: Any, stage: str) -> None:
        self.recorder = recorder
        self.stage = stage
        self._owner = threading.get_ident()
        self._threshold = recorder.streaming_threshold
        recorder.streaming_threshold = _HOLD
        self.segment = recorder.begin_subsegment("permission_canary run")
        if self.segment is not None:
            self.segment.put_annotation("stage", stage)

    def hook(self, probe: "ProbeParams", body: Callable[[], "ProbeResult"]) -> "ProbeResult":
        """Run one probe inside its own subsegment (from any worker thread)."""
        rec = self.recorder
        if self.segment is None:
            return body()
        other_thread = threading.get_ident() != self._owner
        if other_thread:
            rec.set_trace_entity(self.segment)  # X-Ray context is per thread
        sub = rec.begin_subsegment(f"probe {probe.probe_id}"[:200])
        try:
            result = body()
            if sub is not None:
                try:
                    sub.put_annotation("probe_id", probe.probe_id)
                    sub.put_annotation("action", probe.action)
                    sub.put_annotation("outcome", result.outcome.value)
                    self._mark(sub, result)
                except Exception:  # noqa: BLE001 - tracing never changes a probe's outcome
                    log.warning("x-ray annotation of probe %s failed", probe.probe_id, exc_info=True)
            return result
        finally:
            rec.end_subsegment()
            if other_thread:
                rec.clear_trace_entities()

    @staticmethod
    def _mark(sub: Any, result: "ProbeResult") -> None:
        outcome = result.outcome.value
        if outcome == "ALLOWED" and result.error_code:
            for child in list(getattr(sub, "subsegments", [])):
                types = _exception_types(child)
                if child.fault or child.error:
                    if types and types <= {result.error_code}:
                        _clear_flags(child)  # the call has ended: set attributes, not put_*()
                        child.metadata.setdefault("permission_canary", {})["harmless_refusal"] = result.error_code
        elif outcome == "DENIED":
            sub.add_error_flag()
        elif outcome == "ERROR":
            sub.add_fault_flag()

    def close(self, summary: dict[str, Any] | None = None) -> None:
        """End the run subsegment and send the whole subtree."""
        rec = self.recorder
        if self.segment is not None and summary:
            for k in ("allowed", "denied", "error"):
                if k in summary:
                    self.segment.put_annotation(k, int(summary[k]))
        rec.streaming_threshold = self._threshold
        if self.segment is not None:
            rec.end_subsegment()


@contextlib.contextmanager
def traced_run(stage: str, env: Mapping[str, str] | None = None) -> Iterator[XRayRun | None]:
    """Yield an XRayRun in traced Lambda invocations, else None (nothing imported)."""
    global _said_missing
    if not tracing_active(env):
        yield None
        return
    if not sdk_available():
        if not _said_missing:
            log.info(NO_SDK)
            _said_missing = True
        yield None
        return
    try:
        run = XRayRun(_recorder(), stage)
    except Exception:  # noqa: BLE001 - e.g. a broken or incompatible aws-xray-sdk: run untraced, say why
        log.warning("x-ray tracing is on but could not start; running untraced", exc_info=True)
        yield None
        return
    try:
        yield run
    finally:
        run.close(getattr(run, "summary", None))
