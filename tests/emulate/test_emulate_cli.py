"""`permission-canary emulate` as a user runs it (a subprocess: its moto server must not share moto's
in-process state with the test session's server).

The contract: on the emulator, the DENIED set equals what `check-policy` says for action-level gaps
(NOT_GRANTED + EXPLICITLY_DENIED), on a sample project and on this repository's own stage config; and
with the statements check-policy prints added, every probe is ALLOWED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GAPS = ("NOT_GRANTED", "EXPLICITLY_DENIED")

PROBES = [
    {"id": "get", "action": "dynamodb:GetItem", "table": "listings-${STAGE}", "key": {"listingId": "__pc__"}},
    {"id": "get-other", "action": "dynamodb:GetItem", "table": "audit-${STAGE}", "key": {"id": 1, "at": "x"}},
    {"id": "update", "action": "dynamodb:UpdateItem", "table": "listings-${STAGE}", "key": {"listingId": "__pc__"}},
    {"id": "by-owner", "action": "dynamodb:Query", "table": "listings-${STAGE}", "index": "by-owner",
     "key": {"owner": "__pc__"}},
    {"id": "mail", "action": "ses:SendEmail", "from": "${SENDER}"},
    {"id": "s3get", "action": "s3:GetObject", "bucket": "uploads-${STAGE}", "prefix": "u/"},
    {"id": "s3put", "action": "s3:PutObject", "bucket": "uploads-${STAGE}", "prefix": "u/"},
    {"id": "param", "action": "ssm:GetParameter", "name": "/app/${STAGE}/db", "with_decryption": True},
    {"id": "secret", "action": "secretsmanager:GetSecretValue", "secret": "app/${STAGE}/db"},
    {"id": "send", "action": "sqs:SendMessage", "sentinel_queue": "orders-${STAGE}-permission-canary"},
    {"id": "qattr", "action": "sqs:GetQueueAttributes", "queue": "orders-${STAGE}"},
    {"id": "pub", "action": "sns:Publish", "sentinel_topic": "events-${STAGE}-permission-canary"},
]
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
     "Resource": "arn:aws:dynamodb:*:*:table/listings-dev"},
    {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:*:*:identity/noreply@old.example"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::uploads-dev/*"},
    {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
    {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
    {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"], "Resource": "arn:aws:sqs:*:*:orders-dev*"},
    {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:events-dev*"},
]}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], cwd=cwd, env={**env, "COLUMNS": "120"},
                          capture_output=True, text=True, timeout=300)


def denied(p: subprocess.CompletedProcess[str]) -> set[str]:
    data = json.loads(p.stdout)
    assert not [r for r in data["results"] if r["outcome"] == "ERROR"], data
    return {r["id"] for r in data["results"] if r["outcome"] == "DENIED"}


def gaps(p: subprocess.CompletedProcess[str]) -> tuple[set[str], list[dict[str, Any]]]:
    data = json.loads(p.stdout)
    return ({r["id"] for r in data["results"] if r["verdict"] in GAPS},
            [r["remediation"] for r in data["results"] if r["remediation"]])


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    (tmp_path / ".chalice").mkdir()
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "listings", "stages": {"dev": {
            "autogen_policy": False,
            "environment_variables": {"CANARY_CONFIG": "chalicelib/canary-dev.json",
                                      "SENDER": "noreply@example.com"}}}}))
    (tmp_path / ".chalice" / "policy-dev.json").write_text(json.dumps(POLICY, indent=2))
    (tmp_path / "chalicelib" / "canary-dev.json").write_text(json.dumps({"version": 1, "probes": PROBES}))
    return tmp_path


def test_sample_project_denies_exactly_what_check_policy_flags_then_the_fix_clears_it(sample: Path):
    expected, fixes = gaps(cli("check-policy", "--stage", "dev", "--format", "json", cwd=sample))
    assert expected == {"get-other", "update", "by-owner", "mail", "s3put", "secret"}  # the sample's gaps

    first = cli("emulate", "--stage", "dev", "--format", "json", cwd=sample)
    assert first.returncode == 1, first.stderr
    assert denied(first) == expected
    data = json.loads(first.stdout)
    assert data["principal"].startswith("arn:aws:sts::") and ":assumed-role/listings-dev/" in data["principal"]
    assert "Conditions" in data["emulator"]["limits"]
    assert data["emulator"]["rounds"] == 2  # GetItem granted on listings-dev, not on audit-dev

    fixed = json.loads(json.dumps(POLICY))
    fixed["Statement"] = [s for s in fixed["Statement"] if s["Effect"] == "Allow"] + fixes + [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",  # the Deny becomes an Allow
         "Resource": "arn:aws:secretsmanager:*:*:secret:app/dev/db-*"}]
    (sample / ".chalice" / "policy-dev.json").write_text(json.dumps(fixed, indent=2))
    again = cli("emulate", "--stage", "dev", "--format", "table", cwd=sample)  # as a person reads it
    assert again.returncode == 0, again.stdout + again.stderr
    out = " ".join(again.stdout.split())
    assert "12 allowed, 0 denied, 0 errors" in out and "Limits:" in out


def test_this_repositorys_own_stage(tmp_path: Path):
    # dev has "manage_iam_role": false, so chalice deploys no policy file: one clear line, exit 2.
    refused = cli("emulate", "--stage", "dev", cwd=ROOT)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and len(refused.stderr.strip().splitlines()) == 1
    assert "--policy" in refused.stderr and "Traceback" not in refused.stderr
    # The role's own policy, as a file (the story's shipped policy): emulate agrees with check-policy.
    from canary.demo import SHIPPED_POLICY

    policy = tmp_path / "role-policy.json"
    policy.write_text(json.dumps(SHIPPED_POLICY))
    expected, _ = gaps(cli("check-policy", "--stage", "dev", "--policy", str(policy), "--format", "json", cwd=ROOT))
    assert expected  # the shipped policy misses UpdateItem, DeleteItem and the sender's identity
    got = cli("emulate", "--stage", "dev", "--policy", str(policy), "--format", "json", cwd=ROOT)
    assert got.returncode == 1, got.stderr
    assert denied(got) == expected


def test_a_resource_the_emulator_refuses_is_one_line_naming_the_probe(tmp_path: Path):
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "api", "stages": {"dev": {"autogen_policy": False}}}))
    (tmp_path / ".chalice" / "policy-dev.json").write_text(json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}))
    # AWS (and moto) reserve parameter names under /aws/ for their own use.
    (tmp_path / "canary.json").write_text(json.dumps({"version": 1, "probes": [
        {"id": "reserved", "action": "ssm:GetParameter", "name": "/aws/reference/secretsmanager/db"}]}))
    p = cli("emulate", "--stage", "dev", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error: probe reserved: the emulator refused to create ssm") and "reserved" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_an_s3_denial_is_worded_as_aws_words_it_and_its_fix_names_the_folder(tmp_path: Path):
    # moto answers S3 denials with a bare "Access Denied"; S3 itself adds the context for same-account
    # callers, so the rehearsal can say "implicit" and print the statement that fixes the API's writes.
    (tmp_path / "canary.json").write_text(json.dumps({"probes": [
        {"id": "put", "action": "s3:PutObject", "bucket": "media-dev", "prefix": "uploads/"}]}))
    (tmp_path / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::media-dev/*"}]}))
    p = cli("emulate", "--stage", "dev", "--project-dir", str(ROOT), "--config", "canary.json",
            "--policy", "policy.json", "--format", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    (put,) = json.loads(p.stdout)["results"]
    assert (put["outcome"], put["deny_reason"]) == ("DENIED", "implicit")
    assert "because no identity-based policy allows the s3:PutObject action" in put["message"]
    assert put["remediation"] == {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::media-dev/uploads/*"}
