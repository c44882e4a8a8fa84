"""`discover --check`: what the code calls versus what the stage deploys, from files alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from canary.cli import cli
from canary.discover import discover
from canary.discover._check import check, stage_policy_document

APPS = Path(__file__).parent / "apps"


def story_copy(tmp_path: Path, policy: dict | None = None, config: dict | None = None) -> Path:
    app = tmp_path / "story"
    shutil.copytree(APPS / "story", app)
    if policy is not None:
        (app / ".chalice" / "policy-dev.json").write_text(json.dumps(policy), encoding="utf-8")
    if config is not None:
        (app / ".chalice" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["discover", *args])
    return result.exit_code, result.output


def test_story_policy_without_update_item_fails_the_check_and_prints_the_statement_to_add() -> None:
    code, out = run(str(APPS / "story"), "--check", "--stage", "dev")
    assert code == 1
    assert "GAP" in out and "dynamodb:UpdateItem" in out and "dynamodb:DeleteItem" in out
    assert "Statements to add:" in out
    statements, _ = json.JSONDecoder().raw_decode(out[out.index("Statements to add:") + len("Statements to add:"):]
                                                  .lstrip())
    assert {"Effect": "Allow", "Action": ["dynamodb:DeleteItem", "dynamodb:UpdateItem"],
            "Resource": "arn:aws:dynamodb:*:*:table/listings-dev"} in statements


def test_story_check_names_the_ses_identity_the_policy_does_not_cover() -> None:
    found = discover(APPS / "story", "dev")
    policy, source = stage_policy_document(APPS / "story", "dev")
    result = check(found, policy, source)
    gaps = {(g.finding.action, g.verdict) for g in result.gaps}
    assert gaps == {("dynamodb:UpdateItem", "NOT_GRANTED"), ("dynamodb:DeleteItem", "NOT_GRANTED"),
                    ("ses:SendEmail", "NOT_GRANTED")}
    ses = next(s for s in result.statements() if s["Action"] == "ses:SendEmail")
    assert ses["Resource"] == ["arn:aws:ses:*:*:identity/noreply@listings.example.com",
                               "arn:aws:ses:*:*:identity/listings.example.com"]
    assert source.endswith("policy-dev.json")


def test_a_policy_granting_everything_the_code_calls_passes(tmp_path: Path) -> None:
    app = story_copy(tmp_path, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
         "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/listings-dev"},
        {"Effect": "Allow", "Action": "ses:SendEmail",
         "Resource": "arn:aws:ses:us-east-1:123456789012:identity/listings.example.com"}]})
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 0, out
    assert "OK" in out


def test_an_explicit_deny_is_a_gap_that_an_allow_cannot_fix(tmp_path: Path) -> None:
    app = story_copy(tmp_path, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}]})
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    report = json.loads(out)["check"]
    assert [(g["action"], g["verdict"], g["statement"]) for g in report["gaps"]] == [
        ("dynamodb:DeleteItem", "EXPLICITLY_DENIED", "NoDeletes")]
    assert report["statements_to_add"] == []


def test_with_autogen_policy_the_check_uses_the_policy_chalice_would_generate(tmp_path: Path) -> None:
    """chalice's analyzer sees no boto3.client call in the story's app.py, so its policy grants only logs."""
    app = story_copy(tmp_path, config={"version": "2.0", "app_name": "listings", "stages": {
        "dev": {"environment_variables": {"TABLE": "listings-dev", "SENDER": "a@b.example.com"}}}})
    result = CliRunner().invoke(cli, ["discover", str(app), "--check", "--stage", "dev", "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)["check"]
    assert "chalice generates" in report["policy"]
    # the story keeps a policy file chalice will not deploy with autogen on: say so, on stderr
    assert "autogen_policy on" in result.stderr and "ignores that file" in result.stderr
    assert {g["action"] for g in report["gaps"]} == {"dynamodb:GetItem", "dynamodb:UpdateItem",
                                                     "dynamodb:DeleteItem", "ses:SendEmail"}


def test_an_unresolved_resource_granted_somewhere_is_unresolved_not_a_gap(tmp_path: Path) -> None:
    app = story_copy(tmp_path, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
         "Resource": "arn:aws:dynamodb:*:*:table/listings-dev"},
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]})
    found = discover(app, None, env={})  # TABLE unknown: the table name stays `?`
    policy, source = stage_policy_document(app, "dev")
    result = check(found, policy, source)
    assert result.ok
    assert {(w.finding.action, w.verdict) for w in result.unresolved} == {
        ("dynamodb:GetItem", "UNRESOLVED"), ("dynamodb:UpdateItem", "UNRESOLVED"),
        ("dynamodb:DeleteItem", "UNRESOLVED")}


def test_an_unresolved_resource_granted_nowhere_is_still_a_gap(tmp_path: Path) -> None:
    app = story_copy(tmp_path, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:*:table/listings-dev"}]})
    found = discover(app, None, env={})
    policy, source = stage_policy_document(app, "dev")
    assert {g.finding.action for g in check(found, policy, source).gaps} == {
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "ses:SendEmail"}


def test_check_without_a_stage_is_a_usage_error(tmp_path: Path) -> None:
    app = tmp_path / "nostage"
    app.mkdir()
    (app / "app.py").write_text("import boto3\n", encoding="utf-8")
    code, out = run(str(app), "--check")
    assert code == 2
    assert "--check needs --stage" in out


def test_check_on_a_stage_that_deploys_no_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    app = story_copy(tmp_path, config={"version": "2.0", "app_name": "listings", "stages": {
        "dev": {"manage_iam_role": False, "iam_role_arn": "arn:aws:iam::123456789012:role/api"}}})
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 2
    assert "manage_iam_role" in out


@pytest.mark.parametrize("stage", ["prod"])
def test_plain_client_prod_policy_grants_everything_the_code_calls(stage: str) -> None:
    code, out = run(str(APPS / "plain_client"), "--check", "--stage", stage)
    assert code == 0, out


def test_autogen_on_an_app_chalices_analyzer_cannot_read_is_a_clear_usage_error() -> None:
    code, out = run(str(APPS / "aliases"), "--check", "--stage", "dev")
    assert code == 2
    assert "chalice's policy analyzer cannot read it" in out


def test_autogen_json_output_stays_json_when_chalice_prints_warnings(tmp_path: Path) -> None:
    app = tmp_path / "v2"
    (app / ".chalice").mkdir(parents=True)
    (app / "app.py").write_text("import boto3\nboto3.client('sesv2').send_email(FromEmailAddress='a@b.example')\n")
    (app / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "v2",
                                                              "stages": {"dev": {}}}))
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    assert [g["action"] for g in json.loads(out)["check"]["gaps"]] == ["ses:SendEmail"]


def test_check_reads_the_stages_iam_policy_file_when_it_names_one(tmp_path: Path) -> None:
    app = story_copy(tmp_path, config={"version": "2.0", "app_name": "listings", "stages": {"dev": {
        "autogen_policy": False, "iam_policy_file": "custom.json",
        "environment_variables": {"TABLE": "listings-dev", "SENDER": "a@b.example.com"}}}})
    (app / ".chalice" / "custom.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:*Item", "ses:SendEmail"], "Resource": "*"}]}))
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["check"]["policy"].endswith("custom.json")


def test_an_action_whose_arn_is_not_modelled_is_checked_for_a_grant_anywhere(tmp_path: Path) -> None:
    app = tmp_path / "events"
    (app / ".chalice").mkdir(parents=True)
    (app / "app.py").write_text("import boto3\nboto3.client('events').put_events(Entries=[])\n"
                                "boto3.client('events').list_rules()\n")
    (app / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "e", "stages": {
        "dev": {"autogen_policy": False}}}))
    (app / ".chalice" / "policy-dev.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": "arn:aws:events:*:*:event-bus/default"}]}))
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    report = json.loads(out)["check"]
    assert code == 1
    assert [w["action"] for w in report["unresolved"]] == ["events:PutEvents"]
    assert [g["action"] for g in report["gaps"]] == ["events:ListRules"]
