"""The runner end to end against the moto server: IAM checks on, STS assumed-role credentials.

Every DENIED below comes from moto evaluating the role's policy over real HTTP; nothing is stubbed.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from canary.config import parse_config
from canary.model import Outcome, exit_code
from canary.runner import run
from tests.conftest import allow, deny

KEY = {"pk": "__permission_canary__"}


def count_clients(session) -> list[str]:
    """Record each client the session makes; the clients themselves stay real."""
    made: list[str] = []
    original = session.client

    def counting_client(name, *a, **kw):
        made.append(name)
        return original(name, *a, **kw)

    session.client = counting_client
    return made


def cfg(*probes: dict[str, Any], **settings: Any):
    return parse_config({**settings, "probes": list(probes)}, env={})


@pytest.fixture
def table(emu, unique) -> str:
    name = unique("listings")
    emu.create_table(name, "pk")
    return name


def test_authorized_write_probes_are_allowed_through_the_impossible_condition(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem"))
    config = cfg(*({"action": a, "table": table, "key": KEY} for a in
                   ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem")))
    report = run(config, emu.session(creds), endpoint_url=emu.url, stage="test")
    assert [r.outcome for r in report.results] == [Outcome.ALLOWED] * 3
    assert {r.error_code for r in report.results} == {"ConditionalCheckFailedException"}
    assert report.ok and exit_code(report) == 0
    assert report.principal and ":assumed-role/" in report.principal


def test_read_probes_are_allowed_when_granted(emu, assume_role, table):
    actions = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem",
               "dynamodb:DescribeTable")
    creds = assume_role(allow(*actions))
    probes = [{"action": a, "table": table, "key": KEY} for a in actions if a not in ("dynamodb:Scan", "dynamodb:DescribeTable")]
    probes += [{"action": "dynamodb:Scan", "table": table}, {"action": "dynamodb:DescribeTable", "table": table}]
    report = run(cfg(*probes), emu.session(creds), endpoint_url=emu.url)
    assert [(r.action, r.outcome) for r in report.results] == [(p["action"], Outcome.ALLOWED) for p in probes]


def test_missing_grant_is_an_implicit_deny_with_the_statement_to_add(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem"))
    report = run(cfg({"id": "upd", "action": "dynamodb:UpdateItem", "table": table, "key": KEY}),
                 emu.session(creds), endpoint_url=emu.url)
    (r,) = report.results
    assert r.outcome is Outcome.DENIED and r.deny_reason == "implicit"
    assert r.remediation == {"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                             "Resource": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"}
    assert exit_code(report) == 1


def test_explicit_deny_is_denied_without_a_remediation(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:*"), deny("dynamodb:DeleteItem"))
    report = run(cfg({"action": "dynamodb:DeleteItem", "table": table, "key": KEY}),
                 emu.session(creds), endpoint_url=emu.url)
    (r,) = report.results
    assert r.outcome is Outcome.DENIED and r.deny_reason == "identity-policy"
    assert r.remediation is None  # an Allow cannot beat an explicit Deny


def test_missing_table_is_an_error_not_a_denial(emu, assume_role, unique):
    creds = assume_role(allow("dynamodb:GetItem"))
    report = run(cfg({"action": "dynamodb:GetItem", "table": unique("absent"), "key": KEY}),
                 emu.session(creds), endpoint_url=emu.url)
    (r,) = report.results
    assert (r.outcome, r.error_code, r.transient) == (Outcome.ERROR, "ResourceNotFoundException", False)
    assert exit_code(report) == 3


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_unverified_ses_identity_is_an_error_message_rejected(emu, assume_role, unique, api):
    creds = assume_role(allow("ses:SendEmail"))
    sender = f"{unique('nobody')}@unverified.example"
    report = run(cfg({"action": "ses:SendEmail", "from": sender, "api": api}), emu.session(creds), endpoint_url=emu.url)
    (r,) = report.results
    assert r.outcome is Outcome.ERROR
    assert r.error_code in ("MessageRejected", "NotFoundException")  # v1 / v2 wording for "not verified"
    assert not r.transient


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_verified_ses_identity_sends_to_the_simulator(emu, assume_role, unique, api):
    sender = f"{unique('noreply')}@example.com"
    emu.verify_email(sender)
    creds = assume_role(allow("ses:SendEmail", "ses:SendRawEmail"))
    report = run(cfg({"id": "a", "action": "ses:SendEmail", "from": sender, "api": api},
                     {"id": "b", "action": "ses:SendRawEmail", "from": sender}),
                 emu.session(creds), endpoint_url=emu.url)
    assert [r.outcome for r in report.results] == [Outcome.ALLOWED, Outcome.ALLOWED]


def test_ses_send_denied_names_both_identity_arns(emu, assume_role, unique):
    sender = f"{unique('noreply')}@example.com"
    emu.verify_email(sender)
    creds = assume_role(allow("dynamodb:GetItem"))
    (r,) = run(cfg({"action": "ses:SendEmail", "from": sender}), emu.session(creds), endpoint_url=emu.url).results
    assert r.outcome is Outcome.DENIED and r.deny_reason == "implicit"
    assert r.remediation["Resource"] == [f"arn:aws:ses:us-east-1:123456789012:identity/{sender}",
                                         "arn:aws:ses:us-east-1:123456789012:identity/example.com"]


def test_unreachable_endpoint_is_a_transient_error_after_bounded_retries(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem"))
    config = cfg({"action": "dynamodb:GetItem", "table": table, "key": KEY}, retries=2, probe_timeout_s=1)
    report = run(config, emu.session(creds), endpoint_url="http://127.0.0.1:9")  # nothing listens on port 9
    (r,) = report.results
    assert (r.outcome, r.error_code, r.transient, r.attempts) == (Outcome.ERROR, "EndpointUnreachable", True, 3)
    assert report.principal is None  # STS was unreachable too; the probe still ran
    assert exit_code(report) == 3


def test_mixed_results_keep_config_order_and_exit_one(emu, assume_role, table, unique):
    creds = assume_role(allow("dynamodb:GetItem", "dynamodb:PutItem"))
    config = cfg({"id": "get", "action": "dynamodb:GetItem", "table": table, "key": KEY},
                 {"id": "upd", "action": "dynamodb:UpdateItem", "table": table, "key": KEY},
                 {"id": "gone", "action": "dynamodb:GetItem", "table": unique("gone"), "key": KEY},
                 {"id": "put", "action": "dynamodb:PutItem", "table": table, "key": KEY})
    report = run(config, emu.session(creds), endpoint_url=emu.url)
    assert [(r.id, r.outcome.value) for r in report.results] == [
        ("get", "ALLOWED"), ("upd", "DENIED"), ("gone", "ERROR"), ("put", "ALLOWED")]
    assert report.to_dict()["summary"] == {"allowed": 2, "denied": 1, "error": 1}
    assert exit_code(report) == 1


def test_a_probe_that_raises_is_an_error_and_the_others_still_run(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem"))
    config = cfg({"id": "boom", "action": "dynamodb:GetItem", "table": table, "key": KEY},
                 {"id": "fine", "action": "dynamodb:GetItem", "table": table, "key": KEY})

    def hook(probe, body):
        if probe.probe_id == "boom":
            raise RuntimeError("bug in a probe")
        return body()

    report = run(config, emu.session(creds), endpoint_url=emu.url, hook=hook)
    assert [(r.id, r.outcome.value, r.error_code) for r in report.results] == [
        ("boom", "ERROR", "RuntimeError"), ("fine", "ALLOWED", None)]


def test_probes_that_outlive_the_deadline_are_reported_not_awaited(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem"))
    release = threading.Event()
    config = cfg({"id": "stuck", "action": "dynamodb:GetItem", "table": table, "key": KEY},
                 {"id": "quick", "action": "dynamodb:GetItem", "table": table, "key": KEY})

    def hook(probe, body):
        if probe.probe_id == "stuck":
            release.wait(30)
        return body()

    # A generous deadline: the quick probe must finish well inside it even on a loaded machine.
    try:
        report = run(config, emu.session(creds), endpoint_url=emu.url, hook=hook, deadline_s=5.0)
    finally:
        release.set()
    outcomes = {r.id: (r.outcome.value, r.error_code) for r in report.results}
    assert outcomes == {"stuck": ("ERROR", "DeadlineExceeded"), "quick": ("ALLOWED", None)}


def test_clients_are_created_once_per_service(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem", "dynamodb:DescribeTable"))
    session = emu.session(creds)
    made = count_clients(session)
    config = cfg(*({"id": f"p{i}", "action": "dynamodb:GetItem", "table": table, "key": KEY} for i in range(6)),
                 {"action": "dynamodb:DescribeTable", "table": table})
    report = run(config, session, endpoint_url=emu.url)
    assert report.ok
    assert made.count("dynamodb") == 1 and made.count("sts") == 1


def test_remediation_grants_the_action_aws_named_when_it_is_not_the_probes_own():
    """SSM GetParameter WithDecryption can be denied on kms:Decrypt; the fix must grant that."""
    import time

    from canary.classify import Verdict
    from canary.probes import Target, build_call
    from canary.runner import probe_result

    config = parse_config({"probes": [{"action": "ssm:GetParameter", "name": "/api/db", "with_decryption": True}]},
                          env={})
    call = build_call(config.probes[0], Target("us-east-1", "123456789012"))
    msg = ("User: arn:aws:sts::123456789012:assumed-role/api/x is not authorized to perform: kms:Decrypt on "
           "resource: arn:aws:kms:us-east-1:123456789012:key/k-1 because no identity-based policy allows "
           "the kms:Decrypt action")
    r = probe_result(config.probes[0], call, Verdict(Outcome.DENIED, "AccessDeniedException", msg, "implicit"),
                     time.monotonic(), 1)
    assert r.remediation == {"Effect": "Allow", "Action": "kms:Decrypt",
                             "Resource": "arn:aws:kms:us-east-1:123456789012:key/k-1"}


def test_the_caller_identity_is_asked_once_per_access_key(emu, assume_role, table):
    creds = assume_role(allow("dynamodb:GetItem"))
    session = emu.session(creds)
    made = count_clients(session)
    config = cfg({"action": "dynamodb:GetItem", "table": table, "key": KEY})
    first = run(config, session, endpoint_url=emu.url)
    second = run(config, session, endpoint_url=emu.url)
    assert made.count("sts") == 1
    assert first.principal == second.principal and ":assumed-role/" in (second.principal or "")
    assert first.results[0].resource == second.results[0].resource
