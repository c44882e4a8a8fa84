"""Actions AWS's reference lists with no resource type: checked against "an ARN of the service", not `*` only.

Chalice's own default statement grants `logs:*` on `arn:aws:logs:*:*:*`, and AWS's AccessDenied messages
show `logs:DescribeLogGroups` checked against a logs ARN: calling that a gap was a false alarm.
"""

from __future__ import annotations

import json
from pathlib import Path

from canary.discover import discover
from canary.discover._check import check

from tests.discover._project import write

APP = """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="rl")
    logs = boto3.client("logs")

    @app.route("/")
    def index():
        logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")
        boto3.client("s3").list_buckets()
        boto3.client("sqs").list_queues()
        return {}
    """


def _verdicts(tmp_path: Path, statements: list[dict]) -> dict[str, str]:
    root = write(tmp_path, {"app.py": APP})
    result = check(discover(root), {"Version": "2012-10-17", "Statement": statements}, "policy.json")
    rows = result.to_dict()
    out = {g["action"]: "NOT_GRANTED" for g in rows["gaps"]}
    out.update({u["action"]: "UNRESOLVED" for u in rows["unresolved"]})
    return out


def test_a_statement_on_every_arn_of_the_service_grants_a_resourceless_action(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, [{"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:*"},
                               {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"},
                               {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}])
    assert got == {}


def test_some_arns_of_the_service_may_grant_it_and_another_service_cannot(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, [
        {"Effect": "Allow", "Action": "logs:DescribeLogGroups",
         "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/*"},
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "sqs:ListQueues"],
         "Resource": "arn:aws:dynamodb:*:*:table/x"}])
    assert got == {"logs:DescribeLogGroups": "UNRESOLVED", "s3:ListAllMyBuckets": "NOT_GRANTED",
                   "sqs:ListQueues": "NOT_GRANTED"}


def test_the_statement_to_add_for_a_resourceless_action_is_on_star(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": APP})
    result = check(discover(root), {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:*"}]}, "policy.json")
    stmts = result.statements()
    assert {json.dumps(s["Resource"]) for s in stmts} == {'"*"'}
