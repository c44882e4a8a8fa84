"""The three alarms: one definition, rendered as CloudFormation and created through the API (moto)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from canary.alarms import (ALARMS, METRICS, SLACK_RETRIES, alarm_api_params, merge_template, provision,
                           undelivered_alarm_params, undelivered_queue_name)
from canary.emulator import Emulator
from tests.deploy.conftest import BIN, ROOT, copy_project, subprocess_env


def _by_metric(alarms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["MetricName"]: a for a in alarms}


def test_alarm_thresholds_and_missing_data_follow_the_design() -> None:
    a = _by_metric([alarm_api_params(s, "dev", "PermissionCanary", "arn:topic") for s in ALARMS])
    denied, errors, heartbeat = a["ProbesDenied"], a["ProbesErrored"], a["ProbesRun"]
    assert (denied["Statistic"], denied["ComparisonOperator"], denied["Threshold"], denied["EvaluationPeriods"]) == \
        ("Maximum", "GreaterThanOrEqualToThreshold", 1, 1)
    assert (errors["Threshold"], errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == (1, 2, 2)
    assert (heartbeat["Statistic"], heartbeat["ComparisonOperator"], heartbeat["Threshold"],
            heartbeat["EvaluationPeriods"], heartbeat["TreatMissingData"]) == \
        ("SampleCount", "LessThanThreshold", 1, 3, "breaching")
    assert all(x["Period"] == 900 and x["OKActions"] == x["AlarmActions"] == ["arn:topic"] for x in a.values())


def test_template_and_provision_render_the_same_alarms() -> None:
    cfn = [r["Properties"] for r in merge_template("prod", "NS")["Resources"].values()
           if r.get("Type") == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] in METRICS]
    api = [alarm_api_params(s, "prod", "NS", {"Ref": "PermissionCanaryAlarmTopic"}) for s in ALARMS]
    assert sorted(cfn, key=lambda x: x["AlarmName"]) == sorted(api, key=lambda x: x["AlarmName"])


def test_template_keeps_undelivered_alerts_in_a_queue_that_has_its_own_alarm() -> None:
    res = merge_template("prod", "NS", email=None)["Resources"]
    slack = res["PermissionCanaryAlarmToSlack"]["Properties"]["EventInvokeConfig"]
    queue_arn = {"Fn::GetAtt": ["PermissionCanaryUndeliveredQueue", "Arn"]}
    assert slack == {"MaximumRetryAttempts": SLACK_RETRIES,
                     "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": queue_arn}}}
    queue = res["PermissionCanaryUndeliveredQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["QueueName"] == undelivered_queue_name("prod") == "permission-canary-undelivered-prod"
    alarm = res["PermissionCanaryUndeliveredAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == \
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "GreaterThanOrEqualToThreshold", 1)
    assert alarm["Dimensions"] == [{"Name": "QueueName",
                                    "Value": {"Fn::GetAtt": ["PermissionCanaryUndeliveredQueue", "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": "PermissionCanaryAlarmTopic"}] and "OKActions" not in alarm
    assert alarm["AlarmName"] == "NS-prod-undelivered"
    assert "PermissionCanaryAlarmEmail" not in res


def test_an_alarm_email_subscribes_to_the_topic_so_a_slack_outage_still_reaches_someone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_ALARM_EMAIL", "oncall@example.com")
    sub = merge_template("prod", "NS")["Resources"]["PermissionCanaryAlarmEmail"]
    assert sub == {"Type": "AWS::SNS::Subscription",
                   "Properties": {"TopicArn": {"Ref": "PermissionCanaryAlarmTopic"}, "Protocol": "email",
                                  "Endpoint": "oncall@example.com"}}


def test_the_undelivered_alarm_is_what_the_slack_function_recognises_as_the_canarys() -> None:
    from canary.notifiers.alarm import alarm_from_dict, canary_kind

    p = undelivered_alarm_params("prod", "PermissionCanary", "arn:topic")
    message = {"AlarmName": p["AlarmName"], "NewStateValue": "ALARM",
               "Trigger": {"MetricName": p["MetricName"], "Namespace": p["Namespace"],
                           "Dimensions": [{"name": d["Name"], "value": d["Value"]} for d in p["Dimensions"]]}}
    assert canary_kind(alarm_from_dict(message), namespace="PermissionCanary", stage="prod") == "undelivered"


def _state(emu: Emulator, namespace: str) -> tuple[list[str], list[dict[str, Any]]]:
    cw = emu.client("cloudwatch")
    alarms = [a for a in cw.describe_alarms(AlarmNamePrefix=f"{namespace}-")["MetricAlarms"]]
    keep = ("AlarmName", "MetricName", "Statistic", "Threshold", "EvaluationPeriods", "DatapointsToAlarm",
            "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions", "Dimensions")
    topics = [t["TopicArn"] for t in emu.client("sns").list_topics()["Topics"]]
    return sorted(topics), sorted(({k: a.get(k) for k in keep} for a in alarms), key=lambda a: a["AlarmName"])


def test_provision_is_idempotent_against_moto(emu: Emulator) -> None:
    session = emu.session()
    first = provision(session, "dev", "IdemNS", endpoint_url=emu.url, topic="idem-topic")
    state1 = _state(emu, "IdemNS")
    second = provision(session, "dev", "IdemNS", endpoint_url=emu.url, topic="idem-topic")
    assert first == second
    assert _state(emu, "IdemNS") == state1
    topics, alarms = state1
    assert len([t for t in topics if t.endswith(":idem-topic")]) == 1
    assert [a["AlarmName"] for a in alarms] == ["IdemNS-dev-denied", "IdemNS-dev-errors", "IdemNS-dev-heartbeat",
                                                "IdemNS-dev-undelivered"]
    assert all(a["AlarmActions"] == [first["topic_arn"]] for a in alarms)
    assert first["undelivered_queue"].endswith(":permission-canary-undelivered-dev")


def test_provision_makes_the_queue_the_slack_functions_on_failure_destination(emu: Emulator) -> None:
    import io
    import zipfile

    session = emu.session()
    lam = emu.client("lambda")
    iam = emu.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="slack-dlq-test", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return None\n")
    fn = lam.create_function(FunctionName="canary-dlq-test-alarm_to_slack", Runtime="python3.11", Role=role,
                             Handler="app.handler", Code={"ZipFile": code.getvalue()})["FunctionArn"]
    done = provision(session, "dlq", "DlqNS", endpoint_url=emu.url, topic="dlq-topic", slack_function_name=fn)
    # What Lambda (moto) stored and answered. (moto cannot verify the signature of a GET on this API.)
    assert done["on_failure"] == {"function": fn, "retries": SLACK_RETRIES, "destination": done["undelivered_queue"]}
    queues = emu.client("sqs").list_queues(QueueNamePrefix="permission-canary-undelivered-dlq")["QueueUrls"]
    assert len(queues) == 1


def test_provision_command_creates_topic_alarms_and_reports_them(emu: Emulator, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", share_cache=False)
    env = subprocess_env(**emu.env())
    runs = [subprocess.run([str(BIN / "permission-canary"), "provision", "--stage", "prod", "--project-dir",
                            str(project), "--no-sentinels"], capture_output=True, text=True, env=env, timeout=60)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
        assert "alarm   PermissionCanary-prod-heartbeat" in r.stdout
        assert "topic   arn:aws:sns:us-east-1:123456789012:permission-canary-alarms-prod" in r.stdout
        assert "alarm   PermissionCanary-prod-undelivered" in r.stdout
        assert "queue   arn:aws:sqs:us-east-1:123456789012:permission-canary-undelivered-prod" in r.stdout
    assert runs[0].stdout == runs[1].stdout


def test_template_command_refuses_a_broken_stage_with_exit_2(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", share_cache=False)
    (project / "chalicelib" / "canary-dev.json").unlink()
    r = subprocess.run([str(BIN / "permission-canary"), "template", "--stage", "dev", "--project-dir", str(project)],
                       capture_output=True, text=True, env=subprocess_env())
    assert r.returncode == 2
    assert "probe config for stage 'dev' not found" in r.stderr and "Traceback" not in r.stderr


def test_provision_exits_3_when_aws_cannot_create_a_sentinel(emu: Emulator, tmp_path: Path) -> None:
    """A sentinel in a bucket that does not exist: AWS says no, which is an error (3), not usage (2)."""
    import json

    project = copy_project(tmp_path / "project", share_cache=False)
    cfg_path = project / "chalicelib" / "canary-prod.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["probes"].append({"id": "uploads-get", "action": "s3:GetObject", "bucket": "no-such-bucket-for-canary",
                          "prefix": "u/"})
    cfg_path.write_text(json.dumps(cfg))
    r = subprocess.run([str(BIN / "permission-canary"), "provision", "--stage", "prod", "--project-dir",
                        str(project)], capture_output=True, text=True, env=subprocess_env(**emu.env()), timeout=60)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "sentinels:" in r.stderr and "no-such-bucket-for-canary" in r.stderr and "Traceback" not in r.stderr


def test_provision_subscribes_the_alarm_email_once(emu: Emulator) -> None:
    session = emu.session()
    for _ in range(2):
        done = provision(session, "mail", "MailNS", endpoint_url=emu.url, topic="mail-topic",
                         email="oncall@example.com")
    subs = emu.client("sns").list_subscriptions_by_topic(TopicArn=done["topic_arn"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]
