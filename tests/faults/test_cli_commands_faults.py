"""The deploy-side commands end by their total bound too: `invoke` (the post-deploy gate) and `provision`.

A read timeout never trips on an answer that drips one byte a second, so each command bounds its whole
call (canary._deadline.within) and exits 3 (an error, never 1 = DENIED) with one line when it is cut.
The endpoint is the local fault server: AWS behaviour moto cannot produce.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.faults.server import drip, fault_server

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:canary-dev-permission_canary_invoke"


def _cli(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
                "AWS_DEFAULT_REGION": "us-east-1"})
    # the outer timeout only detects a hang; the command must end by its own --timeout long before
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_invoke_against_a_dripping_lambda_ends_by_its_bound_with_exit_3():
    with fault_server() as fs:
        fs.on(drip(interval=0.5), service="lambda")
        p = _cli(["invoke", "--stage", "dev", "--function", ARN, "--format", "json", "--timeout", "3"], fs.url, ROOT)
    assert p.returncode == 3, p.stderr
    assert "no complete answer within 3 s" in p.stderr and "Traceback" not in p.stderr


def test_provision_against_a_dripping_aws_ends_by_its_bound_with_exit_3(tmp_path: Path):
    (tmp_path / ".chalice").mkdir()
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "canary-dev.json").write_text(json.dumps({"probes": [
        {"action": "dynamodb:GetItem", "table": "t-dev", "key": {"pk": "__permission_canary__"}}]}))
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "api", "stages": {
        "dev": {"iam_role_arn": "arn:aws:iam::123456789012:role/api-dev", "manage_iam_role": False,
                "environment_variables": {"CANARY_CONFIG": "chalicelib/canary-dev.json"},
                "lambda_functions": {"permission_canary_alarm_to_slack": {
                    "manage_iam_role": True, "autogen_policy": False, "iam_policy_file": "policy-slack-dev.json"}}}}}))
    (tmp_path / ".chalice" / "policy-slack-dev.json").write_text(json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"}]}))
    with fault_server() as fs:
        fs.on(drip(interval=0.5))
        p = _cli(["provision", "--stage", "dev", "--project-dir", str(tmp_path), "--timeout", "3"], fs.url, tmp_path)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "did not finish answering within 3 s" in p.stderr and "Traceback" not in p.stderr
