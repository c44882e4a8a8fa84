"""EMF records are valid against the published specification's shape, whatever the report holds."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from canary.config import Settings
from canary.model import Outcome, ProbeResult, Report
from canary.publishers import metrics_for, publish
from canary.publishers.emf import MAX_METRICS_PER_RECORD, EmfPublisher, emf_records

SCHEMA = json.loads((Path(__file__).parent / "emf_schema.json").read_text())


def report(outcomes: list[Outcome], stage: str = "dev") -> Report:
    return Report(stage=stage, started_at="2026-01-23T07:28:00Z", principal="arn:aws:sts::1:assumed-role/r/s",
                  results=[ProbeResult(id=f"p{i}", action="dynamodb:UpdateItem", resource="arn", outcome=o)
                           for i, o in enumerate(outcomes)])


def records(rep: Report, **settings) -> list[dict]:
    out = io.StringIO()
    assert publish(rep, Settings(**settings), stream=out) is None
    return [json.loads(line) for line in out.getvalue().splitlines()]


def check_targets(rec: dict) -> None:
    """Every referenced dimension and metric is a member of the root, as the spec requires."""
    for directive in rec["_aws"]["CloudWatchMetrics"]:
        for dims in directive["Dimensions"]:
            for d in dims:
                assert isinstance(rec[d], str) and rec[d]
        for m in directive["Metrics"]:
            assert isinstance(rec[m["Name"]], (int, float))


def test_run_totals_are_one_valid_record_with_zeros_included():
    (rec,) = records(report([Outcome.ALLOWED, Outcome.ALLOWED]))
    jsonschema.validate(rec, SCHEMA)
    check_targets(rec)
    assert rec["_aws"]["Timestamp"] == 1769153280000
    assert rec["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PermissionCanary"
    assert rec["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert (rec["Stage"], rec["ProbesRun"], rec["ProbesDenied"], rec["ProbesErrored"]) == ("dev", 2, 0, 0)


def test_an_empty_run_still_publishes_every_counter():
    (rec,) = records(report([]))
    assert (rec["ProbesRun"], rec["ProbesDenied"], rec["ProbesErrored"]) == (0, 0, 0)


def test_per_probe_metrics_get_their_own_dimension_records_when_enabled():
    recs = records(report([Outcome.ALLOWED, Outcome.DENIED, Outcome.ERROR]), per_probe_metrics=True, namespace="Acme/Canary")
    assert len(recs) == 4
    for rec in recs:
        jsonschema.validate(rec, SCHEMA)
        check_targets(rec)
    per_probe = {r["Probe"]: r["ProbeAllowed"] for r in recs if "Probe" in r}
    assert per_probe == {"p0": 1, "p1": 0, "p2": 0}
    assert recs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage", "Probe", "Action"]]


def test_per_probe_metrics_are_off_by_default():
    assert [d.name for d in metrics_for(report([Outcome.ALLOWED] * 3), Settings())] == [
        "ProbesRun", "ProbesDenied", "ProbesErrored"]


def test_records_never_exceed_one_hundred_metrics():
    from canary.publishers import Datum

    data = [Datum(f"M{i}", float(i), "Count", (("Stage", "dev"),)) for i in range(250)]
    recs = list(emf_records(data, "NS", 0))
    assert [len(r["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for r in recs] == [100, 100, 50]
    assert MAX_METRICS_PER_RECORD == 100
    for rec in recs:
        jsonschema.validate(rec, SCHEMA)


def test_bad_metric_input_raises_a_clear_error():
    from canary.publishers import Datum

    with pytest.raises(ValueError, match="dimension 'Probe'"):
        list(emf_records([Datum("ProbeAllowed", 1, "None", (("Probe", ""),))], "NS", 0))


def test_a_failing_publisher_is_reported_not_raised_and_outcomes_stand():
    class Broken(EmfPublisher):
        def write(self, data, namespace, timestamp_ms):
            raise OSError("stdout closed")

    rep = report([Outcome.DENIED])
    problem = publish(rep, Settings(), publisher=Broken())
    assert problem and "metrics not published" in problem and "stdout closed" in problem
    assert rep.results[0].outcome is Outcome.DENIED
