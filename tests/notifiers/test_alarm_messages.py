"""From SNS alarm message to the Slack message the channel reads, end to end through the handler.

The report lookup runs against the moto server's CloudWatch Logs (IAM checks on). moto treats a
JSON filter pattern such as `canary.logs.REPORT_FILTER` as match-all, so here the server returns
every line and the notifier's own re-check of each line does the filtering (in AWS both filter).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import pytest

from canary.emulator import Emulator
from canary.logs import report_line
from canary.notifiers.handler import handle_sns_alarm
from canary.notifiers.message import MAX_BLOCKS, MAX_HEADER_TEXT, MAX_MESSAGE_TEXT, MAX_SECTION_TEXT

from .conftest import HOOK_PATH, alarm_json, failing_result, posted, report_with, sample
from tests.conftest import allow


def put_lines(emu: Emulator, group: str, *lines: tuple[int, str], creds: Any = None) -> None:
    """Write (minutes-ago, message) log lines into a fresh stream of `group` (created if missing)."""
    logs = emu.client("logs", creds)
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    stream = f"2026/01/23/[$LATEST]{time.monotonic_ns()}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = sorted(({"timestamp": now - m * 60_000, "message": msg} for m, msg in lines), key=lambda e: e["timestamp"])
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def env_for(emu: Emulator, url: str, group: str | None) -> dict[str, str]:
    env = {"SLACK_WEBHOOK_URL": url, "AWS_ENDPOINT_URL": emu.url, "AWS_REGION": emu.region}
    if group:
        env["CANARY_LOG_GROUP"] = group
    return env


def texts(payload: dict[str, Any]) -> list[str]:
    out = []
    for b in payload["blocks"]:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [e["text"] for e in b.get("elements", [])]
    return out


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for b in payload["blocks"]:
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= MAX_HEADER_TEXT
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= MAX_SECTION_TEXT
            assert b["text"]["text"].count("```") % 2 == 0, "a clipped code block must stay closed"
    assert payload["text"] and len(payload["text"]) <= 3000
    assert sum(len(t) for t in texts(payload)) <= MAX_MESSAGE_TEXT


@pytest.fixture
def slack_ok(httpserver: Any) -> Any:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    return httpserver


# -- ALARM, enriched from the report ----------------------------------------------------------

def test_alarm_with_one_denied_probe_lists_it_with_the_statement_to_add(
        emu: Emulator, unique: Callable[[str], str], slack_ok: Any, hook_url: str,
        assert_never_leaked: Callable[..., None]) -> None:
    group = "/aws/lambda/" + unique("canary")
    report = report_with([failing_result(1)])
    put_lines(emu, group, (2, report_line(report)))
    result = handle_sns_alarm(alarm_json(), subject="ALARM: PermissionCanary-dev-denied",
                              env=env_for(emu, hook_url, group), session=emu.session())
    assert (result["posted"], result["attempts"], result["details"]) == (True, 1, "report")
    payload = posted(slack_ok)[0]
    assert_within_slack_limits(payload)
    header = payload["blocks"][0]["text"]["text"]
    assert "ALARM" in header and "dev" in header
    probe = next(t for t in texts(payload) if "probe-001" in t)
    assert "`dynamodb:UpdateItem` on `arn:aws:dynamodb:us-east-1:123456789012:table/table-001`" in probe
    assert "implicit deny" in probe and "`.chalice/policy-dev.json`" in probe
    code = probe.split("```")[1]
    assert json.loads(code) == report["results"][0]["remediation"]
    links = texts(payload)[-1]
    assert "#alarmsV2:alarm/PermissionCanary-dev-denied|CloudWatch alarm>" in links
    assert "#logsV2:log-groups/log-group/$252Faws$252Flambda$252F" in links
    assert "dynamodb:UpdateItem" in payload["text"]
    assert_never_leaked(result, url=hook_url)


def test_alarm_with_80_failing_probes_respects_slack_limits_and_counts_the_rest(
        emu: Emulator, unique: Callable[[str], str], slack_ok: Any, hook_url: str) -> None:
    group = "/aws/lambda/" + unique("canary")
    results = [failing_result(i, message_len=4000) for i in range(60)]
    results += [failing_result(i, outcome="ERROR", message_len=4000) for i in range(60, 80)]
    put_lines(emu, group, (1, report_line(report_with(results))))
    result = handle_sns_alarm(alarm_json(), env=env_for(emu, hook_url, group), session=emu.session())
    assert result["posted"] is True
    payload = posted(slack_ok)[0]
    assert_within_slack_limits(payload)
    shown = [t for t in texts(payload) if "probe `probe-" in t]
    more = next(t for t in texts(payload) if "more failing probes" in t)
    assert shown and f"*{80 - len(shown)} more failing probes*" in more
    assert all("*DENIED*" in t for t in shown), "denied probes are listed before errors"


def test_many_short_failing_probes_stop_at_50_blocks_with_a_count_of_the_rest() -> None:
    from canary.notifiers.alarm import parse_alarm
    from canary.notifiers.message import render

    results = [dict(failing_result(i, outcome="ERROR"), message=None) for i in range(80)]
    payload = render(parse_alarm(alarm_json()), report=report_with(results))
    assert_within_slack_limits(payload)
    assert len(payload["blocks"]) == MAX_BLOCKS
    shown = [t for t in texts(payload) if "probe `probe-" in t]
    assert f"*{80 - len(shown)} more failing probes*" in texts(payload)[-2]


def test_alarm_with_an_explicit_deny_names_the_layer_instead_of_a_statement() -> None:
    from canary.notifiers.alarm import parse_alarm
    from canary.notifiers.message import render

    r = failing_result(1)
    r.update(deny_reason="scp", remediation=None, message="... with an explicit deny in a service control policy")
    payload = render(parse_alarm(alarm_json()), report=report_with([r]))
    probe = next(t for t in texts(payload) if "probe-001" in t)
    assert "service control policy" in probe and "```" not in probe


def test_huge_remediation_is_clipped_inside_a_closed_code_block() -> None:
    from canary.notifiers.alarm import parse_alarm
    from canary.notifiers.message import render

    r = failing_result(1)
    r["remediation"]["Resource"] = [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(400)]
    payload = render(parse_alarm(alarm_json()), report=report_with([r]))
    assert_within_slack_limits(payload)
    assert "…" in next(t for t in texts(payload) if "probe-001" in t)


def test_alarm_whose_latest_report_is_clean_says_the_alarm_is_from_an_earlier_run() -> None:
    from canary.notifiers.alarm import parse_alarm
    from canary.notifiers.message import render

    ok = dict(failing_result(1), outcome="ALLOWED", remediation=None)
    payload = render(parse_alarm(alarm_json()), report=report_with([ok]))
    assert any("all 1 probes allowed" in t for t in texts(payload))


# -- ALARM without details ----------------------------------------------------------------------

def test_alarm_still_goes_out_when_the_log_group_does_not_exist(
        emu: Emulator, unique: Callable[[str], str], slack_ok: Any, hook_url: str) -> None:
    group = "/aws/lambda/" + unique("missing")
    result = handle_sns_alarm(alarm_json(), env=env_for(emu, hook_url, group), session=emu.session())
    assert (result["posted"], result["details"]) == (True, "unavailable")
    summary = texts(posted(slack_ok)[0])[1]
    assert "Details unavailable" in summary and "ResourceNotFoundException" in summary
    assert "PermissionCanary-dev-denied" in summary and "Threshold Crossed" in summary


def test_alarm_still_goes_out_when_the_slack_role_may_not_read_logs(
        emu: Emulator, unique: Callable[[str], str], assume_role: Callable[..., Any], slack_ok: Any,
        hook_url: str) -> None:
    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (1, report_line(report_with([failing_result(1)]))))
    creds = assume_role(allow("ssm:GetParameter"))
    result = handle_sns_alarm(alarm_json(), env=env_for(emu, hook_url, group), session=emu.session(creds))
    assert (result["posted"], result["details"]) == (True, "unavailable")
    summary = texts(posted(slack_ok)[0])[1]
    assert "logs:FilterLogEvents" in summary and "AccessDenied" in summary


def test_alarm_without_log_group_setting_says_why_details_are_missing(slack_ok: Any, hook_url: str) -> None:
    result = handle_sns_alarm(alarm_json(), env={"SLACK_WEBHOOK_URL": hook_url})
    assert result["posted"] is True
    assert "CANARY_LOG_GROUP is not set" in texts(posted(slack_ok)[0])[1]


# -- the latest report -----------------------------------------------------------------------------

def test_latest_report_is_the_newest_report_line_in_the_window(emu: Emulator, unique: Callable[[str], str]) -> None:
    from canary.notifiers.report import latest_report

    group = "/aws/lambda/" + unique("canary")
    old, new = report_with([failing_result(1)]), report_with([failing_result(2)])
    put_lines(emu, group,
              (40, report_line(report_with([failing_result(9)]))),      # outside the 30-minute window
              (16, report_line(old)),
              (2, "[INFO]\t2026-01-23T07:28:00Z\treq-1\t" + report_line(new)),  # the runtime's prefix
              (1, json.dumps({"event": "permission_canary_probe", "id": "probe-001"})),
              (1, "START RequestId: req-2 Version: $LATEST"))
    lookup = latest_report(emu.client("logs"), group)
    assert lookup.unavailable is None and lookup.report == new


def test_no_report_in_the_window_is_a_reason_not_an_error(emu: Emulator, unique: Callable[[str], str]) -> None:
    from canary.notifiers.report import latest_report

    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (45, report_line(report_with([failing_result(1)]))))
    lookup = latest_report(emu.client("logs"), group)
    assert lookup.report is None
    assert lookup.unavailable == f"no canary report in {group} in the last 30 minutes"


# -- OK, INSUFFICIENT_DATA, heartbeat, metric math ------------------------------------------------

def test_ok_says_what_recovered_without_looking_up_a_report(slack_ok: Any, hook_url: str) -> None:
    result = handle_sns_alarm(alarm_json("sample-alarm-ok.json"), env={"SLACK_WEBHOOK_URL": hook_url})
    assert (result["posted"], result["state"], result["details"]) == (True, "OK", None)
    payload = posted(slack_ok)[0]
    assert "OK · dev" in payload["blocks"][0]["text"]["text"]
    assert "Recovered:* no probe is denied any more" in texts(payload)[1]
    assert "ALARM → OK" in texts(payload)[1]


def test_insufficient_data_says_the_alarm_has_no_data(slack_ok: Any, hook_url: str) -> None:
    msg = alarm_json(NewStateValue="INSUFFICIENT_DATA", OldStateValue="OK")
    result = handle_sns_alarm(msg, env={"SLACK_WEBHOOK_URL": hook_url})
    assert result["posted"] is True
    payload = posted(slack_ok)[0]
    assert "INSUFFICIENT_DATA" in payload["blocks"][0]["text"]["text"]
    assert "no `ProbesDenied` datapoints" in texts(payload)[1] and "heartbeat alarm" in texts(payload)[1]


def test_heartbeat_alarm_says_the_canary_stopped_reporting_and_what_to_check(
        emu: Emulator, unique: Callable[[str], str], slack_ok: Any, hook_url: str) -> None:
    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (1, "START RequestId: req-1 Version: $LATEST"))
    result = handle_sns_alarm(alarm_json("sample-alarm-heartbeat.json"), env=env_for(emu, hook_url, group),
                              session=emu.session())
    assert (result["posted"], result["kind"]) == (True, "heartbeat")
    payload = posted(slack_ok)[0]
    assert "stopped reporting" in payload["blocks"][0]["text"]["text"]
    body = texts(payload)[1]
    assert "last 3 × 15 min" in body and "What to check" in body and "schedule rule" in body
    assert "permission-canary invoke --stage dev" in body
    assert f"no canary report in {group}" in body


def test_metric_math_alarm_on_a_canary_metric_is_posted_plainly(slack_ok: Any, hook_url: str) -> None:
    """The template creates no metric-math alarm: one on a canary metric is someone else's, shown as received."""
    trigger = {"Period": 900, "EvaluationPeriods": 2, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
               "Threshold": 1.0, "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": "",
               "Metrics": [{"Expression": "FILL(m1, 0)", "Id": "e1", "Label": "errors", "ReturnData": True},
                           {"Id": "m1", "ReturnData": False,
                            "MetricStat": {"Metric": {"Dimensions": [{"value": "prod", "name": "Stage"}],
                                                      "MetricName": "ProbesErrored", "Namespace": "PermissionCanary"},
                                           "Period": 900, "Stat": "Sum"}}]}
    msg = alarm_json(AlarmName="team-x-canary-page", Trigger=trigger)
    result = handle_sns_alarm(msg, env={"SLACK_WEBHOOK_URL": hook_url})
    assert (result["posted"], result["kind"], result["canary"]) == (True, "unknown", False)
    payload = posted(slack_ok)[0]
    assert "ALARM · team-x-canary-page" in payload["blocks"][0]["text"]["text"]
    assert "not a permission canary alarm" in payload["blocks"][1]["text"]["text"]


def test_alarm_kind_falls_back_to_the_name_suffix() -> None:
    from canary.notifiers.alarm import parse_alarm

    alarm = parse_alarm(alarm_json(AlarmName="api-prod-heartbeat", Trigger={"Metrics": [{"Expression": "1", "Id": "e1"}]}))
    assert (alarm.kind, alarm.metric) == ("heartbeat", None)


def test_sample_alarms_shipped_for_the_demo_all_render() -> None:
    from canary.notifiers.alarm import alarm_from_dict
    from canary.notifiers.message import render, render_for_demo

    for name in ("sample-alarm-denied.json", "sample-alarm-ok.json", "sample-alarm-heartbeat.json"):
        assert_within_slack_limits(render(alarm_from_dict(sample(name)), report=sample("sample-report.json")))
    demo = render_for_demo(sample("sample-report.json"), "dev")
    assert_within_slack_limits(demo)
    assert sum("*DENIED*" in t for t in texts(demo)) == 3
