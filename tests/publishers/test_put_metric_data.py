"""PutMetricData: batched within AWS limits and readable back from the moto server."""

from __future__ import annotations

import threading

import boto3
import pytest

from canary.config import Settings
from canary.model import Outcome, ProbeResult, Report
from canary.publishers import Datum, publish
from canary.publishers.put_metric_data import MAX_BYTES_PER_CALL, MAX_DATA_PER_CALL, PutMetricDataPublisher, batches
from tests.conftest import allow
from tests.faults.server import drip, fault_server, hang


def report(n: int, stage: str) -> Report:
    return Report(stage=stage, started_at="2026-01-23T07:28:00Z", principal=None,
                  results=[ProbeResult(id=f"p{i}", action="ses:SendEmail", resource="arn",
                                       outcome=Outcome.ALLOWED if i % 2 else Outcome.DENIED) for i in range(n)])


def test_batches_respect_the_count_and_size_limits():
    data = [Datum("ProbeAllowed", 1.0, "None", (("Stage", "dev"), ("Probe", f"p{i:05d}" + "x" * 200),
                                                ("Action", "dynamodb:UpdateItem"))) for i in range(2500)]
    out = batches(data, 0)
    assert sum(len(b) for b in out) == 2500
    assert all(len(b) <= MAX_DATA_PER_CALL for b in out)
    import json

    assert all(len(json.dumps(b, default=str)) < MAX_BYTES_PER_CALL for b in out)
    assert len(out) >= 3


def test_published_metrics_can_be_read_back(emu, assume_role, unique):
    stage = unique("stage")
    # moto 5.2.5 checks CloudWatch calls under the endpoint prefix "monitoring:" instead of IAM's
    # "cloudwatch:" (a moto limit, listed in the README); grant both so the test runs on either.
    creds = assume_role(allow("cloudwatch:PutMetricData", "monitoring:PutMetricData"))
    settings = Settings(publisher="put_metric_data", per_probe_metrics=True, namespace="CanaryTest")
    rep = report(4, stage)
    assert publish(rep, settings, session=emu.session(creds), endpoint_url=emu.url) is None

    cw = emu.client("cloudwatch")
    metrics = cw.list_metrics(Namespace="CanaryTest", Dimensions=[{"Name": "Stage", "Value": stage}])["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"ProbesRun", "ProbesDenied", "ProbesErrored", "ProbeAllowed"} <= names
    stats = cw.get_metric_statistics(Namespace="CanaryTest", MetricName="ProbesDenied",
                                     Dimensions=[{"Name": "Stage", "Value": stage}],
                                     StartTime="2026-01-23T07:00:00Z", EndTime="2026-01-23T08:00:00Z",
                                     Period=900, Statistics=["Maximum"])
    assert [p["Maximum"] for p in stats["Datapoints"]] == [2.0]


def test_a_role_without_put_metric_data_gets_a_reason_not_an_exception(emu, assume_role, unique):
    creds = assume_role(allow("dynamodb:GetItem"))
    rep = report(2, unique("stage"))
    problem = publish(rep, Settings(publisher="put_metric_data"), session=emu.session(creds), endpoint_url=emu.url)
    assert problem and "AccessDenied" in problem
    assert [r.outcome for r in rep.results] == [Outcome.DENIED, Outcome.ALLOWED]


def test_publisher_reuses_one_client(emu):
    pub = PutMetricDataPublisher(emu.session(), endpoint_url=emu.url)
    assert pub.client() is pub.client()


@pytest.mark.parametrize("fault", [hang, lambda: drip(interval=0.2)], ids=["hang", "drip"])
def test_a_stuck_put_metric_data_gives_a_reason_within_its_bound(fault):
    """A hanging or dripping CloudWatch endpoint (the fault server) must not hold the handler."""
    session = boto3.Session(aws_access_key_id="AKIDPUB", aws_secret_access_key="x", region_name="us-east-1")
    result: dict[str, str | None] = {}
    with fault_server() as fs:
        fs.on(fault(), service="monitoring")
        t = threading.Thread(target=lambda: result.setdefault("problem", publish(
            report(2, "dev"), Settings(publisher="put_metric_data"), session=session, endpoint_url=fs.url,
            timeout_s=1.0)), daemon=True)
        t.start()
        t.join(60)  # failure detector, not a timing assertion
        assert not t.is_alive(), "publish did not return"
        assert fs.seen("monitoring", "PutMetricData")
    assert result["problem"] and "Timeout" in result["problem"]
