"""Classification: what AWS answers becomes ALLOWED / DENIED / ERROR, with the right deny reason.

Why a replay server and not moto: moto cannot produce AWS's exact error payloads (it answers every
JSON-protocol denial as a 403 carrying an XML document, and never adds the "because no ... allows" /
"with an explicit deny in ..." context). So the recorded responses in tests/fixtures/aws_errors/
(status, headers and body bytes; see the README there for their provenance) are served by a tiny
HTTP server on 127.0.0.1 and a real boto3 client is pointed at it with `endpoint_url`: botocore's
own parsers turn the bytes into the `ClientError` that `classify_exception` reads, exactly as in
production. No Stubber: it would inject an already-parsed dict and skip the part most likely to
differ between services. moto's own shape is then checked end to end with the `emu` fixture.
"""

from __future__ import annotations

import socket
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from canary.classify import (DENY_CODES, classify, classify_exception, classify_response, deny_reason,
                             remediation, remediation_for)
from canary.config import parse_config
from canary.model import Outcome
from canary.probes import Call, Target, build_call, need
from tests.conftest import allow, deny

FIXTURES = Path(__file__).parent / "fixtures" / "aws_errors"
REASONS = ("implicit", "identity-policy", "permissions-boundary", "session-policy", "scp", "rcp",
           "resource-policy", "vpc-endpoint-policy", "unknown")
TARGET = Target(region="us-east-1", account="123456789012")


# -- the replay server ------------------------------------------------------------------------------

@dataclass
class Replay:
    """Serve one recorded raw HTTP response, byte for byte, to whatever request arrives."""

    url: str = ""
    response: bytes = b""
    delay: threading.Event | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def serve(self, relpath: str) -> None:
        self.response = (FIXTURES / relpath).read_bytes()


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as AWS; every fixture carries its Content-Length

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            replay.requests.append({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers), "body": body})
            if replay.delay is not None:  # a server that never answers in time
                replay.delay.wait(5)
            self.wfile.write(replay.response)
            self.wfile.flush()

        do_POST = do_GET = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    rp = Replay()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rp))
    server.daemon_threads = True
    rp.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rp
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "replay" in request.fixturenames:
        rp: Replay = request.getfixturevalue("replay")
        rp.requests.clear()
        rp.delay = None


_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=2)
_IMPATIENT = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=0.2)


_SESSION = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
_CLIENTS: dict[tuple[str, str, int], Any] = {}


def _client(service: str, endpoint: str, config: Config = _CLIENT_CONFIG) -> Any:
    """One client per service and endpoint, reused as the runner reuses them (creating one is slow)."""
    key = (service, endpoint, id(config))
    if key not in _CLIENTS:
        _CLIENTS[key] = _SESSION.client(service, endpoint_url=endpoint, config=config)
    return _CLIENTS[key]


PROBES = {
    "dynamodb": {"action": "dynamodb:UpdateItem", "table": "listings-dev", "key": {"listingId": "__permission_canary__"}},
    "ses": {"action": "ses:SendEmail", "from": "noreply@example.com"},
    "sesv2": {"action": "ses:SendEmail", "from": "noreply@example.com", "api": "v2"},
}


def _probe_call(service: str) -> Call:
    config = parse_config({"probes": [PROBES[service]]}, source="test", env={})
    return build_call(config.probes[0], TARGET)


def _raise_through_botocore(call: Call, endpoint: str, config: Config = _CLIENT_CONFIG) -> Exception:
    """Make the probe's real call against `endpoint` and return what botocore raised."""
    client = _client(call.service, endpoint, config)
    try:
        getattr(client, call.operation)(**call.params)
    except Exception as exc:  # noqa: BLE001 - the point is to capture whatever botocore raises
        return exc
    raise AssertionError("the call succeeded; the fixture should have produced an error")


def replayed(replay: Replay, service: str, fixture: str) -> tuple[Any, Call, Exception]:
    replay.serve(fixture)
    call = _probe_call(service)
    exc = _raise_through_botocore(call, replay.url)
    assert len(replay.requests) == 1, "botocore must have sent exactly one request (no retries)"
    return classify_exception(exc, call.harmless_errors), call, exc


# -- the fixtures themselves ------------------------------------------------------------------------

def _split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


