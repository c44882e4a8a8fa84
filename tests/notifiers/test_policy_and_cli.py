"""The Slack function's own policy (checked with the project's IAM evaluator) and `permission-canary notify`.

moto only honours `"Resource": "*"` statements, so a resource-scoped policy cannot be proven
there; the offline evaluator (`canary.policy.evaluate`) decides grants per resource instead.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from canary.cli import cli
from canary.errors import CanaryError
from canary.notifiers.policy import slack_policy
from canary.policy.evaluate import evaluate

from .conftest import HOOK_PATH, posted

REGION, ACCOUNT = "us-east-1", "123456789012"
GROUP = "/aws/lambda/permission-canary-dev-permission_canary"
PARAM = "/permission-canary/dev/slack-webhook"
DATA = "canary/data/"


def _arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def _policy(**kw: Any) -> dict[str, Any]:
    return slack_policy(region=REGION, account=ACCOUNT, log_group=GROUP, parameter_name=PARAM, **kw)


@pytest.mark.parametrize("action,resource,verdict", [
    ("logs:FilterLogEvents", _arn("logs", f"log-group:{GROUP}"), "GRANTED"),
    ("logs:FilterLogEvents", _arn("logs", "log-group:/aws/lambda/some-other-function"), "NOT_GRANTED"),
    ("ssm:GetParameter", _arn("ssm", "parameter/permission-canary/dev/slack-webhook"), "GRANTED"),
    ("ssm:GetParameter", _arn("ssm", "parameter/prod/database-password"), "NOT_GRANTED"),
    ("ssm:GetParameters", _arn("ssm", "parameter/permission-canary/dev/slack-webhook"), "NOT_GRANTED"),
    ("logs:PutLogEvents", _arn("logs", "log-group:/aws/lambda/anything:log-stream:x"), "GRANTED"),
    ("logs:PutLogEvents", _arn("logs", "log-group:/other/group:log-stream:x"), "NOT_GRANTED"),
    ("kms:Decrypt", _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"), "NOT_GRANTED"),
    ("dynamodb:UpdateItem", _arn("dynamodb", "table/listings-dev"), "NOT_GRANTED"),
])
def test_slack_policy_grants_only_what_the_notifier_uses(action: str, resource: str, verdict: str) -> None:
    assert evaluate(_policy(), action, [resource]).verdict == verdict


def test_kms_decrypt_is_granted_only_for_the_given_key_and_only_via_ssm() -> None:
    key = _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
    stmt = [s for s in _policy(kms_key_arn=key)["Statement"] if s["Action"] == "kms:Decrypt"]
    assert stmt == [{"Sid": "DecryptWebhookUrl", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
                     "Condition": {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}}]
    assert evaluate(_policy(kms_key_arn=key), "kms:Decrypt", [key]).verdict == "CONDITIONAL"


def test_own_logs_can_be_narrowed_to_the_slack_function() -> None:
    fn = "permission-canary-dev-permission_canary_alarm_to_slack"
    own = _arn("logs", f"log-group:/aws/lambda/{fn}:log-stream:2026/01/23/x")
    canary = _arn("logs", f"log-group:{GROUP}:log-stream:x")  # it must not be able to forge reports
    assert evaluate(_policy(function_name=fn), "logs:PutLogEvents", [own]).verdict == "GRANTED"
    assert evaluate(_policy(function_name=fn), "logs:PutLogEvents", [canary]).verdict == "NOT_GRANTED"


def test_slack_policy_refuses_an_empty_input_by_name() -> None:
    with pytest.raises(CanaryError, match="parameter_name is empty"):
        slack_policy(region=REGION, account=ACCOUNT, log_group=GROUP, parameter_name="")


# -- permission-canary notify --------------------------------------------------------------------

def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env={"SLACK_WEBHOOK_URL": "", "CANARY_LOG_GROUP": "", **(env or {})})


def test_notify_dry_run_prints_the_block_kit_json() -> None:
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json", "--report", DATA + "sample-report.json",
               "--dry-run")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["blocks"][0]["type"] == "header" and "3 denied" in payload["text"]


def test_notify_without_a_webhook_only_renders_a_preview() -> None:
    res = _run("notify", "--alarm", DATA + "sample-alarm-ok.json")
    assert res.exit_code == 0
    assert "Recovered" in res.stdout and "rendered only" in res.stderr


def test_notify_accepts_the_report_log_line_as_the_report(tmp_path: Any) -> None:
    from canary.logs import report_line

    line = tmp_path / "line.log"
    report = json.loads(open(DATA + "sample-report.json").read())
    line.write_text("[INFO]\t2026-01-23T07:28:00Z\treq-1\t" + report_line(report) + "\n")
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json", "--report", str(line), "--dry-run")
    assert res.exit_code == 0 and "ses:SendEmail" in res.stdout


def test_notify_posts_to_the_webhook_and_never_prints_it(httpserver: Any, hook_url: str,
                                                         assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json", "--report", DATA + "sample-report.json",
               env={"SLACK_WEBHOOK_URL": hook_url})
    assert res.exit_code == 0 and "posted to Slack (1 attempt(s))" in res.stdout
    assert len(posted(httpserver)[0]["blocks"]) == 7
    assert_never_leaked(res.stdout, res.stderr, url=hook_url)


def test_notify_exits_1_when_slack_rejects_and_says_why(httpserver: Any, hook_url: str,
                                                        assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("no_active_hooks", status=404)
    res = _run("notify", "--alarm", DATA + "sample-alarm-ok.json", "--webhook", hook_url)
    assert res.exit_code == 1 and "not posted: 404 no_active_hooks" in res.stderr
    assert_never_leaked(res.stdout, res.stderr, url=hook_url)


@pytest.mark.parametrize("args,message", [
    (["--alarm", DATA + "sample-report.json"], "sample-report.json: the alarm message has no AlarmName"),
    (["--alarm", "nope.json"], "nope.json: cannot read the alarm message"),
    (["--alarm", DATA + "sample-alarm-ok.json", "--report", DATA + "sample-alarm-ok.json"],
     "sample-alarm-ok.json: not a canary report"),
    (["--alarm", DATA + "sample-alarm-ok.json", "--webhook", "hooks.slack.com/services/T/B/secretsecret"],
     "does not hold an http(s) URL"),
])
def test_notify_bad_input_exits_2_naming_the_file(args: list[str], message: str) -> None:
    res = _run("notify", *args)
    assert res.exit_code == 2 and message in res.stderr and "Traceback" not in res.output
    assert "secretsecret" not in res.output


def test_importing_the_handler_loads_neither_slack_sdk_nor_boto3() -> None:
    import subprocess
    import sys

    code = ("import sys, canary.notifiers.handler, canary.notifiers; "
            "print(sorted(m for m in ('slack_sdk', 'boto3', 'botocore', 'canary.notifiers.message') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_notify_without_a_region_for_the_lookup_is_one_line_and_exit_2() -> None:
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json",
               env={"CANARY_LOG_GROUP": "/aws/lambda/canary", "AWS_REGION": None, "AWS_DEFAULT_REGION": None,
                    "AWS_PROFILE": None, "AWS_CONFIG_FILE": "/nonexistent"})  # type: ignore[dict-item]
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == [
        "error: no AWS region for the report lookup in $CANARY_LOG_GROUP: pass --region, or set AWS_REGION "
        "(or AWS_DEFAULT_REGION)"]


def test_notify_refuses_a_region_that_is_not_a_region_name() -> None:
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json", "--region", "evil.example/x",
               env={"CANARY_LOG_GROUP": "/aws/lambda/canary"})
    assert res.exit_code == 2 and "is not an AWS region name" in res.stderr and "Traceback" not in res.output


def test_notify_preview_prints_no_terminal_control_characters_from_the_alarm(tmp_path: Any) -> None:
    alarm = json.loads(open(DATA + "sample-alarm-ok.json").read())
    alarm["NewStateReason"] = "\x1b[2J\x1b]0;owned\x07 [bold]not markup[/bold] [/x]"
    path = tmp_path / "alarm.json"
    path.write_text(json.dumps(alarm))
    res = _run("notify", "--alarm", str(path))
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "[bold]not markup[/bold] [/x]" in res.stdout  # shown literally, never interpreted


def test_notify_looks_the_report_up_in_the_log_group(emu: Any, unique: Callable[[str], str]) -> None:
    from canary.logs import report_line

    from .conftest import failing_result, report_with
    from .test_alarm_messages import put_lines

    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (2, report_line(report_with([failing_result(7)]))))
    res = _run("notify", "--alarm", DATA + "sample-alarm-denied.json", "--dry-run",
               env={**emu.env(), "CANARY_LOG_GROUP": group})
    assert res.exit_code == 0, res.output
    assert "probe-007" in res.stdout and "Details unavailable" not in res.stdout


def test_the_undelivered_alerts_queue_may_be_written_and_nothing_else() -> None:
    queue = _arn("sqs", "permission-canary-undelivered-dev")
    policy = _policy(undelivered_queue="permission-canary-undelivered-dev")
    assert evaluate(policy, "sqs:SendMessage", [queue]).verdict == "GRANTED"
    assert evaluate(policy, "sqs:SendMessage", [_arn("sqs", "orders-dev")]).verdict == "NOT_GRANTED"
    assert evaluate(policy, "sqs:ReceiveMessage", [queue]).verdict == "NOT_GRANTED"
    assert evaluate(_policy(), "sqs:SendMessage", [queue]).verdict == "NOT_GRANTED"


def test_notify_renders_an_alarm_that_is_not_the_canarys_plainly() -> None:
    res = _run("notify", "--alarm", "tests/notifiers/alarms/rds-cpu.json", "--report", DATA + "sample-report.json",
               "--dry-run")
    assert res.exit_code == 0, res.output
    assert "not a permission canary alarm" in res.stdout and "ses:SendEmail" not in res.stdout
    assert "rendered plainly" in res.stderr
