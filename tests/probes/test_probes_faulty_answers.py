"""A 2xx that proves nothing is ERROR, never ALLOWED: truncated, garbled, empty or wrong answers, per probe.

The fault server (tests/faults/server.py) sits in front of the moto server: STS passes through, and
each probe's own call gets the faulty answer. botocore parses a cut or garbled JSON body to `{}` and
returns it as a success, so before `Call.expect` / `Call.must_fail` these were all ALLOWED (the issue:
"a truncated 200 answer to a write probe is reported ALLOWED"). moto cannot produce these answers,
which is why a hand-written fault plays them.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from canary.model import Outcome
from tests.conftest import allow
from tests.faults.server import garbage, respond, truncate, fault_server
from canary.runner import run
from tests.probes.conftest import cfg, only, session

TABLE, KEY = "listings-dev", {"listingId": "__permission_canary__"}
ACTIONS = ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query",
           "dynamodb:BatchGetItem", "dynamodb:Scan", "dynamodb:DescribeTable", "ssm:GetParameter",
           "secretsmanager:GetSecretValue", "s3:GetObject", "s3:PutObject", "sqs:SendMessage",
           "sqs:GetQueueAttributes", "sns:Publish", "ses:SendEmail")
LEAK = "hunter2-partial-value"


def ddb(action: str) -> dict[str, Any]:
    return {"action": action, "table": TABLE, **({} if action.endswith(("Scan", "DescribeTable")) else {"key": KEY})}


S3 = {"bucket": "uploads-dev", "prefix": "user-files/"}
CASES = [
    # writes built to be refused: any 2xx is an anomaly, reported loudly
    ("update-200-empty", ddb("dynamodb:UpdateItem"), "dynamodb", respond(200, {}), "UnexpectedSuccess"),
    ("delete-200-truncated", ddb("dynamodb:DeleteItem"), "dynamodb", truncate('{"Attributes": {"listingId"'),
     "UnexpectedSuccess"),
    ("put-200-garbled", ddb("dynamodb:PutItem"), "dynamodb", garbage(), "UnparseableResponse"),
    ("s3-put-200", {"action": "s3:PutObject", **S3}, "s3", respond(200, b"", headers={"ETag": '"abc"'}),
     "UnexpectedSuccess"),
    # reads: a 2xx must carry what a complete answer carries
    ("get-200-empty", ddb("dynamodb:GetItem"), "dynamodb", respond(200, {}), "IncompleteResponse"),
    ("get-200-truncated", ddb("dynamodb:GetItem"), "dynamodb", truncate(), "IncompleteResponse"),
    ("query-200-no-count", ddb("dynamodb:Query"), "dynamodb", respond(200, {"Items": []}), "IncompleteResponse"),
    ("batch-200-empty", ddb("dynamodb:BatchGetItem"), "dynamodb", respond(200, {}), "IncompleteResponse"),
    ("scan-200-truncated", ddb("dynamodb:Scan"), "dynamodb", truncate('{"Count": 0, "Scan'), "IncompleteResponse"),
    ("describe-other-table", ddb("dynamodb:DescribeTable"), "dynamodb",
     respond(200, {"Table": {"TableName": "someone-else"}}), "IncompleteResponse"),
    ("ssm-200-truncated", {"action": "ssm:GetParameter", "name": "/app/dev/db-url", "with_decryption": True}, "ssm",
     truncate('{"Parameter": {"Name": "/app/dev/db-url", "Type": "SecureString", "Value": "' + LEAK,
              content_type="application/x-amz-json-1.1"), "IncompleteResponse"),
    ("secret-200-empty", {"action": "secretsmanager:GetSecretValue", "secret": "app/dev/db"}, "secretsmanager",
     respond(200, {}, content_type="application/x-amz-json-1.1"), "IncompleteResponse"),
    ("s3-get-200-no-etag", {"action": "s3:GetObject", **S3}, "s3", respond(200, b"x"), "IncompleteResponse"),
    ("sqs-200-wrong-md5", {"action": "sqs:SendMessage", "sentinel_queue": "orders-dev-permission-canary"}, "sqs",
     respond(200, {"MessageId": "m-1", "MD5OfMessageBody": "0" * 32}), "IncompleteResponse"),
    ("sqs-attrs-200-empty", {"action": "sqs:GetQueueAttributes", "queue": "orders-dev"}, "sqs", respond(200, {}),
     "IncompleteResponse"),
    ("sns-200-garbled", {"action": "sns:Publish", "sentinel_topic": "events-dev-permission-canary"}, "sns",
     garbage(body=b"<PublishResponse><PublishResult>"), "UnparseableResponse"),
    ("ses-200-no-message-id", {"action": "ses:SendEmail", "from": "noreply@example.com"}, "ses",
     respond(200, b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult/>'
                  b"</SendEmailResponse>", "text/xml"), "IncompleteResponse"),
    ("ses-200-no-result", {"action": "ses:SendEmail", "from": "noreply@example.com"}, "ses",
     respond(200, b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"/>', "text/xml"),
     "UnparseableResponse"),
]


def run_via(faulty, emu, creds, config):
    return run(config, session(emu, creds), endpoint_url=faulty.url, stage="test")


@pytest.fixture(scope="module")
def faulty(emu):
    with fault_server(upstream=emu.url) as fs:
        yield fs


@pytest.mark.parametrize(("spec", "service", "fault", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_2xx_that_proves_nothing_is_an_error_never_allowed(emu, role, faulty, caplog, spec, service, fault, code):
    caplog.set_level(logging.DEBUG)
    faulty.clear()
    faulty.on(fault, service=service)
    creds = role(allow(*ACTIONS))
    report = run_via(faulty, emu, creds, cfg(spec, retries=0))
    faulty.clear()
    r = only(report)
    assert (r.outcome, r.error_code) == (Outcome.ERROR, code), r.to_dict()
    assert r.remediation is None
    assert LEAK not in str(report.to_dict()) and LEAK not in caplog.text


def test_an_impossible_success_on_a_write_says_data_may_have_changed(emu, role, faulty, caplog):
    faulty.clear()
    faulty.on(respond(200, {}), service="dynamodb")
    r = only(run_via(faulty, emu, role(allow(*ACTIONS)), cfg(ddb("dynamodb:UpdateItem"), retries=0)))
    faulty.clear()
    assert r.outcome is Outcome.ERROR and not r.transient
    assert "may have written" in r.message and f"table/{TABLE}" in r.message
    assert any(rec.levelno == logging.ERROR and "built to be refused" in rec.getMessage() for rec in caplog.records)


def test_an_incomplete_read_is_transient_and_retried(emu, role, faulty):
    faulty.clear()
    faulty.on(respond(200, {}), service="ssm")
    r = only(run_via(faulty, emu, role(allow(*ACTIONS)), cfg({"action": "ssm:GetParameter", "name": "/app/x"}, retries=1)))
    seen = faulty.seen("ssm", "GetParameter")
    faulty.clear()
    assert (r.outcome, r.error_code, r.transient, r.attempts) == (Outcome.ERROR, "IncompleteResponse", True, 2)
    assert len(seen) == 2
