"""CloudWatch PutMetricData: for accounts that prefer API-published metrics (needs cloudwatch:PutMetricData).

Batched within the API's limits: at most 1,000 metric data per request and a request body under
1 MB (we stop well short, at 900 KB estimated). This adds a permission to the role under test —
which is why EMF is the default.

Bounded in total: the client has connect/read timeouts and two attempts, and the whole write runs
under `canary._deadline.within`, so a hanging or dripping endpoint costs at most `timeout_s`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from canary.publishers import DEFAULT_TIMEOUT_S, Datum

__all__ = ["PutMetricDataPublisher", "batches", "MAX_DATA_PER_CALL", "MAX_BYTES_PER_CALL", "DEFAULT_TIMEOUT_S"]

MAX_DATA_PER_CALL = 1000
MAX_BYTES_PER_CALL = 900_000


def _datum(d: Datum, ts: datetime) -> dict[str, Any]:
    return {"MetricName": d.name, "Value": d.value, "Unit": d.unit, "Timestamp": ts,
            "Dimensions": [{"Name": k, "Value": v} for k, v in d.dimensions]}


def batches(data: list[Datum], timestamp_ms: int) -> list[list[dict[str, Any]]]:
    """Split data into requests that respect the count and size limits."""
    ts = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for d in data:
        item = _datum(d, ts)
        est = len(json.dumps(item, default=str)) + 64  # form-encoding overhead per member, generous
        if current and (len(current) >= MAX_DATA_PER_CALL or size + est > MAX_BYTES_PER_CALL):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += est
    if current:
        out.append(current)
    return out


class PutMetricDataPublisher:
    def __init__(self, session: Any | None = None, *, endpoint_url: str | None = None,
                 region: str | None = None, client: Any | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._client = client
        self._session = session
        self._endpoint_url = endpoint_url
        self._region = region
        self.timeout_s = timeout_s

    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            if self._session is None:
                import boto3

                self._session = boto3.Session()
            per_read = max(0.1, min(5.0, self.timeout_s))
            self._client = self._session.client(
                "cloudwatch", endpoint_url=self._endpoint_url, region_name=self._region,
                config=Config(connect_timeout=per_read, read_timeout=per_read, retries={"total_max_attempts": 2}))
        return self._client

    def write(self, data: list[Datum], namespace: str, timestamp_ms: int) -> None:
        from canary._deadline import within

        cw = self.client()  # made here, in the caller's thread: client creation is not thread-safe
        todo = batches(data, timestamp_ms)

        def send() -> None:
            for batch in todo:
                cw.put_metric_data(Namespace=namespace, MetricData=batch)

        within(send, self.timeout_s, name="put-metric-data")
