"""Each sample app is written in one style; discover finds exactly its actions, and never less than chalice.

The apps under `apps/` are real Chalice projects (app.py, chalicelib/, .chalice/config.json). The
comparison runs chalice's own analyzer (`chalice.analyzer.get_client_calls_for_app`) on the same
app.py and maps its {service: {method}} result to IAM actions with chalice's own PolicyBuilder, so the
superset claim does not lean on discover's mapping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canary.config import stage_environment
from canary.discover import discover
from canary.discover._analyzer import analyze

APPS = Path(__file__).parent / "apps"

EXPECTED: dict[str, set[str]] = {
    "plain_client": {"dynamodb:PutItem", "dynamodb:GetItem", "s3:ListBucket", "s3:GetObject"},
    "story": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "ses:SendEmail"},
    "aliases": {"sqs:SendMessage", "sns:Publish", "s3:PutObject", "s3:GetObject", "dynamodb:PutItem"},
    "self_storage": {"dynamodb:PutItem", "dynamodb:Query", "events:PutEvents", "s3:PutObject"},
    "injected": {"sns:Publish", "dynamodb:DeleteItem", "kinesis:PutRecord", "secretsmanager:GetSecretValue"},
    "factories": {"ssm:GetParameter", "dynamodb:GetItem", "dynamodb:UpdateItem", "lambda:InvokeFunction"},
    "module_globals": {"dynamodb:BatchWriteItem", "ses:SendEmail", "s3:ListBucket", "s3:DeleteObject"},
    # a decorator appends the stage's suffix to the literal table name; MODE picks the archive prefix
    "postmortem": {"dynamodb:GetItem", "dynamodb:UpdateItem", "s3:PutObject"},
    # Pipenv project: S3 event handlers, lazily built services, app.app_name, per-function env, MODE guard
    "media_events": {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan", "rekognition:DetectLabels",
                     "s3:GetObject", "s3:PutObject"},
    # PynamoDB models: Meta.table_name from the stage, an index, batch_write
    "pynamo_models": {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query",
                      "dynamodb:BatchWriteItem"},
    "tutorial": {"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "s3:PutObject"},
    # helper 9b's --check samples (tests/discover/test_verdicts.py)
    "check_postmortem": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                         "dynamodb:Query", "dynamodb:Scan"},
    "check_postmortem_opaque": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"},
    "check_mixed": {"secretsmanager:GetSecretValue", "s3:PutObject", "s3:GetObject", "ses:SendEmail"},
    "flow_media": {"s3:PutObject"},
    "map_extras": {"s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectTagging", "s3:GetObject", "iam:CreateUser",
                   "iam:TagUser", "translate:TranslateText", "comprehend:DetectDominantLanguage",
                   "polly:StartSpeechSynthesisTask", "ses:SendEmail"},
}


def chalice_actions(app_dir: Path) -> set[str] | None:
    """The actions chalice's autogen policy would grant for app.py; None when its analyzer crashes."""
    from chalice.analyzer import get_client_calls_for_app
    from chalice.policy import PolicyBuilder

    source = (app_dir / "app.py").read_text(encoding="utf-8")
    try:
        calls = get_client_calls_for_app(source)
    except KeyError:  # chalice 1.34's analyzer fails on `import boto3 as b3` (symtable lookup)
        return None
    policy = PolicyBuilder().build_policy_from_api_calls(calls)
    return {a for st in policy["Statement"] for a in st["Action"]}


def test_every_sample_app_has_an_expectation() -> None:
    assert {p.name for p in APPS.iterdir() if (p / "app.py").is_file()} == set(EXPECTED)
    assert len(EXPECTED) >= 6


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_discover_finds_exactly_the_expected_actions(app: str) -> None:
    found = discover(APPS / app, "dev")
    assert set(found.actions) == EXPECTED[app]


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_discover_finds_a_superset_of_chalices_analyzer(app: str) -> None:
    theirs = chalice_actions(APPS / app)
    ours = set(discover(APPS / app, "dev").actions)
    if theirs is None:
        assert app == "aliases"  # the one style chalice cannot read at all
        return
    assert theirs <= ours, f"chalice found {theirs - ours} that discover missed"


def test_chalice_sees_the_plain_style_so_the_superset_check_is_not_vacuous() -> None:
    assert chalice_actions(APPS / "plain_client") == EXPECTED["plain_client"]


@pytest.mark.parametrize("app", ["story", "self_storage", "injected", "factories", "module_globals", "tutorial",
                                 "postmortem", "media_events", "pynamo_models"])
