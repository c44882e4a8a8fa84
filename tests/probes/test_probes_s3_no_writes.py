"""s3:PutObject proves authorization without writing, in every state of the bucket (moto, IAM checks on).

States: sentinel present or absent (never written, or deleted: a delete marker on top in a versioned
bucket) × versioning on or off × the probe naming a `key` or a `prefix`. In each, an authorized role
runs the probe several times and the bucket's every version (key, version id, ETag, size, bytes,
LastModified) and delete marker are compared before and after.

What moto proves and what it cannot: moto 5.2.5 honours `If-Match` on PutObject (404 NoSuchKey when
the key is missing, 412 when the ETag differs; pinned below), so the "nothing written" half holds
here for real. moto does not check `Content-MD5` at all (pinned below too: a mismatched digest is
stored), so the BadDigest half, the one real S3 answers first or alone, rests on S3's documented
integrity check, and its verdict on the recorded 400 BadDigest (test_probes_recorded_errors.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from canary.model import Outcome
from canary.probes import ANY_TARGET, build_call
from canary.probes.s3 import NEVER_AN_ETAG, SENTINEL_NAME, WRONG_MD5
from tests.conftest import allow
from tests.probes.conftest import admin, cfg, only, run_as

RUNS = 3


def bucket_state(emu, bucket: str) -> list[tuple[Any, ...]]:
    """Every version and delete marker, with its bytes: equal lists mean an unchanged bucket."""
    s3 = admin(emu, "s3")
    page = s3.list_object_versions(Bucket=bucket)
    out: list[tuple[Any, ...]] = []
    for v in page.get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        out.append(("version", v["Key"], v["VersionId"], v["ETag"], v["Size"], v["LastModified"], v["IsLatest"], body))
    for m in page.get("DeleteMarkers", []):
        out.append(("marker", m["Key"], m["VersionId"], m["LastModified"], m["IsLatest"]))
    assert not page.get("IsTruncated")
    return sorted(out, key=repr)


def make_bucket(emu, unique, versioned: bool, sentinel: str, state: str) -> str:
    s3 = admin(emu, "s3")
    bucket = unique("nowrite").lower()
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="uploads/user-1/avatar.png", Body=b"\x89PNG user data")
    if state in ("present", "deleted"):
        s3.put_object(Bucket=bucket, Key=sentinel, Body=b"the sentinel as provision wrote it")
        s3.put_object(Bucket=bucket, Key=sentinel, Body=b"a second version of it")
    if state == "deleted":
        s3.delete_object(Bucket=bucket, Key=sentinel)  # versioned: a delete marker on top
    return bucket


NAMING = {"key": {"key": "custom/sentinel.txt"}, "prefix": {"prefix": "uploads/"}}
SENTINEL = {"key": "custom/sentinel.txt", "prefix": "uploads/" + SENTINEL_NAME}


@pytest.mark.parametrize("naming", ["key", "prefix"])
@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("state", ["present", "absent", "deleted"])
def test_put_object_probe_never_writes_whatever_the_bucket_holds(emu, role, unique, naming, versioned, state):
    bucket = make_bucket(emu, unique, versioned, SENTINEL[naming], state)
    before = bucket_state(emu, bucket)
    creds = role(allow("s3:PutObject"))
    probe = {"action": "s3:PutObject", "bucket": bucket, **NAMING[naming]}
    results = [only(run_as(emu, creds, cfg(probe, retries=0))) for _ in range(RUNS)]
    assert bucket_state(emu, bucket) == before
    for r in results:
        if state == "present":
            assert (r.outcome, r.error_code) == (Outcome.ALLOWED, "PreconditionFailed")
        else:  # no sentinel: nothing written, but nothing proven either (and never DENIED)
            assert (r.outcome, r.error_code) == (Outcome.ERROR, "NoSuchKey")
            assert "sentinel object is missing" in r.message


@pytest.mark.parametrize("state", ["present", "absent"])
def test_put_object_probe_without_the_grant_is_denied_and_writes_nothing(emu, role, unique, state):
    bucket = make_bucket(emu, unique, True, SENTINEL["prefix"], state)
    before = bucket_state(emu, bucket)
    creds = role(allow("s3:GetObject", "s3:ListBucket"))
    r = only(run_as(emu, creds, cfg({"action": "s3:PutObject", "bucket": bucket, "prefix": "uploads/"})))
    assert (r.outcome, r.error_code) == (Outcome.DENIED, "AccessDenied")
    assert bucket_state(emu, bucket) == before


def test_moto_refuses_if_match_on_a_missing_key_and_on_another_etag(emu, unique):
    """The emulator facts the matrix above stands on."""
    s3 = admin(emu, "s3")
    bucket = unique("facts").lower()
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as missing:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfMatch=NEVER_AN_ETAG)
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    with pytest.raises(ClientError) as other:
        s3.put_object(Bucket=bucket, Key="k", Body=b"changed", IfMatch=NEVER_AN_ETAG)
    assert other.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_moto_does_not_check_content_md5_so_it_cannot_prove_the_bad_digest_half(emu, unique):
    """A limit, pinned: if moto starts checking the digest, this fails and the docs should say so."""
    s3 = admin(emu, "s3")
    bucket = unique("facts").lower()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"stored anyway", ContentMD5=WRONG_MD5)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"stored anyway"


def test_the_put_request_carries_both_refusals_and_no_unconditional_write():
    (p,) = cfg({"action": "s3:PutObject", "bucket": "uploads-dev", "prefix": "user-files/"}).probes
    call = build_call(p, ANY_TARGET)
    assert call.params["ContentMD5"] == "1B2M2Y8AsgTpgAmY7PhCfg=="  # MD5 of b"" over a non-empty body
    assert call.params["Body"] and call.params["IfMatch"] == '"' + "0" * 32 + '"'
    assert "IfNoneMatch" not in call.params
    assert call.must_fail and call.harmless_errors == frozenset({"BadDigest", "PreconditionFailed"})
