"""`chalice package` of the standalone app, for both stages: what ships, and what CloudFormation gets."""

from __future__ import annotations

import re
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
    alarms = {k: a for k, a in alarms.items() if a["Namespace"] != "AWS/SQS"}  # the undelivered-alerts alarm
    assert {a["MetricName"] for a in alarms.values()} == {"ProbesDenied", "ProbesErrored", "ProbesRun"}
    assert all(a["Dimensions"] == [{"Name": "Stage", "Value": "prod"}] for a in alarms.values())
    body = json.loads(res["PermissionCanaryDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    assert sorted(w["properties"]["metrics"][0][1] for w in body["widgets"]) == ["ProbesDenied", "ProbesErrored",
                                                                                 "ProbesRun"]


@pytest.mark.parametrize("stage", STAGES)
def test_failed_slack_deliveries_are_retried_then_kept_in_a_queue_the_role_may_write(
        packaged: dict[str, Packaged], stage: str) -> None:
    res = packaged[stage].template["Resources"]
    slack = res["PermissionCanaryAlarmToSlack"]["Properties"]
    on_failure = slack["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert slack["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["PermissionCanaryUndeliveredQueue", "Arn"]}}
    assert res["PermissionCanaryUndeliveredQueue"]["Properties"]["QueueName"] == f"permission-canary-undelivered-{stage}"
    policy = res["PermissionCanaryAlarmToSlackRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (send,) = [s for s in policy["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert send["Resource"] == f"arn:aws:sqs:us-east-1:123456789012:permission-canary-undelivered-{stage}"
    alarm = res["PermissionCanaryUndeliveredAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 1


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


def test_scripts_package_slims_a_zip_that_carries_runtime_provided_libraries(tmp_path: Path) -> None:
    # What chalice ships when an API adds aws-xray-sdk: botocore and its dependencies (the runtime has them).
    zip_path = tmp_path / "deployment.zip"
    kept = ["app.py", "canary/runner.py", "chalicelib/canary-dev.json", "pydantic/main.py", "aws_xray_sdk/core/__init__.py",
            "wrapt/__init__.py", "sixpack/x.py"]
    dropped = ["botocore/client.py", "botocore-1.44.8.dist-info/RECORD", "boto3/session.py", "s3transfer/manager.py",
               "jmespath/parser.py", "dateutil/tz.py", "python_dateutil-2.9.0.dist-info/METADATA", "six.py",
               "urllib3/poolmanager.py", "canary/__pycache__/runner.cpython-311.pyc"]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in kept + dropped:
            zf.writestr(name, b"x" * 2000)
    before, after = _package_script().slim_zip(zip_path)
    assert after < before
    assert sorted(zipfile.ZipFile(zip_path).namelist()) == sorted(kept)


def test_default_zip_is_lean_without_botocore_or_xray_sdk(packaged: dict[str, Packaged]) -> None:
    zip_path = packaged["dev"].zip_path
    tops = {n.split("/", 1)[0] for n in zipfile.ZipFile(zip_path).namelist()}
    assert not {t for t in tops if t.startswith(("botocore", "boto3", "aws_xray_sdk", "wrapt"))}
    assert {"canary", "chalicelib", "pydantic", "pydantic_core"} <= tops
    # The standalone app's zip is the canary and its runtime requirements: the embedding budget.
    assert zip_path.stat().st_size <= 3_500_000


def _requirements(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[<>=!~\[;\s]", line, maxsplit=1)[0]
            out[name.lower().replace("_", "-")] = line[len(name):].strip()
    return out


def test_requirements_agree_with_the_runtime_ranges_and_the_constraints() -> None:
    from packaging.specifiers import SpecifierSet

    from tests.deploy.conftest import ROOT

    pins = _requirements(ROOT / "requirements.txt")
    ranges = _requirements(ROOT / "canary" / "data" / "runtime-requirements.txt")
    constraints = _requirements(ROOT / "constraints.txt")
    assert set(pins) == set(ranges)  # the standalone zip carries exactly what `init` adds to an API
    assert "aws-xray-sdk" not in pins and "boto3" not in pins and "botocore" not in pins
    for name, pin in pins.items():
        assert pin.startswith("==") and constraints[name] == pin  # the tested version
        assert pin[2:] in SpecifierSet(ranges[name])  # inside the range embedding APIs get
    for name, spec in ranges.items():
        assert not spec.startswith("=="), f"{name}: a range, not a pin"


def test_pyproject_declares_ranges_and_the_constraints_pin_every_dependency() -> None:
    import tomllib

    from packaging.requirements import Requirement

    from tests.deploy.conftest import ROOT

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    constraints = _requirements(ROOT / "constraints.txt")
    declared = [Requirement(r) for r in meta["dependencies"]]
    declared += [Requirement(r) for group in meta["optional-dependencies"].values() for r in group
                 if not r.startswith("chalice-permission-canary")]
    for req in declared:
        assert not any(s.operator == "==" for s in req.specifier), f"{req}: an exact pin in pyproject.toml"
        name = req.name.lower().replace("_", "-")
        assert name in constraints, f"{req.name} has no tested version in constraints.txt"
        assert req.specifier.contains(constraints[name][2:], prereleases=True), (req, constraints[name])
    assert "aws-xray-sdk" not in {r.name for r in map(Requirement, meta["dependencies"])}  # optional: [xray]


def test_embedding_adds_at_most_3_5_mb_to_an_apis_zip(tmp_path: Path) -> None:
    """Plain `chalice package` of a small sample API, without and with the canary embedded."""
    bench_zip = _bench_zip()
    plain = bench_zip.write_sample_api(tmp_path / "plain")
    embedded = bench_zip.write_sample_api(tmp_path / "embedded")
    bench_zip.embed_canary(embedded)
    without = bench_zip.package(plain, tmp_path / "out-plain").stat().st_size
    with_canary = bench_zip.package(embedded, tmp_path / "out-embedded")
    assert with_canary.stat().st_size - without <= 3_500_000
    names = zipfile.ZipFile(with_canary).namelist()
    assert "canary/blueprint.py" in names and "chalicelib/canary-dev.json" in names
    assert not [n for n in names if n.startswith(("botocore/", "aws_xray_sdk/"))]


def _bench_zip() -> Any:
    import importlib.util
    import sys

    from tests.deploy.conftest import ROOT

    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    spec = importlib.util.spec_from_file_location("bench_zip", ROOT / "scripts" / "bench_zip.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