def test_chalice_misses_what_discover_finds_in_the_other_styles(app: str) -> None:
    theirs = chalice_actions(APPS / app) or set()
    assert EXPECTED[app] - theirs, "this style should be one chalice's analyzer cannot see"


def test_story_resources_resolve_from_the_stage_environment() -> None:
    found = discover(APPS / "story", "dev")
    rows = {(f.action, f.resource, f.location) for f in found.findings}
    assert rows == {
        ("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/listings-dev", "chalicelib/db.py:9"),
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:*:*:table/listings-dev", "chalicelib/db.py:13"),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:*:*:table/listings-dev", "chalicelib/db.py:21"),
        ("ses:SendEmail", "arn:aws:ses:*:*:identity/noreply@listings.example.com", "chalicelib/mail.py:10"),
    }


def test_each_style_resolves_its_resources() -> None:
    def rows(app: str) -> set[tuple[str, str]]:
        return {(f.action, f.resource) for f in discover(APPS / app, "dev").findings}

    assert ("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:jobs") in rows("aliases")
    assert ("s3:GetObject", "arn:aws:s3:::aliases-uploads/report.csv") in rows("aliases")
    assert ("dynamodb:PutItem", "arn:aws:dynamodb:*:*:table/orders-dev") in rows("self_storage")
    assert ("sns:Publish", "arn:aws:sns:us-east-1:123456789012:items") in rows("injected")
    assert ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:app/api-key-*") in rows("injected")
    assert ("kinesis:PutRecord", "arn:aws:kinesis:*:*:stream/audit-stream") in rows("injected")
    assert ("ssm:GetParameter", "arn:aws:ssm:*:*:parameter/app/feature-flags") in rows("factories")
    assert ("lambda:InvokeFunction", "arn:aws:lambda:*:*:function:factories-dev-worker") in rows("factories")
    assert ("dynamodb:BatchWriteItem", "arn:aws:dynamodb:*:*:table/dev-orders") in rows("module_globals")
    assert ("ses:SendEmail", "arn:aws:ses:*:*:identity/reports@example.com") in rows("module_globals")


def test_a_factory_called_with_two_names_gives_each_call_its_own_table_and_no_unknown_twin() -> None:
    env = stage_environment(APPS / "factories", "dev")
    tables = {c.operation: {alt.resolve(env) for alt in dict(c.params)["TableName"]}
              for c in analyze(APPS / "factories", env)[0] if c.service == "dynamodb"}
    # `table(name)` is evaluated per call (a one-line factory), so each site names one table
    assert tables == {"GetItem": {"sessions-dev"}, "UpdateItem": {"counters"}}


def test_a_name_the_source_does_not_give_shows_as_a_question_mark_with_its_expression() -> None:
    found = discover(APPS / "aliases", "dev")
    put = next(f for f in found.findings if f.action == "s3:PutObject")
    assert put.resource == "arn:aws:s3:::aliases-uploads/uploads/?"
    assert put.unresolved == ("name",)
    assert put.check_resources == ("arn:aws:s3:::aliases-uploads/uploads/*",)


def test_without_a_stage_environment_variables_stay_unresolved() -> None:
    found = discover(APPS / "story", None)
    update = next(f for f in found.findings if f.action == "dynamodb:UpdateItem")
    assert update.resource == "arn:aws:dynamodb:*:*:table/?"
    assert update.unresolved == ("os.environ['TABLE']",)
    mail = next(f for f in found.findings if f.action == "ses:SendEmail")
    assert mail.resource.endswith("identity/noreply@example.com")  # os.environ.get's default


@pytest.mark.parametrize("stage, table, uploads, archive, prefix", [
    ("dev", "media", "media-uploads-dev", "media-archive-test", "thumbs/"),
    ("prod", "media-prod", "media-uploads", "media-archive", "thumbnails/"),
])
def test_event_handlers_resolve_from_their_decorators_the_app_name_and_the_functions_env(
        stage: str, table: str, uploads: str, archive: str, prefix: str) -> None:
    from canary.discover._stage import lambda_env

    env = lambda_env(APPS / "media_events", stage)
    found = {c.operation: {n: {a.render(env, "?") for a in alts} for n, alts in c.params}
             for c in analyze(APPS / "media_events", env)[0]}
    assert found["PutItem"] == {"TableName": {table}}
    assert found["GetObject"] == {"Bucket": {uploads}, "Key": {"?"}}  # download_file(event.bucket, ...)
    assert found["PutObject"] == {"Bucket": {"media-events-thumbnails"}, "Key": {prefix + "?"}}
    assert found["CopyObject"]["Bucket"] == {archive}  # the MODE guard picks one bucket per stage
