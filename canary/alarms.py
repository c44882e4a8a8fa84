"""Define the canary's three alarms once; render them as CloudFormation or as API calls.

`template --stage S` (merged into `chalice package`) and `provision --stage S` (for `chalice
deploy` users) both read `ALARMS`, so the two paths cannot drift apart. Nothing here talks to AWS
except `provision()`, which uses only idempotent calls (`create_topic` and `put_metric_alarm` are
both idempotent by name).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["AlarmSpec", "ALARMS", "PERIOD_S", "METRICS", "topic_name", "alarm_name", "alarm_api_params",
           "cfn_resource_name", "merge_template", "provision", "FUNCTION_CANARY", "FUNCTION_INVOKE",
           "FUNCTION_SLACK", "UNDELIVERED_KEY", "UNDELIVERED_METRIC", "UNDELIVERED_NAMESPACE",
           "undelivered_queue_name", "undelivered_alarm_params", "alarm_email", "SLACK_RETRIES"]

PERIOD_S = 900  # the schedule's rate: one run per period
METRICS = ("ProbesRun", "ProbesDenied", "ProbesErrored")
FUNCTION_CANARY = "permission_canary"
FUNCTION_INVOKE = "permission_canary_invoke"
FUNCTION_SLACK = "permission_canary_alarm_to_slack"
# Undelivered alerts: the Slack function's failed invocations (after Lambda's async retries) land in
# an SQS queue (its on-failure destination), and this alarm pages when that queue holds anything.
UNDELIVERED_KEY = "undelivered"
UNDELIVERED_NAMESPACE = "AWS/SQS"
UNDELIVERED_METRIC = "ApproximateNumberOfMessagesVisible"
UNDELIVERED_PERIOD_S = 300
UNDELIVERED_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: two weeks to read what was not delivered
SLACK_RETRIES = 2  # Lambda's async retries of a failed Slack delivery (its maximum); then the queue


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm on a run metric, with the `Stage` dimension filled in at render time."""

    key: str
    metric: str
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    description: str


ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec("denied", "ProbesDenied", "Maximum", "GreaterThanOrEqualToThreshold", 1, 1, 1, "notBreaching",
              "A probe was DENIED: the role lacks a permission the API needs. One bad run is enough."),
    AlarmSpec("errors", "ProbesErrored", "Maximum", "GreaterThanOrEqualToThreshold", 1, 2, 2, "notBreaching",
              "Probes errored in 2 consecutive runs (missing resource, unverified identity, throttling...)."),
    AlarmSpec("heartbeat", "ProbesRun", "SampleCount", "LessThanThreshold", 1, 3, 3, "breaching",
              "The canary has not run or published for 3 periods: no data must never look healthy."),
)


def topic_name(stage: str, env: Mapping[str, str] | None = None) -> str:
    """Name the stage's alarm topic (`CANARY_ALARM_TOPIC` overrides), the same for every path."""
    env = os.environ if env is None else env
    return env.get("CANARY_ALARM_TOPIC") or f"permission-canary-alarms-{stage}"


def alarm_name(spec: AlarmSpec, stage: str, namespace: str) -> str:
    return f"{namespace}-{stage}-{spec.key}"


def undelivered_queue_name(stage: str) -> str:
    """The SQS queue that keeps the alarm notifications the Slack function could not deliver."""
    return f"permission-canary-undelivered-{stage}"


def alarm_email(env: Mapping[str, str] | None = None) -> str | None:
    """An address to subscribe to the alarm topic (`CANARY_ALARM_EMAIL`): the path that works when Slack does not."""
    env = os.environ if env is None else env
    value = (env.get("CANARY_ALARM_EMAIL") or "").strip()
    return value or None


