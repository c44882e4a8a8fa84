"""Build the Slack function's own least-privilege IAM policy (never the API's role).

The Slack function reads one log group, one SSM parameter and (for a customer-managed key) decrypts
with one KMS key through SSM; it also writes its own logs, and Lambda puts the alarms it could not
deliver into one SQS queue with its role. Granting exactly that keeps a leaked
or compromised notifier from reading other secrets or logs. The deploy tooling writes the result to
`.chalice/policy-slack-<stage>.json`.
"""

from __future__ import annotations

from typing import Any

from canary.errors import DeployConfigError

__all__ = ["slack_policy"]


def _require(**values: str | None) -> None:
    for name, value in values.items():
        if not value or not str(value).strip():
            raise DeployConfigError(f"slack_policy: {name} is empty; the Slack function's policy needs it")


def slack_policy(*, region: str, account: str, log_group: str, parameter_name: str,
                 kms_key_arn: str | None = None, partition: str = "aws",
                 function_name: str | None = None, undelivered_queue: str | None = None) -> dict[str, Any]:
    """Return the policy document: read the canary's reports and the webhook, write own logs.

    `function_name` (the deployed Slack function, e.g. `permission-canary-dev-permission_canary_alarm_to_slack`)
    narrows the own-logs statement to that function's log group; without it, any `/aws/lambda/*` group
    in the account and region. `kms_key_arn` is needed only when the SecureString uses a
    customer-managed key (the `aws/ssm` key needs no grant); the decrypt is then allowed only via SSM.
    `undelivered_queue` (a queue name or ARN; `canary.alarms.undelivered_queue_name(stage)`) is the
    function's on-failure destination: Lambda sends failed events there with the function's own role,
    so the role needs sqs:SendMessage on it (the queue uses SQS-managed encryption: no KMS grant).
    """
    _require(region=region, account=account, log_group=log_group, parameter_name=parameter_name)
    logs_arn = f"arn:{partition}:logs:{region}:{account}"
    own = f"/aws/lambda/{function_name}" if function_name else "/aws/lambda/*"
    if parameter_name.startswith("arn:"):
        parameter_arn = parameter_name
    else:
        parameter_arn = f"arn:{partition}:ssm:{region}:{account}:parameter/{parameter_name.lstrip('/')}"
    statements: list[dict[str, Any]] = [
        {"Sid": "WriteOwnLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"{logs_arn}:log-group:{own}", f"{logs_arn}:log-group:{own}:*"]},
        {"Sid": "ReadCanaryReports", "Effect": "Allow", "Action": "logs:FilterLogEvents",
         # FilterLogEvents authorizes against the log-group ARN; some tools present it with ':*'.
         "Resource": [f"{logs_arn}:log-group:{log_group}", f"{logs_arn}:log-group:{log_group}:*"]},
        {"Sid": "ReadWebhookUrl", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter_arn},
    ]
    if undelivered_queue:
        queue_arn = (undelivered_queue if undelivered_queue.startswith("arn:")
                     else f"arn:{partition}:sqs:{region}:{account}:{undelivered_queue}")
        statements.append({"Sid": "KeepUndeliveredAlarms", "Effect": "Allow", "Action": "sqs:SendMessage",
                           "Resource": queue_arn})
    if kms_key_arn:
        statements.append({"Sid": "DecryptWebhookUrl", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": kms_key_arn,
                           "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": statements}
