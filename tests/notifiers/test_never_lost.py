"""Never a lost alert: Slack failing in every way fails the invocation, within the function's time.

Slack is played by the fault server (`tests/faults/server.py`) on 127.0.0.1: 500s, 429 with
Retry-After, resets, hangs, drips and a webhook that dies after a rotation. The Lambda context is
chalice's own local `LambdaContext`, so the remaining time counts down as it does in Lambda. Tests
assert what happened (posts, statuses, the invocation ending before the function's time is up),
never how long it took.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from chalice.local import LambdaContext

from canary.emulator import Emulator
from canary.notifiers.handler import AlarmNotDelivered, handle_sns_alarm
from canary.notifiers.slack import MAX_ATTEMPTS
from tests.faults.server import drip, fault_server, hang, reset, respond

from .conftest import HOOK_PATH, alarm_json, report_with, failing_result

OK_ALARM = alarm_json("sample-alarm-ok.json")


def context(ms: int) -> LambdaContext:
    return LambdaContext("permission_canary_alarm_to_slack", 128, max_runtime_ms=ms)


@pytest.fixture
def slack() -> Any:
    with fault_server() as fs:
        yield fs


def hook(fs: Any, path: str = HOOK_PATH) -> str:
    return fs.url + path


def posts(fs: Any, path: str = HOOK_PATH) -> int:
    return sum(r.path == path for r in fs.requests)


def undelivered(message: str, **kw: Any) -> dict[str, Any]:
    with pytest.raises(AlarmNotDelivered) as caught:
        handle_sns_alarm(message, **kw)
    return caught.value.result


def test_slack_500_fails_the_invocation_after_at_most_three_posts(slack: Any,
                                                                  assert_never_leaked: Callable[..., None]) -> None:
    slack.on(respond(500, "rollup_error", "text/plain"), path=HOOK_PATH)
    result = undelivered(OK_ALARM, env={"SLACK_WEBHOOK_URL": hook(slack)}, context=context(30_000))
    assert (result["status"], result["attempts"]) == (500, MAX_ATTEMPTS)
    assert posts(slack) == MAX_ATTEMPTS == 3
    assert_never_leaked(result, url=hook(slack))


def test_429_waits_retry_after_then_posts(slack: Any) -> None:
    slack.on(respond(429, "rate_limited", "text/plain", headers={"Retry-After": "1"}), path=HOOK_PATH, times=1)
    slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
    result = handle_sns_alarm(OK_ALARM, env={"SLACK_WEBHOOK_URL": hook(slack)}, context=context(30_000))
    assert (result["posted"], result["attempts"]) == (True, 2) and posts(slack) == 2


def test_a_reset_connection_is_retried(slack: Any) -> None:
    slack.on(reset(), path=HOOK_PATH, times=1)
    slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
    result = handle_sns_alarm(OK_ALARM, env={"SLACK_WEBHOOK_URL": hook(slack)}, context=context(30_000))
    assert (result["posted"], result["attempts"]) == (True, 2)


@pytest.mark.parametrize("fault", [hang(), drip(interval=0.2), drip(interval=0.2, phase="headers")],
                         ids=["hang", "drip-body", "drip-headers"])
def test_a_hanging_or_dripping_slack_ends_before_the_function_times_out(slack: Any, fault: Any) -> None:
    slack.on(fault, path=HOOK_PATH)
    ctx = context(4_000)
    result = undelivered(OK_ALARM, env={"SLACK_WEBHOOK_URL": hook(slack)}, context=ctx)
    assert result["status"] == "timeout" and 1 <= posts(slack) <= MAX_ATTEMPTS
    assert ctx.get_remaining_time_in_millis() > 0  # the invocation ended by itself: Lambda did not time it out
    assert not [t for t in threading.enumerate() if t.name == "canary-http-deadline"]


def test_a_message_posted_once_is_not_posted_again_when_redelivered(slack: Any) -> None:
    slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
    env = {"SLACK_WEBHOOK_URL": hook(slack)}
    first = handle_sns_alarm(OK_ALARM, env=env, message_id="sns-msg-1")
    again = handle_sns_alarm(OK_ALARM, env=env, message_id="sns-msg-1")
    assert (first["status"], again["status"]) == (200, "duplicate") and posts(slack) == 1


def test_a_failed_message_is_posted_when_the_platform_retries_it(slack: Any) -> None:
    slack.on(respond(503, "unavailable", "text/plain"), path=HOOK_PATH, times=3)
    slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
    env = {"SLACK_WEBHOOK_URL": hook(slack)}
    undelivered(OK_ALARM, env=env, message_id="sns-msg-2", context=context(30_000))
    assert handle_sns_alarm(OK_ALARM, env=env, message_id="sns-msg-2")["posted"] is True
    assert posts(slack) == 4


def test_unexpected_errors_fail_the_invocation_too(slack: Any) -> None:
    # A webhook URL with a port out of range: urllib raises ValueError-like errors, not HTTP answers.
    result = undelivered(OK_ALARM, env={"SLACK_WEBHOOK_URL": "http://127.0.0.1:99999" + HOOK_PATH})
    assert result["posted"] is False and result["status"] in ("connection_error", "error")


# -- the webhook in SSM: bounded read, and a rotated URL re-read once ------------------------------

def _ssm_env(emu: Emulator, name: str, endpoint: str | None = None, **extra: str) -> dict[str, str]:
    return {"SLACK_WEBHOOK_SSM_PARAMETER": name, "AWS_ENDPOINT_URL": endpoint or emu.url,
            "AWS_REGION": emu.region, **extra}


@pytest.mark.parametrize("answer", ["no_service", "invalid_token", "channel_not_found"])
def test_a_rotated_webhook_is_re_read_once_and_the_alarm_posted_to_the_new_one(
        emu: Emulator, unique: Callable[[str], str], slack: Any, caplog: pytest.LogCaptureFixture,
        assert_never_leaked: Callable[..., None], answer: str) -> None:
    old_path, new_path = "/services/T0CANARY/B0OLD/oldT0k3nRot4ted", HOOK_PATH
    status = {"no_service": 404, "invalid_token": 403, "channel_not_found": 404}[answer]
    slack.on(respond(200, "ok", "text/plain"), path=old_path, times=1)
    slack.on(respond(status, answer, "text/plain"), path=old_path)
    slack.on(respond(200, "ok", "text/plain"), path=new_path)
    name = "/" + unique("canary") + "/slack-webhook"
    ssm = emu.client("ssm")
    ssm.put_parameter(Name=name, Value=hook(slack, old_path), Type="SecureString")
    env = _ssm_env(emu, name)
    assert handle_sns_alarm(OK_ALARM, env=env, session=emu.session())["posted"]  # caches the old URL
    ssm.put_parameter(Name=name, Value=hook(slack, new_path), Type="SecureString", Overwrite=True)
    caplog.clear()  # the test's own PutParameter is logged by botocore; it is not the notifier
    later = alarm_json("sample-alarm-ok.json", StateChangeTime="2026-01-23T09:00:00.000+0000")
    result = handle_sns_alarm(later, env=env, session=emu.session(), context=context(30_000))
    assert (result["posted"], result["attempts"]) == (True, 2)
    assert (posts(slack, old_path), posts(slack, new_path)) == (2, 1)
    assert_never_leaked(result, url=hook(slack, new_path))


def test_a_dead_webhook_that_was_not_rotated_fails_once_re_read(
        emu: Emulator, unique: Callable[[str], str], slack: Any) -> None:
    slack.on(respond(404, "no_service", "text/plain"), path=HOOK_PATH)
    name = "/" + unique("canary") + "/slack-webhook"
    emu.client("ssm").put_parameter(Name=name, Value=hook(slack), Type="SecureString")
    result = undelivered(OK_ALARM, env=_ssm_env(emu, name), session=emu.session(), context=context(30_000))
    assert (result["status"], posts(slack)) == (404, 1)
    assert "re-read, holds the same URL" in result["reason"]


def test_a_hanging_ssm_read_ends_in_time_and_fails_the_invocation(
        emu: Emulator, unique: Callable[[str], str], slack: Any) -> None:
    with fault_server(upstream=emu.url) as aws:
        aws.on(hang(), service="ssm")
        ctx = context(6_000)
        result = undelivered(OK_ALARM, env=_ssm_env(emu, "/x/slack-webhook", aws.url), session=emu.session(),
                             context=ctx)
    assert result["status"] == "no_webhook" and "no complete answer in time" in result["reason"]
    assert ctx.get_remaining_time_in_millis() > 0


# -- the report lookup: bounded by the function's remaining time ---------------------------------

@pytest.mark.parametrize("fault", [hang(), drip(interval=0.2)], ids=["hang", "drip"])
def test_a_slow_log_lookup_gives_up_in_time_and_the_alarm_still_goes_out(
        emu: Emulator, unique: Callable[[str], str], slack: Any, fault: Any) -> None:
    from canary.logs import report_line

    from .test_alarm_messages import put_lines

    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (2, report_line(report_with([failing_result(1)]))))
    slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
    with fault_server(upstream=emu.url) as aws:
        aws.on(fault, operation="FilterLogEvents")
        ctx = context(8_000)
        result = handle_sns_alarm(alarm_json(), env={"SLACK_WEBHOOK_URL": hook(slack), "CANARY_LOG_GROUP": group,
                                                     "AWS_ENDPOINT_URL": aws.url, "AWS_REGION": emu.region},
                                  session=emu.session(), context=ctx)
        assert aws.seen(operation="FilterLogEvents")
    assert (result["posted"], result["details"]) == (True, "unavailable")
    body = slack.requests[-1].body.decode()
    assert "did not answer in time" in body
    assert ctx.get_remaining_time_in_millis() > 0