ALL_FIXTURES = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.http"))


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_recorded_payload_is_a_well_formed_http_response(name: str) -> None:
    status, headers, body = _split((FIXTURES / name).read_bytes())
    assert 400 <= status < 600
    assert int(headers["content-length"]) == len(body)
    if "x-amz-crc32" in headers:
        assert int(headers["x-amz-crc32"]) == zlib.crc32(body) & 0xFFFFFFFF


def test_fixtures_cover_every_deny_reason_for_every_service() -> None:
    for service in ("dynamodb", "ses", "sesv2"):
        for reason in REASONS:
            assert (FIXTURES / service / f"access-denied-{reason}.http").is_file(), (service, reason)


# -- denials from AWS's real shapes -----------------------------------------------------------------

@pytest.mark.parametrize("reason", REASONS)
def test_dynamodb_400_access_denied_is_denied_with_its_reason(replay: Replay, reason: str) -> None:
    verdict, _, exc = replayed(replay, "dynamodb", f"dynamodb/access-denied-{reason}.http")
    assert isinstance(exc, ClientError)
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert replay.requests[0]["headers"]["X-Amz-Target"] == "DynamoDB_20120810.UpdateItem"
    assert verdict.outcome is Outcome.DENIED
    assert verdict.error_code == "AccessDeniedException"
    assert verdict.deny_reason == reason
    assert verdict.transient is False
    assert "dynamodb:UpdateItem" in (verdict.message or "")


@pytest.mark.parametrize("reason", REASONS)
def test_ses_v1_403_access_denied_with_backticks_is_denied_with_its_reason(replay: Replay, reason: str) -> None:
    verdict, _, exc = replayed(replay, "ses", f"ses/access-denied-{reason}.http")
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
    assert b"Action=SendEmail" in replay.requests[0]["body"]
    assert verdict.outcome is Outcome.DENIED
    assert verdict.error_code == "AccessDenied"
    assert verdict.deny_reason == reason
    assert "`ses:SendEmail'" in (verdict.message or "")


@pytest.mark.parametrize("reason", REASONS)
def test_sesv2_403_access_denied_exception_from_header_is_denied_with_its_reason(replay: Replay, reason: str) -> None:
    verdict, _, exc = replayed(replay, "sesv2", f"sesv2/access-denied-{reason}.http")
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
    assert replay.requests[0]["path"] == "/v2/email/outbound-emails"
    assert verdict.outcome is Outcome.DENIED
    assert verdict.error_code == "AccessDeniedException"
    assert verdict.deny_reason == reason


def test_dynamodb_capitalised_message_key_still_yields_the_reason(replay: Replay) -> None:
    verdict, _, _ = replayed(replay, "dynamodb", "dynamodb/access-denied-capital-message.http")
    assert (verdict.outcome, verdict.deny_reason) == (Outcome.DENIED, "implicit")


@pytest.mark.parametrize(("service", "fixture"), [("dynamodb", "moto/dynamodb-access-denied.http"),
                                                  ("sesv2", "moto/sesv2-access-denied.http")])
def test_moto_json_protocol_403_with_xml_body_is_denied(replay: Replay, service: str, fixture: str) -> None:
    verdict, _, exc = replayed(replay, service, fixture)
    assert exc.response["Error"]["Code"] == "403"  # type: ignore[attr-defined]  # botocore's view of moto
    assert verdict.outcome is Outcome.DENIED
    assert verdict.error_code == "AccessDenied"
    assert verdict.message is not None and verdict.message.startswith("User: arn:aws:sts::")
    assert "<" not in verdict.message
    assert verdict.deny_reason == "unknown"  # moto never says which policy layer denied


# -- everything that is not a denial ----------------------------------------------------------------

ERRORS = [
    # fixture, service, expected error code, transient
    ("dynamodb/throttling.http", "dynamodb", "ThrottlingException", True),
    ("dynamodb/provisioned-throughput-exceeded.http", "dynamodb", "ProvisionedThroughputExceededException", True),
    ("dynamodb/internal-server-error.http", "dynamodb", "InternalServerError", True),
    ("dynamodb/service-unavailable.http", "dynamodb", "ServiceUnavailableException", True),
    ("dynamodb/resource-not-found.http", "dynamodb", "ResourceNotFoundException", False),
    ("ses/throttling.http", "ses", "Throttling", True),
    ("ses/internal-failure.http", "ses", "InternalFailure", True),
    ("ses/service-unavailable.http", "ses", "ServiceUnavailable", True),
    ("ses/message-rejected.http", "ses", "MessageRejected", False),
    ("sesv2/too-many-requests.http", "sesv2", "TooManyRequestsException", True),
    ("sesv2/message-rejected.http", "sesv2", "MessageRejected", False),
    ("sesv2/empty-503.http", "sesv2", "503", True),
]


