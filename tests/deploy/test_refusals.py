"""A stage that would deploy a broken canary stops `chalice package` with a message, not an artefact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from canary.deployconfig import check_stage
from canary.errors import DeployConfigError
from tests.deploy.conftest import chalice_package, copy_project, edit_config


def _no_role(cfg: dict[str, Any]) -> None:
    del cfg["stages"]["dev"]["iam_role_arn"]


def _empty_role(cfg: dict[str, Any]) -> None:
    cfg["stages"]["dev"]["iam_role_arn"] = ""


def _bad_role(cfg: dict[str, Any]) -> None:
    cfg["stages"]["dev"]["iam_role_arn"] = "<API role ARN>"


def _slack_shares_role(cfg: dict[str, Any]) -> None:
    fn = cfg["stages"]["dev"]["lambda_functions"]["permission_canary_alarm_to_slack"]
    fn["manage_iam_role"] = False
    fn["iam_role_arn"] = cfg["stages"]["dev"]["iam_role_arn"]


def _slack_without_own_settings(cfg: dict[str, Any]) -> None:
    """An embedding API with chalice's autogen role: every function would share it."""
    st = cfg["stages"]["dev"]
    st["manage_iam_role"] = True
    del st["iam_role_arn"]
    del st["lambda_functions"]["permission_canary_alarm_to_slack"]


def _slack_missing_policy_file(cfg: dict[str, Any]) -> None:
    cfg["stages"]["dev"]["lambda_functions"]["permission_canary_alarm_to_slack"]["iam_policy_file"] = "nope.json"


CONFIG_CASES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_no_role, "stage 'dev': \"manage_iam_role\": false needs \"iam_role_arn\" (the API's role ARN); it is missing "
               "or empty, and chalice would deploy the function with \"Role\": null"),
    (_empty_role, "\"manage_iam_role\": false needs \"iam_role_arn\""),
    (_bad_role, "\"iam_role_arn\" '<API role ARN>' is not an IAM role ARN"),
    (_slack_shares_role, "function 'permission_canary_alarm_to_slack': uses the API's role; give it its own"),
    (_slack_without_own_settings, "the Slack function would share the API's role or policy; give it its own"),
    (_slack_missing_policy_file, "iam_policy_file 'nope.json' not found in .chalice/"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project", share_cache=False)


@pytest.mark.parametrize("change, message", CONFIG_CASES, ids=["no-role", "empty-role", "not-an-arn", "slack-shares", "slack-no-own", "slack-no-file"])
def test_role_settings_that_would_deploy_a_broken_canary_are_refused(
        project: Path, change: Callable[[dict[str, Any]], None], message: str) -> None:
    edit_config(project, change)
    with pytest.raises(DeployConfigError) as exc:
        check_stage(project, "dev")
    assert message in str(exc.value)
    assert str(project / ".chalice" / "config.json") in str(exc.value)


def test_missing_probe_config_is_refused_naming_the_file(project: Path) -> None:
    (project / "chalicelib" / "canary-prod.json").unlink()
    with pytest.raises(DeployConfigError, match=r"canary-prod\.json: probe config for stage 'prod' not found"):
        check_stage(project, "prod")


def test_probe_config_outside_chalicelib_is_refused(project: Path) -> None:
    (project / "canary.json").write_text((project / "chalicelib" / "canary-dev.json").read_text())
    edit_config(project, lambda c: c["stages"]["dev"]["environment_variables"].update({"CANARY_CONFIG": "canary.json"}))
    with pytest.raises(DeployConfigError, match="is outside chalicelib/, so chalice would not ship it"):
        check_stage(project, "dev")


def test_probe_config_that_does_not_validate_is_refused_with_the_probe_and_field(project: Path) -> None:
    path = project / "chalicelib" / "canary-dev.json"
    data = json.loads(path.read_text())
    data["probes"][1]["action"] = "dynamodb:updateitem"
    path.write_text(json.dumps(data))
    with pytest.raises(DeployConfigError) as exc:
        check_stage(project, "dev")
    assert "probe config for stage 'dev' does not validate" in str(exc.value)
    assert "probe 1 (listings-delete): field 'action'" in str(exc.value)


def test_the_shipped_stages_pass_every_check() -> None:
    from tests.deploy.conftest import ROOT

    for stage in ("dev", "prod"):
        checked = check_stage(ROOT, stage)
        assert checked.role_arn and checked.role_arn.endswith(f"listings-api-{stage}")
        assert checked.config_path.name == f"canary-{stage}.json"


@pytest.mark.parametrize("breakage, message", [
    ("role", "permission-canary: refusing to package stage 'dev':"),
    ("config", "probe config for stage 'dev' not found"),
    ("invalid", "does not validate"),
])
def test_plain_chalice_package_refuses_and_writes_nothing(project: Path, tmp_path: Path, breakage: str,
                                                          message: str) -> None:
    if breakage == "role":
        edit_config(project, _empty_role)
    elif breakage == "config":
        (project / "chalicelib" / "canary-dev.json").unlink()
    else:
        (project / "chalicelib" / "canary-dev.json").write_text('{"probes": []}')
    out = tmp_path / "out"
    result = chalice_package(project, "dev", out)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "sam.json").exists()


