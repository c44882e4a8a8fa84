"""S3 probes: read one byte of a sentinel object, and a write that S3 authorizes but can never accept.

Both probes target one sentinel object that `provision` creates inside the API's bucket (and prefix,
so that the same policy statement covers it). `s3:GetObject` asks for `Range: bytes=0-0`, so at most
one byte of the sentinel comes back (and is discarded).

`s3:PutObject` must prove authorization without writing, whatever the bucket holds (the sentinel
present or absent, versioning on or off). Its request carries two refusals, each enough alone:
- `Content-MD5` of the empty string over a non-empty body. S3 authorizes a request from its headers
  (with `Expect: 100-continue` a denial comes back before the body is sent) and can only compare the
  digest once the whole body has arrived, so an authorized role gets 400 `BadDigest` and S3 stores
  nothing: a mismatched digest is never written.
- `If-Match` with an ETag no object can have (32 zeros: an MD5 with no known preimage). S3 writes only
  if the current object's ETag matches: an existing object answers 412 `PreconditionFailed`, a missing
  one 404 `NoSuchKey`, and neither writes.
`BadDigest` and `PreconditionFailed` prove authorization (ALLOWED). `NoSuchKey` means the sentinel is
missing: nothing was written, but nothing was proven either (ERROR, with a hint to run `provision`).
A 2xx is impossible by construction and is reported as an ERROR that says S3 may have written.

S3's trap: when the role lacks `s3:ListBucket`, a *missing* key answers GetObject with 403
`AccessDenied`, exactly like a real denial. The GetObject probe therefore relies on the sentinel
existing; a role that has `s3:ListBucket` gets 404 `NoSuchKey`, which is ERROR with a hint.
"""

from __future__ import annotations

import re

import base64
import hashlib

from pydantic import Field, field_validator, model_validator

from canary.probes import Call, ProbeParams, Target, need, register

__all__ = ["S3ObjectProbe", "SENTINEL_NAME", "SENTINEL_BODY", "SENTINEL_CONTENT_TYPE", "NEVER_AN_ETAG",
           "WRONG_MD5"]

SENTINEL_NAME = "__permission_canary__"
SENTINEL_BODY = ("chalice-permission-canary sentinel object. Its probes read one byte of it and send a write "
                 "that S3 always refuses. Keep it; deleting it makes them unreliable.\n")
SENTINEL_CONTENT_TYPE = "text/plain; charset=utf-8"
# The two refusals that prove s3:PutObject was authorized (see the module docstring).
PUT_REFUSED = frozenset({"BadDigest", "PreconditionFailed"})
NEVER_AN_ETAG = '"00000000000000000000000000000000"'
# The MD5 of b"" (base64), sent over the sentinel's non-empty bytes: it can never match.
WRONG_MD5 = base64.b64encode(hashlib.md5(b"").digest()).decode("ascii")
PROBE_BODY = SENTINEL_BODY.encode()
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

    def scope_arn(self, t: Target) -> str:
        """The objects the sentinel stands for: its prefix, the folder of its key, or the whole bucket."""
        folder = self.prefix if self.key is None else self.key.rpartition("/")[0] + ("/" if "/" in self.key else "")
        return f"arn:{t.partition}:s3:::{self.bucket}/{folder}*"


@register("s3:GetObject", S3ObjectProbe, services=("s3",))
def get_object(p: S3ObjectProbe, t: Target) -> Call:
    return Call(action=p.action, service="s3", operation="get_object",
                params={"Bucket": p.bucket, "Key": p.object_key, "Range": "bytes=0-0"},
                resource=p.arn(t), grant=(p.scope_arn(t),), harmless_errors=RANGE_REFUSED, expect=(need("ETag"),), secret_response=True,
                why_harmless="reads at most one byte of the canary's own sentinel object and discards it; "
                             "the sentinel must exist (provision creates it), because without "
                             "s3:ListBucket S3 answers a missing key with 403 AccessDenied")


@register("s3:PutObject", S3ObjectProbe, services=("s3",))
def put_object(p: S3ObjectProbe, t: Target) -> Call:
    return Call(action=p.action, service="s3", operation="put_object",
                params={"Bucket": p.bucket, "Key": p.object_key, "Body": PROBE_BODY,
                        "ContentType": SENTINEL_CONTENT_TYPE, "ContentMD5": WRONG_MD5, "IfMatch": NEVER_AN_ETAG},
                resource=p.arn(t), grant=(p.scope_arn(t),), harmless_errors=PUT_REFUSED, must_fail=True,
                why_harmless="a write S3 can never accept: its Content-MD5 cannot match the body (400 BadDigest, "
                             "checked after authorization) and If-Match names an ETag no object has (412 "
                             "PreconditionFailed, or 404 NoSuchKey if the sentinel is missing); nothing is "
                             "written whatever the bucket holds")
