"""Turn what AWS answered into ALLOWED / DENIED / ERROR: the one place that reads AWS errors.

Every known denial shape is handled here: DynamoDB's HTTP 400 `AccessDeniedException` with the
enhanced message, SES v1's 403 `AccessDenied` with backtick quoting, SESv2's 403
`AccessDeniedException`, and moto's JSON-protocol shape (`Error.Code == "403"`, XML body inside the
message). A throttle, a 5xx or a network failure is ERROR with `transient=True`, never DENIED.

KMS denials relayed by other services are DENIED in every form AWS uses (SQS `KMS.AccessDeniedException`
or `KmsAccessDenied`, SNS `KMSAccessDenied`, Lambda `KMSAccessDeniedException`, and the
`AccessDenied`/`AccessDeniedException` of S3, DynamoDB, SSM and Secrets Manager whose message names
KMS); the message then says which key to fix, or which key policy and grants to check.

A success proves something only when it is the answer the probe asked for: `classify_response` makes
a 2xx to a request built to be refused (`Call.must_fail`) an ERROR that says data may have changed,
and a 2xx missing what a complete answer carries (`Call.expect`: botocore parses a truncated or
garbled body to `{}`) an ERROR too. `attempt` runs one call and classifies it: the one place where an
answer becomes a verdict.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from canary.model import Outcome

if TYPE_CHECKING:
    from canary.probes import Call

__all__ = ["Verdict", "attempt", "classify", "classify_exception", "classify_response", "deny_reason",
           "denied_action", "remediation", "remediation_for", "DENY_CODES", "KMS_DENY_CODES", "DENY_ADVICE"]

log = logging.getLogger("canary.classify")

# How services relay a KMS refusal, from their API models: SQS (JSON, query-compatible code
# `KMS.AccessDeniedException`; `__type` KmsAccessDenied without the header), SNS (`KMSAccessDenied`,
# shape KMSAccessDeniedException), Lambda (`KMSAccessDeniedException`).
KMS_DENY_CODES = frozenset({"KMS.AccessDeniedException", "KmsAccessDenied", "KMSAccessDenied",
                            "KMSAccessDeniedException"})
DENY_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                        "AuthorizationError", "AuthorizationErrorException"}) | KMS_DENY_CODES
THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
                            "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
                            "ProvisionedThroughputExceededException", "SlowDown", "BandwidthLimitExceeded",
                            "PriorRequestNotComplete", "TransactionInProgressException",
                            "RequestTimeout", "RequestTimeoutException", "EC2ThrottledException",
                            "KMS.ThrottlingException", "KmsThrottled", "KMSThrottling", "KMSThrottlingException"})
SERVER_CODES = frozenset({"InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable",
                          "ServiceUnavailableException", "InternalServerException"})
# A missing sentinel is the expected cause of these ERRORs: say what to do, next to AWS's message.
ERROR_HINTS = {
    "NoSuchKey": "the S3 sentinel object is missing: run `permission-canary provision` to create it "
                 "(without it, a role lacking s3:ListBucket sees 403 AccessDenied instead)",
    "AWS.SimpleQueueService.NonExistentQueue": "no such queue in this account and region (a missing sentinel "
                                               "queue is created by `permission-canary provision`)",
}

# AWS's documented AccessDenied wording (IAM User Guide, "Troubleshooting access denied error
# messages"): "... with an explicit deny in a <type> policy" and "... because no <type> policy allows
# the <action> action". The policy type names the layer; the documentation itself spells the session
# one "sessions policy" once, and an SCP denial is always worded "explicit deny", even when implicit.
_POLICY_TYPES: dict[str, str] = {
    "identity-based policy": "identity-policy",
    "permissions boundary": "permissions-boundary",
    "session policy": "session-policy",
    "sessions policy": "session-policy",
    "service control policy": "scp",
    "resource control policy": "rcp",
    "resource-based policy": "resource-policy",
    "vpc endpoint policy": "vpc-endpoint-policy",
}
_TYPE = "|".join(re.escape(t) for t in sorted(_POLICY_TYPES, key=len, reverse=True))
_EXPLICIT = re.compile(rf"explicit deny in (?:a|an|the) (?P<type>{_TYPE})")
_IMPLICIT = re.compile(rf"because no (?P<type>{_TYPE}) allows")
# "... with an explicit deny in a VPC endpoint policy transitively through a service control policy":
# the layer to fix is the one named last (the documentation says: check your SCPs).
_TRANSITIVE = re.compile(rf"transitively through (?:a|an|the) (?P<type>{_TYPE})")
# deny_reason -> what denied it and what fixes it, for people (CLI table, Slack) (an Allow cannot beat an explicit Deny).
DENY_ADVICE = {
    "implicit": "implicit deny: no identity-based policy allows it",
    "identity-policy": "explicit Deny in an identity-based policy: an Allow cannot override it; "
                       "remove or narrow that Deny statement",
    "permissions-boundary": "denied by the role's permissions boundary: widen the boundary; "
                            "an Allow in the role's policy is not enough",
    "session-policy": "denied by a session policy: check the policy passed when the role was assumed",
    "scp": "denied by an AWS Organizations service control policy (SCP): the role's policy cannot fix "
           "this; ask the organization's administrators",
    "rcp": "denied by an AWS Organizations resource control policy (RCP): the role's policy cannot fix "
           "this; ask the organization's administrators",
    "resource-policy": "denied by the resource's own policy (e.g. a KMS key policy or SES sending "
                       "authorization): edit that resource policy",
    "vpc-endpoint-policy": "denied by a VPC endpoint policy: edit the endpoint's policy",
    "unknown": "AWS did not say which policy denied it: check CloudTrail or the IAM policy simulator",
}

_MOTO_CODE = re.compile(r"<Code>(?P<v>[^<]+)</Code>")
_MOTO_MESSAGE = re.compile(r"<Message>(?P<v>[^<]*)</Message>")


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    error_code: str | None = None
    message: str | None = None
    deny_reason: str | None = None
    transient: bool = False


_DENIED_ACTION = re.compile(r"perform:?\s*`?(?P<action>[A-Za-z0-9-]+:[A-Za-z0-9]+)'?"
                            r"(?:\s+on\s+resource:?\s*[`\"]?(?P<resource>arn:[^\s'\"`]+)['\"]?)?")


def denied_action(message: str) -> tuple[str, str | None] | None:
    """The action (and resource, if stated) AWS says was denied: "... perform: kms:Decrypt on resource: arn"."""
    m = _DENIED_ACTION.search(message)
    if not m:
        return None
    resource = m.group("resource")
    return m.group("action"), resource.rstrip(".,;)") if resource else None


# A message names KMS when a KMS action is denied, or when the service relays KMS's own error
# ("(Service: AWSKMS; ...)", "KMS key access denied error", "Access to KMS is not allowed").
# Matched on AWS's own phrases only, so a resource merely named "...-kms-..." cannot trigger it.
_KMS_MESSAGE = re.compile(r"\bkms:[A-Z][A-Za-z]+|\(Service: AWSKMS\b|KMS key access denied|Access to KMS is not allowed"
                          r"|customer master key|\bAWSKMSException\b")


def _is_kms(code: str, message: str) -> bool:
    return code in KMS_DENY_CODES or bool(_KMS_MESSAGE.search(message))


def _service(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" and parts[2] else None


def kms_hint(message: str) -> str:
    """Say which key to fix when AWS names it, otherwise which key policy and grants to check."""
    named = denied_action(message)
    if named and named[0].lower().startswith("kms:") and named[1] and _service(named[1]) == "kms":
        return (f"KMS refused {named[0]} on key {named[1]}: allow it on that key for this role, in the role's "
                "policy when the key policy delegates to IAM, otherwise in the key policy or a grant")
    action = named[0] if named and named[0].lower().startswith("kms:") else "kms:Decrypt (kms:GenerateDataKey for writes)"
    return (f"KMS refused the key that encrypts this resource and AWS did not name it: check that key's key "
            f"policy and grants for this role ({action})")


def deny_reason(message: str) -> str:
    """Name the policy layer that denied, from AWS's message; `implicit` when no identity policy allows.

    Only the identity-policy implicit deny is `implicit`: it is the one an Allow statement in the
    role's own policy fixes (and so the only one that gets a remediation).
    """
    text = " ".join(message.lower().split())  # AWS wraps long messages; match across line breaks
    m = _TRANSITIVE.search(text) or _EXPLICIT.search(text)
    if m:
        return _POLICY_TYPES[m.group("type")]
    m = _IMPLICIT.search(text)
    if m:
        reason = _POLICY_TYPES[m.group("type")]
        return "implicit" if reason == "identity-policy" else reason
    return "unknown"


def _unwrap_moto(code: str, message: str) -> tuple[str, str]:
    """moto answers JSON-protocol denials as code "403" with an XML error document as the message."""
    if code.isdigit():
        c, m = _MOTO_CODE.search(message), _MOTO_MESSAGE.search(message)
        if c:
            from html import unescape

            return unescape(c.group("v")).strip(), unescape(m.group("v")).strip() if m else ""
    return code, message


def classify(error: dict[str, Any] | None, status: int | None = None,
             harmless: frozenset[str] = frozenset()) -> Verdict:
    """Classify a parsed AWS response: `error` is botocore's `response["Error"]`, None on success."""
    if not error:
        return Verdict(Outcome.ALLOWED)
    code, message = _unwrap_moto(str(error.get("Code") or ""), str(error.get("Message") or ""))
    if code in harmless:
        return Verdict(Outcome.ALLOWED, error_code=code,
                       message=f"authorized; the expected harmless refusal ({code}) proves it and nothing changed")
    if code in DENY_CODES or code.endswith(".AccessDenied"):
        if _is_kms(code, message):
            hint = kms_hint(message)
            return Verdict(Outcome.DENIED, error_code=code, message=f"{message} ({hint})" if message else hint,
                           deny_reason=deny_reason(message))
        return Verdict(Outcome.DENIED, error_code=code, message=message, deny_reason=deny_reason(message))
    http = status if status is not None else (int(code) if code.isdigit() else None)
    transient = (code in THROTTLE_CODES or code in SERVER_CODES
                 or (http is not None and (http >= 500 or http == 429)))
    hint = ERROR_HINTS.get(code)
    message = f"{message} ({hint})" if hint and message else (hint or message)
    return Verdict(Outcome.ERROR, error_code=code or (str(status) if status else "Unknown"),
                   message=message or "no message", transient=transient)


