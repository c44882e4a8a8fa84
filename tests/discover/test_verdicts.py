"""`discover --check` verdicts you can gate CI on: three honest verdicts, agreement with check-policy, output
you can paste, SARIF, determinism, and refusal of policies IAM would reject."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from canary.cli import cli
from canary.discover import Discovery, discover
from canary.discover._analyzer import RawCall
from canary.discover._arns import findings_for
from canary.discover._check import check
from canary.discover._values import Lit, StrV, Unknown

APPS = Path(__file__).parent / "apps"
TABLE_DEV = "arn:aws:dynamodb:us-east-1:123456789012:table/listings-dev"
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["discover", *args])
    return result.exit_code, result.output


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def copy_app(tmp_path: Path, name: str, pol: dict[str, Any] | None = None) -> Path:
    app = tmp_path / name
    shutil.copytree(APPS / name, app)
    if pol is not None:
        (app / ".chalice" / "policy-dev.json").write_text(json.dumps(pol), encoding="utf-8")
    return app


def statements_to_add(out: str) -> list[dict[str, Any]]:
    if "Statements to add:" not in out:
        return []
    text = out[out.index("Statements to add:") + len("Statements to add:"):].lstrip()
    got, _ = json.JSONDecoder().raw_decode(text)
    return got


# --- the postmortem: a decorator rewrote "listings" into "listings-dev" -------------------------------

REWRITTEN = StrV((Lit("listings"), Unknown("table_name rewritten by @stage_table")))
POSTMORTEM_POLICY = policy(
    {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:*:*:*"},
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"],
     "Resource": TABLE_DEV})


def rewritten_calls() -> list[RawCall]:
    return [RawCall(file="chalicelib/db.py", line=n, service="dynamodb", operation=op,
                    params=(("TableName", (REWRITTEN,)),), via=f"Table.{op}")
            for n, op in enumerate(["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"], 20)]


def postmortem_check(pol: dict[str, Any]) -> Any:
    found = Discovery(app_dir=Path("."), stage="dev", env={"STAGE": "dev"},
                      findings=findings_for(rewritten_calls(), {"STAGE": "dev"}))
    return check(found, pol, "policy-dev.json")


def test_a_rewritten_table_name_is_never_taken_as_its_literal() -> None:
    result = postmortem_check(POSTMORTEM_POLICY)
    verdicts = {r.finding.action: r.verdict for r in result.gaps + result.unresolved + result.granted}
    assert verdicts == {"dynamodb:GetItem": "UNRESOLVED", "dynamodb:PutItem": "UNRESOLVED",
                        "dynamodb:Query": "UNRESOLVED", "dynamodb:Scan": "UNRESOLVED",
                        "dynamodb:UpdateItem": "NOT_GRANTED", "dynamodb:DeleteItem": "NOT_GRANTED"}
    get = next(r for r in result.unresolved if r.finding.action == "dynamodb:GetItem")
    assert get.covering == ("Statement[1]",)
    assert get.finding.resource == "arn:aws:dynamodb:*:*:table/listings?"
    assert not result.ok


def test_applying_the_printed_statements_does_not_turn_the_gate_green_while_the_real_gap_stays() -> None:
    result = postmortem_check(POSTMORTEM_POLICY)
    added = result.statements()
    assert added == []  # a partly known table gets no guessed statement ...
    assert {r.finding.action for r in result.to_fill()} >= {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    patched = policy(*POSTMORTEM_POLICY["Statement"], *added)
    assert not postmortem_check(patched).ok  # ... so the gate stays red
    fixed = policy(*POSTMORTEM_POLICY["Statement"],
                   {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem"], "Resource": TABLE_DEV})
    after = postmortem_check(fixed)
    assert after.ok and not after.strict_ok()  # the real gap closed: green, the name still unresolved


@pytest.mark.parametrize("name", ["check_postmortem", "check_postmortem_opaque"])
def test_postmortem_app_end_to_end_never_goes_green_on_the_incident(tmp_path: Path, name: str) -> None:
    """The sample app itself: red on the incident, and green after pasting its advice only if that grants the
    real table (the wrapper's rewrite is followed to `listings-dev`, or kept partly known)."""
    app = copy_app(tmp_path, name)
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 1, out
    assert "dynamodb:UpdateItem" in out and "dynamodb:DeleteItem" in out
    pol = json.loads((app / ".chalice" / "policy-dev.json").read_text())
    pol["Statement"] += statements_to_add(out)
    (app / ".chalice" / "policy-dev.json").write_text(json.dumps(pol))
    again, out2 = run(str(app), "--check", "--stage", "dev", "--format", "json")
    from canary.policy import evaluate

    closed = all(evaluate(pol, a, [TABLE_DEV]).verdict == "GRANTED"
                 for a in ("dynamodb:UpdateItem", "dynamodb:DeleteItem"))
    assert (again == 0) == closed, out2  # green exactly when the real table is granted


def test_an_opaque_rewrite_keeps_the_known_prefix_and_guesses_no_statement() -> None:
    code, out = run(str(APPS / "check_postmortem_opaque"), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    report = json.loads(out)["check"]
    assert {(g["action"], g["resource"]) for g in report["gaps"]} == {
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:*:*:table/listings?"),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:*:*:table/listings?")}
    assert {u["action"] for u in report["unresolved"]} == {"dynamodb:GetItem", "dynamodb:PutItem",
                                                           "dynamodb:Query", "dynamodb:Scan"}
    assert report["statements_to_add"] == []
    assert all("@stage_table" in g["to_fill"][0] for g in report["gaps"])


def test_emit_config_leaves_a_rewritten_table_out_instead_of_probing_the_literal() -> None:
    code, out = run(str(APPS / "check_postmortem_opaque"), "--emit-config", "-")
    assert code == 0
    assert json.loads(out[:out.rindex("}") + 1])["probes"] == []
    assert "left out dynamodb:UpdateItem at chalicelib/db.py:34" in out


def _s3_check(bucket: StrV, pol: dict[str, Any]) -> Any:
    key = StrV((Lit("uploads/"), Unknown("file_name")))
    calls = [RawCall(file="app.py", line=4, service="s3", operation="PutObject",
                     params=(("Bucket", (bucket,)), ("Key", (key,))))]
    return check(Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {})), pol, "p")


