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
           "FUNCTION_SLACK"]

PERIOD_S = 900  # the schedule's rate: one run per period
METRICS = ("ProbesRun", "ProbesDenied", "ProbesErrored")
FUNCTION_CANARY = "permission_canary"
FUNCTION_INVOKE = "permission_canary_invoke"
FUNCTION_SLACK = "permission_canary_alarm_to_slack"


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
                   function_prefix: str = "") -> dict[str, Any]:
    """CloudFormation for `chalice package --merge-template`: topic, alarms, dashboard, no retries.

    The Slack function's SNS event is re-pointed at the topic resource, which makes CloudFormation
    create the topic before the subscription (chalice writes an ARN built from the name).
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
    resources[slack_fn] = {"Properties": {"Events": {sns_event: {"Properties": {
        "Topic": {"Fn::Sub": "${PermissionCanaryAlarmTopic}"}}}}}}
    return {
        "Resources": resources,
        "Outputs": {"PermissionCanaryAlarmTopicArn": {"Value": ref}},
    }


def provision(session: Any, stage: str, namespace: str, *, endpoint_url: str | None = None,
              region: str | None = None, topic: str | None = None,
              function_name: str | None = None) -> dict[str, Any]:
    """Create (or update in place) the stage's topic and alarms; return what exists afterwards.

    With `function_name` (the deployed scheduled function), its async retries are set to 0 too.
    """
    kw: dict[str, Any] = {"endpoint_url": endpoint_url}
    if region:
        kw["region_name"] = region
    sns = session.client("sns", **kw)
    cloudwatch = session.client("cloudwatch", **kw)
    topic_arn = sns.create_topic(Name=topic or topic_name(stage))["TopicArn"]
    names = []
    for spec in ALARMS:
        params = alarm_api_params(spec, stage, namespace, topic_arn)
        cloudwatch.put_metric_alarm(**params)
        names.append(params["AlarmName"])
    done: dict[str, Any] = {"topic_arn": topic_arn, "alarms": names}
    if function_name:
        lam = session.client("lambda", **kw)
        lam.put_function_event_invoke_config(FunctionName=function_name, MaximumRetryAttempts=0)
        done["no_retries"] = function_name
    return done