@pytest.mark.parametrize(("fixture", "service", "code", "transient"), ERRORS,
                         ids=[e[0].removesuffix(".http") for e in ERRORS])
def test_non_denials_are_errors_never_denied(replay: Replay, fixture: str, service: str, code: str,
                                             transient: bool) -> None:
    verdict, _, _ = replayed(replay, service, fixture)
    assert verdict.outcome is Outcome.ERROR
    assert verdict.error_code == code
    assert verdict.transient is transient
    assert verdict.deny_reason is None


def test_conditional_check_failed_on_a_write_probe_proves_it_is_allowed(replay: Replay) -> None:
    verdict, call, _ = replayed(replay, "dynamodb", "dynamodb/conditional-check-failed.http")
    assert "ConditionalCheckFailedException" in call.harmless_errors
    assert verdict.outcome is Outcome.ALLOWED
    assert verdict.error_code == "ConditionalCheckFailedException"


def test_conditional_check_failed_is_an_error_where_it_is_not_expected(replay: Replay) -> None:
    replay.serve("dynamodb/conditional-check-failed.http")
    exc = _raise_through_botocore(_probe_call("dynamodb"), replay.url)
    verdict = classify_exception(exc)  # no harmless set: nothing vouches for this refusal
    assert verdict.outcome is Outcome.ERROR


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_endpoint_down_is_a_transient_error() -> None:
    exc = _raise_through_botocore(_probe_call("dynamodb"), f"http://127.0.0.1:{_closed_port()}")
    verdict = classify_exception(exc)
    assert (verdict.outcome, verdict.error_code, verdict.transient) == (Outcome.ERROR, "EndpointUnreachable", True)


def test_read_timeout_is_a_transient_error(replay: Replay) -> None:
    replay.serve("dynamodb/access-denied-implicit.http")
    replay.delay = threading.Event()
    try:
        exc = _raise_through_botocore(_probe_call("dynamodb"), replay.url, _IMPATIENT)
    finally:
        replay.delay.set()
    verdict = classify_exception(exc)
    assert (verdict.outcome, verdict.error_code, verdict.transient) == (Outcome.ERROR, "Timeout", True)


