"""Regenerate the recorded AWS answers in this folder (run: python tests/probes/aws_errors/_generate.py).

Each `.http` file is one raw HTTP response (status line, headers, blank line, body bytes) in the
wire shape the service uses: S3 REST-XML (`<Error>` with `Code`, `Message`, `RequestId`, `HostId`),
SSM and Secrets Manager JSON 1.1 (`__type` plus `message`/`Message`), STS query XML. The wording is
AWS's documented AccessDenied form ("User: <arn> is not authorized to perform: <action> on
resource: <arn> because no identity-based policy allows the <action> action"; S3 quotes the ARN).
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
        Condition="If-None-Match"),
    "s3/get-object-no-such-key.http": s3(
        "404 Not Found", "NoSuchKey", "The specified key does not exist.", Key="user-files/__permission_canary__"),
    "ssm/get-parameter-access-denied-implicit.http": json11(
        "AccessDeniedException", denied("ssm:GetParameter", PARAMETER, implicit("ssm:GetParameter"))),
    "ssm/get-parameter-not-found.http": json11("ParameterNotFound", None),
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
