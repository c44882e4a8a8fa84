"""Guards the stage settles (`_stage`): calls on branches it never takes are marked, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canary.discover._stage import lambda_env

from tests.discover._project import by_operation, not_in_stage, write

GUARDED = {"app.py": """
    import os
    import boto3

    DUMMY = False
    MODE = os.environ.get("MODE", "DEV")

    if MODE == "BETA":
        TABLE = "beta-listings"
    else:
        TABLE = "listings"

    table = boto3.resource("dynamodb").Table(TABLE)

    def handler(event):
        if DUMMY:
            boto3.client("sqs").send_message(QueueUrl="q", MessageBody="x")
        if os.environ.get("USE_S3") == "yes":
            boto3.client("s3").put_object(Bucket="b", Key="k")
        table.put_item(Item={})

    def notify():
        if not os.environ.get("ENABLED"):
            return None
        boto3.client("sns").publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="m")

    if __name__ == "__main__":
        boto3.client("s3").delete_object(Bucket="b", Key="k")
    """}


def test_a_false_module_constant_marks_its_branch_in_every_stage(tmp_path: Path) -> None:
    marks = not_in_stage(write(tmp_path, GUARDED))
    assert marks["SendMessage"] == "guarded by `DUMMY`, which is False in this stage: DUMMY is False"
    assert "never '__main__'" in (marks["DeleteObject"] or "")


def test_without_a_stage_environment_guards_stay_undecided_and_both_values_are_alternatives(tmp_path: Path) -> None:
    root = write(tmp_path, GUARDED)
    marks = not_in_stage(root)
    assert marks["PutObject"] is None and marks["Publish"] is None
    assert by_operation(root)["PutItem"]["TableName"] == {"beta-listings", "listings"}


def test_the_stage_environment_decides_which_branch_runs(tmp_path: Path) -> None:
    root = write(tmp_path, GUARDED)
    prod = {"MODE": "PROD"}
    assert by_operation(root, prod)["PutItem"]["TableName"] == {"listings"}
    assert by_operation(root, {"MODE": "BETA"})["PutItem"]["TableName"] == {"beta-listings"}
    marks = not_in_stage(root, prod)
    assert marks["PutObject"] == ("guarded by `os.environ.get('USE_S3') == 'yes'`, which is False in this stage: "
                                  "the stage does not set USE_S3 (.chalice/config.json)")
    assert (marks["Publish"] or "").startswith("returns early on `not os.environ.get('ENABLED')`, which is True")
    marks = not_in_stage(root, {"MODE": "PROD", "USE_S3": "yes", "ENABLED": "1"})
    assert marks["PutObject"] is None and marks["Publish"] is None and marks["PutItem"] is None


def test_a_conditional_expression_and_a_derived_flag_are_decided(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        PROD = True if os.environ["MODE"] == "PROD" else False
        BUCKET = "assets-prod" if PROD else "assets-dev"
        boto3.client("s3").put_object(Bucket=BUCKET, Key="k")
        """})
    assert by_operation(root, {"MODE": "PROD"})["PutObject"]["Bucket"] == {"assets-prod"}
    assert by_operation(root, {"MODE": "DEV"})["PutObject"]["Bucket"] == {"assets-dev"}
    assert by_operation(root)["PutObject"]["Bucket"] == {"assets-prod", "assets-dev"}


def test_variables_lambda_sets_itself_are_never_decided_from_the_config(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        if os.environ.get("AWS_SAM_LOCAL"):
            boto3.client("s3").put_object(Bucket="local", Key="k")
        """})
    assert not_in_stage(root, {"MODE": "PROD"}) == {"PutObject": None}


def _config(root: Path, cfg: dict[str, object]) -> Path:
    (root / ".chalice").mkdir(parents=True)
    (root / ".chalice" / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return root


def test_the_stage_environment_has_top_level_stage_and_function_layers(tmp_path: Path) -> None:
    root = _config(tmp_path, {"environment_variables": {"A": "top", "B": "top"}, "stages": {"dev": {
        "environment_variables": {"B": "stage"},
        "lambda_functions": {"worker": {"environment_variables": {"C": "fn"}},
                             "api_handler": {"environment_variables": {"D": "api"}},
                             "other": {"environment_variables": {"D": "other"}}}}}})
    # D differs between functions: code in chalicelib may run in either, so it stays unknown
    assert lambda_env(root, "dev") == {"A": "top", "B": "stage", "C": "fn"}


def test_an_unknown_stage_is_one_clear_error(tmp_path: Path) -> None:
    from canary.errors import CanaryError

    root = _config(tmp_path, {"stages": {"dev": {}}})
    with pytest.raises(CanaryError, match="no stage 'prod'; stages: dev"):
        lambda_env(root, "prod")


def test_a_variable_the_code_sets_itself_is_not_decided_from_the_config(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        os.environ.setdefault("FEATURE", "on")
        if os.environ.get("FEATURE") == "on":
            boto3.client("s3").put_object(Bucket="b", Key="k")
        if os.environ.get("OTHER") == "on":
            boto3.client("sqs").send_message(QueueUrl="q", MessageBody="")
        """})
    marks = not_in_stage(root, {"MODE": "PROD"})
    assert marks["PutObject"] is None  # FEATURE is set by the code, whatever the config says
    assert marks["SendMessage"] is not None


PHOTOS = {"app.py": """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="photos")
    table = boto3.resource("dynamodb").Table("photos")


    def save(owner, caption=None):
        if caption:
            table.update_item(Key={"owner": owner}, UpdateExpression="SET caption = :c",
                              ExpressionAttributeValues={":c": caption})
        return table.get_item(Key={"owner": owner}).get("Item")


    def archive(owner, hard=False):
        if hard:
            table.delete_item(Key={"owner": owner})
        return save(owner)


    @app.route("/photos/{owner}", methods=["GET"])
    def read(owner):
        return archive(owner)


    @app.route("/photos/{owner}", methods=["PUT"])
    def write(owner):
        return save(owner, app.current_request.json_body["caption"])


    @app.route("/photos", methods=["GET"])
    def listing(limit=None):
        if limit:
            return table.query(KeyConditionExpression="owner = :o", Limit=int(limit))
        return table.scan()
    """}


def test_a_default_guard_is_decided_only_when_every_call_passes_a_known_value(tmp_path: Path) -> None:
    marks = not_in_stage(write(tmp_path, PHOTOS), {"STAGE": "dev"})
    assert marks["UpdateItem"] is None      # one caller passes request data: both branches run
    assert marks["DeleteItem"] is not None  # every caller leaves `hard` out: False, whatever the request
    assert "hard" in (marks["DeleteItem"] or "")
    assert marks["Query"] is None           # the framework calls the route: its parameters are not constants
