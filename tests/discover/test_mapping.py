"""Client methods and resource methods map to IAM actions through botocore's and boto3's own models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canary.discover import _models as models

# (boto3 client, method) -> IAM actions; each row is a rule from the Service Authorization Reference.
CASES = [
    ("dynamodb", "update_item", ("dynamodb:UpdateItem",)),          # signing name + operation
    ("dynamodb", "transact_get_items", ("dynamodb:GetItem",)),      # authorized per item
    ("sesv2", "send_email", ("ses:SendEmail",)),                    # sesv2 signs as ses
    ("ses", "send_raw_email", ("ses:SendRawEmail",)),
    ("s3", "list_objects_v2", ("s3:ListBucket",)),                  # list operations authorize as ListBucket
    ("s3", "head_object", ("s3:GetObject",)),
    ("s3", "delete_objects", ("s3:DeleteObject",)),
    ("s3", "copy_object", ("s3:GetObject", "s3:PutObject")),
    ("lambda", "invoke", ("lambda:InvokeFunction",)),
    ("sqs", "send_message_batch", ("sqs:SendMessage",)),
    ("stepfunctions", "start_execution", ("states:StartExecution",)),  # signs as states
    ("cloudwatch", "put_metric_data", ("cloudwatch:PutMetricData",)),  # signs as monitoring
    ("iot-data", "publish", ("iot:Publish",)),                          # signs as iotdata
    ("dynamodbstreams", "get_records", ("dynamodb:GetRecords",)),
    ("elbv2", "describe_load_balancers", ("elasticloadbalancing:DescribeLoadBalancers",)),
]


@pytest.mark.parametrize(("service", "method", "actions"), CASES)
def test_client_method_maps_to_its_iam_action(service: str, method: str, actions: tuple[str, ...]) -> None:
    operation = models.method_operation(service, method)
    assert operation is not None
    assert models.iam_actions(service, operation) == actions


def test_methods_that_are_not_api_calls_have_no_operation() -> None:
    for method in ("get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_url"):
        assert models.method_operation("s3", method) is None
    assert models.method_operation("no-such-service", "put_item") is None


COMMON = ["dynamodb", "s3", "sqs", "sns", "ses", "lambda", "secretsmanager", "ssm", "kinesis", "events",
          "stepfunctions", "logs", "kms", "sts", "cognito-idp", "firehose", "athena", "rekognition",
          "textract", "translate", "mturk", "resourcegroupstaggingapi"]


def test_mapping_agrees_with_chalices_own_action_table_for_common_services() -> None:
    """chalice ships policies.json (API operation -> IAM action), maintained by hand: an independent oracle."""
    import chalice

    table = json.loads((Path(chalice.__file__).parent / "policies.json").read_text())
    compared, disagree = 0, []
    for service in COMMON:
        for operation, action in table.get(service, {}).items():
            if not models.is_operation(service, operation):
                continue
            compared += 1
            if action not in models.iam_actions(service, operation):
                disagree.append((service, operation, action, models.iam_actions(service, operation)))
    assert compared > 800
    assert disagree == []