def _suggested(message: str, **fill: str) -> list[str]:
    """The command a refusal suggests (between backticks), its placeholders filled as a user would."""
    command = message.split("`")[1]
    for placeholder, value in fill.items():
        command = command.replace(f"<{placeholder}>", value)
    assert "<" not in command, command
    return command.split()


def _run(argv: list[str], cwd: Path) -> Any:
    import subprocess

    from tests.deploy.conftest import BIN, subprocess_env

    assert argv[0] == "permission-canary"
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          env=subprocess_env())


@pytest.mark.parametrize("role", ["autogen", "per-function", "api-role"])
def test_the_command_a_slack_refusal_suggests_works(project: Path, role: str) -> None:
    def change(cfg: dict[str, Any]) -> None:
        st = cfg["stages"]["dev"]
        del st["lambda_functions"]["permission_canary_alarm_to_slack"]
        if role != "api-role":
            st["manage_iam_role"] = True
            del st["iam_role_arn"]
        if role == "per-function":
            st["autogen_policy"] = False
            st["iam_policy_file"] = "policy-dev.json"
            (project / ".chalice" / "policy-dev.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}))

    edit_config(project, change)
    with pytest.raises(DeployConfigError) as exc:
        check_stage(project, "dev")
    argv = _suggested(str(exc.value), REGION="us-east-1", ACCOUNT="123456789012")
    assert ("--account" in argv) == (role != "api-role")  # only asked for where the stage cannot tell it
    result = _run(argv, project)
    assert result.returncode == 0, result.stderr
    check_stage(project, "dev")
    policy = json.loads((project / ".chalice" / "policy-slack-dev.json").read_text())
    assert "arn:aws:ssm:us-east-1:123456789012:parameter/permission-canary/dev/slack-webhook" in json.dumps(policy)


def test_the_command_a_missing_slack_policy_file_suggests_works(project: Path) -> None:
    def autogen(cfg: dict[str, Any]) -> None:
        cfg["stages"]["dev"]["manage_iam_role"] = True
        del cfg["stages"]["dev"]["iam_role_arn"]

    edit_config(project, autogen)
    (project / ".chalice" / "policy-slack-dev.json").unlink()
    with pytest.raises(DeployConfigError, match="not found in .chalice/") as exc:
        check_stage(project, "dev")
    result = _run(_suggested(str(exc.value), REGION="eu-west-1", ACCOUNT="210987654321"), project)
    assert result.returncode == 0, result.stderr
    check_stage(project, "dev")
    assert "arn:aws:logs:eu-west-1:210987654321:" in (project / ".chalice" / "policy-slack-dev.json").read_text()


def test_write_slack_policy_without_a_role_arn_asks_for_the_account_and_that_command_works(project: Path) -> None:
    def autogen(cfg: dict[str, Any]) -> None:
        cfg["stages"]["dev"]["manage_iam_role"] = True
        del cfg["stages"]["dev"]["iam_role_arn"]

    edit_config(project, autogen)
    refused = _run(["permission-canary", "template", "--stage", "dev", "--write-slack-policy", "us-east-1",
                    "--output", "/dev/null"], project)
    assert refused.returncode == 2
    assert "cannot tell the AWS account: it has no iam_role_arn" in refused.stderr
    assert "Traceback" not in refused.stderr
    result = _run(_suggested(refused.stderr, **{"12-digit account id": "123456789012"}), project)
    assert result.returncode == 0, result.stderr
    assert "arn:aws:logs:us-east-1:123456789012:" in (project / ".chalice" / "policy-slack-dev.json").read_text()


def test_a_bad_account_is_one_line(project: Path) -> None:
    result = _run(["permission-canary", "template", "--stage", "dev", "--write-slack-policy", "us-east-1",
                   "--account", "12345", "--output", "/dev/null"], project)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --account '12345': not a 12-digit AWS account id"
