"""`scripts/deploy` end to end against the moto server: provision, chalice deploy, provision, gate.

moto creates the functions, the Slack function's own role, the schedule and the SNS subscription,
but cannot run a function without Docker; so the gate's invoke comes back as a FunctionError and
the script must fail with exit 3 (the stub-endpoint tests in test_invoke.py cover the verdicts).
moto's SigV4 check rejects chalice's signed Lambda calls (SignatureDoesNotMatch on GetFunction,
a moto limit), so this test turns moto's IAM checks off while the script runs; no verdict here
depends on policy evaluation.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from canary.emulator import Emulator
from tests.deploy.conftest import BIN, ROOT, copy_project, edit_config, subprocess_env


def test_deploy_script_provisions_before_deploying_and_fails_when_the_gate_cannot_run(
        emu: Emulator, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (project / "scripts").mkdir()
    (project / "scripts" / "deploy").write_bytes((ROOT / "scripts" / "deploy").read_bytes())
    (project / "scripts" / "deploy").chmod(0o755)
    role = "listings-api-e2e"
    arn = emu.create_role(role, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": "*"}]})

    def point_at_role(cfg: dict) -> None:
        cfg["app_name"] = "canary-e2e"
        cfg["stages"]["dev"]["iam_role_arn"] = arn

    edit_config(project, point_at_role)
    emu._post("/moto-api/reset-auth", b"inf")
    try:
        result = subprocess.run([str(project / "scripts" / "deploy"), "dev"], capture_output=True, text=True,
                                cwd=project, env=subprocess_env(**emu.env(), VENV_BIN=str(BIN)), timeout=300)
        lam = emu.client("lambda")
        fn = "canary-e2e-dev-permission_canary"
        retries = lam.get_function_event_invoke_config(FunctionName=fn)["MaximumRetryAttempts"]
        roles = {name: lam.get_function(FunctionName=f"{fn}{name}")["Configuration"]["Role"]
                 for name in ("", "_invoke", "_alarm_to_slack")}
    finally:
        emu.enable_iam()
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    steps = [line for line in out.splitlines() if line.startswith("+ ")]
    assert [" ".join(s.split()[1:3]) for s in steps] == [
        "permission-canary provision", "chalice deploy", "permission-canary provision", "permission-canary invoke"]
    assert "Subscribing canary-e2e-dev-permission_canary_alarm_to_slack to SNS topic permission-canary-alarms-dev" in out
    assert "gate: probes errored on stage dev" in out
    assert retries == 0
    assert roles[""] == roles["_invoke"] == arn
    assert roles["_alarm_to_slack"] != arn
    deployed = json.loads((project / ".chalice" / "deployed" / "dev.json").read_text())
    assert {r["name"] for r in deployed["resources"]} >= {"permission_canary", "permission_canary_invoke",
                                                         "permission_canary_alarm_to_slack"}
