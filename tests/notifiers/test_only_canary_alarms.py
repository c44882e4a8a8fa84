"""Only the canary's own alarms become canary messages; every text from an alarm is escaped for Slack.

The alarm fixtures in `tests/notifiers/alarms/` follow the shapes CloudWatch publishes to SNS
(single metric `Trigger`, metric-math `Trigger.Metrics`, composite `AlarmRule` +
`TriggeringChildren`, as documented in the CloudWatch user guide's "alarm notification" schema).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from canary.notifiers.alarm import alarm_from_dict
from canary.notifiers.handler import handle_sns_alarm
from canary.notifiers.message import console_urls, render, render_plain

from .conftest import HOOK_PATH, alarm_json, posted

ALARMS = Path(__file__).parent / "alarms"


def fixture(name: str, **changes: Any) -> str:
    data = json.loads((ALARMS / name).read_text(encoding="utf-8"))
    data.update(changes)
    return json.dumps(data)


def all_texts(payload: dict[str, Any]) -> list[str]:
    out = [payload["text"]]
    for b in payload["blocks"]:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [e["text"] for e in b.get("elements", [])]
    return out


_OUR_LINK = re.compile(r"<https://(?:[a-z0-9-]+\.console\.aws\.amazon\.com|console\.amazonaws\.cn|"
                       r"console\.amazonaws-us-gov\.com)/cloudwatch/home\?region=[a-z0-9-]+#[^|<>\s]*\|[^<>]*>")


def assert_no_slack_controls(payload: dict[str, Any]) -> None:
    """No mention, channel ping or link survives except the console links the renderer builds itself."""
    for i, block in enumerate(payload["blocks"]):
        if block["type"] == "header":
            continue  # plain_text: Slack shows it literally
        for t in all_texts({"text": "", "blocks": [block]}):
            rest = re.sub(r"(?m)^> ", "", _OUR_LINK.sub("", t))  # "> " starting a line: the renderer's quote
            assert "<" not in rest and ">" not in rest, f"block {i}: {t[:300]!r}"
    assert "<" not in payload["text"] and ">" not in payload["text"]


@pytest.fixture
def slack(httpserver: Any) -> Any:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    return httpserver


def _env(url: str, **extra: str) -> dict[str, str]:
    return {"SLACK_WEBHOOK_URL": url, "CANARY_STAGE": "prod", **extra}


@pytest.mark.parametrize("name", ["rds-cpu.json", "composite.json", "metric-math.json"])
def test_an_alarm_the_template_does_not_create_is_posted_plainly_without_a_report(
        slack: Any, hook_url: str, name: str) -> None:
    from tests.faults.server import fault_server

    with fault_server() as aws:  # records any AWS call; none may happen for a foreign alarm
        result = handle_sns_alarm(fixture(name), env=_env(hook_url, CANARY_LOG_GROUP="/aws/lambda/canary",
                                                          AWS_ENDPOINT_URL=aws.url, AWS_REGION="us-east-1"))
        assert aws.requests == []
    assert (result["posted"], result["canary"], result["kind"], result["details"]) == (True, False, "unknown", None)
    payload = posted(slack)[0]
    body = "\n".join(all_texts(payload))
    assert "not a permission canary alarm" in body
    assert "Add this statement" not in body and "permission-canary invoke" not in body
    assert_no_slack_controls(payload)


def test_a_look_alike_name_in_another_namespace_is_not_the_canarys(slack: Any, hook_url: str) -> None:
    msg = alarm_json(Trigger={**json.loads(alarm_json())["Trigger"], "Namespace": "Custom/Imposter"})
    assert handle_sns_alarm(msg, env=_env(hook_url, CANARY_STAGE="dev"))["canary"] is False


def test_another_stages_alarm_is_not_this_stages(slack: Any, hook_url: str) -> None:
    # sample-alarm-denied.json is PermissionCanary-dev-denied with Stage=dev; this function serves prod.
    assert handle_sns_alarm(alarm_json(), env=_env(hook_url))["canary"] is False


def test_the_canarys_own_alarm_is_recognised_by_name_namespace_metric_and_stage(slack: Any, hook_url: str) -> None:
    result = handle_sns_alarm(alarm_json(), env=_env(hook_url, CANARY_STAGE="dev"))
    assert (result["canary"], result["kind"]) == (True, "denied")


def test_the_namespace_comes_from_the_probe_config(slack: Any, hook_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "canary-dev.json"
    cfg.write_text(json.dumps({"version": 1, "namespace": "Acme/Canary", "probes": []}))
    trigger = {**json.loads(alarm_json())["Trigger"], "Namespace": "Acme/Canary"}
    ours = alarm_json(AlarmName="Acme/Canary-dev-denied", Trigger=trigger)
    env = _env(hook_url, CANARY_STAGE="dev", CANARY_CONFIG=str(cfg))
    assert handle_sns_alarm(ours, env=env)["canary"] is True
    assert handle_sns_alarm(alarm_json(), env=env)["canary"] is False  # PermissionCanary is not this config's


def test_insufficient_data_of_a_canary_alarm_says_it_has_no_data(slack: Any, hook_url: str) -> None:
    result = handle_sns_alarm(fixture("insufficient-data.json"), env=_env(hook_url))
    assert (result["canary"], result["kind"], result["details"]) == (True, "errors", None)
    payload = posted(slack)[0]
    assert "INSUFFICIENT_DATA · prod · alarm has no data to evaluate" in payload["blocks"][0]["text"]["text"]


def test_the_undelivered_alerts_alarm_names_its_queue(slack: Any, hook_url: str) -> None:
    result = handle_sns_alarm(fixture("undelivered.json"), env=_env(hook_url))
    assert (result["canary"], result["kind"]) == (True, "undelivered")
    body = "\n".join(all_texts(posted(slack)[0]))
    assert "`permission-canary-undelivered-prod`" in body and "lost on the way to Slack" in body


HOSTILE = "<!channel> <!here|here> <@U0123> <http://evil.example|click here> a & b <#C0123>"


@pytest.mark.parametrize("field", ["AlarmName", "NewStateReason", "AlarmDescription", "OldStateValue",
                                   "StateChangeTime"])
def test_hostile_alarm_fields_are_escaped_on_the_plain_path(slack: Any, hook_url: str, field: str) -> None:
    handle_sns_alarm(fixture("rds-cpu.json", **{field: HOSTILE}), env=_env(hook_url))
    payload = posted(slack)[0]
    assert_no_slack_controls(payload)
    if field != "AlarmName":  # the name also goes (quoted) into the console link
        assert any("&lt;!channel&gt;" in t for t in all_texts(payload))


@pytest.mark.parametrize("field", ["NewStateReason", "OldStateValue", "StateChangeTime"])
def test_hostile_fields_of_a_canary_alarm_are_escaped_too(slack: Any, hook_url: str, field: str) -> None:
    result = handle_sns_alarm(alarm_json(**{field: HOSTILE}), env=_env(hook_url, CANARY_STAGE="dev"))
    assert result["canary"] is True
    assert_no_slack_controls(posted(slack)[0])


def test_hostile_report_fields_are_escaped() -> None:
    report = {"stage": "dev", "started_at": HOSTILE, "principal": HOSTILE,
              "results": [{"id": HOSTILE, "action": HOSTILE, "resource": HOSTILE, "outcome": "DENIED",
                           "deny_reason": "implicit", "error_code": HOSTILE, "message": HOSTILE,
                           "remediation": {"Effect": "Allow", "Action": HOSTILE, "Resource": HOSTILE}},
                          {"id": "e", "action": "x:Y", "resource": "r", "outcome": "ERROR", "error_code": HOSTILE,
                           "message": HOSTILE}]}
    alarm = alarm_from_dict(json.loads(alarm_json()))
    assert_no_slack_controls(render(alarm, report=report, log_group="/aws/lambda/x"))


@pytest.mark.parametrize("region,host", [
    ("us-east-1", "https://us-east-1.console.aws.amazon.com"),
    ("ap-southeast-7", "https://ap-southeast-7.console.aws.amazon.com"),
    ("cn-north-1", "https://console.amazonaws.cn"),
    ("us-gov-west-1", "https://console.amazonaws-us-gov.com"),
    ("us-iso-east-1", None),            # valid, but no public console
    ("us-isob-east-1", None),
    ("evil.example", None),
    ("us-east-1.evil.example", None),
    ("us-east-1#@evil.example", None),
    ("US-EAST-1", None),
])
def test_console_links_come_only_from_valid_region_names(region: str, host: str | None) -> None:
    arn = f"arn:aws:cloudwatch:{region}:123456789012:alarm:PermissionCanary-dev-denied"
    alarm = alarm_from_dict(json.loads(alarm_json(AlarmArn=arn)))
    urls = console_urls(alarm, "/aws/lambda/x")
    if host is None:
        assert urls == {}
        assert "console" not in json.dumps(render_plain(alarm))
    else:
        assert urls["alarm"].startswith(host + "/cloudwatch/home?region=" + region + "#")