def test_an_unknown_object_key_in_a_known_bucket_gets_its_folder_and_pasting_it_closes_the_gap() -> None:
    other = policy({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::reports/*"})
    result = _s3_check(StrV.lit("docs-dev"), other)
    assert [g.verdict for g in result.gaps] == ["NOT_GRANTED"]
    added = result.statements()
    assert added == [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::docs-dev/uploads/*"}]
    assert result.to_fill() == []
    assert _s3_check(StrV.lit("docs-dev"), policy(*other["Statement"], *added)).strict_ok()


def test_an_unknown_bucket_is_never_widened_into_a_wildcard() -> None:
    pol = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"})
    result = _s3_check(StrV((Lit("docs-"), Unknown("stage()"))), pol)
    assert [g.verdict for g in result.gaps] == ["NOT_GRANTED"]
    assert result.statements() == [] and [r.to_fill for r in result.to_fill()] == [("stage()", "file_name")]


# --- alternatives, stage, unauthenticated, unmodelled ---------------------------------------------------


def test_branch_alternatives_are_each_checked_and_one_missing_is_a_gap_not_green() -> None:
    # `published/` and `drafts/` are both written (by name): publishing fails on this policy.
    found = discover(APPS / "check_mixed", "dev")
    put = next(f for f in found.findings if f.action == "s3:PutObject")
    assert put.resource == "arn:aws:s3:::mixed-dev/drafts/? | arn:aws:s3:::mixed-dev/published/?"
    assert put.line == 16
    code, out = run(str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    report = json.loads(out)["check"]
    row = next(r for r in report["gaps"] if r["action"] == "s3:PutObject")
    assert [(c["resource"], c["verdict"]) for c in row["candidates"]] == [
        ("arn:aws:s3:::mixed-dev/drafts/?", "GRANTED"), ("arn:aws:s3:::mixed-dev/published/?", "NOT_GRANTED")]
    # the statement to add grants only the folder that is missing
    put_stmt = next(s for s in report["statements_to_add"] if s["Action"] == "s3:PutObject")
    assert put_stmt["Resource"] == "arn:aws:s3:::mixed-dev/published/*"


def test_a_secret_arn_with_its_random_suffix_grants_the_secret_the_code_names() -> None:
    code, out = run(str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", "json")
    report = json.loads(out)["check"]
    assert not any(r["action"] == "secretsmanager:GetSecretValue" for r in report["gaps"] + report["unresolved"])


def test_a_secret_named_nowhere_gets_a_statement_with_the_suffix_wildcard(tmp_path: Path) -> None:
    pol = json.loads((APPS / "check_mixed" / ".chalice" / "policy-dev.json").read_text())
    pol["Statement"] = [s for s in pol["Statement"] if s["Sid"] != "ApiKey"]
    app = copy_app(tmp_path, "check_mixed", pol)
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    added = json.loads(out)["check"]["statements_to_add"]
    assert {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": "arn:aws:secretsmanager:*:*:secret:mixed/api-key-??????"} in added


def test_unauthenticated_cognito_calls_are_no_gap_and_an_unmodelled_service_is_a_warning() -> None:
    code, out = run(str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", "json")
    data = json.loads(out)
    report = data["check"]
    assert [r["operation"] for r in report["no_grant_needed"]] == ["cognito-idp.InitiateAuth"]
    assert not any("cognito" in r["action"] for r in report["gaps"] + report["unresolved"])
    assert any("qldb-session-v9" in w and "app.py:40" in w for w in data["warnings"])


def test_a_client_with_its_own_keys_is_not_judged_by_the_stage_role() -> None:
    code, out = run(str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", "json")
    report = json.loads(out)["check"]
    assert [(r["action"], r["location"]) for r in report["own_credentials"]] == [
        ("ses:SendEmail", "chalicelib/mailer.py:12")]
    assert not any(r["action"] == "ses:SendEmail" for r in report["gaps"] + report["unresolved"])


def test_cognito_admin_calls_are_checked_on_their_user_pool_arn() -> None:
    pool = StrV.lit("us-east-1_AbC")
    calls = [RawCall(file="app.py", line=2, service="cognito-idp", operation="AdminGetUser",
                     params=(("UserPoolId", (pool,)),))]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    assert found.findings[0].resource == "arn:aws:cognito-idp:*:*:userpool/us-east-1_AbC"
    other = policy({"Effect": "Allow", "Action": "cognito-idp:AdminGetUser",
                    "Resource": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Other"})
    assert [g.verdict for g in check(found, other, "p").gaps] == ["NOT_GRANTED"]


def test_calls_the_stage_never_runs_are_listed_apart_never_as_gaps() -> None:
    calls = [RawCall(file="app.py", line=3, service="dynamodb", operation="DeleteItem",
                     params=(("TableName", (StrV.lit("beta-only"),)),), not_in_stage="MODE is 'PROD' in stage prod"),
             RawCall(file="app.py", line=5, service="dynamodb", operation="GetItem",
                     params=(("TableName", (StrV.lit("t"),)),))]
    found = Discovery(app_dir=Path("."), stage="prod", env={}, findings=findings_for(calls, {}))
    result = check(found, policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}), "p.json")
    assert result.ok and [f.action for f in result.not_in_stage] == ["dynamodb:DeleteItem"]
    assert result.to_dict()["not_in_stage"][0]["why"] == "MODE is 'PROD' in stage prod"


# --- one procedure: check-policy and discover --check agree --------------------------------------------


@pytest.mark.parametrize("statements", [
    [],
    [{"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE_DEV}],
    [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/listings-*"},
     {"Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": "*"}],
    [{"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE_DEV,
      "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
    [{"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": "arn:aws:dynamodb:*:*:table/orders"}],
])
def test_check_policy_and_discover_check_give_the_same_verdict_on_the_same_call(
        tmp_path: Path, statements: list[dict[str, Any]]) -> None:
    from canary.config import parse_config
    from canary.policy import check_config

    pol = policy(*statements)
    found = discover(APPS / "story", "dev")
    result = check(found, pol, "p.json")
    rows = result.gaps + result.unresolved + result.warnings + result.granted
    ours = next(r.verdict for r in rows if r.finding.action == "dynamodb:UpdateItem")
    config = parse_config({"version": 1, "probes": [
        {"action": "dynamodb:UpdateItem", "table": "listings-dev", "key": {"listingId": "__permission_canary__"}}]})
    theirs = check_config(config, pol)[0].decision.verdict
    assert ours == theirs


def test_a_policy_iam_would_reject_is_one_line_and_exit_2_in_discover_check_too(tmp_path: Path) -> None:
    app = copy_app(tmp_path, "check_postmortem", policy(
        {"Effect": "Allow", "Principal": "*", "Action": "dynamodb:*", "Resource": "*"}))
    result = CliRunner().invoke(cli, ["discover", str(app), "--check", "--stage", "dev"])
    assert result.exit_code == 2
    err = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "IAM would reject" in err[0] and "lint principal-in-identity-policy" in err[0]


# --- output you can paste and annotate -------------------------------------------------------------------


def test_user_text_is_printed_literally_not_as_markup_or_emoji() -> None:
    code, out = run(str(APPS / "check_mixed"), "--check", "--stage", "dev")
    assert "mixed-docs/[/x]:secret:" in out
    assert "🤫" not in out


def test_statements_to_add_are_valid_iam_granting_only_known_resources_and_close_the_gap(tmp_path: Path) -> None:
    from canary.policy import lint
    from canary.policy.actions import known_action

    app = copy_app(tmp_path, "story")
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 1
    added = statements_to_add(out)
    assert added
    for st in added:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all(known_action(a) for a in acts)
        assert all(r != "*" and "*/*" not in r and "?" not in r.split(":", 5)[5] for r in res)
    assert not [w for w in lint(policy(*added)) if w.code != "destructive-wildcard"]
    pol = json.loads((app / ".chalice" / "policy-dev.json").read_text())
    pol["Statement"] += added
    (app / ".chalice" / "policy-dev.json").write_text(json.dumps(pol))
    assert run(str(app), "--check", "--stage", "dev")[0] == 0


def _cli(args: list[str], seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], capture_output=True, env=env,
                          cwd=ROOT).stdout


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "emit"])
def test_output_is_byte_identical_whatever_the_hash_seed(fmt: str) -> None:
    args = (["discover", str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", fmt] if fmt != "emit"
            else ["discover", str(APPS / "check_mixed"), "--stage", "dev", "--emit-config", "-"])
    outs = {_cli(args, seed) for seed in ("0", "1", "4242")}
    assert len(outs) == 1 and next(iter(outs))


SARIF_SHAPE = {  # the parts of the SARIF 2.1.0 schema GitHub code scanning reads
    "type": "object", "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"]}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "level", "message", "locations"],
                    "properties": {
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["physicalLocation"],
                            "properties": {"physicalLocation": {
                                "type": "object", "required": ["artifactLocation", "region"],
                                "properties": {
                                    "artifactLocation": {"type": "object", "required": ["uri"]},
                                    "region": {"type": "object", "required": ["startLine"],
                                               "properties": {"startLine": {"type": "integer",
                                                                            "minimum": 1}}}}}}}}}}}}}},
    },
}


