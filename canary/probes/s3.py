"""S3 probes: read one byte of a sentinel object, and a conditional write that can never succeed on it.

Both probes target one sentinel object that `provision` creates inside the API's bucket (and prefix,
so that the same policy statement covers it). `s3:PutObject` sends `If-None-Match: *`: S3 authorizes
the request first, then refuses it with 412 `PreconditionFailed` because the object exists, so an
authorized role is ALLOWED and nothing is written. `s3:GetObject` asks for `Range: bytes=0-0`, so at
most one byte of the sentinel comes back (and is discarded).

S3's trap: when the role lacks `s3:ListBucket`, a *missing* key answers 403 `AccessDenied`, exactly
like a real denial. The probes therefore rely on the sentinel existing (provision creates it; the
PutObject probe's body is the sentinel's own bytes, so if the sentinel was deleted an authorized
PutObject recreates it identically, the only write it can ever make). A role that has `s3:ListBucket`
gets 404 `NoSuchKey` for a missing sentinel, which is ERROR with a hint to run `provision`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from canary.probes import Call, ProbeParams, Target, register

__all__ = ["S3ObjectProbe", "SENTINEL_NAME", "SENTINEL_BODY", "SENTINEL_CONTENT_TYPE"]

SENTINEL_NAME = "__permission_canary__"
SENTINEL_BODY = ("chalice-permission-canary sentinel object. Its probes read one byte of it and try a "
                 "conditional write that fails while it exists. Keep it; deleting it makes them unreliable.\n")
SENTINEL_CONTENT_TYPE = "text/plain; charset=utf-8"
PRECONDITION_FAILED = frozenset({"PreconditionFailed"})
# A one-byte range on an empty object answers 416 InvalidRange, after authorization and lookup.
RANGE_REFUSED = frozenset({"InvalidRange"})
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class S3ObjectProbe(ProbeParams):
    """The sentinel object: `bucket` plus either `prefix` (key = prefix + SENTINEL_NAME) or a full `key`."""

    bucket: str
    prefix: str = Field("", max_length=900)
    key: str | None = Field(None, min_length=1, max_length=1024)

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, v: str) -> str:
        if not _BUCKET.match(v):
            raise ValueError(f"{v!r} is not an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-' "
                             "(give the name, not an ARN or s3:// URL)")
        return v

    @model_validator(mode="after")
    def _one_way_to_name_the_key(self) -> "S3ObjectProbe":
        if self.key is not None and self.prefix:
            raise ValueError("give either 'prefix' (the sentinel is <prefix>" + SENTINEL_NAME +
                             ") or 'key', not both")
        return self

    @property
    def object_key(self) -> str:
        return self.key if self.key is not None else self.prefix + SENTINEL_NAME

    def resource_name(self) -> str:
        return f"{self.bucket}/{self.object_key}"

    def arn(self, t: Target) -> str:
        # S3 object ARNs carry neither region nor account.
        return f"arn:{t.partition}:s3:::{self.bucket}/{self.object_key}"


@register("s3:GetObject", S3ObjectProbe, services=("s3",))
def get_object(p: S3ObjectProbe, t: Target) -> Call:
    return Call(action=p.action, service="s3", operation="get_object",
                params={"Bucket": p.bucket, "Key": p.object_key, "Range": "bytes=0-0"},
                resource=p.arn(t), harmless_errors=RANGE_REFUSED,
                why_harmless="reads at most one byte of the canary's own sentinel object and discards it; "
                             "the sentinel must exist (provision creates it), because without "
                             "s3:ListBucket S3 answers a missing key with 403 AccessDenied")


@register("s3:PutObject", S3ObjectProbe, services=("s3",))
def put_object(p: S3ObjectProbe, t: Target) -> Call:
    return Call(action=p.action, service="s3", operation="put_object",
                params={"Bucket": p.bucket, "Key": p.object_key, "IfNoneMatch": "*",
                        "Body": SENTINEL_BODY, "ContentType": SENTINEL_CONTENT_TYPE},
                resource=p.arn(t), harmless_errors=PRECONDITION_FAILED,
                why_harmless="a conditional write (If-None-Match: *) on the sentinel object, which exists: S3 "
                             "authorizes it, then refuses it with 412 PreconditionFailed and writes nothing "
                             "(if the sentinel was deleted, it recreates it with the same bytes)")
