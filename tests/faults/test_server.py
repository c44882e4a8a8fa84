"""The fault server itself: each fault reaches botocore as the failure it imitates, and stopping is bounded.

Clients here use short timeouts so each fault shows quickly; the outer bound on every test is the
server's own stop(), which must end every handler thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.exceptions as bx
import pytest
from botocore.config import Config

from tests.faults.server import (barrier, drip, fault_server, garbage, hang, reset, respond, server_error,
                                 throttle, truncate)


def client(url: str, service: str = "dynamodb", read_timeout: float = 2.0) -> Any:
    session = boto3.Session(aws_access_key_id="AKIDFAULT", aws_secret_access_key="x", region_name="us-east-1")
    return session.client(service, endpoint_url=url, config=Config(
        connect_timeout=2, read_timeout=read_timeout, retries={"total_max_attempts": 1}))


def get_item(c: Any) -> Any:
    return c.get_item(TableName="t", Key={"pk": {"S": "k"}})


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name or t.name == "fault-server"]


def test_rules_pick_requests_by_service_and_operation_from_the_signed_request(faults):
    faults.on(respond(200, {"Item": {"pk": {"S": "k"}}}), service="dynamodb", operation="GetItem")
    faults.on(respond(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>111122223333</Account>"
                           "<Arn>arn:aws:iam::111122223333:user/u</Arn><UserId>U</UserId>"
                           "</GetCallerIdentityResult></GetCallerIdentityResponse>", "text/xml"), service="sts")
    assert get_item(client(faults.url))["Item"] == {"pk": {"S": "k"}}
    assert client(faults.url, "sts").get_caller_identity()["Account"] == "111122223333"
    assert [(r.service, r.operation, r.protocol) for r in faults.requests] == [
        ("dynamodb", "GetItem", "json"), ("sts", "GetCallerIdentity", "query")]


def test_a_hanging_answer_trips_the_read_timeout(faults):
    faults.on(hang())
    with pytest.raises(bx.ReadTimeoutError):
        get_item(client(faults.url, read_timeout=0.5))


def test_a_drip_never_trips_a_read_timeout_longer_than_its_interval(faults):
    faults.on(drip(n=6, interval=0.3))  # six bytes of a body announced as 1 GB, over 1.8 s, then EOF
    try:
        get_item(client(faults.url, read_timeout=1.0))
    except (bx.ConnectionClosedError, bx.ResponseStreamingError, bx.IncompleteReadError):
        pass  # the EOF ended it; botocore may also take the cut body as an empty success (see issue 11)
    assert len(faults.requests) == 1  # no ReadTimeoutError, so no retry either


def test_a_drip_in_the_status_line_never_trips_the_read_timeout_either(faults):
    faults.on(drip(n=6, interval=0.3, phase="headers"))
    with pytest.raises((bx.ConnectionClosedError, bx.EndpointConnectionError)):
        get_item(client(faults.url, read_timeout=1.0))


def test_a_cut_200_answer_reaches_the_caller_as_an_empty_success(faults):
    """botocore does not enforce Content-Length here: the cut JSON parses as nothing, and the call
    "succeeds". This is why a 2xx alone must not prove a probe ALLOWED (issue 11, item 2)."""
    faults.on(truncate())
    answer = get_item(client(faults.url))
    assert "Item" not in answer and answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_reset_reaches_botocore_as_a_connection_error(faults):
    faults.on(reset())
    with pytest.raises((bx.ConnectionClosedError, bx.EndpointConnectionError)):
        get_item(client(faults.url))


def test_garbage_with_status_200_is_handed_to_the_parser(faults):
    faults.on(garbage())
    with pytest.raises(Exception) as info:  # botocore's parser decides; it must not return a result
        get_item(client(faults.url))
    assert not isinstance(info.value, bx.ReadTimeoutError)


@pytest.mark.parametrize(("service", "code"), [("dynamodb", "ThrottlingException"), ("sts", "Throttling")])
def test_throttling_uses_the_requests_own_protocol(faults, service, code):
    faults.on(throttle())
    c = client(faults.url, service)
    with pytest.raises(bx.ClientError) as info:
        get_item(c) if service == "dynamodb" else c.get_caller_identity()
    assert info.value.response["Error"]["Code"] == code


def test_server_errors_are_5xx_in_the_protocols_shape(faults):
    faults.on(server_error(503))
    with pytest.raises(bx.ClientError) as info:
        get_item(client(faults.url))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_a_rule_with_times_applies_to_that_many_requests_then_falls_through(faults):
    faults.on(throttle(), times=1)
    faults.on(respond(200, {}))
    c = client(faults.url)
    with pytest.raises(bx.ClientError):
        get_item(c)
    assert get_item(c)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_requests_pass_through_to_moto_with_their_signature_intact(faults_emu, emu):
    faults_emu.on(hang(), service="sts")
    c = emu.session().client("iam", endpoint_url=faults_emu.url)
    assert "Roles" in c.list_roles()
    assert faults_emu.seen("iam", "ListRoles")


def test_a_barrier_releases_only_when_n_requests_are_in_flight_together(faults):
    faults.on(barrier(5, respond(200, {}), timeout=20))
    c = client(faults.url, read_timeout=30)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: get_item(c), range(5)))
    assert len(answers) == 5 and faults.max_in_flight == 5


def test_a_barrier_that_is_never_met_answers_503_at_its_timeout(faults):
    faults.on(barrier(3, respond(200, {}), timeout=0.3))
    with pytest.raises(bx.ClientError) as info:
        get_item(client(faults.url))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_stopping_ends_hanging_and_dripping_handlers_and_leaves_no_threads():
    before = len(server_threads())
    done = threading.Event()
    with fault_server() as fs:
        fs.on(hang(), operation="GetItem")
        fs.on(drip(interval=0.1), operation="PutItem")
        c = client(fs.url, read_timeout=30)
        callers = [threading.Thread(target=lambda: _swallow(lambda: get_item(c)), daemon=True),
                   threading.Thread(target=lambda: _swallow(lambda: c.put_item(TableName="t", Item={})),
                                    daemon=True)]
        for t in callers:
            t.start()
        while fs.in_flight < 2:
            done.wait(0.02)
    # the with block returned: stop() closed both connections, so the callers' reads end too
    for t in callers:
        t.join(10)
    assert not any(t.is_alive() for t in callers)
    assert len(server_threads()) == before


def _swallow(fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - the caller only has to end
        pass
