"""Turn what AWS answered into ALLOWED / DENIED / ERROR: the one place that reads AWS errors.

Every known denial shape is handled here: DynamoDB's HTTP 400 `AccessDeniedException` with the
enhanced message, SES v1's 403 `AccessDenied` with backtick quoting, SESv2's 403
`AccessDeniedException`, and moto's JSON-protocol shape (`Error.Code == "403"`, XML body inside the
message). A throttle, a 5xx or a network failure is ERROR with `transient=True`, never DENIED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from canary.model import Outcome

__all__ = ["Verdict", "classify", "classify_exception", "deny_reason", "denied_action", "remediation", "DENY_CODES", "DENY_ADVICE"]

DENY_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                        "AuthorizationError", "AuthorizationErrorException"})
THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
                            "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
                            "ProvisionedThroughputExceededException", "SlowDown", "BandwidthLimitExceeded",
                            "PriorRequestNotComplete", "TransactionInProgressException",
                            "RequestTimeout", "RequestTimeoutException", "EC2ThrottledException"})
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
                            r"(?:\s+on\s+resource:?\s*`?(?P<resource>arn:[^\s']+)'?)?")


def denied_action(message: str) -> tuple[str, str | None] | None:
    """The action (and resource, if stated) AWS says was denied: "... perform: kms:Decrypt on resource: arn"."""
    m = _DENIED_ACTION.search(message)
    return (m.group("action"), m.group("resource")) if m else None


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
        return Verdict(Outcome.DENIED, error_code=code, message=message, deny_reason=deny_reason(message))
    http = status if status is not None else (int(code) if code.isdigit() else None)
    transient = (code in THROTTLE_CODES or code in SERVER_CODES
                 or (http is not None and (http >= 500 or http == 429)))
    hint = ERROR_HINTS.get(code)
    message = f"{message} ({hint})" if hint and message else (hint or message)
    return Verdict(Outcome.ERROR, error_code=code or (str(status) if status else "Unknown"),
                   message=message or "no message", transient=transient)


def classify_exception(exc: BaseException, harmless: frozenset[str] = frozenset()) -> Verdict:
    """Classify anything a boto3 call raised; unknown exceptions are ERROR, never DENIED."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return classify(response["Error"], status, harmless)
    from botocore import exceptions as bx  # already loaded by any boto3 client

    name = type(exc).__name__
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return Verdict(Outcome.ERROR, error_code="Timeout", message=str(exc), transient=True)
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ConnectionError,
                        bx.HTTPClientError)):
        return Verdict(Outcome.ERROR, error_code="EndpointUnreachable", message=str(exc), transient=True)
    if isinstance(exc, bx.NoCredentialsError):
        return Verdict(Outcome.ERROR, error_code="NoCredentials",
                       message="no AWS credentials found (set a profile, env vars or a role)")
    if isinstance(exc, TimeoutError):
        return Verdict(Outcome.ERROR, error_code="Timeout", message=str(exc) or "timed out", transient=True)
    return Verdict(Outcome.ERROR, error_code=name, message=str(exc) or name)


def remediation(action: str, resources: tuple[str, ...]) -> dict[str, Any]:
    """The identity-policy statement that grants exactly the probed action on the probed resource(s)."""
    return {"Effect": "Allow", "Action": action,
            "Resource": resources[0] if len(resources) == 1 else list(resources)}