def undelivered_alarm_params(stage: str, namespace: str, topic_arn: Any, queue_name: Any = None) -> dict[str, Any]:
    """The alarm on the undelivered-alerts queue: one message is enough (`PutMetricAlarm` keys).

    It notifies the same topic: Slack gets it if Slack works again (the failure was transient, or a
    webhook was fixed) and any other subscription (`CANARY_ALARM_EMAIL`, a pager) gets it regardless.
    """
    return {
        "AlarmName": f"{namespace}-{stage}-{UNDELIVERED_KEY}",
        "AlarmDescription": ("Alarm notifications could not be delivered to Slack after retries; they are kept in "
                             "the queue named in the dimension. Read them there; fix the webhook or the function."),
        "Namespace": UNDELIVERED_NAMESPACE,
        "MetricName": UNDELIVERED_METRIC,
        "Dimensions": [{"Name": "QueueName", "Value": queue_name or undelivered_queue_name(stage)}],
        "Statistic": "Maximum",
        "Period": UNDELIVERED_PERIOD_S,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        # ALARM only: an OK notification through a still-broken Slack would land in the queue again.
        "AlarmActions": [topic_arn],
    }


def _dimensions(stage: str) -> list[dict[str, str]]:
    return [{"Name": "Stage", "Value": stage}]


def alarm_api_params(spec: AlarmSpec, stage: str, namespace: str, topic_arn: Any) -> dict[str, Any]:
    """The alarm as `PutMetricAlarm` parameters; CloudFormation uses the same keys."""
    return {
        "AlarmName": alarm_name(spec, stage, namespace),
        "AlarmDescription": spec.description,
        "Namespace": namespace,
        "MetricName": spec.metric,
        "Dimensions": _dimensions(stage),
        "Statistic": spec.statistic,
        "Period": PERIOD_S,
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm,
        "Threshold": spec.threshold,
        "ComparisonOperator": spec.comparison,
        "TreatMissingData": spec.treat_missing_data,
        "ActionsEnabled": True,
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
    }


