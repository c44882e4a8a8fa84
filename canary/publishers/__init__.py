"""Publish a run's metrics: one small interface, two publishers (EMF on stdout, PutMetricData).

The harness decides *what* is published (`metrics_for`): `ProbesRun`, `ProbesDenied` and
`ProbesErrored` on every run, zeros included, so "no data" never looks healthy; per-probe
`ProbeAllowed` only when the config asks (each is a custom metric, billed monthly). A publisher
decides only *how*. `publish()` never raises: a failed publish is logged and returned as a message,
and never changes the probes' outcomes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from canary.config import Settings
    from canary.model import Report

__all__ = ["Datum", "Publisher", "metrics_for", "make_publisher", "publish", "RUN_METRICS"]

log = logging.getLogger("canary.publish")
RUN_METRICS = ("ProbesRun", "ProbesDenied", "ProbesErrored")
DEFAULT_TIMEOUT_S = 10.0  # total bound of one publish (the Lambda handler passes what it has left)


@dataclass(frozen=True)
class Datum:
    """One metric value with its dimensions (name -> value, in a fixed order)."""

    name: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]


class Publisher(Protocol):
    """Send metric data somewhere; raise on failure (the caller logs and carries on)."""

    def write(self, data: list[Datum], namespace: str, timestamp_ms: int) -> None: ...


def metrics_for(report: "Report", settings: "Settings") -> list[Datum]:
    """The metrics a run publishes: run totals always, per-probe 0/1 when enabled."""
    stage = (("Stage", report.stage),)
    data = [
        Datum("ProbesRun", float(len(report.results)), "Count", stage),
        Datum("ProbesDenied", float(report.denied), "Count", stage),
        Datum("ProbesErrored", float(report.errored), "Count", stage),
    ]
    if settings.per_probe_metrics:
        for r in report.results:
            data.append(Datum("ProbeAllowed", 1.0 if r.outcome.value == "ALLOWED" else 0.0, "None",
                              (("Stage", report.stage), ("Probe", r.id), ("Action", r.action))))
    return data


def make_publisher(name: str, *, session: Any | None = None, stream: TextIO | None = None,
                   endpoint_url: str | None = None, region: str | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> Publisher:
    """The publisher `name`; an API publisher's whole write is bounded by `timeout_s`."""
    if name == "emf":
        from canary.publishers.emf import EmfPublisher

        return EmfPublisher(stream)
    if name == "put_metric_data":
        from canary.publishers.put_metric_data import PutMetricDataPublisher

        return PutMetricDataPublisher(session=session, endpoint_url=endpoint_url, region=region,
                                      timeout_s=timeout_s)
    raise ValueError(f"unknown publisher {name!r}")


def _timestamp_ms(report: "Report") -> int:
    from datetime import datetime, timezone

    started = datetime.strptime(report.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int(started.timestamp() * 1000)


def publish(report: "Report", settings: "Settings", *, publisher: Publisher | None = None,
            session: Any | None = None, stream: TextIO | None = None, endpoint_url: str | None = None,
            region: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> str | None:
    """Publish the run's metrics within `timeout_s` in total; return None or a one-line reason on failure."""
    try:
        pub = publisher or make_publisher(settings.publisher, session=session, stream=stream,
                                          endpoint_url=endpoint_url, region=region, timeout_s=timeout_s)
        pub.write(metrics_for(report, settings), settings.namespace, _timestamp_ms(report))
    except Exception as exc:  # noqa: BLE001 - publishing must never change the outcome
        from canary.classify import classify_exception

        v = classify_exception(exc)
        reason = f"metrics not published ({settings.publisher}): {v.error_code}: {v.message}"
        log.error(reason)
        return reason
    return None