def test_connect_timeout_is_a_transient_error() -> None:
    from botocore.exceptions import ConnectTimeoutError

    verdict = classify_exception(ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"))
    assert (verdict.outcome, verdict.error_code, verdict.transient) == (Outcome.ERROR, "Timeout", True)


def test_unexpected_exception_is_an_error_never_denied() -> None:
    verdict = classify_exception(ValueError("boom"))
    assert (verdict.outcome, verdict.error_code, verdict.message) == (Outcome.ERROR, "ValueError", "boom")


def test_missing_credentials_are_an_error_with_advice() -> None:
    from botocore.exceptions import NoCredentialsError

    verdict = classify_exception(NoCredentialsError())
    assert (verdict.outcome, verdict.error_code, verdict.transient) == (Outcome.ERROR, "NoCredentials", False)


# -- deny_reason on AWS's documented wording --------------------------------------------------------
# Each message is an example from the IAM User Guide, "Troubleshooting access denied error messages".

DOCUMENTED = [
    ("User: arn:aws:iam::777788889999:user/JohnDoe is not authorized to perform: \n"
     "codecommit:ListRepositories with an explicit deny in a service control policy", "scp"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: \n"
     "codecommit:ListRepositories because no VPC endpoint policy allows the codecommit:ListRepositories action",
     "vpc-endpoint-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codedeploy:ListDeployments "
     "on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in a "
     "VPC endpoint policy", "vpc-endpoint-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codedeploy:ListDeployments "
     "on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* because no permissions boundary "
     "allows the codedeploy:ListDeployments action", "permissions-boundary"),
    ("User: arn:aws:iam::777788889999:user/JohnDoe is not authorized to perform: \n"
     "sagemaker:ListModels with an explicit deny in a permissions boundary", "permissions-boundary"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: \n"
     "codecommit:ListRepositories because no session policy allows the codecommit:ListRepositories action",
     "session-policy"),
    # The guide spells this one "sessions policy".
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codedeploy:ListDeployments "
     "on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in a "
     "sessions policy", "session-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: \n"
     "secretsmanager:GetSecretValue because no resource-based policy allows the secretsmanager:GetSecretValue "
     "action", "resource-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: secretsmanager:GetSecretValue "
     "on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:* with an explicit deny in a "
     "resource-based policy", "resource-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: \n"
     "codecommit:ListRepositories because no identity-based policy allows the codecommit:ListRepositories action",
     "implicit"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codedeploy:ListDeployments "
     "on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in an "
     "identity-based policy", "identity-policy"),
    # "Access denied when a VPC request fails due to another policy": the guide says to check the SCPs.
    ("User: arn:aws:sts::111122223333:assumed-role/role-name/role-session-name is not authorized to perform: \n"
     "SNS:Publish on resource: arn:aws:sns:us-east-1:444455556666:role-name-2 \n"
     "with an explicit deny in a VPC endpoint policy transitively through a service control policy", "scp"),
    # The guide notes an SCP denial can read "due to an explicit deny in a Service Control Policy".
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: s3:GetObject "
     "due to an explicit deny in a Service Control Policy", "scp"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: s3:GetObject on resource: "
     "arn:aws:s3:::bucket/key with an explicit deny in a resource control policy", "rcp"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: s3:GetObject on resource: "
     "arn:aws:s3:::bucket/key because no service control policy allows the s3:GetObject action", "scp"),
    # The newer form names the policy and links to the authorization details.
    ("User: arn:aws:iam::123456789012:user/janedoe is not authorized to perform: iam:CreateInstanceProfile "
     "on resource: arn:aws:iam::123456789012:instance-profile/my-instance-profile with an explicit deny in an "
     "identity-based policy: arn:aws:iam::123456789012:policy/ExampleDenyPolicy. Go to https://us-east-1."
     "console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/EXAMPLE1a2b3c4d5e6f7g8h9i0j "
     "for complete details", "identity-policy"),
    ("User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: sts:AssumeRole "
     "with an explicit deny in the role trust policy", "unknown"),
    ("User: arn:aws:iam::123456789012:user/mateojackson is not authorized to perform: s3:GetWidget "
     "on resource: my-example-widget", "unknown"),
    ("", "unknown"),
]


@pytest.mark.parametrize(("message", "reason"), DOCUMENTED)
def test_deny_reason_names_the_layer_from_the_documented_wording(message: str, reason: str) -> None:
    assert deny_reason(message) == reason


def test_a_role_named_like_a_policy_type_does_not_fool_the_parser() -> None:
    msg = ("User: arn:aws:sts::123456789012:assumed-role/service-control-policy/x is not authorized to "
           "perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/t "
           "because no identity-based policy allows the dynamodb:GetItem action")
    assert deny_reason(msg) == "implicit"


# -- classify() on parsed shapes --------------------------------------------------------------------

def test_every_deny_code_is_denied_whatever_the_status() -> None:
    for code in DENY_CODES:
        for status in (400, 403, 200):
            assert classify({"Code": code, "Message": "x"}, status).outcome is Outcome.DENIED


def test_a_service_prefixed_access_denied_code_is_denied() -> None:
    assert classify({"Code": "Client.AccessDenied", "Message": "x"}, 403).outcome is Outcome.DENIED


def test_a_bare_403_without_an_access_denied_code_is_an_error() -> None:
    verdict = classify({"Code": "403", "Message": ""}, 403)
    assert (verdict.outcome, verdict.transient) == (Outcome.ERROR, False)


def test_moto_xml_entities_are_unescaped_in_the_message() -> None:
    xml = ("<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: a &amp; b is not "
           "authorized</Message></Error></Errors></ErrorResponse>")
    verdict = classify({"Code": "403", "Message": xml}, 403)
    assert (verdict.outcome, verdict.message) == (Outcome.DENIED, "User: a & b is not authorized")


@pytest.mark.parametrize("code", ["ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId",
                                  "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature"])
