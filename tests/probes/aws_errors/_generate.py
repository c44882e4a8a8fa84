"""Regenerate the recorded AWS answers in this folder (run: python tests/probes/aws_errors/_generate.py).

Each `.http` file is one raw HTTP response (status line, headers, blank line, body bytes) in the
wire shape the service uses: S3 REST-XML (`<Error>` with `Code`, `Message`, `RequestId`, `HostId`),
SSM and Secrets Manager JSON 1.1 (`__type` plus `message`/`Message`), STS query XML. The wording is
AWS's documented AccessDenied form ("User: <arn> is not authorized to perform: <action> on
resource: <arn> because no identity-based policy allows the <action> action"; S3 quotes the ARN).
KMS denials relayed by each service use the codes of the services' own API models (SQS
`KmsAccessDenied` with the query-compatible `KMS.AccessDeniedException` in `x-amzn-query-error`, SNS
`KMSAccessDenied`) and the messages those services are seen to relay in public reports: KMS's own
"The ciphertext refers to a customer master key ... (Service: AWSKMS; Status Code: 400; Error Code:
AccessDeniedException; ...)", Secrets Manager's "Access to KMS is not allowed", and the enhanced
"... is not authorized to perform: kms:Decrypt on resource: <key ARN> because no resource-based policy
allows the kms:Decrypt action (Service: AWSKMS; ...)" relayed by SSM. S3's 400 BadDigest follows its
documented `<ExpectedDigest>`/`<CalculatedDigest>` error document.
Provenance, honestly: the project has no AWS account, so these were built from those documented
formats, not captured live. The generator keeps Content-Length exact (botocore reads by it).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
DATE = "Fri, 23 Jan 2026 07:28:00 GMT"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/api-dev/api-dev"
OBJECT = "arn:aws:s3:::uploads-dev/user-files/__permission_canary__"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/app/dev/db-url"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_RID = "0e35c348-57ef-4b0a-81e7-87e3fd0e4344"
CIPHERTEXT = ("The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
              "or you are not allowed to access.")
VIA_KMS = f"(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: {KMS_RID}; Proxy: null)"
S3_RID, S3_HID = "4Q1ZV8XJ3B9K2M7N", "Xq3o6kZ4mJ2v9bR1tY8wN5cL0pD7fH3gK6sA2eU4iO9yT1rE5wQ8zX0cV7bN3mL2kJ6hG4fD1s="
JSON_RID = "6b1f0a52-8a7e-4c3d-9f21-0d4e5c6b7a89"


def response(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    hs = [("Date", DATE), *headers, ("Content-Length", str(len(body))), ("Connection", "close")]
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs) + "\r\n").encode("ascii") + body


def s3(status: str, code: str, message: str, **extra: str) -> bytes:
    more = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{more}'
            f"<RequestId>{S3_RID}</RequestId><HostId>{S3_HID}</HostId></Error>").encode()
    return response(status, [("x-amz-request-id", S3_RID), ("x-amz-id-2", S3_HID),
                             ("Content-Type", "application/xml"), ("Server", "AmazonS3")], body)


def json11(type_: str, message: str | None, *, key: str = "message") -> bytes:
    doc = {"__type": type_, **({key: message} if message is not None else {})}
    body = json.dumps(doc, separators=(",", ":")).encode()
    return response("400 Bad Request", [("x-amzn-RequestId", JSON_RID),
                                        ("Content-Type", "application/x-amz-json-1.1")], body)


def json10(type_: str, message: str, query_error: str | None) -> bytes:
    """SQS speaks JSON 1.0 and keeps its old query error codes in `x-amzn-query-error`."""
    body = json.dumps({"__type": type_, "message": message}, separators=(",", ":")).encode()
    headers = [("x-amzn-RequestId", JSON_RID), ("Content-Type", "application/x-amz-json-1.0")]
    if query_error:
        headers.append(("x-amzn-query-error", query_error))
    return response("400 Bad Request", headers, body)


def query_xml(code: str, message: str) -> bytes:
    """SNS speaks the query protocol: an XML ErrorResponse."""
    body = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">\n  <Error>\n    <Type>Sender</Type>\n'
            f"    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n"
            f"  <RequestId>{JSON_RID}</RequestId>\n</ErrorResponse>\n").encode()
    return response("400 Bad Request", [("x-amzn-RequestId", JSON_RID), ("Content-Type", "text/xml")], body)


def denied(action: str, resource: str, clause: str) -> str:
    return f"User: {PRINCIPAL} is not authorized to perform: {action} on resource: {resource} {clause}"


def implicit(action: str) -> str:
    return f"because no identity-based policy allows the {action} action"


FILES: dict[str, bytes] = {
    "sts/get-caller-identity.http": response(
        "200 OK", [("x-amzn-RequestId", JSON_RID), ("Content-Type", "text/xml")],
        ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <GetCallerIdentityResult>\n'
         f"    <Arn>{PRINCIPAL}</Arn>\n    <UserId>AROA3XFRBF535PLBIFPI4:api-dev</UserId>\n"
         "    <Account>123456789012</Account>\n  </GetCallerIdentityResult>\n"
         f"  <ResponseMetadata>\n    <RequestId>{JSON_RID}</RequestId>\n  </ResponseMetadata>\n"
         "</GetCallerIdentityResponse>\n").encode()),
    # The enhanced same-account message (S3 quotes the resource ARN).
    "s3/get-object-access-denied-implicit.http": s3(
        "403 Forbidden", "AccessDenied", denied("s3:GetObject", f'"{OBJECT}"', implicit("s3:GetObject"))),
    "s3/put-object-access-denied-explicit.http": s3(
        "403 Forbidden", "AccessDenied",
        denied("s3:PutObject", f'"{OBJECT}"', "with an explicit deny in an identity-based policy")),
    # The bare form: cross-account requests, and a missing key asked for without s3:ListBucket.
    "s3/get-object-access-denied-bare.http": s3("403 Forbidden", "AccessDenied", "Access Denied"),
    "s3/put-object-precondition-failed.http": s3(
        "412 Precondition Failed", "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
        Condition="If-Match"),
    # The PutObject probe's refusals: its Content-MD5 (of b"") cannot match the body, and its If-Match
    # names an ETag no object has.
    "s3/put-object-bad-digest.http": s3(
        "400 Bad Request", "BadDigest", "The Content-MD5 you specified did not match what we received.",
        ExpectedDigest="d41d8cd98f00b204e9800998ecf8427e", CalculatedDigest="rL0Y20zC+Fzt72VPzMSk2A=="),
    "s3/put-object-no-such-key.http": s3(
        "404 Not Found", "NoSuchKey", "The specified key does not exist.", Key="user-files/__permission_canary__"),
    # SSE-KMS: S3 relays the KMS denial as its own 403 AccessDenied, naming the key, or not.
    "s3/put-object-kms-access-denied-implicit.http": s3(
        "403 Forbidden", "AccessDenied", denied("kms:GenerateDataKey", f'"{KEY}"', implicit("kms:GenerateDataKey"))),
    "s3/get-object-kms-access-denied-no-key.http": s3(
        "403 Forbidden", "AccessDenied",
        f"User: {PRINCIPAL} is not authorized to perform: kms:Decrypt because no identity-based policy allows "
        "the kms:Decrypt action"),
    "s3/get-object-no-such-key.http": s3(
        "404 Not Found", "NoSuchKey", "The specified key does not exist.", Key="user-files/__permission_canary__"),
    "ssm/get-parameter-access-denied-implicit.http": json11(
        "AccessDeniedException", denied("ssm:GetParameter", PARAMETER, implicit("ssm:GetParameter"))),
    "ssm/get-parameter-not-found.http": json11("ParameterNotFound", None),
    "ssm/get-parameter-kms-key-policy.http": json11(
        "AccessDeniedException",
        f"{denied('kms:Decrypt', KEY, 'because no resource-based policy allows the kms:Decrypt action')} {VIA_KMS}"),
    "ssm/get-parameter-kms-implicit.http": json11(
        "AccessDeniedException", f"{denied('kms:Decrypt', KEY, implicit('kms:Decrypt'))} {VIA_KMS}"),
    "ssm/get-parameter-kms-ciphertext.http": json11("AccessDeniedException", f"{CIPHERTEXT} {VIA_KMS}"),
    "secretsmanager/get-secret-value-kms-not-allowed.http": json11(
        "AccessDeniedException", "Access to KMS is not allowed", key="Message"),
    "sqs/send-message-kms-access-denied.http": json10(
        "com.amazonaws.sqs#KmsAccessDenied", f"{CIPHERTEXT} {VIA_KMS}", "KMS.AccessDeniedException;Sender"),
    "sqs/send-message-kms-access-denied-no-query-header.http": json10(
        "com.amazonaws.sqs#KmsAccessDenied", f"{CIPHERTEXT} {VIA_KMS}", None),
    "sqs/send-message-kms-access-denied-key-named.http": json10(
        "com.amazonaws.sqs#KmsAccessDenied",
        f"{denied('kms:GenerateDataKey', KEY, implicit('kms:GenerateDataKey'))} {VIA_KMS}",
        "KMS.AccessDeniedException;Sender"),
    "sns/publish-kms-access-denied.http": query_xml("KMSAccessDenied", f"{CIPHERTEXT} {VIA_KMS}"),
    "secretsmanager/get-secret-value-access-denied-implicit.http": json11(
        "AccessDeniedException", denied("secretsmanager:GetSecretValue", "app/dev/db",
                                        implicit("secretsmanager:GetSecretValue")), key="Message"),
    "secretsmanager/get-secret-value-not-found.http": json11(
        "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", key="Message"),
}


def main() -> None:
    for name, raw in FILES.items():
        path = HERE / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(raw)


if __name__ == "__main__":
    main()
