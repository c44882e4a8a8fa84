"""Actions a call's PARAMETERS add (ACL= needs s3:PutObjectAcl, Tags= iam:TagUser, Translate's "auto" source
language comprehend:DetectDominantLanguage, Polly's output bucket s3:PutObject), and keys that are None in
the stage (boto3 then signs with the role). Sample app: apps/map_extras, a clinic portal in the style of
the real apps these patterns came from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from canary.cli import cli
from canary.discover import discover
from canary.discover._check import check, stage_policy_document

APP = Path(__file__).parent / "apps" / "map_extras"


def rows(stage: str = "dev", app: Path = APP) -> dict[tuple[str, str], Any]:
    found = discover(app, stage)
    policy, source = stage_policy_document(app, stage)
    result = check(found, policy, source)
    out: dict[tuple[str, str], Any] = {}
    for kind in ("gaps", "unresolved", "warnings", "granted"):
        for r in getattr(result, kind):
            out[(r.finding.action, r.finding.location)] = (kind, r)
    return out


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["discover", *args])
    return result.exit_code, result.output


def test_parameters_that_need_another_action_are_gaps_where_the_policy_lacks_it() -> None:
    got = rows()
    gaps = {k: r for k, (kind, r) in got.items() if kind == "gaps"}
    assert set(gaps) == {
        ("s3:PutObjectAcl", "chalicelib/media.py:11"),            # upload_file(ExtraArgs={'ACL': ...})
        ("s3:PutObjectTagging", "chalicelib/media.py:15"),        # Bucket.put_object(Tagging=...)
        ("iam:TagUser", "chalicelib/people.py:7"),                # create_user(Tags=[...])
        ("s3:PutObject", "chalicelib/speech.py:9"),               # Polly writes to its output bucket as the caller
        ("comprehend:DetectDominantLanguage", "chalicelib/translation.py:8"),  # the source language may be "auto"
    }
    assert gaps[("s3:PutObjectAcl", "chalicelib/media.py:11")].resource == "arn:aws:s3:::clinic-media-dev/profiles/?.png"
    assert "ACL=" in gaps[("s3:PutObjectAcl", "chalicelib/media.py:11")].reason
    assert gaps[("s3:PutObject", "chalicelib/speech.py:9")].resource == "arn:aws:s3:::clinic-speech/speech/?"
    assert "may be 'auto'" in gaps[("comprehend:DetectDominantLanguage", "chalicelib/translation.py:8")].reason


def test_no_extra_action_without_the_parameter_that_needs_it() -> None:
    got = rows()
    # translate_text with SourceLanguageCode='fr' (line 13) never asks Comprehend
    assert ("comprehend:DetectDominantLanguage", "chalicelib/translation.py:13") not in got
    assert got[("translate:TranslateText", "chalicelib/translation.py:13")][0] == "granted"
    # copy_object without ACL/Tagging: no PutObjectAcl; it reads the SOURCE object (GetObject there, granted)
    assert ("s3:PutObjectAcl", "chalicelib/media.py:20") not in got
    kind, row = got[("s3:GetObject", "chalicelib/media.py:20")]
    assert (kind, row.resource) == ("granted", "arn:aws:s3:::clinic-media-dev/badges/?")
    assert got[("s3:PutObject", "chalicelib/media.py:20")][1].resource == "arn:aws:s3:::clinic-archive/badges/?"


def test_polly_without_lexicons_is_checked_on_star() -> None:
    kind, row = rows()[("polly:StartSpeechSynthesisTask", "chalicelib/speech.py:9")]
    assert (kind, row.resource) == ("granted", "*")


def test_abort_multipart_upload_is_a_warning_never_a_gap() -> None:
    kind, row = rows()[("s3:AbortMultipartUpload", "chalicelib/media.py:11")]
    assert kind == "warnings" and row.verdict == "NOT_GRANTED" and "only a warning" in row.reason


def test_pasting_the_statements_to_add_closes_every_gap(tmp_path: Path) -> None:
    app = tmp_path / "map_extras"
    shutil.copytree(APP, app)
    code, out = run(str(app), "--check", "--stage", "dev", "--format", "json")
    assert code == 1
    data = json.loads(out)
    stmts = data["check"]["statements_to_add"]
    assert {"Effect": "Allow", "Action": "comprehend:DetectDominantLanguage", "Resource": "*"} in stmts
    assert all("*/*" not in json.dumps(s["Resource"]) for s in stmts)
    # TagUser's user name comes from the request: no statement is guessed, it is listed to fill in
    assert not any("iam:" in json.dumps(s) for s in stmts)
    found = discover(app, "dev")
    result = check(found, *stage_policy_document(app, "dev"))
    assert [r.finding.action for r in result.to_fill()] == ["iam:TagUser"]
    policy_path = app / ".chalice" / "policy-dev.json"
    pol = json.loads(policy_path.read_text())
    pol["Statement"] += stmts + [{"Effect": "Allow", "Action": "iam:TagUser", "Resource": "arn:aws:iam::*:user/*"}]
    policy_path.write_text(json.dumps(pol))
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 0, out


def test_keys_from_variables_the_stage_does_not_set_leave_the_call_under_the_role() -> None:
    # dev sets no MAIL_KEY_ID: os.getenv gives None, boto3 signs with the role -> checked (granted here)
    assert rows("dev")[("ses:SendEmail", "chalicelib/mailer.py:9")][0] == "granted"
    # prod sets them: a different account signs; the stage's role is not judged on it
    found = discover(APP, "prod")
    mail = [f for f in found.findings if f.file == "chalicelib/mailer.py"]
    assert mail and all(f.own_credentials for f in mail)


def test_keys_unset_in_the_stage_and_a_policy_without_ses_is_a_gap(tmp_path: Path) -> None:
    app = tmp_path / "map_extras"
    shutil.copytree(APP, app)
    policy_path = app / ".chalice" / "policy-dev.json"
    pol = json.loads(policy_path.read_text())
    pol["Statement"] = [s for s in pol["Statement"] if "ses:SendEmail" not in json.dumps(s)]
    policy_path.write_text(json.dumps(pol))
    kind, row = rows("dev", app)[("ses:SendEmail", "chalicelib/mailer.py:9")]
    assert (kind, row.verdict) == ("gaps", "NOT_GRANTED")


def test_a_placeholder_bucket_from_config_is_to_fill_in_never_a_statement(tmp_path: Path) -> None:
    app = tmp_path / "map_extras"
    shutil.copytree(APP, app)
    cfg_path = app / ".chalice" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["stages"]["dev"]["environment_variables"]["MEDIA_BUCKET"] = "YOUR BUCKET NAME HERE"
    cfg_path.write_text(json.dumps(cfg))
    found = discover(app, "dev")
    result = check(found, *stage_policy_document(app, "dev"))
    badge = [r for r in result.gaps if r.finding.location == "chalicelib/media.py:15"]
    assert {r.finding.action for r in badge} == {"s3:PutObject", "s3:PutObjectTagging"}  # the verdict stands
    assert "YOUR BUCKET" not in json.dumps(result.statements())
    fill = {(r.finding.action, r.finding.location): r.to_fill for r in result.to_fill()}
    assert any("not a valid S3 bucket name" in t for t in fill[("s3:PutObject", "chalicelib/media.py:15")])
    code, out = run(str(app), "--check", "--stage", "dev")
    assert code == 1 and "To fill in" in out and "'YOUR BUCKET NAME HERE' is not a valid S3 bucket name" in out


def test_valid_and_invalid_names_by_aws_rules() -> None:
    from canary.discover._check import invalid_name

    assert invalid_name("arn:aws:s3:::clinic-media-dev/badges/*") is None
    assert invalid_name("arn:aws:s3:::Clinic_Media/x") is not None          # upper case, underscore
    assert invalid_name("arn:aws:dynamodb:*:*:table/orders-dev.v2") is None
    assert invalid_name("arn:aws:dynamodb:*:*:table/my table") is not None  # a space
    assert invalid_name("arn:aws:dynamodb:*:*:table/__FILL_ME__") is not None
    assert invalid_name("arn:aws:sqs:us-east-1:123456789012:jobs.fifo") is None


def test_a_client_on_a_local_endpoint_is_not_an_aws_call(tmp_path: Path) -> None:
    from tests.discover._project import write

    write(tmp_path, {
        "app.py": """
            import os
            import boto3
            from chalice import Chalice

            app = Chalice(app_name="payments")
            ENDPOINT = os.environ.get("DB_ENDPOINT")


            def save_local(acct):
                # LocalStack from docker compose
                db = boto3.resource("dynamodb", endpoint_url="http://host.docker.internal:4566/")
                db.Table("payments").put_item(Item={"acct": acct})


            def save_stage(acct):
                boto3.resource("dynamodb", endpoint_url=ENDPOINT).Table("ledger").put_item(Item={"acct": acct})


            def save_either(acct):
                if os.environ.get("LOCAL"):
                    db = boto3.resource("dynamodb", endpoint_url="http://localhost:8000")
                else:
                    db = boto3.resource("dynamodb")
                db.Table("audit").put_item(Item={"acct": acct})


            @app.route("/pay/{acct}", methods=["POST"])
            def pay(acct):
                save_local(acct)
                save_stage(acct)
                save_either(acct)
                return {}
            """,
    })
    apart = lambda env: {f.resource.rpartition("/")[2]: f.own_credentials for f in discover(tmp_path, env=env).findings}
    dev = apart({"DB_ENDPOINT": "http://localhost:8000"})   # a stage that points at DynamoDB Local
    assert "host.docker.internal:4566" in (dev["payments"] or "") and "localhost:8000" in (dev["ledger"] or "")
    assert dev["audit"] is None                              # another path reaches AWS: checked
    prod = apart({})                                         # DB_ENDPOINT unset: boto3 uses AWS's endpoint
    assert prod["ledger"] is None and prod["audit"] is None and prod["payments"] is not None
    aws = apart({"DB_ENDPOINT": "https://dynamodb.eu-west-1.amazonaws.com"})
    assert aws["ledger"] is None


def test_probes_for_an_added_action_name_its_own_resource() -> None:
    from canary.discover._emit import emit_config

    probes = emit_config(discover(APP, "dev"))["probes"]
    # copy_object reads the source bucket; Polly writes to its output bucket (not the call's own parameters)
    assert {"action": "s3:GetObject", "bucket": "${MEDIA_BUCKET}", "prefix": "badges/"} in [
        {k: v for k, v in p.items() if k != "id"} for p in probes]
    assert any(p["action"] == "s3:PutObject" and p["bucket"] == "clinic-speech" for p in probes)


def test_sse_kms_keys_and_copy_sources_written_as_strings(tmp_path: Path) -> None:
    from tests.discover._project import write

    write(tmp_path, {
        "app.py": """
            import boto3
            from chalice import Chalice

            app = Chalice(app_name="vault")
            s3 = boto3.client("s3")
            KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


            @app.route("/seal/{name}", methods=["PUT"])
            def seal(name):
                s3.put_object(Bucket="vault-docs", Key="sealed/" + name, Body=app.current_request.raw_body,
                              ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_ARN)
                s3.upload_file("/tmp/x", "vault-docs", "raw/" + name,
                               ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/vault"})
                s3.copy_object(CopySource="vault-inbox/" + name, Bucket="vault-docs", Key="copied/" + name)
                return {}
            """,
    })
    got = {(f.action, f.line): f.resource for f in discover(tmp_path, env={}).findings}
    assert got[("kms:GenerateDataKey", 12)] == KEY_ARN_TEXT
    assert got[("kms:GenerateDataKey", 14)] == "?"          # an alias: the key it points to is not in the code
    assert got[("s3:GetObject", 16)] == "arn:aws:s3:::vault-inbox/?"
    assert got[("s3:PutObject", 16)] == "arn:aws:s3:::vault-docs/copied/?"
    assert ("s3:PutObjectAcl", 12) not in got


KEY_ARN_TEXT = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_batch_call_needs_every_table_it_names(tmp_path: Path) -> None:
    from tests.discover._project import write

    write(tmp_path, {
        "app.py": """
            import boto3
            from chalice import Chalice

            app = Chalice(app_name="shop")
            ddb = boto3.client("dynamodb")


            @app.route("/cart/{user}")
            def cart(user):
                key = {"user": {"S": user}}
                got = ddb.batch_get_item(RequestItems={"shop-carts": {"Keys": [key]}, "shop-prices": {"Keys": [key]}})
                return got["Responses"]
            """,
        ".chalice/config.json": json.dumps({"version": "2.0", "app_name": "shop", "autogen_policy": False,
                                            "stages": {"dev": {}}}),
        ".chalice/policy-dev.json": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:BatchGetItem",
             "Resource": "arn:aws:dynamodb:*:*:table/shop-carts"}]}),
    })
    found = discover(tmp_path, "dev")
    result = check(found, *stage_policy_document(tmp_path, "dev"))
    [row] = result.gaps
    assert row.verdict == "NOT_GRANTED" and "touches each of the 2 tables" in row.reason
    assert dict(row.candidates) == {"arn:aws:dynamodb:*:*:table/shop-carts": "GRANTED",
                                    "arn:aws:dynamodb:*:*:table/shop-prices": "NOT_GRANTED"}
    assert result.statements() == [{"Effect": "Allow", "Action": "dynamodb:BatchGetItem",
                                    "Resource": "arn:aws:dynamodb:*:*:table/shop-prices"}]


def test_sarif_reports_the_abort_warning_as_a_note_not_an_error() -> None:
    code, out = run(str(APP), "--check", "--stage", "dev", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    levels = {(r["properties"]["action"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): (
        r["ruleId"], r["level"]) for r in results if "properties" in r}
    assert levels[("s3:AbortMultipartUpload", 11)] == ("permission-advisory", "note")
    assert levels[("s3:PutObjectAcl", 11)] == ("permission-not-granted", "error")


def test_keys_read_from_lambdas_own_credential_variables_are_the_role(tmp_path: Path) -> None:
    from tests.discover._project import write

    write(tmp_path, {
        "app.py": """
            import os
            import boto3
            from chalice import Chalice

            app = Chalice(app_name="keys")


            @app.route("/a")
            def a():
                s3 = boto3.client("s3", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                                  aws_session_token=os.environ["AWS_SESSION_TOKEN"])
                return s3.get_object(Bucket="keys-a", Key="k")


            @app.route("/b")
            def b():
                s3 = boto3.client("s3", aws_access_key_id=os.environ["PARTNER_KEY_ID"],
                                  aws_secret_access_key=os.environ["PARTNER_SECRET"])
                return s3.get_object(Bucket="keys-b", Key="k")
            """,
    })
    own = {f.resource: f.own_credentials for f in discover(tmp_path, env={}).findings}
    assert own["arn:aws:s3:::keys-a/k"] is None        # the role's own keys, as Lambda hands them over
    assert own["arn:aws:s3:::keys-b/k"] is not None    # another account's (os.environ[...] fails if unset)


def test_tags_given_at_creation_need_the_services_tagging_action(tmp_path: Path) -> None:
    # create_log_group(tags=...) needs logs:TagResource as well: a real app's gap that pasting its own
    # "Statements to add" left open before this rule.
    from tests.discover._project import write

    root = write(tmp_path, {"app.py": """
        import boto3
        logs = boto3.client("logs")

        def setup():
            logs.create_log_group(logGroupName="/app/events", tags={"team": "x"})
            logs.create_log_group(logGroupName="/app/plain")
            boto3.client("sqs").create_queue(QueueName="jobs", tags={"a": "b"})
        """})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "sqs:CreateQueue"], "Resource": "*"}]}
    result = check(discover(root), policy, "p")
    gaps = sorted((g["action"], g["resource"]) for g in result.to_dict()["gaps"])
    assert gaps == [("logs:TagResource", "arn:aws:logs:*:*:log-group:/app/events"),
                    ("sqs:TagQueue", "arn:aws:sqs:*:*:jobs")]
    fixed = {"Version": "2012-10-17", "Statement": policy["Statement"] + result.statements()}
    assert check(discover(root), fixed, "p").ok
