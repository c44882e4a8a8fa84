"""The statement that fixes an S3 probe names the objects the sentinel stands for, not the sentinel alone.

Granting only `bucket/__permission_canary__` would turn the canary (and check-policy) green while the
API's own writes to that bucket stay denied, and `discover --check` would still flag them: the three
checks would disagree on the same gap.
"""

from __future__ import annotations

import pytest

from canary.cli.policy import build_report
from canary.config import parse_config
from canary.probes import ANY_TARGET, grant_resources, probe_resources


def _probe(**fields: str):
    return parse_config({"probes": [{"action": "s3:PutObject", "bucket": "media-dev", **fields}]}).probes[0]


@pytest.mark.parametrize("fields, probed, granted", [
    ({}, "arn:aws:s3:::media-dev/__permission_canary__", "arn:aws:s3:::media-dev/*"),
    ({"prefix": "uploads/"}, "arn:aws:s3:::media-dev/uploads/__permission_canary__", "arn:aws:s3:::media-dev/uploads/*"),
    ({"key": "avatars/probe.png"}, "arn:aws:s3:::media-dev/avatars/probe.png", "arn:aws:s3:::media-dev/avatars/*"),
])
def test_the_remediation_grants_the_folder_the_sentinel_stands_for(fields, probed, granted) -> None:
    p = _probe(**fields)
    assert probe_resources(p, ANY_TARGET) == (probed,)
    assert grant_resources(p, ANY_TARGET) == (granted,)


def test_check_policy_prints_the_folder_and_pasting_it_grants_the_probe() -> None:
    config = parse_config({"probes": [{"action": "s3:PutObject", "bucket": "media-dev", "prefix": "uploads/"}]})
    bucket_only = {"Version": "2012-10-17", "Statement": [  # the real-app mistake: the bucket ARN, not its objects
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::media-dev"}]}
    report = build_report(config, bucket_only, "policy.json")
    (row,) = report["results"]
    assert row["verdict"] == "NOT_GRANTED"
    assert row["remediation"]["Resource"] == "arn:aws:s3:::media-dev/uploads/*"
    fixed = {"Version": "2012-10-17", "Statement": bucket_only["Statement"] + [row["remediation"]]}
    assert build_report(config, fixed, "policy.json")["results"][0]["verdict"] == "GRANTED"