def test_sarif_puts_each_gap_on_the_line_of_its_call() -> None:
    import jsonschema

    out = _cli(["discover", str(APPS / "check_mixed"), "--check", "--stage", "dev", "--format", "sarif"], "0")
    log = json.loads(out)
    jsonschema.validate(log, SARIF_SHAPE)
    results = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in log["runs"][0]["results"]}
    assert results == {
        ("permission-not-granted", "tests/discover/apps/check_mixed/app.py", 34),
        ("permission-not-granted", "tests/discover/apps/check_mixed/chalicelib/storage.py", 16),
        ("permission-unmapped", "tests/discover/apps/check_mixed/app.py", 40)}  # the service without a model
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in log["runs"][0]["results"]} <= rule_ids


def test_an_operation_aws_lists_no_action_for_is_listed_to_check_by_hand_unless_the_service_is_all_granted() -> None:
    calls = [RawCall(file="app.py", line=9, service="comprehendmedical", operation="DetectEntities")]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    assert found.findings[0].action == "" and "lists no action" in (found.findings[0].note or "")
    narrow = check(found, policy({"Effect": "Allow", "Action": "comprehendmedical:DetectEntitiesV2",
                                  "Resource": "*"}), "p")
    assert [f.operation for f in narrow.unmapped] == ["DetectEntities"] and narrow.ok
    wide = check(found, policy({"Effect": "Allow", "Action": "comprehendmedical:*", "Resource": "*"}), "p")
    assert wide.unmapped == [] and [f.operation for f in wide.unmapped_granted] == ["DetectEntities"]


