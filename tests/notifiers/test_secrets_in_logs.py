"""Secrets stay out of logs at ANY level: the root logger at DEBUG, every logger captured.

The webhook URL lives in an SSM SecureString on the moto server; Slack is a real HTTP server on
127.0.0.1. With the root logger at DEBUG, botocore prints every response body (the decrypted
parameter included) and urllib3 prints request URLs. The first test shows that this capture does
see a SecureString read outside the notifier, so the others can fail.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Callable, Iterator

import pytest

from canary.emulator import Emulator
from canary.notifiers.handler import AlarmNotDelivered, handle_sns_alarm

from .conftest import HOOK_PATH, TOKEN, alarm_json, failing_result, report_with


class Captured:
    """Everything logged: a plain stream handler on the root (as a Lambda runtime's) plus caplog."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.stream = io.StringIO()

    def __call__(self) -> str:
        return self.stream.getvalue() + self.caplog.text + "\n".join(r.getMessage() for r in self.caplog.records)

    def reset(self) -> None:
        """Forget what the test itself logged while storing the secret (that is not the notifier)."""
        self.stream.seek(0)
        self.stream.truncate(0)
        self.caplog.clear()


@pytest.fixture
def root_debug(caplog: pytest.LogCaptureFixture) -> Iterator[Captured]:
    root = logging.getLogger()
    captured = Captured(caplog)
    handler = logging.StreamHandler(captured.stream)
    handler.setLevel(logging.DEBUG)
    # caplog first: it restores the level it finds, so it must find the suite's, not our DEBUG
    # (the other order left the root logger at DEBUG for every later test).
    caplog.set_level(logging.DEBUG)
    old = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _store(emu: Emulator, name: str, url: str) -> None:
    emu.client("ssm").put_parameter(Name=name, Value=url, Type="SecureString", Overwrite=True)


def test_the_capture_sees_a_securestring_read_outside_the_notifier(
        emu: Emulator, unique: Callable[[str], str], root_debug: Captured) -> None:
    name = "/" + unique("canary") + "/probe-secret"
    _store(emu, name, f"https://hooks.slack.com/services/T0/B0/{TOKEN}")
    root_debug.reset()
    emu.client("ssm").get_parameter(Name=name, WithDecryption=True)
    assert TOKEN in root_debug()  # botocore.parsers logged the decrypted body: the check below can fail


def test_a_debug_root_logger_never_sees_the_webhook_through_a_whole_delivery(
        emu: Emulator, unique: Callable[[str], str], httpserver: Any, hook_url: str,
        caplog: pytest.LogCaptureFixture, root_debug: Captured,
        capsys: pytest.CaptureFixture[str]) -> None:
    from canary.logs import report_line

    from .test_alarm_messages import put_lines

    group = "/aws/lambda/" + unique("canary")
    put_lines(emu, group, (2, report_line(report_with([failing_result(1)]))))
    name = "/" + unique("canary") + "/slack-webhook"
    _store(emu, name, hook_url)
    root_debug.reset()
    capsys.readouterr()
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    env = {"SLACK_WEBHOOK_SSM_PARAMETER": name, "AWS_ENDPOINT_URL": emu.url, "AWS_REGION": emu.region,
           "CANARY_LOG_GROUP": group}
    result = handle_sns_alarm(alarm_json(), env=env, session=emu.session())
    assert (result["posted"], result["attempts"], result["details"]) == (True, 2, "report")
    logged = root_debug()
    out, err = capsys.readouterr()
    assert "GetParameter" in logged and "FilterLogEvents" in logged  # the capture saw the AWS calls
    for text in (logged, out, err, repr(result)):
        assert TOKEN not in text and HOOK_PATH not in text and hook_url not in text
    assert logging.getLogger("botocore").level == logging.NOTSET  # levels restored afterwards


def test_a_failed_delivery_with_a_debug_root_logger_leaks_nothing(
        emu: Emulator, unique: Callable[[str], str], httpserver: Any, hook_url: str,
        caplog: pytest.LogCaptureFixture, root_debug: Captured) -> None:
    name = "/" + unique("canary") + "/slack-webhook"
    _store(emu, name, hook_url)
    root_debug.reset()
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("no_service", status=404)
    env = {"SLACK_WEBHOOK_SSM_PARAMETER": name, "AWS_ENDPOINT_URL": emu.url, "AWS_REGION": emu.region}
    with pytest.raises(AlarmNotDelivered) as caught:  # 404, re-read (same URL), still 404: fails, and says so
        handle_sns_alarm(alarm_json("sample-alarm-ok.json"), env=env, session=emu.session())
    logged = root_debug() + str(caught.value) + repr(caught.value.result)
    assert "no_service" in logged
    at = logged.find(TOKEN)
    assert at < 0, logged[max(0, at - 700):at + 50]
    assert hook_url not in logged
