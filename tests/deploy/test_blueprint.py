"""The blueprint: the contract's three functions, and an import path that stays lean."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from chalice import Chalice

from tests.deploy.conftest import ROOT

HEAVY = ("aws_xray_sdk", "slack_sdk", "rich", "yaml", "boto3", "botocore", "pydantic", "moto", "click",
         "canary.handlers", "canary.runner", "canary.config", "canary.deployconfig")


def test_importing_the_blueprint_imports_nothing_heavy() -> None:
    code = ("import json, sys; import canary.blueprint; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {[h.split('.')[0] for h in HEAVY]!r} "
            f"or m in {list(HEAVY)!r})))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_LAMBDA_FUNCTION_NAME"] = "permission-canary-dev-permission_canary"  # as in Lambda
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_blueprint_registers_the_three_contract_functions_on_an_api() -> None:
    from canary.blueprint import canary_blueprint

    api = Chalice(app_name="listings-api")
    api.register_blueprint(canary_blueprint)
    assert {"permission_canary", "permission_canary_invoke", "permission_canary_alarm_to_slack"} <= set(api.handler_map)
    (schedule,) = [e for e in api.event_sources if e.name == "permission_canary"]
    assert schedule.schedule_expression.to_string() == "rate(15 minutes)"
    (sns,) = [e for e in api.event_sources if e.name == "permission_canary_alarm_to_slack"]
    assert sns.topic == "permission-canary-alarms-dev"


def test_standalone_app_is_the_blueprint_and_nothing_else() -> None:
    text = (ROOT / "app.py").read_text()
    assert "app.register_blueprint(canary_blueprint)" in text
