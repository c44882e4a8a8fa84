"""The webhook secret (SSM SecureString on moto, env) and inputs that are not alarms at all.

Every case checks the URL's absence from logs captured at DEBUG on every logger — botocore's
included, whose DEBUG lines would otherwise print the decrypted GetParameter response.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from canary.emulator import Emulator
from canary.notifiers import secrets
from canary.notifiers.handler import AlarmNotDelivered, handle_sns_alarm

from .conftest import HOOK_PATH, TOKEN, alarm_json, posted
from tests.conftest import allow

OK_ALARM = alarm_json("sample-alarm-ok.json")


def undelivered(message: str, **kw: Any) -> dict[str, Any]:
    """The result of a delivery that must fail the invocation (so Lambda retries it, then keeps it)."""
    with pytest.raises(AlarmNotDelivered) as caught:
        handle_sns_alarm(message, **kw)
    return caught.value.result


def _store(emu: Emulator, name: str, url: str) -> None:
    emu.client("ssm").put_parameter(Name=name, Value=url, Type="SecureString")


def _ssm_env(emu: Emulator, name: str, **extra: str) -> dict[str, str]:
    return {"SLACK_WEBHOOK_SSM_PARAMETER": name, "AWS_ENDPOINT_URL": emu.url, "AWS_REGION": emu.region, **extra}


def test_securestring_webhook_is_read_once_per_container(
        emu: Emulator, unique: Callable[[str], str], httpserver: Any, hook_url: str,
        caplog: pytest.LogCaptureFixture, assert_never_leaked: Callable[..., None]) -> None:
    name = "/" + unique("canary") + "/slack-webhook"
    _store(emu, name, hook_url)
    caplog.clear()  # the test's own PutParameter call is logged by botocore; it is not the notifier
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    first = handle_sns_alarm(OK_ALARM, env=_ssm_env(emu, name), session=emu.session())
    emu.client("ssm").delete_parameter(Name=name)  # the cached value keeps working until the next cold start
    later = alarm_json("sample-alarm-ok.json", StateChangeTime="2026-01-23T09:00:00.000+0000")
    second = handle_sns_alarm(later, env=_ssm_env(emu, name), session=emu.session())
    assert first["posted"] and second["posted"] and len(httpserver.log) == 2
    assert_never_leaked(first, second, url=hook_url)


def test_ssm_parameter_wins_over_the_direct_url(
        emu: Emulator, unique: Callable[[str], str], httpserver: Any, hook_url: str, refused_url: str) -> None:
    name = unique("slack-webhook")
    _store(emu, name, hook_url)
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm(OK_ALARM, env=_ssm_env(emu, name, SLACK_WEBHOOK_URL=refused_url), session=emu.session())
    assert result["posted"] is True and len(posted(httpserver)) == 1


def test_unreadable_parameter_is_reported_by_name_without_the_url(
        emu: Emulator, unique: Callable[[str], str], assume_role: Callable[..., Any], hook_url: str,
        caplog: pytest.LogCaptureFixture, assert_never_leaked: Callable[..., None]) -> None:
    name = unique("slack-webhook")
    _store(emu, name, hook_url)
    caplog.clear()  # the test's own PutParameter call is logged by botocore; it is not the notifier
    creds = assume_role(allow("logs:FilterLogEvents"))
    result = undelivered(OK_ALARM, env=_ssm_env(emu, name), session=emu.session(creds))
    assert (result["posted"], result["status"]) == (False, "no_webhook")
    assert name in result["reason"] and "AccessDenied" in result["reason"]
    assert any(name in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert_never_leaked(result, url=hook_url)


def test_missing_parameter_fails_the_invocation_naming_it(emu: Emulator, unique: Callable[[str], str]) -> None:
    name = unique("nope")
    result = undelivered(OK_ALARM, env=_ssm_env(emu, name), session=emu.session())
    assert (result["posted"], result["status"]) == (False, "no_webhook")
    assert "ParameterNotFound" in result["reason"]


def test_a_parameter_that_is_not_a_url_is_refused_without_echoing_it(
        emu: Emulator, unique: Callable[[str], str], caplog: pytest.LogCaptureFixture,
        assert_never_leaked: Callable[..., None]) -> None:
    name = unique("slack-webhook")
    value = f"hooks.slack.com/services/T0CANARY/B0CANARY/{TOKEN}"  # scheme forgotten
    _store(emu, name, value)
    caplog.clear()  # the test's own PutParameter call is logged by botocore; it is not the notifier
    result = undelivered(OK_ALARM, env=_ssm_env(emu, name), session=emu.session())
    assert (result["posted"], result["status"]) == (False, "no_webhook")
    assert "does not hold an http(s) URL" in result["reason"]
    assert_never_leaked(result, url=value)


def test_redact_removes_remembered_urls_their_paths_and_any_slack_hook_path() -> None:
    url = f"https://hooks.slack.com/services/T0CANARY/B0CANARY/{TOKEN}"
    secrets.remember_secret(url)
    text = (f"POST {url} failed; path /services/T0CANARY/B0CANARY/{TOKEN}; token {TOKEN}; "
            f"other https://hooks.slack.com/services/T9/B9/neverSeenBeforeToken")
    out = secrets.redact(text)
    assert TOKEN not in out and "neverSeenBeforeToken" not in out
    assert "hooks.slack.com/services/[REDACTED]" in out


# -- malformed input: logged, acknowledged, nothing posted ----------------------------------------

@pytest.mark.parametrize("message,why", [
    ("this is not json", "not JSON"),
    ("", "empty"),
    ("[1, 2]", "not an object"),
    ('{"NewStateValue": "ALARM"}', "no AlarmName"),
    ('{"AlarmName": "PermissionCanary-dev-denied"}', "no NewStateValue"),
    ('{"AlarmName": "PermissionCanary-dev-denied", "NewStateValue": "FIRING"}', "unknown NewStateValue 'FIRING'"),
    ('{"Records": [{"Sns": {"Message": "{oops"}}]}', "not JSON"),
])
def test_malformed_message_is_logged_and_acknowledged(
        httpserver: Any, hook_url: str, caplog: pytest.LogCaptureFixture,
        assert_never_leaked: Callable[..., None], message: str, why: str) -> None:
    result = handle_sns_alarm(message, subject="whatever", env={"SLACK_WEBHOOK_URL": hook_url})
    assert (result["posted"], result["status"], result["attempts"]) == (False, "malformed", 0)
    assert why in result["reason"]
    assert len(httpserver.log) == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and why in errors[0].getMessage()
    assert_never_leaked(result, url=hook_url)


def test_alarm_with_missing_optional_fields_still_posts_plainly(httpserver: Any, hook_url: str) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm('{"AlarmName": "x-denied", "NewStateValue": "OK"}', env={"SLACK_WEBHOOK_URL": hook_url})
    assert (result["posted"], result["kind"], result["canary"]) == (True, "unknown", False)
    assert "OK · x-denied" in posted(httpserver)[0]["blocks"][0]["text"]["text"]


def test_a_whole_sns_event_is_unwrapped(httpserver: Any, hook_url: str) -> None:
    import json

    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    event = json.dumps({"Records": [{"Sns": {"Subject": "OK", "Message": OK_ALARM}}]})
    result = handle_sns_alarm(event, env={"SLACK_WEBHOOK_URL": hook_url, "CANARY_STAGE": "ignored"})
    assert (result["posted"], result["state"]) == (True, "OK")


def test_a_report_with_garbage_fields_still_renders() -> None:
    from canary.notifiers.alarm import parse_alarm
    from canary.notifiers.message import render

    garbage = {"summary": "nope", "results": [None, 3, {"outcome": "DENIED"}, {"outcome": "ERROR", "message": 5}]}
    payload = render(parse_alarm(alarm_json()), report=garbage)
    assert len(payload["blocks"]) >= 3 and "1 of 2 probes denied" in payload["blocks"][1]["text"]["text"]