def cfn_resource_name(function_name: str) -> str:
    """Name a chalice function's CloudFormation resource as `chalice package` does."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", function_name) if part)


def _dashboard_body(stage: str, namespace: str) -> dict[str, Any]:
    widgets = []
    for i, metric in enumerate(METRICS):
        stat = "SampleCount" if metric == "ProbesRun" else "Maximum"
        widgets.append({
            "type": "metric", "x": (i % 3) * 8, "y": 0, "width": 8, "height": 6,
            "properties": {
                "title": f"{metric} ({stage})", "region": "${AWS::Region}", "view": "timeSeries",
                "stat": stat, "period": PERIOD_S,
                "metrics": [[namespace, metric, "Stage", stage]],
            },
        })
    return {"widgets": widgets}


def merge_template(stage: str, namespace: str, *, topic: str | None = None,
                   function_prefix: str = "", email: str | None = None) -> dict[str, Any]:
    """CloudFormation for `chalice package --merge-template`: topic, alarms, dashboard, no retries.

    The Slack function's SNS event is re-pointed at the topic resource, which makes CloudFormation
    create the topic before the subscription (chalice writes an ARN built from the name). A failed
    Slack delivery is retried by Lambda (`SLACK_RETRIES`), then kept in the undelivered-alerts queue
    (the function's on-failure destination), which has its own alarm. `email` (default
    `CANARY_ALARM_EMAIL`) subscribes an address to the topic.
    """
    canary_fn = cfn_resource_name(function_prefix + FUNCTION_CANARY)
    slack_fn = cfn_resource_name(function_prefix + FUNCTION_SLACK)
    resources: dict[str, Any] = {
        "PermissionCanaryAlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": topic or topic_name(stage),
                           "DisplayName": f"Permission canary alarms ({stage})"},
        },
    }
    ref = {"Ref": "PermissionCanaryAlarmTopic"}
    for spec in ALARMS:
        resources[f"PermissionCanary{spec.key.capitalize()}Alarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": alarm_api_params(spec, stage, namespace, ref),
        }
    resources["PermissionCanaryDashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": f"{namespace}-{stage}",
                       "DashboardBody": {"Fn::Sub": json.dumps(_dashboard_body(stage, namespace),
                                                               separators=(",", ":"))}},
    }
    # A retried canary triples the probes; a missed run is what the heartbeat alarm is for.
    resources[canary_fn] = {"Properties": {"EventInvokeConfig": {"MaximumRetryAttempts": 0}}}
    sns_event = cfn_resource_name(function_prefix + FUNCTION_SLACK + "-sns-subscription")
    # chalice writes {"Fn::Sub": "arn:...:<topic name>"}; the deep merge replaces that string, and
    # "${PermissionCanaryAlarmTopic}" resolves to the topic's ARN and orders the two resources.
    resources[slack_fn] = {"Properties": {
        "Events": {sns_event: {"Properties": {"Topic": {"Fn::Sub": "${PermissionCanaryAlarmTopic}"}}}},
        # Lambda sends the failed event (with the error) to the queue with the function's own role,
        # which `slack_policy` grants sqs:SendMessage on this queue.
        "EventInvokeConfig": {"MaximumRetryAttempts": SLACK_RETRIES, "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["PermissionCanaryUndeliveredQueue", "Arn"]}}}},
    }}
    resources["PermissionCanaryUndeliveredQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": undelivered_queue_name(stage), "MessageRetentionPeriod": UNDELIVERED_RETENTION_S,
                       "SqsManagedSseEnabled": True},
    }
    resources["PermissionCanaryUndeliveredAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": undelivered_alarm_params(stage, namespace, ref,
                                               {"Fn::GetAtt": ["PermissionCanaryUndeliveredQueue", "QueueName"]}),
    }
    email = email or alarm_email()
    if email:
        resources["PermissionCanaryAlarmEmail"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": ref, "Protocol": "email", "Endpoint": email},
        }
    return {
        "Resources": resources,
        "Outputs": {"PermissionCanaryAlarmTopicArn": {"Value": ref},
                    "PermissionCanaryUndeliveredQueueUrl": {"Value": {"Ref": "PermissionCanaryUndeliveredQueue"}}},
    }


def provision(session: Any, stage: str, namespace: str, *, endpoint_url: str | None = None,
              region: str | None = None, topic: str | None = None,
              function_name: str | None = None, slack_function_name: str | None = None,
              email: str | None = None) -> dict[str, Any]:
    """Create (or update in place) the stage's topic, alarms and undelivered-alerts queue.

    With `function_name` (the deployed scheduled function), its async retries are set to 0 too;
    with `slack_function_name`, the Slack function gets `SLACK_RETRIES` retries and the queue as its
    on-failure destination. `email` (default `CANARY_ALARM_EMAIL`) is subscribed to the topic.
    """
    kw: dict[str, Any] = {"endpoint_url": endpoint_url}
    if region:
        kw["region_name"] = region
    sns = session.client("sns", **kw)
    cloudwatch = session.client("cloudwatch", **kw)
    topic_arn = sns.create_topic(Name=topic or topic_name(stage))["TopicArn"]
    sqs = session.client("sqs", **kw)
    queue_name = undelivered_queue_name(stage)
    queue_url = sqs.create_queue(QueueName=queue_name, Attributes={
        "MessageRetentionPeriod": str(UNDELIVERED_RETENTION_S), "SqsManagedSseEnabled": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    names = []
    for params in [*(alarm_api_params(spec, stage, namespace, topic_arn) for spec in ALARMS),
                   undelivered_alarm_params(stage, namespace, topic_arn, queue_name)]:
        cloudwatch.put_metric_alarm(**params)
        names.append(params["AlarmName"])
    done: dict[str, Any] = {"topic_arn": topic_arn, "alarms": names, "undelivered_queue": queue_arn}
    email = email or alarm_email()
    if email:
        # Idempotent: SNS answers the existing subscription (or "pending confirmation") for the same endpoint.
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
        done["email"] = email
    if function_name or slack_function_name:
        lam = session.client("lambda", **kw)
        if function_name:
            lam.put_function_event_invoke_config(FunctionName=function_name, MaximumRetryAttempts=0)
            done["no_retries"] = function_name
        if slack_function_name:
            answer = lam.put_function_event_invoke_config(
                FunctionName=slack_function_name, MaximumRetryAttempts=SLACK_RETRIES,
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
            done["on_failure"] = {"function": slack_function_name,
                                  "retries": answer.get("MaximumRetryAttempts"),
                                  "destination": ((answer.get("DestinationConfig") or {}).get("OnFailure")
                                                  or {}).get("Destination")}
    return done
