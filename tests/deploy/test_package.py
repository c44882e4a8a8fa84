"""`chalice package` of the standalone app, for both stages: what ships, and what CloudFormation gets."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import BIN, Packaged

API_ROLE = {"dev": "arn:aws:iam::123456789012:role/listings-api-dev",
            "prod": "arn:aws:iam::123456789012:role/listings-api-prod"}
STAGES = ("dev", "prod")


@pytest.mark.parametrize("stage", STAGES)
def test_zip_ships_canary_and_the_stage_probe_config_without_pycache(packaged: dict[str, Packaged], stage: str) -> None:
    names = zipfile.ZipFile(packaged[stage].zip_path).namelist()
    assert "canary/blueprint.py" in names and "canary/runner.py" in names
    assert "canary/probes/dynamodb.py" in names
    assert f"chalicelib/canary-{stage}.json" in names
    assert "app.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.parametrize("stage", STAGES)
def test_template_schedules_every_15_minutes_with_the_api_role_and_active_tracing(
        packaged: dict[str, Packaged], stage: str) -> None:
    res = packaged[stage].template["Resources"]
    canary = res["PermissionCanary"]["Properties"]
    assert canary["Events"]["PermissionCanaryEvent"]["Properties"]["Schedule"] == "rate(15 minutes)"
    for name in ("PermissionCanary", "PermissionCanaryInvoke"):
        props = res[name]["Properties"]
        assert props["Role"] == API_ROLE[stage]
        assert props["Tracing"] == "Active"
        assert props["Environment"]["Variables"]["CANARY_CONFIG"] == f"chalicelib/canary-{stage}.json"
    assert canary["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}


@pytest.mark.parametrize("stage", STAGES)
def test_slack_function_has_its_own_role_subscribed_to_the_stage_topic(packaged: dict[str, Packaged], stage: str) -> None:
    res = packaged[stage].template["Resources"]
    slack = res["PermissionCanaryAlarmToSlack"]["Properties"]
    assert slack["Role"] == {"Fn::GetAtt": ["PermissionCanaryAlarmToSlackRole", "Arn"]}
    assert slack["Role"] != API_ROLE[stage]
    policy = res["PermissionCanaryAlarmToSlackRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "logs:FilterLogEvents" in actions and "ssm:GetParameter" in actions
    assert not any(a.startswith(("dynamodb:", "ses:")) or a == "*" for a in actions)
    topic = slack["Events"]["PermissionCanaryAlarmToSlackSnsSubscription"]["Properties"]["Topic"]
    assert topic == {"Fn::Sub": "${PermissionCanaryAlarmTopic}"}
    assert res["PermissionCanaryAlarmTopic"]["Properties"]["TopicName"] == f"permission-canary-alarms-{stage}"


def test_merged_templates_pass_cfn_lint(packaged: dict[str, Packaged]) -> None:
    lint = subprocess.run([str(BIN / "cfn-lint"), *(str(packaged[s].out / "sam.json") for s in STAGES)],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_merged_template_holds_the_three_alarms_and_a_widget_per_metric(packaged: dict[str, Packaged]) -> None:
    import json

    res = packaged["prod"].template["Resources"]
    alarms = {k: v["Properties"] for k, v in res.items() if v.get("Type") == "AWS::CloudWatch::Alarm"}
    assert {a["MetricName"] for a in alarms.values()} == {"ProbesDenied", "ProbesErrored", "ProbesRun"}
    assert all(a["Dimensions"] == [{"Name": "Stage", "Value": "prod"}] for a in alarms.values())
    body = json.loads(res["PermissionCanaryDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    assert sorted(w["properties"]["metrics"][0][1] for w in body["widgets"]) == ["ProbesDenied", "ProbesErrored",
                                                                                 "ProbesRun"]


def _package_script() -> Any:
    from importlib.machinery import SourceFileLoader
    from importlib.util import module_from_spec, spec_from_loader

    from tests.deploy.conftest import ROOT

    loader = SourceFileLoader("package_script", str(ROOT / "scripts" / "package"))
    spec = spec_from_loader("package_script", loader)
    assert spec
    module = module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_scripts_package_slims_the_zip_below_10_mb_keeping_what_the_runtime_lacks(
        packaged: dict[str, Packaged], tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    shutil.copy(packaged["dev"].zip_path, zip_path)
    before, after = _package_script().slim_zip(zip_path)
    assert after <= 10 * 1000 * 1000 < before  # aws-xray-sdk drags in botocore (~16 MB compressed)
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"botocore", "boto3", "s3transfer", "jmespath", "dateutil", "urllib3"}
    assert {"canary", "chalicelib", "pydantic", "pydantic_core", "aws_xray_sdk", "wrapt", "slack_sdk"} <= tops
    assert not [n for n in names if "__pycache__" in n]