def test_an_arn_built_from_the_lambdas_region_and_account_keeps_its_known_name() -> None:
    """f"arn:aws:sns:{os.environ['AWS_REGION']}:{account}:alerts": region/account assumed, as for any ARN."""
    from canary.discover._values import Env

    topic = StrV((Lit("arn:aws:sns:"), Env("AWS_REGION"), Lit(":"), Unknown("sts account"), Lit(":alerts")))
    calls = [RawCall(file="app.py", line=3, service="sns", operation="Publish", params=(("TopicArn", (topic,)),))]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    assert found.findings[0].resource == "arn:aws:sns:*:*:alerts"
    pol = policy({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:123456789012:alerts"})
    assert [r.verdict for r in check(found, pol, "p").granted] == ["GRANTED"]


def test_a_client_from_a_session_with_its_own_profile_is_not_judged_by_the_stage_role(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import boto3\n"
        "def report(body):\n"
        "    ops = boto3.Session(profile_name='ops-account')\n"
        "    ops.client('s3').put_object(Bucket='ops-reports', Key='r.json', Body=body)\n"
        "def own(key):\n"
        "    return boto3.client('s3').get_object(Bucket='mine', Key=key)\n", encoding="utf-8")
    found = discover(tmp_path, None, env={})
    marked = {f.action: f.own_credentials is not None for f in found.findings}
    assert marked == {"s3:PutObject": True, "s3:GetObject": False}


def test_a_trust_policy_pasted_into_the_policy_file_is_refused_with_both_fixes(tmp_path: Path) -> None:
    """A common slip: the role's trust policy (Principal, sts:AssumeRole, no Resource) in policy-dev.json."""
    app = copy_app(tmp_path, "check_postmortem", policy(
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"},
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    result = CliRunner().invoke(cli, ["discover", str(app), "--check", "--stage", "dev", "--format", "sarif"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Statement[1]" in lines[0] and 'remove "Principal"' in lines[0] and 'add "Resource"' in lines[0]


def test_a_presigned_post_needs_put_object_for_the_role_that_signs_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import boto3\n"
        "s3 = boto3.client('s3')\n"
        "def upload_form(name):\n"
        "    return s3.generate_presigned_post('uploads-dev', 'in/' + name)\n", encoding="utf-8")
    found = discover(tmp_path, None, env={})
    assert [(f.action, f.resource) for f in found.findings] == [("s3:PutObject", "arn:aws:s3:::uploads-dev/in/?")]


@pytest.mark.parametrize(("resource", "verdict"), [
    ("arn:aws:ssm:us-east-1:123456789012:parameter/app", "GRANTED"),      # the path itself
    ("arn:aws:ssm:us-east-1:123456789012:parameter/app/*", "GRANTED"),    # everything below it
    ("arn:aws:ssm:us-east-1:123456789012:parameter/other/*", "NOT_GRANTED"),
])
def test_parameters_by_path_are_granted_on_the_path_or_on_what_lies_below(resource: str, verdict: str) -> None:
    calls = [RawCall(file="app.py", line=2, service="ssm", operation="GetParametersByPath",
                     params=(("Path", (StrV.lit("/app"),)),))]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    result = check(found, policy({"Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": resource}), "p")
    assert [r.verdict for r in result.gaps + result.granted + result.unresolved] == [verdict]


def test_a_publish_to_a_target_arn_is_checked_on_that_arn() -> None:
    target = StrV.lit("arn:aws:sns:us-east-1:123456789012:endpoint/APNS/app/abc")
    calls = [RawCall(file="app.py", line=2, service="sns", operation="Publish", params=(("TargetArn", (target,)),))]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    assert found.findings[0].resource == "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/app/abc"


def test_an_object_call_whose_key_is_not_visible_is_still_checked_on_an_object() -> None:
    calls = [RawCall(file="app.py", line=2, service="s3", operation="GetObject", params=(("Bucket", (StrV.lit("b"),)),))]
    found = Discovery(app_dir=Path("."), stage="dev", env={}, findings=findings_for(calls, {}))
    assert found.findings[0].resource == "arn:aws:s3:::b/?"
