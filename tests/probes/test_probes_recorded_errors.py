"""AWS's own error shapes for the S3, SSM and Secrets Manager probes, through botocore's real parsers.

Why not moto: moto's S3 denies with a bare "Access Denied", and for SSM and Secrets Manager it
answers a 403 carrying an XML document, while AWS answers HTTP 400 `AccessDeniedException` JSON
with the enhanced message. So a tiny HTTP server on 127.0.0.1 replays the recorded status, headers
and body (`aws_errors/`, provenance in its README), and `canary.runner.run` talks to it with a real
boto3 session: the only thing not real is who wrote the bytes.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest

from canary.model import Outcome
from canary.runner import run
from tests.probes.conftest import cfg, only

HERE = Path(__file__).parent / "aws_errors"
OBJECT = "arn:aws:s3:::uploads-dev/user-files/__permission_canary__"


class Replay:
    """Answer STS GetCallerIdentity with its recording, and every other request with `self.answer`."""

    def __init__(self) -> None:
        self.answer = b""
        self.requests: list[dict[str, Any]] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if b"Action=GetCallerIdentity" in body:
                    raw = (HERE / "sts" / "get-caller-identity.http").read_bytes()
                else:
                    replay.requests.append({"method": self.command, "path": self.path,
                                            "headers": dict(self.headers), "body": body})
                    raw = replay.answer
                self.wfile.write(raw)
                self.close_connection = True

            do_GET = do_PUT = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def play(self, name: str) -> None:
        self.answer = (HERE / name).read_bytes()


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    r = Replay()
    t = threading.Thread(target=r.server.serve_forever, daemon=True)
    t.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def aws_session() -> Any:
    return boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="example", region_name="us-east-1")


def probe(replay: Replay, session: Any, recording: str, spec: dict[str, Any]):
    replay.play(recording)
    replay.requests.clear()
    return only(run(cfg(spec, retries=0), session, endpoint_url=replay.url, stage="dev"))


GET = {"action": "s3:GetObject", "bucket": "uploads-dev", "prefix": "user-files/"}
PUT = {"action": "s3:PutObject", "bucket": "uploads-dev", "prefix": "user-files/"}


def test_s3_implicit_deny_is_denied_with_a_remediation_on_the_sentinels_folder(replay, aws_session):
    # The sentinel stands for the API's objects under its prefix: granting the sentinel alone would turn
    # the canary green while the API's own reads stay denied.
    r = probe(replay, aws_session, "s3/get-object-access-denied-implicit.http", GET)
    assert (r.outcome, r.error_code, r.deny_reason) == (Outcome.DENIED, "AccessDenied", "implicit")
    assert r.resource == OBJECT
    assert r.remediation == {"Effect": "Allow", "Action": "s3:GetObject",
                             "Resource": OBJECT.rpartition("/")[0] + "/*"}
    (req,) = replay.requests
    assert (req["method"], req["path"], req["headers"]["Range"]) == (
        "GET", "/uploads-dev/user-files/__permission_canary__", "bytes=0-0")


def test_s3_explicit_deny_is_denied_without_a_remediation(replay, aws_session):
    r = probe(replay, aws_session, "s3/put-object-access-denied-explicit.http", PUT)
    assert (r.outcome, r.deny_reason, r.remediation) == (Outcome.DENIED, "identity-policy", None)


def test_s3_bare_access_denied_is_denied_for_unknown_reason_and_offers_no_remediation(replay, aws_session):
    """Ambiguous on purpose: the sentinel rule (provision creates it) is what makes DENIED the right call."""
    r = probe(replay, aws_session, "s3/get-object-access-denied-bare.http", GET)
    assert (r.outcome, r.error_code, r.deny_reason, r.remediation) == (Outcome.DENIED, "AccessDenied", "unknown", None)


def test_s3_conditional_write_refused_with_412_is_allowed(replay, aws_session):
    r = probe(replay, aws_session, "s3/put-object-precondition-failed.http", PUT)
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, "PreconditionFailed")
    (req,) = replay.requests
    assert (req["method"], req["headers"]["If-Match"]) == ("PUT", '"' + "0" * 32 + '"')
    assert "If-None-Match" not in req["headers"]


def test_s3_bad_digest_is_allowed_and_the_request_carried_a_digest_that_cannot_match(replay, aws_session):
    import base64
    import hashlib

    r = probe(replay, aws_session, "s3/put-object-bad-digest.http", PUT)
    assert (r.outcome, r.error_code, r.remediation) == (Outcome.ALLOWED, "BadDigest", None)
    (req,) = replay.requests
    assert req["body"] and base64.b64decode(req["headers"]["Content-MD5"]) != hashlib.md5(req["body"]).digest()
    # botocore asks before sending the body: S3 can refuse on the headers (authorization) first
    assert req["headers"]["Expect"] == "100-continue"


def test_s3_put_on_a_missing_sentinel_is_an_error_never_allowed(replay, aws_session):
    r = probe(replay, aws_session, "s3/put-object-no-such-key.http", PUT)
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "NoSuchKey")
    assert "run `permission-canary provision`" in r.message


def test_s3_missing_sentinel_with_list_bucket_is_error_not_denied(replay, aws_session):
    r = probe(replay, aws_session, "s3/get-object-no-such-key.http", GET)
    assert (r.outcome, r.error_code, r.transient) == (Outcome.ERROR, "NoSuchKey", False)
    assert r.message.startswith("The specified key does not exist. (the S3 sentinel object is missing")


def test_ssm_access_denied_exception_is_denied_with_a_remediation(replay, aws_session):
    r = probe(replay, aws_session, "ssm/get-parameter-access-denied-implicit.http",
              {"action": "ssm:GetParameter", "name": "/app/dev/db-url", "with_decryption": True})
    assert (r.outcome, r.error_code, r.deny_reason) == (Outcome.DENIED, "AccessDeniedException", "implicit")
    assert r.remediation == {"Effect": "Allow", "Action": "ssm:GetParameter",
                             "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/app/dev/db-url"}
    assert replay.requests[0]["headers"]["X-Amz-Target"] == "AmazonSSM.GetParameter"


def test_ssm_parameter_not_found_is_error(replay, aws_session):
    r = probe(replay, aws_session, "ssm/get-parameter-not-found.http", {"action": "ssm:GetParameter", "name": "/app/x"})
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "ParameterNotFound")


def test_secrets_manager_access_denied_exception_is_denied_with_the_suffix_pattern(replay, aws_session):
    r = probe(replay, aws_session, "secretsmanager/get-secret-value-access-denied-implicit.http",
              {"action": "secretsmanager:GetSecretValue", "secret": "app/dev/db"})
    assert (r.outcome, r.error_code, r.deny_reason) == (Outcome.DENIED, "AccessDeniedException", "implicit")
    assert r.remediation == {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                             "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/dev/db-??????"}


def test_secrets_manager_missing_secret_is_error(replay, aws_session):
    r = probe(replay, aws_session, "secretsmanager/get-secret-value-not-found.http",
              {"action": "secretsmanager:GetSecretValue", "secret": "app/dev/db"})
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "ResourceNotFoundException")


# -- KMS denials, in every form the services relay them ---------------------------------------------

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SQS = {"action": "sqs:SendMessage", "sentinel_queue": "orders-dev-permission-canary"}
SNS = {"action": "sns:Publish", "sentinel_topic": "events-dev-permission-canary"}
SSM = {"action": "ssm:GetParameter", "name": "/app/dev/db-url", "with_decryption": True}
SECRET = {"action": "secretsmanager:GetSecretValue", "secret": "app/dev/db"}


@pytest.mark.parametrize(("recording", "spec", "code"), [
    ("sqs/send-message-kms-access-denied.http", SQS, "KMS.AccessDeniedException"),
    ("sqs/send-message-kms-access-denied-no-query-header.http", SQS, "KmsAccessDenied"),
    ("sns/publish-kms-access-denied.http", SNS, "KMSAccessDenied"),
    ("ssm/get-parameter-kms-ciphertext.http", SSM, "AccessDeniedException"),
    ("secretsmanager/get-secret-value-kms-not-allowed.http", SECRET, "AccessDeniedException"),
    ("s3/get-object-kms-access-denied-no-key.http", GET, "AccessDenied"),
])
def test_a_kms_denial_without_the_key_named_is_denied_and_says_which_key_policy_to_check(replay, aws_session,
                                                                                      recording, spec, code):
    r = probe(replay, aws_session, recording, spec)
    assert (r.outcome, r.error_code) == (Outcome.DENIED, code)
    assert "check that key's key policy and grants for this role" in r.message
    assert r.remediation is None  # no key ARN: a statement would grant nothing (or on the wrong ARN)


def test_sqs_kms_denial_naming_the_key_remediates_on_the_key(replay, aws_session):
    r = probe(replay, aws_session, "sqs/send-message-kms-access-denied-key-named.http", SQS)
    assert (r.outcome, r.error_code, r.deny_reason) == (Outcome.DENIED, "KMS.AccessDeniedException", "implicit")
    assert r.remediation == {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": KEY}
    assert f"KMS refused kms:GenerateDataKey on key {KEY}" in r.message


def test_s3_kms_denial_quoting_the_key_remediates_on_the_key_not_the_object(replay, aws_session):
    r = probe(replay, aws_session, "s3/put-object-kms-access-denied-implicit.http", PUT)
    assert (r.outcome, r.deny_reason) == (Outcome.DENIED, "implicit")
    assert r.remediation == {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": KEY}


def test_ssm_kms_denial_by_the_key_policy_names_the_key_and_offers_no_identity_statement(replay, aws_session):
    r = probe(replay, aws_session, "ssm/get-parameter-kms-key-policy.http", SSM)
    assert (r.outcome, r.deny_reason, r.remediation) == (Outcome.DENIED, "resource-policy", None)
    assert f"KMS refused kms:Decrypt on key {KEY}" in r.message and "key policy or a grant" in r.message


def test_ssm_kms_implicit_denial_grants_kms_decrypt_on_the_key(replay, aws_session):
    r = probe(replay, aws_session, "ssm/get-parameter-kms-implicit.http", SSM)
    assert (r.outcome, r.deny_reason) == (Outcome.DENIED, "implicit")
    assert r.remediation == {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}