def test_bad_credentials_are_an_error_not_a_denial(code: str) -> None:
    """The caller could not be authenticated, so nothing was learnt about its permissions."""
    verdict = classify({"Code": code, "Message": "The security token included in the request is invalid."}, 400)
    assert (verdict.outcome, verdict.deny_reason, verdict.transient) == (Outcome.ERROR, None, False)


def test_a_429_without_a_known_code_is_transient() -> None:
    assert classify({"Code": "SlowDownPlease", "Message": ""}, 429).transient is True


def test_no_error_is_allowed() -> None:
    assert classify(None).outcome is Outcome.ALLOWED


# -- KMS denials relayed by other services (issue 11, item 7) -----------------------------------------

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CIPHERTEXT = ("The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
              "or you are not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: "
              "AccessDeniedException; Request ID: 0e35c348-57ef-4b0a-81e7-87e3fd0e4344; Proxy: null)")


def test_dynamodb_relaying_a_kms_denial_is_denied_and_says_which_key_policy_to_check(replay: Replay) -> None:
    verdict, call, _ = replayed(replay, "dynamodb", "dynamodb/kms-access-denied.http")
    assert (verdict.outcome, verdict.error_code) == (Outcome.DENIED, "AccessDeniedException")
    assert "check that key's key policy and grants for this role" in (verdict.message or "")
    assert remediation_for(verdict, call) is None


@pytest.mark.parametrize("code", ["KMS.AccessDeniedException", "KmsAccessDenied", "KMSAccessDenied",
                                  "KMSAccessDeniedException"])
def test_every_code_services_use_to_relay_a_kms_denial_is_denied(code: str) -> None:
    v = classify({"Code": code, "Message": CIPHERTEXT}, 400)
    assert (v.outcome, v.error_code, v.transient) == (Outcome.DENIED, code, False)
    assert "KMS refused the key that encrypts this resource" in (v.message or "")


@pytest.mark.parametrize("code", ["KMS.ThrottlingException", "KmsThrottled", "KMSThrottling"])
def test_kms_throttling_relayed_by_a_service_is_a_transient_error(code: str) -> None:
    v = classify({"Code": code, "Message": "Rate exceeded"}, 400)
    assert (v.outcome, v.transient) == (Outcome.ERROR, True)


def test_a_kms_denial_naming_the_key_remediates_on_the_key_only() -> None:
    call = _probe_call("dynamodb")
    msg = (f"User: arn:aws:sts::123456789012:assumed-role/api-dev/api-dev is not authorized to perform: kms:Decrypt "
           f"on resource: {KEY_ARN} because no identity-based policy allows the kms:Decrypt action")
    v = classify({"Code": "AccessDeniedException", "Message": msg}, 400)
    assert v.deny_reason == "implicit" and f"KMS refused kms:Decrypt on key {KEY_ARN}" in (v.message or "")
    assert remediation_for(v, call) == {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}


def test_a_kms_denial_without_the_key_never_grants_kms_on_the_probed_resource() -> None:
    """The bug: kms:Decrypt on the table (or an S3 object) ARN, a statement that grants nothing."""
    call = _probe_call("dynamodb")
    msg = ("User: arn:aws:sts::123456789012:assumed-role/api-dev/api-dev is not authorized to perform: kms:Decrypt "
           "because no identity-based policy allows the kms:Decrypt action")
    v = classify({"Code": "AccessDeniedException", "Message": msg}, 400)
    assert (v.outcome, v.deny_reason) == (Outcome.DENIED, "implicit")
    assert remediation_for(v, call) is None
    assert "AWS did not name it" in (v.message or "")


def test_a_denial_on_a_resource_merely_named_kms_is_not_taken_for_a_kms_denial() -> None:
    msg = ("User: arn:aws:sts::123456789012:assumed-role/api-dev/api-dev is not authorized to perform: "
           "dynamodb:UpdateItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/orders-kms-dev "
           "because no identity-based policy allows the dynamodb:UpdateItem action")
    v = classify({"Code": "AccessDeniedException", "Message": msg}, 400)
    assert v.message == msg  # no KMS hint appended


def test_remediation_refuses_one_services_action_on_another_services_arn() -> None:
    with pytest.raises(ValueError, match="belongs to another service"):
        remediation("kms:Decrypt", ("arn:aws:s3:::uploads-dev/user-files/__permission_canary__",))
    with pytest.raises(ValueError):
        remediation("s3:GetObject", (KEY_ARN,))


