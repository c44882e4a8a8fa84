"""Webhook delivery through the handler: attempts, outcomes, no leaked URL; a failure fails the invocation.

The fake Slack is pytest-httpserver on 127.0.0.1; every response is a real HTTP response. A message
that was not posted raises `AlarmNotDelivered` (so Lambda retries it, then keeps it in the
undelivered-alerts queue); its `.result` says why.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from canary.notifiers.handler import AlarmNotDelivered, handle_sns_alarm
from canary.notifiers.slack import SlackWebhook

from .conftest import HOOK_PATH, alarm_json, posted

OK_ALARM = alarm_json("sample-alarm-ok.json")


def _env(url: str, **extra: str) -> dict[str, str]:
    return {"SLACK_WEBHOOK_URL": url, **extra}


def undelivered(message: str, **kw: Any) -> dict[str, Any]:
    """The result of a delivery that must fail the invocation."""
    with pytest.raises(AlarmNotDelivered) as caught:
        handle_sns_alarm(message, **kw)
    return caught.value.result


def test_200_posts_once(httpserver: Any, hook_url: str, assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"]) == (True, 200, 1)
    body = posted(httpserver)[0]
    assert body["blocks"][0]["type"] == "header" and body["text"]
    assert_never_leaked(result, url=hook_url)


def test_429_waits_retry_after_then_posts(httpserver: Any, hook_url: str,
                                          assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"]) == (True, 200, 2)
    assert len(httpserver.log) == 2
    httpserver.check_assertions()
    assert_never_leaked(result, url=hook_url)


def test_429_with_retry_after_beyond_budget_gives_up_without_waiting(
        httpserver: Any, hook_url: str, assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "120"})
    result = undelivered(OK_ALARM, env=_env(hook_url, SLACK_DELIVERY_BUDGET_S="5"))
    assert (result["posted"], result["status"], result["attempts"]) == (False, 429, 1)
    assert "Retry-After 120s" in result["reason"] and "budget" in result["reason"]
    assert len(httpserver.log) == 1
    assert_never_leaked(result, url=hook_url)


def test_500_then_200_retries_once(httpserver: Any, hook_url: str, assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("rollup_error", status=500)
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"]) == (True, 200, 2)
    assert len(httpserver.log) == 2
    assert_never_leaked(result, url=hook_url)


def test_persistent_502_stops_after_the_retry_limit(httpserver: Any, hook_url: str,
                                                    assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("bad gateway", status=502)
    result = undelivered(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"]) == (False, 502, 3)
    assert len(httpserver.log) == 3
    assert_never_leaked(result, url=hook_url)


@pytest.mark.parametrize("status,reason", [(404, "no_active_hooks"), (400, "invalid_payload"),
                                           (404, "channel_not_found"), (403, "action_prohibited")])
def test_4xx_is_logged_once_with_slacks_reason_and_not_retried(
        httpserver: Any, hook_url: str, caplog: pytest.LogCaptureFixture,
        assert_never_leaked: Callable[..., None], status: int, reason: str) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data(reason, status=status)
    result = undelivered(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"], result["reason"]) == (False, status, 1, reason)
    assert len(httpserver.log) == 1
    mentions = [r for r in caplog.records if reason in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelno == logging.ERROR
    assert_never_leaked(result, url=hook_url)


def test_refused_blocks_fall_back_to_the_text_alone(httpserver: Any, hook_url: str,
                                                    assert_never_leaked: Callable[..., None]) -> None:
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("msg_blocks_too_long", status=400)
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    result = handle_sns_alarm(OK_ALARM, env=_env(hook_url))
    assert (result["posted"], result["status"], result["attempts"]) == (True, 200, 2)
    first, second = posted(httpserver)
    assert "blocks" in first and "blocks" not in second
    assert second["text"].startswith(first["text"]) and "msg_blocks_too_long" in second["text"]
    assert_never_leaked(result, url=hook_url)


def test_connection_refused_is_retried_then_reported(refused_url: str,
                                                     assert_never_leaked: Callable[..., None]) -> None:
    result = undelivered(OK_ALARM, env=_env(refused_url))
    assert (result["posted"], result["status"], result["attempts"]) == (False, "connection_error", 3)
    assert "Connection refused" in result["reason"]
    assert_never_leaked(result, url=refused_url)


def test_webhook_notifier_never_raises_and_hides_a_bad_url_scheme(
        assert_never_leaked: Callable[..., None]) -> None:
    url = "ftp://hooks.example.invalid/services/T0CANARY/B0CANARY/s3cr3tW3bh00kT0k3nXYZ"
    delivery = SlackWebhook(url).send({"text": "x"})
    assert delivery.posted is False and delivery.status == "connection_error" and delivery.attempts == 1
    assert_never_leaked(delivery, SlackWebhook(url), url=url)


def test_missing_webhook_fails_the_invocation_and_says_why(assert_never_leaked: Callable[..., None]) -> None:
    result = undelivered(OK_ALARM, env={})
    assert (result["posted"], result["status"]) == (False, "no_webhook")
    assert "SLACK_WEBHOOK_SSM_PARAMETER" in result["reason"]
    assert_never_leaked(result)
