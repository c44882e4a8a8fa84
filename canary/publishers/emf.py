"""CloudWatch Embedded Metric Format: one JSON line per record on stdout.

Lambda ships stdout to CloudWatch Logs, which extracts the metrics; no permission beyond the logs
the function already writes, so the canary adds nothing to the role it tests. Records follow the
published specification: `_aws.Timestamp` (ms), `_aws.CloudWatchMetrics[]` with `Namespace`,
`Dimensions` (one dimension set) and `Metrics` (at most 100 per record), and every dimension and
metric as a top-level member. Data with different dimension values go to different records.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterator, TextIO

from canary.publishers import Datum

__all__ = ["EmfPublisher", "emf_records", "MAX_METRICS_PER_RECORD"]

MAX_METRICS_PER_RECORD = 100
MAX_DIMENSIONS = 30


def _validate(d: Datum) -> None:
    if not 1 <= len(d.name) <= 255:
        raise ValueError(f"metric name must be 1-255 characters: {d.name!r}")
    if len(d.dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"metric {d.name} has {len(d.dimensions)} dimensions; EMF allows {MAX_DIMENSIONS}")
    for k, v in d.dimensions:
        if not k or not v or len(v) > 1024:
            raise ValueError(f"dimension {k!r} of {d.name} must be a non-empty string of at most 1024 characters")


def emf_records(data: list[Datum], namespace: str, timestamp_ms: int) -> Iterator[dict[str, Any]]:
    """Group data by dimension values into EMF records of at most 100 metrics each."""
    groups: dict[tuple[tuple[str, str], ...], list[Datum]] = {}
    for d in data:
        _validate(d)
        groups.setdefault(d.dimensions, []).append(d)
    for dims, items in groups.items():
        for start in range(0, len(items), MAX_METRICS_PER_RECORD):
            chunk = items[start:start + MAX_METRICS_PER_RECORD]
            record: dict[str, Any] = {
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [[k for k, _ in dims]],
                        "Metrics": [{"Name": d.name, "Unit": d.unit} for d in chunk],
                    }],
                },
            }
            record.update(dict(dims))
            for d in chunk:
                record[d.name] = d.value
            yield record


class EmfPublisher:
    """Print EMF records to a stream (stdout by default, which Lambda sends to CloudWatch Logs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def write(self, data: list[Datum], namespace: str, timestamp_ms: int) -> None:
        out = self.stream or sys.stdout
        lines = [json.dumps(r, separators=(",", ":")) for r in emf_records(data, namespace, timestamp_ms)]
        out.write("".join(line + "\n" for line in lines))
        out.flush()
