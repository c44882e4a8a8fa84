"""SQS and SNS probes end to end against the moto server: sends go to sentinels only."""

from __future__ import annotations

from canary.model import Outcome
from canary.probes import ANY_TARGET, Target, build_call, probe_resources
from tests.conftest import allow, deny
from tests.probes.conftest import admin, cfg, only, run_as

T = Target("us-east-1", "123456789012")


def depth(emu, name):
    sqs = admin(emu, "sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_authorized_send_message_is_allowed_and_lands_on_the_sentinel_only(emu, role, api):
    creds = role(allow("sqs:SendMessage"))
    r = only(run_as(emu, creds, cfg({"action": "sqs:SendMessage", "sentinel_queue": api.sentinel_queue})))
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, None)
    assert r.resource == f"arn:aws:sqs:us-east-1:123456789012:{api.sentinel_queue}"
    assert depth(emu, api.sentinel_queue) == 1
    assert depth(emu, api.queue) == 0


def test_send_message_without_the_grant_is_denied(emu, role, api):
    creds = role(allow("sqs:GetQueueAttributes"))
    r = only(run_as(emu, creds, cfg({"action": "sqs:SendMessage", "sentinel_queue": api.sentinel_queue})))
    assert (r.outcome, r.error_code) == (Outcome.DENIED, "AccessDenied")
    assert depth(emu, api.sentinel_queue) == 0


def test_send_message_to_a_missing_sentinel_is_error(emu, role, api):
    creds = role(allow("sqs:SendMessage"))
    r = only(run_as(emu, creds, cfg({"action": "sqs:SendMessage", "sentinel_queue": api.sentinel_queue + "-x"})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "AWS.SimpleQueueService.NonExistentQueue")
    assert "`permission-canary provision`" in r.message


def test_get_queue_attributes_on_the_real_queue_is_allowed_denied_or_error(emu, role, api):
    probe = {"action": "sqs:GetQueueAttributes", "queue": api.queue}
    missing = {"action": "sqs:GetQueueAttributes", "queue": api.queue + "-gone", "id": "missing"}
    allowed = run_as(emu, role(allow("sqs:GetQueueAttributes")), cfg(probe, missing))
    assert [(r.outcome, r.error_code) for r in allowed.results] == [
        (Outcome.ALLOWED, None), (Outcome.ERROR, "AWS.SimpleQueueService.NonExistentQueue")]
    denied = only(run_as(emu, role(allow("sqs:SendMessage")), cfg(probe)))
    assert (denied.outcome, denied.error_code) == (Outcome.DENIED, "AccessDenied")
    assert depth(emu, api.queue) == 0


def test_get_queue_attributes_asks_for_the_queue_arn_only():
    call = build_call(cfg({"action": "sqs:GetQueueAttributes", "queue": "orders-dev"}).probes[0], T)
    assert call.params == {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dev",
                           "AttributeNames": ["QueueArn"]}


def test_send_message_explains_that_it_never_sends_to_the_api_queue():
    call = build_call(cfg({"action": "sqs:SendMessage", "sentinel_queue": "orders-dev-permission-canary"}).probes[0], T)
    assert "sentinel queue only, never the API's" in call.why_harmless
    assert call.params["QueueUrl"].endswith("/123456789012/orders-dev-permission-canary")


def test_authorized_publish_is_allowed_on_the_sentinel_topic(emu, role, api):
    r = only(run_as(emu, role(allow("sns:Publish")), cfg({"action": "sns:Publish", "sentinel_topic": api.sentinel_topic})))
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, None)
    assert r.resource == f"arn:aws:sns:us-east-1:123456789012:{api.sentinel_topic}"


def test_publish_without_the_grant_is_denied(emu, role, api):
    creds = role(allow("sns:*"), deny("sns:Publish"))
    r = only(run_as(emu, creds, cfg({"action": "sns:Publish", "sentinel_topic": api.sentinel_topic})))
    assert (r.outcome, r.error_code) == (Outcome.DENIED, "AccessDenied")


def test_publish_to_a_missing_sentinel_topic_is_error(emu, role, api):
    r = only(run_as(emu, role(allow("sns:Publish")),
                    cfg({"action": "sns:Publish", "sentinel_topic": api.sentinel_topic + "-gone"})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "NotFound")


def test_sentinel_resources_for_check_policy():
    send, attrs, pub = cfg({"action": "sqs:SendMessage", "sentinel_queue": "orders-dev-permission-canary"},
                           {"action": "sqs:GetQueueAttributes", "queue": "orders-dev.fifo"},
                           {"action": "sns:Publish", "sentinel_topic": "events-dev-permission-canary"}).probes
    assert probe_resources(send, ANY_TARGET) == ("arn:aws:sqs:*:*:orders-dev-permission-canary",)
    assert probe_resources(attrs, ANY_TARGET) == ("arn:aws:sqs:*:*:orders-dev.fifo",)
    assert probe_resources(pub, ANY_TARGET) == ("arn:aws:sns:*:*:events-dev-permission-canary",)
    assert "never the API's topic" in build_call(pub, T).why_harmless