def _raised_by_parser(exc: BaseException) -> bool:
    """botocore's parsers fail on some malformed bodies with a bare KeyError/TypeError of their own."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith("botocore/parsers.py")


def classify_exception(exc: BaseException, harmless: frozenset[str] = frozenset()) -> Verdict:
    """Classify anything a boto3 call raised; unknown exceptions are ERROR, never DENIED."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return classify(response["Error"], status, harmless)
    from botocore import exceptions as bx  # already loaded by any boto3 client
    from botocore.parsers import ResponseParserError

    name = type(exc).__name__
    if isinstance(exc, (ResponseParserError, UnicodeDecodeError)) or _raised_by_parser(exc):
        # The body itself is never repeated: it may be garbage, huge, or hold a secret.
        return Verdict(Outcome.ERROR, error_code="UnparseableResponse", transient=True,
                       message="AWS's answer could not be parsed (truncated or garbled); it proves nothing")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return Verdict(Outcome.ERROR, error_code="Timeout", message=str(exc), transient=True)
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ConnectionError,
                        bx.HTTPClientError)):
        return Verdict(Outcome.ERROR, error_code="EndpointUnreachable", message=str(exc), transient=True)
    if isinstance(exc, bx.NoCredentialsError):
        return Verdict(Outcome.ERROR, error_code="NoCredentials",
                       message="no AWS credentials found (set a profile, env vars or a role)")
    if type(exc).__module__.startswith("urllib3") or isinstance(exc, bx.ResponseStreamingError):
        # e.g. ProtocolError / IncompleteRead: the connection broke mid-answer.
        return Verdict(Outcome.ERROR, error_code="ResponseTruncated", transient=True,
                       message=f"the answer was cut off before its end ({name}); it proves nothing")
    if isinstance(exc, TimeoutError):
        return Verdict(Outcome.ERROR, error_code="Timeout", message=str(exc) or "timed out", transient=True)
    return Verdict(Outcome.ERROR, error_code=name, message=str(exc) or name)


