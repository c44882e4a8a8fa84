"""`permission-canary run` as a user runs it: a real subprocess, ambient credentials, a moto endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import allow

KEY = {"pk": "__permission_canary__"}


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path, emu, unique):
    table = unique("listings")
    emu.create_table(table, "pk")
    (tmp_path / "canary.json").write_text(json.dumps({"probes": [
        {"id": "get", "action": "dynamodb:GetItem", "table": "${TABLE}", "key": KEY},
        {"id": "update", "action": "dynamodb:UpdateItem", "table": "${TABLE}", "key": KEY}]}))
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "api", "stages": {"dev": {"environment_variables": {"TABLE": table}}}}))
    return tmp_path


@pytest.mark.parametrize(("grants", "code", "outcomes"), [
    (("dynamodb:GetItem", "dynamodb:UpdateItem"), 0, ["ALLOWED", "ALLOWED"]),
    (("dynamodb:GetItem",), 1, ["ALLOWED", "DENIED"]),
], ids=["all-allowed", "one-denied"])
def test_run_exit_code_follows_the_outcomes(emu, assume_role, project, grants, code, outcomes):
    creds = assume_role(allow(*grants))
    p = cli(["run", "--stage", "dev", "--format", "json", "--no-publish"], emu.env(creds), project)
    assert p.returncode == code, p.stderr
    report = json.loads(p.stdout)
    assert [r["outcome"] for r in report["results"]] == outcomes
    assert report["stage"] == "dev" and "Traceback" not in p.stderr


def test_run_with_only_errors_exits_three(emu, assume_role, project, unique):
    creds = assume_role(allow("dynamodb:GetItem"))
    (project / "gone.json").write_text(json.dumps({"probes": [
        {"action": "dynamodb:GetItem", "table": unique("gone"), "key": KEY}]}))
    p = cli(["run", "--config", "gone.json", "--format", "json", "--no-publish"], emu.env(creds), project)
    assert p.returncode == 3, p.stderr
    assert json.loads(p.stdout)["results"][0]["error_code"] == "ResourceNotFoundException"


def test_run_publishes_emf_to_stderr_so_stdout_stays_json(emu, assume_role, project):
    creds = assume_role(allow("dynamodb:GetItem", "dynamodb:UpdateItem"))
    p = cli(["run", "--stage", "dev", "--format", "json"], emu.env(creds), project)
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)  # nothing but the report on stdout
    emf = [json.loads(line) for line in p.stderr.splitlines() if line.startswith('{"_aws"')]
    assert emf and emf[0]["ProbesRun"] == 2 and emf[0]["Stage"] == "dev"


def test_table_format_names_the_fix(emu, assume_role, project):
    creds = assume_role(allow("dynamodb:GetItem"))
    p = cli(["run", "--stage", "dev", "--format", "table", "--no-publish"], emu.env(creds), project)
    assert p.returncode == 1
    assert "DENIED" in p.stdout and '"Action": "dynamodb:UpdateItem"' in p.stdout


def test_explain_prints_the_exact_requests_and_sends_nothing(project):
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AWS_DEFAULT_REGION": "eu-west-1"}
    p = cli(["run", "--stage", "dev", "--explain", "--format", "json"], env, project)
    assert p.returncode == 0, p.stderr
    calls = json.loads(p.stdout)
    update = next(c for c in calls if c["id"] == "update")
    assert update["operation"] == "update_item"
    assert update["params"]["ConditionExpression"] == "attribute_exists(#k) AND attribute_not_exists(#k)"
    assert update["resource"].startswith("arn:aws:dynamodb:eu-west-1:<account>:table/listings-")
    # what counts as proof is shown too: a write built to be refused is never ALLOWED on a 2xx
    assert update["proof"].startswith("ALLOWED only on ConditionalCheckFailedException; a 2xx is an ERROR")


def test_a_bad_config_exits_two_with_one_line_and_no_traceback(project):
    (project / "bad.json").write_text('{"probes": [{"action": "dynamodb:UpdateItems", "table": "t"}]}')
    p = cli(["run", "--config", "bad.json"], {}, project)
    assert p.returncode == 2
    assert p.stderr.startswith("error: bad.json: probe 0: field 'action'") and "Traceback" not in p.stderr


def test_unknown_stage_exits_two(project):
    p = cli(["run", "--stage", "nope"], {}, project)
    assert p.returncode == 2 and "no stage 'nope'" in p.stderr


def test_stage_names_its_own_config_file_as_the_lambda_sees_it(tmp_path):
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "canary-dev.json").write_text(json.dumps({"probes": [
        {"action": "dynamodb:DescribeTable", "table": "t-${STAGE}"}]}))
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "c", "stages": {
        "dev": {"environment_variables": {"CANARY_CONFIG": "chalicelib/canary-dev.json"}}}}))
    p = cli(["validate", "--stage", "dev"], {}, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "canary-dev.json: valid, 1 probe(s)" in p.stdout and "table/t-dev" in p.stdout