@pytest.mark.parametrize(("action", "resource"), [
    ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/listings-dev"),
    ("sts:AssumeRole", "arn:aws:iam::123456789012:role/deployer"),  # authorized on an IAM ARN, by design
    ("ssm:SendCommand", "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"),
    ("cloudwatch:PutMetricData", "*"),
])
def test_remediation_accepts_an_action_on_its_own_kind_of_resource(action: str, resource: str) -> None:
    assert remediation(action, (resource,))["Resource"] == resource


# -- a success must prove something (issue 11, item 2) ----------------------------------------------

def _call(**kw: Any) -> Call:
    base: dict[str, Any] = {"action": "ssm:GetParameter", "service": "ssm", "operation": "get_parameter",
                            "params": {}, "resource": "arn:aws:ssm:us-east-1:123456789012:parameter/x"}
    return Call(**{**base, **kw})


OK_200 = {"ResponseMetadata": {"HTTPStatusCode": 200}}


def test_a_2xx_to_a_request_built_to_be_refused_is_an_error_saying_data_may_have_changed() -> None:
    v = classify_response(_call(must_fail=True, why_harmless="the condition can never hold"), OK_200)
    assert (v.outcome, v.error_code, v.transient) == (Outcome.ERROR, "UnexpectedSuccess", False)
    assert "may have written" in (v.message or "") and "HTTP 200" in (v.message or "")


def test_a_2xx_missing_an_expected_field_is_a_transient_error() -> None:
    v = classify_response(_call(expect=(need("Parameter.Name"),)), {**OK_200, "Parameter": {}})
    assert (v.outcome, v.error_code, v.transient) == (Outcome.ERROR, "IncompleteResponse", True)
    assert "lacks Parameter.Name" in (v.message or "")


def test_a_2xx_with_a_wrong_expected_value_is_an_error() -> None:
    v = classify_response(_call(expect=(need("Table.TableName", "mine"),)), {**OK_200, "Table": {"TableName": "x"}})
    assert (v.outcome, v.error_code) == (Outcome.ERROR, "IncompleteResponse")


def test_a_complete_2xx_is_allowed() -> None:
    v = classify_response(_call(expect=(need("Parameter.Name"), need("Parameter.Type"))),
                          {**OK_200, "Parameter": {"Name": "/x", "Type": "SecureString"}})
    assert v.outcome is Outcome.ALLOWED


SAMPLE_PROBES = {
    "dynamodb:UpdateItem": PROBES["dynamodb"], "dynamodb:DeleteItem": {**PROBES["dynamodb"], "action": "dynamodb:DeleteItem"},
    "dynamodb:PutItem": {**PROBES["dynamodb"], "action": "dynamodb:PutItem"},
    "dynamodb:GetItem": {**PROBES["dynamodb"], "action": "dynamodb:GetItem"},
    "dynamodb:BatchGetItem": {**PROBES["dynamodb"], "action": "dynamodb:BatchGetItem"},
    "dynamodb:Query": {**PROBES["dynamodb"], "action": "dynamodb:Query"},
    "dynamodb:Scan": {"action": "dynamodb:Scan", "table": "listings-dev"},
    "dynamodb:DescribeTable": {"action": "dynamodb:DescribeTable", "table": "listings-dev"},
    "s3:GetObject": {"action": "s3:GetObject", "bucket": "uploads-dev"},
    "s3:PutObject": {"action": "s3:PutObject", "bucket": "uploads-dev"},
    "secretsmanager:GetSecretValue": {"action": "secretsmanager:GetSecretValue", "secret": "app/db"},
    "ses:SendEmail": PROBES["ses"], "ses:SendRawEmail": {**PROBES["ses"], "action": "ses:SendRawEmail"},
    "sns:Publish": {"action": "sns:Publish", "sentinel_topic": "events-dev-permission-canary"},
    "sqs:GetQueueAttributes": {"action": "sqs:GetQueueAttributes", "queue": "orders-dev"},
    "sqs:SendMessage": {"action": "sqs:SendMessage", "sentinel_queue": "orders-dev-permission-canary"},
    "ssm:GetParameter": {"action": "ssm:GetParameter", "name": "/app/x"},
}


