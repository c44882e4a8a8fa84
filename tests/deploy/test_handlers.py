"""Each Chalice function, invoked through `chalice.test.Client` with a realistic event, against moto.

The role is a real assumed role on the moto server (IAM checks on): UpdateItem/GetItem allowed,
DeleteItem not, so every outcome below comes from policy evaluation.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from chalice.test import Client
from pytest_httpserver import HTTPServer

from canary.emulator import Emulator
from canary.handlers import PayloadError, parse_payload, run_deadline
from tests.conftest import allow
from tests.deploy.conftest import ROOT, copy_project, edit_config

SCHEDULED_EVENT = {
    "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": "2026-01-23T07:30:00Z", "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/permission-canary-dev-permission_canary-event"],
    "detail": {},
}

ALARM_MESSAGE = {
    "AlarmName": "PermissionCanary-dev-denied",
    "AlarmDescription": "A probe was DENIED: the role lacks a permission the API needs. One bad run is enough.",
    "AWSAccountId": "123456789012", "AlarmConfigurationUpdatedTimestamp": "2026-01-23T07:00:00.000+0000",
    "NewStateValue": "OK", "NewStateReason": "Threshold Crossed: 1 datapoint [0.0 (23/01/26 07:30:00)] was not "
    "greater than or equal to the threshold (1.0).", "StateChangeTime": "2026-01-23T07:45:12.345+0000",
    "Region": "US East (N. Virginia)", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:PermissionCanary-dev-denied",
    "OldStateValue": "ALARM", "OKActions": ["arn:aws:sns:us-east-1:123456789012:permission-canary-alarms-dev"],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:permission-canary-alarms-dev"], "InsufficientDataActions": [],
    "Trigger": {"MetricName": "ProbesDenied", "Namespace": "PermissionCanary", "StatisticType": "Statistic",
                "Statistic": "MAXIMUM", "Unit": None, "Dimensions": [{"value": "dev", "name": "Stage"}],
                "Period": 900, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0,
                "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": ""},
}


def _load_app(project: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"canary_app_{abs(hash(project))}", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture(scope="module")
def api_role(emu: Emulator) -> tuple[str, dict[str, str]]:
    """A table and a role that may update and read it, not delete: shared by this module's tests."""
    import os

    table = f"listings-{os.getpid()}-handlers"
    emu.create_table(table, key="listingId")
    arn = emu.create_role(f"api-{os.getpid()}-handlers",
                          {"Version": "2012-10-17", "Statement": [allow("dynamodb:UpdateItem", "dynamodb:GetItem")]})
    return table, emu.assume(arn).env()