def _lookup(response: Any, path: str) -> Any:
    node = response
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def classify_response(call: "Call", response: Any) -> Verdict:
    """Classify a 2xx answer: ALLOWED only when it is the complete answer the probe asked for."""
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") if isinstance(response, dict) else None
    if call.must_fail:
        log.error("%s on %s: AWS accepted a request built to be refused (HTTP %s); data may have changed",
                  call.action, call.resource, status)
        return Verdict(Outcome.ERROR, error_code="UnexpectedSuccess",
                       message=f"AWS answered HTTP {status or '2xx'} to a request built to be refused ("
                               f"{call.why_harmless}): it may have written; check {call.resource} now. "
                               "This proves nothing about the permission")
    for path, value in call.expect:
        got = _lookup(response, path)
        if got is _MISSING or (value is not None and got != value):
            what = "lacks" if got is _MISSING else "has an unexpected"
            return Verdict(Outcome.ERROR, error_code="IncompleteResponse", transient=True,
                           message=f"HTTP {status or '2xx'} but the answer {what} {path}: a truncated or "
                                   "garbled answer proves nothing")
    return Verdict(Outcome.ALLOWED)


def attempt(client: Any, call: "Call") -> Verdict:
    """Make the call once and classify whatever comes back; nothing escapes, no secret reaches a log."""
    from canary.redact import withheld

    try:
        with withheld(call.secret_response):
            response = getattr(client, call.operation)(**call.params)  # discarded, never logged
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
        return classify_exception(exc, call.harmless_errors)
    try:
        return classify_response(call, response)
    finally:
        body = response.get("Body") if isinstance(response, dict) else None
        if hasattr(body, "close"):
            body.close()  # S3 GetObject: free the connection without reading the data