def test_every_probe_says_what_a_success_must_prove() -> None:
    """A new probe must declare it: either its request is built to be refused, or its 2xx carries fields."""
    from canary.probes import PROBES as REGISTRY

    assert set(SAMPLE_PROBES) == set(REGISTRY)
    config = parse_config({"probes": list(SAMPLE_PROBES.values())}, source="test", env={})
    for probe in config.probes:
        call = build_call(probe, TARGET)
        assert call.must_fail != bool(call.expect), call.action
        assert not call.must_fail or call.harmless_errors, call.action
        v = classify_response(call, OK_200)  # an empty 2xx, as botocore makes of a cut body
        assert v.outcome is Outcome.ERROR, call.action


# -- moto end to end ---------------------------------------------------------------------------------

def test_moto_denies_an_assumed_role_lacking_the_action_end_to_end(
        emu: Any, assume_role: Callable[..., Any], unique: Callable[[str], str]) -> None:
    table = unique("listings")
    emu.create_table(table, key="listingId")
    creds = assume_role(allow("dynamodb:GetItem"))
    config = parse_config({"probes": [{"action": "dynamodb:UpdateItem", "table": table,
                                       "key": {"listingId": "__permission_canary__"}}]}, source="t", env={})
    call = build_call(config.probes[0], TARGET)
    client = emu.client("dynamodb", creds)
    with pytest.raises(ClientError) as info:
        getattr(client, call.operation)(**call.params)
    assert info.value.response["Error"]["Code"] == "403"  # moto's shape, not AWS's
    verdict = classify_exception(info.value, call.harmless_errors)
    assert (verdict.outcome, verdict.error_code) == (Outcome.DENIED, "AccessDenied")
    assert "dynamodb:UpdateItem" in (verdict.message or "")


def test_moto_write_probe_with_the_action_granted_is_allowed_and_writes_nothing(
        emu: Any, assume_role: Callable[..., Any], unique: Callable[[str], str]) -> None:
    table = unique("listings")
    emu.create_table(table, key="listingId")
    creds = assume_role(allow("dynamodb:UpdateItem"))
    config = parse_config({"probes": [{"action": "dynamodb:UpdateItem", "table": table,
                                       "key": {"listingId": "__permission_canary__"}}]}, source="t", env={})
    call = build_call(config.probes[0], TARGET)
    with pytest.raises(ClientError) as info:
        getattr(emu.client("dynamodb", creds), call.operation)(**call.params)
    assert classify_exception(info.value, call.harmless_errors).outcome is Outcome.ALLOWED
    assert emu.client("dynamodb").scan(TableName=table)["Count"] == 0


def test_moto_explicit_deny_statement_is_denied_end_to_end(
        emu: Any, assume_role: Callable[..., Any], unique: Callable[[str], str]) -> None:
    table = unique("listings")
    emu.create_table(table, key="listingId")
    creds = assume_role(allow("dynamodb:*"), deny("dynamodb:DeleteItem"))
    config = parse_config({"probes": [{"action": "dynamodb:DeleteItem", "table": table,
                                       "key": {"listingId": "__permission_canary__"}}]}, source="t", env={})
    call = build_call(config.probes[0], TARGET)
    with pytest.raises(ClientError) as info:
        getattr(emu.client("dynamodb", creds), call.operation)(**call.params)
    verdict = classify_exception(info.value, call.harmless_errors)
    assert (verdict.outcome, verdict.error_code) == (Outcome.DENIED, "AccessDenied")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_moto_ses_send_without_the_permission_is_denied_end_to_end(
        emu: Any, assume_role: Callable[..., Any], api: str) -> None:
    creds = assume_role(allow("dynamodb:GetItem"))
    config = parse_config({"probes": [{"action": "ses:SendEmail", "from": "noreply@example.com", "api": api}]},
                          source="t", env={})
    call = build_call(config.probes[0], TARGET)
    with pytest.raises(ClientError) as info:
        getattr(emu.client(call.service, creds), call.operation)(**call.params)
    # SES v1 is a query/XML service, so moto's denial already has AWS's code; SESv2 gets moto's "403".
    assert info.value.response["Error"]["Code"] == ("AccessDenied" if api == "v1" else "403")
    verdict = classify_exception(info.value, call.harmless_errors)
    assert (verdict.outcome, verdict.error_code) == (Outcome.DENIED, "AccessDenied")
    assert "ses:SendEmail" in (verdict.message or "")
