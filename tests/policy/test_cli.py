"""`permission-canary check-policy` through click's CliRunner: exit codes, formats, --stage rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from canary.cli import cli

STORY = Path(__file__).parent / "story"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check-policy", *args], catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "canary.json"
    path.write_text(json.dumps({"version": 1, "probes": [
        {"id": "orders-update", "action": "dynamodb:UpdateItem", "table": "orders", "key": {"id": "x"}},
        {"id": "orders-get", "action": "dynamodb:GetItem", "table": "orders", "key": {"id": "x"}},
    ]}))
    return path


def write_policy(tmp_path: Path, *statements: dict[str, Any]) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    return path


def test_all_granted_exits_0(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
                                  "Resource": TABLE})
    result = invoke("--config", str(config), "--policy", str(pol))
    assert result.exit_code == 0, result.output
    assert "OK: 2 granted" in result.output
    assert "region any" in result.output and "account any" in result.output


def test_not_granted_exits_1_and_prints_the_statement_to_add(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE})
    result = invoke("--config", str(config), "--policy", str(pol), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    update = report["results"][0]
    assert update["verdict"] == "NOT_GRANTED"
    assert update["remediation"] == {"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                                     "Resource": "arn:aws:dynamodb:*:*:table/orders"}
    assert report["results"][1]["remediation"] is None
    assert report["summary"] == {"granted": 1, "not_granted": 1, "explicitly_denied": 0, "conditional": 0}


def test_remediation_is_the_runtime_canarys(tmp_path: Path, config: Path) -> None:
    from canary.classify import remediation

    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE})
    result = invoke("--config", str(config), "--policy", str(pol), "--format", "json",
                    "--region", "us-east-1", "--account", "123456789012")
    row = json.loads(result.output)["results"][0]
    assert row["remediation"] == remediation("dynamodb:UpdateItem", (TABLE,))


def test_explicit_deny_exits_1(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                       {"Sid": "NoWrites", "Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": "*"})
    result = invoke("--config", str(config), "--policy", str(pol))
    assert result.exit_code == 1
    assert "EXPLICITLY_DENIED" in result.output and "NoWrites" in result.output
    assert "adding an Allow will not help" in result.output


def test_conditional_exits_0_with_a_warning_line(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE,
                                  "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    result = invoke("--config", str(config), "--policy", str(pol))
    assert result.exit_code == 0, result.output
    assert "warning: CONDITIONAL orders-update" in result.output
    assert "aws:SecureTransport" in result.output


def test_lint_warnings_exit_0_unless_strict(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": ["dynamodb:*Item"], "Resource": TABLE},
                       {"Effect": "Allow", "Action": "dynamodb:UpdateItems", "Resource": TABLE})
    relaxed = invoke("--config", str(config), "--policy", str(pol))
    assert relaxed.exit_code == 0, relaxed.output
    assert "lint[unknown-action]" in relaxed.output and "dynamodb:UpdateItem" in relaxed.output
    strict = invoke("--config", str(config), "--policy", str(pol), "--strict")
    assert strict.exit_code == 1


@pytest.mark.parametrize(("statement", "lint_code", "fix"), [
    ({"Effect": "Allow", "Action": "dynamodb:UpdateItem"}, "action-without-resource", 'add "Resource"'),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "dynamodb:UpdateItem", "Resource": TABLE},
     "principal-in-identity-policy", 'remove "Principal"'),
    ({"Effect": "allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE}, "malformed-statement", "Allow"),
])
def test_a_document_iam_would_reject_grants_nothing_and_exits_2_in_one_line(
        tmp_path: Path, config: Path, statement: dict, lint_code: str, fix: str) -> None:
    """IAM refuses to attach such a document (PutRolePolicy: MalformedPolicyDocument), so nothing is granted."""
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, statement)
    result = invoke("--config", str(config), "--policy", str(pol))
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "IAM would reject" in lines[0] and "grants nothing" in lines[0]
    assert f"lint {lint_code}" in lines[0] and fix in lines[0]


def test_strict_with_a_clean_policy_exits_0(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
                                  "Resource": TABLE})
    assert invoke("--config", str(config), "--policy", str(pol), "--strict").exit_code == 0


def test_explicit_account_and_region_shape_the_arns(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
                                  "Resource": TABLE})
    other = invoke("--config", str(config), "--policy", str(pol), "--account", "999999999999", "--format", "json")
    assert other.exit_code == 1
    report = json.loads(other.output)
    assert report["results"][0]["resources"] == ["arn:aws:dynamodb:*:999999999999:table/orders"]
    assert report["assumptions"] == ["region: any (no --region); a policy's region is assumed to be the probe's"]


@pytest.mark.parametrize("args,needle", [
    ((), "give --policy FILE, or --stage S"),
    (("--policy", "missing.json"), "missing.json: policy file not found"),
    (("--policy", "POLICY", "--account", "12345"), "not a 12-digit AWS account ID"),
    (("--policy", "POLICY", "--region", "Mars"), "not an AWS region"),
    (("--policy", "POLICY", "--format", "yaml"), "'yaml' is not one of"),
])
def test_usage_errors_exit_2(tmp_path: Path, config: Path, args: tuple[str, ...], needle: str) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": "*", "Resource": "*"})
    argv = [str(pol) if a == "POLICY" else str(tmp_path / a) if a == "missing.json" else a for a in args]
    result = invoke("--config", str(config), *argv)
    assert result.exit_code == 2
    assert needle in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_invalid_json_policy_exits_2_naming_line(tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text('{"Version": "2012-10-17",\n "Statement": [}')
    result = invoke("--config", str(config), "--policy", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: invalid JSON at line 2" in result.stderr


def test_probe_config_given_as_policy_is_refused(config: Path) -> None:
    result = invoke("--config", str(config), "--policy", str(config))
    assert result.exit_code == 2
    assert "not a policy document" in result.stderr and "looks like a probe config" in result.stderr


# --- --stage: the file chalice deploys ------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "app"
    shutil.copytree(STORY, dest)
    return dest


def test_stage_reads_default_policy_file_and_stage_variables(project: Path) -> None:
    result = invoke("--stage", "dev", "--project-dir", str(project), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["policy"] == str(project / ".chalice" / "policy-dev.json")
    # ${TABLE_NAME} came from the stage's environment_variables
    assert report["results"][0]["resources"] == ["arn:aws:dynamodb:*:*:table/listings-dev"]


def test_stage_uses_its_iam_policy_file(project: Path) -> None:
    result = invoke("--stage", "prod", "--project-dir", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["policy"].endswith("policy-prod-fixed.json")


def test_stage_with_autogen_policy_and_no_app_exits_2(project: Path) -> None:
    result = invoke("--stage", "auto", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "app.py: not found" in result.stderr and "autogen_policy" in result.stderr


def test_stage_with_autogen_policy_checks_the_policy_chalice_would_generate(project: Path) -> None:
    """Chalice's analyzer sees only boto3.client calls in app.py; the probes it misses are NOT_GRANTED."""
    (project / "app.py").write_text("import boto3\nfrom chalice import Chalice\napp = Chalice(app_name='x')\n"
                                    "ddb = boto3.client('dynamodb')\n\n@app.route('/')\ndef index():\n"
                                    "    return ddb.get_item(TableName='t', Key={})\n")
    result = invoke("--stage", "auto", "--project-dir", str(project), "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert "generates" in report["policy"]
    verdicts = {r["action"]: r["verdict"] for r in report["results"]}
    assert "NOT_GRANTED" in verdicts.values()


def test_stage_with_precreated_role_exits_2(project: Path) -> None:
    result = invoke("--stage", "byorole", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "manage_iam_role" in result.stderr and "--policy FILE" in result.stderr


def test_unknown_stage_exits_2_listing_stages(project: Path) -> None:
    result = invoke("--stage", "qa", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "no stage 'qa'" in result.stderr and "dev" in result.stderr


def test_missing_stage_policy_file_exits_2(project: Path) -> None:
    (project / ".chalice" / "policy-dev.json").unlink()
    result = invoke("--stage", "dev", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "policy-dev.json: policy file not found" in result.stderr


def test_policy_flag_wins_over_stage_file_but_stage_still_fills_variables(project: Path, tmp_path: Path) -> None:
    pol = write_policy(tmp_path, {"Effect": "Allow", "Action": ["dynamodb:*", "ses:SendEmail"],
                                  "Resource": "*"})
    result = invoke("--stage", "auto", "--project-dir", str(project), "--policy", str(pol), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["policy"] == str(pol)
    assert report["results"][0]["resources"] == ["arn:aws:dynamodb:*:*:table/listings-auto"]


def test_statement_names_are_printed_verbatim_not_as_markup(tmp_path: Path, config: Path) -> None:
    pol = write_policy(tmp_path, {"Sid": "[bold]Rw", "Effect": "Allow",
                                  "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"], "Resource": TABLE})
    result = invoke("--config", str(config), "--policy", str(pol))
    assert result.exit_code == 0
    assert "[bold]Rw" in result.output