# Services whose actions are authorized on another service's ARNs (sts:AssumeRole on an IAM role,
# ssm:SendCommand on an EC2 instance). Anything else across services grants nothing.
_ACROSS = {"sts": frozenset({"iam"}), "ssm": frozenset({"ec2"})}


def _grants_something(action: str, resource: str) -> bool:
    service = _service(resource)
    prefix = action.split(":", 1)[0].lower()
    return service is None or service == prefix or service in _ACROSS.get(prefix, frozenset())


def remediation(action: str, resources: tuple[str, ...]) -> dict[str, Any]:
    """The identity-policy statement that grants exactly the probed action on the probed resource(s).

    Raises ValueError for an action on another service's ARN (kms:Decrypt on an S3 object grants nothing).
    """
    wrong = [r for r in resources if not _grants_something(action, r)]
    if wrong:
        raise ValueError(f"{action} cannot be granted on {', '.join(wrong)}: that ARN belongs to another service")
    return {"Effect": "Allow", "Action": action,
            "Resource": resources[0] if len(resources) == 1 else list(resources)}


def remediation_for(verdict: Verdict, call: "Call") -> dict[str, Any] | None:
    """The statement that fixes an implicit deny, on the action AWS says was denied; None when unknown.

    The denied action may not be the probe's own (kms:Decrypt behind ssm:GetParameter): AWS names it,
    and the fix must grant that one, on the resource AWS names. When AWS names no resource of the right
    service (a KMS denial without the key ARN), no statement is offered: the message says what to check.
    """
    if verdict.outcome is not Outcome.DENIED or verdict.deny_reason != "implicit":
        return None
    named = denied_action(verdict.message or "")
    if not named or named[0].lower() == call.action.lower():
        return remediation(call.action, call.grant_resources)
    action, resource = named
    if resource and _grants_something(action, resource) and _service(resource):
        return remediation(action, (resource,))
    if all(_grants_something(action, r) for r in call.resources):
        return remediation(action, call.resources)
    return None