@pytest.fixture
def project(tmp_path: Path, emu: Emulator, api_role: tuple[str, dict[str, str]],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project whose dev config probes the table as the API role (update and read, no delete)."""
    table, creds = api_role
    proj = copy_project(tmp_path / "project", share_cache=False)
    (proj / "chalicelib" / "canary-dev.json").write_text(json.dumps({"version": 1, "probes": [
        {"id": "listings-update", "action": "dynamodb:UpdateItem", "table": "${TABLE}",
         "key": {"listingId": "__permission_canary__"}},
        {"id": "listings-delete", "action": "dynamodb:DeleteItem", "table": "${TABLE}",
         "key": {"listingId": "__permission_canary__"}},
        {"id": "listings-get", "action": "dynamodb:GetItem", "table": "${TABLE}",
         "key": {"listingId": "__permission_canary__"}},
    ]}))
    edit_config(proj, lambda c: c["stages"]["dev"]["environment_variables"].update({"TABLE": table}))
    for k, v in {**creds, "AWS_ENDPOINT_URL": emu.url, "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(proj)  # the Lambda resolves CANARY_CONFIG against its task root
    yield proj


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_scheduled_run_publishes_emf_and_logs_one_report_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        resp = client.lambda_.invoke("permission_canary", SCHEDULED_EVENT)
    assert resp.payload["summary"] == {"allowed": 2, "denied": 1, "error": 0}
    lines = _lines(capsys.readouterr().out)
    reports = [x for x in lines if x.get("event") == "permission_canary_report"]
    assert len(reports) == 1
    by_id = {r["id"]: r for r in reports[0]["report"]["results"]}
    assert by_id["listings-delete"]["outcome"] == "DENIED"
    assert by_id["listings-update"]["outcome"] == "ALLOWED"
    emf = [x for x in lines if "_aws" in x]
    assert emf and emf[0]["ProbesRun"] == 3 and emf[0]["ProbesDenied"] == 1 and emf[0]["Stage"] == "dev"
    assert len([x for x in lines if x.get("event") == "permission_canary_probe"]) == 3


def test_manual_run_with_empty_payload_returns_the_full_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        report = client.lambda_.invoke("permission_canary_invoke", {}).payload
    assert report["ok"] is False and report["stage"] == "dev"
    assert [r["id"] for r in report["results"]] == ["listings-update", "listings-delete", "listings-get"]
    assert report["principal"].startswith("arn:aws:sts::")
    assert any("_aws" in x for x in _lines(capsys.readouterr().out))


def test_manual_run_filtered_without_publish_runs_only_those_probes_and_publishes_nothing(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        report = client.lambda_.invoke("permission_canary_invoke",
                                       {"probes": ["listings-update"], "publish": False}).payload
    assert report["ok"] is True
    assert [r["id"] for r in report["results"]] == ["listings-update"]
    assert not any("_aws" in x for x in _lines(capsys.readouterr().out))


@pytest.mark.parametrize("payload, fragment", [
    ([1, 2], "must be a JSON object"),
    ({"probes": ["nope"]}, "unknown probe id(s) nope"),
])
def test_malformed_manual_payload_returns_an_error_report_not_a_crash(
        project: Path, payload: Any, fragment: str) -> None:
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        report = client.lambda_.invoke("permission_canary_invoke", payload).payload
    assert report["ok"] is False and report["summary"] == {"allowed": 0, "denied": 0, "error": 1}
    assert fragment in report["results"][0]["message"]


@pytest.mark.parametrize("payload, fragment", [
    ("not json", "payload is not JSON"),
    ({"probe": ["x"]}, "unknown payload key(s) probe"),
    ({"probes": "listings-update"}, "must be a list of probe ids"),
    ({"probes": [""]}, "must be a list of probe ids"),
    ({"publish": "no"}, "\"publish\" must be true or false"),
    ({"publish": 1}, "\"publish\" must be true or false"),
    ("[" * 100_000, "payload is not JSON"),
    (b"\xff\xfe", "payload is not JSON"),
    ({"probes": ["p"] * 1001}, "at most 1000"),
    ({"probes": []}, "\"probes\" is empty"),
])
def test_parse_payload_refuses_anything_but_probes_and_publish(payload: Any, fragment: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(fragment)):
        parse_payload(payload)


@pytest.mark.parametrize("payload, expected", [
    ({}, (None, True)), (None, (None, True)), ('{"probes": ["a"], "publish": false}', (["a"], False)),
])
def test_parse_payload_accepts_empty_and_filtered_payloads(payload: Any, expected: Any) -> None:
    assert parse_payload(payload) == expected


@pytest.mark.parametrize("configured, remaining_ms, expected", [
    (50.0, 60_000, 50.0),      # the config's deadline fits
    (60.0, 60_000, 55.0),      # cut to what is left, minus a 5 s margin
    (60.0, 3_000, 2.0),        # small budgets keep a 1 s margin
    (60.0, 200, 0.5),          # never below half a second
    (60.0, None, 60.0),        # no Lambda clock: the config's
])
def test_run_deadline_leaves_time_to_publish_before_lambda_times_out(
        configured: float, remaining_ms: int | None, expected: float) -> None:
    assert run_deadline(configured, remaining_ms) == pytest.approx(expected)


def test_scheduled_run_with_a_missing_config_reports_an_error_instead_of_raising(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "chalicelib" / "canary-dev.json").unlink()
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        resp = client.lambda_.invoke("permission_canary", SCHEDULED_EVENT)
    assert resp.payload["summary"] == {"allowed": 0, "denied": 0, "error": 1}
    emf = [x for x in _lines(capsys.readouterr().out) if "_aws" in x]
    assert emf[0]["ProbesErrored"] == 1  # so the errors alarm still fires


def test_alarm_sns_message_reaches_the_slack_webhook(project: Path, httpserver: HTTPServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    httpserver.expect_request("/services/T0/B0/deploytest", method="POST").respond_with_data("ok")

    def local_webhook(cfg: dict[str, Any]) -> None:
        env = cfg["stages"]["dev"]["lambda_functions"]["permission_canary_alarm_to_slack"]["environment_variables"]
        env.pop("SLACK_WEBHOOK_SSM_PARAMETER")
        env["SLACK_WEBHOOK_URL"] = httpserver.url_for("/services/T0/B0/deploytest")

    edit_config(project, local_webhook)
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        event = client.events.generate_sns_event(message=json.dumps(ALARM_MESSAGE),
                                                 subject='OK: "PermissionCanary-dev-denied" in US East (N. Virginia)')
        result = client.lambda_.invoke("permission_canary_alarm_to_slack", event).payload
    assert result["posted"] is True, result
    (request, _), = httpserver.log
    assert "PermissionCanary-dev-denied" in request.get_data(as_text=True)


def test_a_run_that_cannot_start_still_publishes_an_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        resp = client.lambda_.invoke("permission_canary", SCHEDULED_EVENT)
    assert resp.payload["summary"] == {"allowed": 0, "denied": 0, "error": 1}
    lines = _lines(capsys.readouterr().out)
    (report,) = [x["report"] for x in lines if x.get("event") == "permission_canary_report"]
    assert report["results"][0]["id"] == "run" and "no AWS region" in report["results"][0]["message"]
    assert [x["ProbesErrored"] for x in lines if "_aws" in x] == [1]


def test_warm_runs_reuse_one_session_until_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from canary import handlers

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # what boto3's Session reads (Lambda sets it)
    first = handlers._session()
    assert handlers._session() is first and first.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert handlers._session() is not first and handlers._session().region_name == "eu-central-1"


def test_an_empty_probe_list_in_a_manual_payload_is_an_error_not_a_full_run(project: Path) -> None:
    with pytest.raises(PayloadError, match="is empty"):
        parse_payload({"probes": []})
    with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
        report = client.lambda_.invoke("permission_canary_invoke", {"probes": []}).payload
    assert report["summary"] == {"allowed": 0, "denied": 0, "error": 1}
    assert [(r["id"], r["error_code"]) for r in report["results"]] == [("payload", "InvalidPayload")]


def _invoke_bounded(project: Path, name: str, payload: Any) -> Any:
    """Invoke on a daemon thread; the join timeout detects a handler that never returns (no timing asserted)."""
    import threading

    box: dict[str, Any] = {}

    def work() -> None:
        with Client(_load_app(project), stage_name="dev", project_dir=str(project)) as client:
            box["payload"] = client.lambda_.invoke(name, payload).payload

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), f"{name} did not return"
    return box["payload"]


def test_a_dripping_sts_loses_neither_the_denial_nor_the_metrics(project: Path, emu: Emulator,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.faults.server import drip, fault_server

    with fault_server(upstream=emu.url) as fs:
        fs.on(drip(interval=0.2), service="sts")
        monkeypatch.setenv("AWS_ENDPOINT_URL", fs.url)
        resp = _invoke_bounded(project, "permission_canary", SCHEDULED_EVENT)
    assert resp["summary"] == {"allowed": 2, "denied": 1, "error": 0}
    emf = [x for x in _lines(capsys.readouterr().out) if "_aws" in x]
    assert emf and emf[0]["ProbesDenied"] == 1 and emf[0]["ProbesRun"] == 3


def test_a_hanging_probe_ends_by_the_lambda_deadline_and_the_run_still_publishes(
        project: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.faults.server import fault_server, hang

    # chalice's test context has 3 s left: the run's deadline is cut to 2 s, whatever the config says
    with fault_server(upstream=emu.url) as fs:
        fs.on(hang(), service="dynamodb", operation="GetItem")
        monkeypatch.setenv("AWS_ENDPOINT_URL", fs.url)
        resp = _invoke_bounded(project, "permission_canary", SCHEDULED_EVENT)
    assert resp["summary"] == {"allowed": 1, "denied": 1, "error": 1}
    lines = _lines(capsys.readouterr().out)
    (report,) = [x["report"] for x in lines if x.get("event") == "permission_canary_report"]
    assert {r["id"]: r["error_code"] for r in report["results"]}["listings-get"] == "DeadlineExceeded"
    assert [(x["ProbesDenied"], x["ProbesErrored"]) for x in lines if "_aws" in x] == [(1, 1)]


def test_a_hanging_put_metric_data_is_cut_to_what_the_lambda_has_left(
        project: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.faults.server import fault_server, hang

    cfg_file = project / "chalicelib" / "canary-dev.json"
    cfg_file.write_text(json.dumps({**json.loads(cfg_file.read_text()), "publisher": "put_metric_data"}))
    with fault_server(upstream=emu.url) as fs:
        fs.on(hang(), service="monitoring")
        monkeypatch.setenv("AWS_ENDPOINT_URL", fs.url)
        resp = _invoke_bounded(project, "permission_canary", SCHEDULED_EVENT)
        assert fs.seen("monitoring", "PutMetricData")
    assert resp["summary"] == {"allowed": 2, "denied": 1, "error": 0}
    (line,) = [x for x in _lines(capsys.readouterr().out) if x.get("event") == "permission_canary_report"]
    assert "Timeout" in line["report"]["publish_error"]


@pytest.mark.parametrize("remaining_ms, expected", [(None, 10.0), (60_000, 5.0), (1_000, 0.7), (100, 0.1)])
def test_publish_bound_is_what_lambda_has_left_minus_time_to_log(remaining_ms: int | None, expected: float) -> None:
    from canary.handlers import publish_bound

    assert publish_bound(remaining_ms) == pytest.approx(expected)
