"""S3 probes end to end against the moto server (IAM checks on, assumed-role credentials).

moto 5.2.5 honours `If-None-Match: *` (what `provision` uses) and `If-Match` (what the PutObject probe
uses) on PutObject; the probe's harmlessness in every bucket state is proven in
test_probes_s3_no_writes.py. moto does *not*
reproduce S3's ListBucket trap (it answers a missing key with 404 NoSuchKey whatever the role may
list); the real 403 shapes are covered by the recorded payloads in test_probes_recorded_errors.py.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from canary.model import Outcome
from canary.probes import ANY_TARGET, Target, build_call, probe_resources
from canary.probes.s3 import NEVER_AN_ETAG, SENTINEL_BODY, SENTINEL_NAME, WRONG_MD5
from tests.conftest import allow, deny
from tests.probes.conftest import admin, cfg, only, run_as, s3_state

SENTINEL = "uploads/" + SENTINEL_NAME


def test_moto_honours_if_none_match_on_put_object(emu, unique):
    """The emulator fact the harmlessness tests stand on: a conditional write to an existing key is refused."""
    s3 = admin(emu, "s3")
    bucket = unique("facts")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"changed", IfNoneMatch="*")
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_authorized_put_object_is_allowed_by_the_412_and_writes_nothing(emu, role, api):
    before = s3_state(emu, api.bucket)
    creds = role(allow("s3:PutObject"))
    r = only(run_as(emu, creds, cfg({"action": "s3:PutObject", "bucket": api.bucket, "prefix": "uploads/"})))
    assert r.outcome is Outcome.ALLOWED
    assert r.error_code == "PreconditionFailed"
    assert r.resource == f"arn:aws:s3:::{api.bucket}/{SENTINEL}"
    assert s3_state(emu, api.bucket) == before


def test_authorized_get_object_reads_the_sentinel_and_is_allowed(emu, role, api):
    creds = role(allow("s3:GetObject"))
    r = only(run_as(emu, creds, cfg({"action": "s3:GetObject", "bucket": api.bucket, "prefix": "uploads/"})))
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, None)


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject"])
def test_s3_probe_without_the_grant_is_denied_and_changes_nothing(emu, role, api, action):
    before = s3_state(emu, api.bucket)
    other = "s3:PutObject" if action == "s3:GetObject" else "s3:GetObject"
    creds = role(allow(other, "s3:ListBucket"))
    r = only(run_as(emu, creds, cfg({"action": action, "bucket": api.bucket, "prefix": "uploads/"})))
    assert r.outcome is Outcome.DENIED
    assert r.error_code == "AccessDenied"
    assert s3_state(emu, api.bucket) == before


def test_explicit_deny_beats_the_allow_for_s3(emu, role, api):
    creds = role(allow("s3:*"), deny("s3:PutObject"))
    report = run_as(emu, creds, cfg({"action": "s3:GetObject", "bucket": api.bucket, "prefix": "uploads/"},
                                    {"action": "s3:PutObject", "bucket": api.bucket, "prefix": "uploads/"}))
    assert [r.outcome for r in report.results] == [Outcome.ALLOWED, Outcome.DENIED]


def test_missing_sentinel_is_error_not_denied_when_the_role_can_list(emu, role, api):
    creds = role(allow("s3:GetObject", "s3:ListBucket"))
    r = only(run_as(emu, creds, cfg({"action": "s3:GetObject", "bucket": api.bucket, "key": "never-provisioned"})))
    assert r.outcome is Outcome.ERROR
    assert r.error_code == "NoSuchKey"
    assert "sentinel object is missing: run `permission-canary provision`" in r.message
    assert r.remediation is None


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject"])
def test_missing_bucket_is_error(emu, role, unique, action):
    creds = role(allow("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    r = only(run_as(emu, creds, cfg({"action": action, "bucket": unique("gone")})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "NoSuchBucket")


def test_put_object_never_recreates_a_deleted_sentinel(emu, role, api):
    """The old probe (If-None-Match: *) rewrote a missing sentinel; this one writes nothing at all."""
    s3 = admin(emu, "s3")
    s3.delete_object(Bucket=api.bucket, Key=SENTINEL)
    before = s3_state(emu, api.bucket)
    creds = role(allow("s3:PutObject"))
    r = only(run_as(emu, creds, cfg({"action": "s3:PutObject", "bucket": api.bucket, "prefix": "uploads/"})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "NoSuchKey")
    assert s3_state(emu, api.bucket) == before
    assert SENTINEL not in before


def test_s3_object_arn_has_neither_region_nor_account():
    config = cfg({"action": "s3:GetObject", "bucket": "uploads-dev", "prefix": "user-files/"},
                 {"action": "s3:PutObject", "bucket": "uploads-dev", "key": "custom/sentinel.txt"})
    get, put = config.probes
    assert probe_resources(get) == ("arn:aws:s3:::uploads-dev/user-files/__permission_canary__",)
    assert probe_resources(put, Target("cn-north-1", "111122223333", "aws-cn")) == (
        "arn:aws-cn:s3:::uploads-dev/custom/sentinel.txt",)
    assert get.probe_id == "s3-getobject-uploads-dev-user-files-permission-canary"


def test_s3_calls_are_exactly_a_one_byte_read_and_a_write_s3_refuses():
    config = cfg({"action": "s3:GetObject", "bucket": "uploads-dev"}, {"action": "s3:PutObject", "bucket": "uploads-dev"})
    get, put = (build_call(p, ANY_TARGET) for p in config.probes)
    assert (get.operation, get.params) == ("get_object", {"Bucket": "uploads-dev", "Key": SENTINEL_NAME,
                                                          "Range": "bytes=0-0"})
    assert put.operation == "put_object"
    assert put.params["IfMatch"] == NEVER_AN_ETAG and put.params["ContentMD5"] == WRONG_MD5
    assert put.params["Key"] == SENTINEL_NAME and put.params["Body"] == SENTINEL_BODY.encode()
    assert put.harmless_errors == frozenset({"BadDigest", "PreconditionFailed"}) and put.must_fail
    assert "BadDigest" in put.why_harmless and "ListBucket" in get.why_harmless
