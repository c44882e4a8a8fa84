"""The deployed Slack function, through chalice's test client: the SNS event in, a failed invocation out.

`chalice.test.Client` runs the blueprint's `permission_canary_alarm_to_slack` as Lambda would, with a
local Lambda context whose remaining time counts down (chalice's local default, 3 s: the handler's
deadline follows it, so how many retries fit varies with the backoff's jitter).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from canary.notifiers.handler import AlarmNotDelivered
from tests.deploy.conftest import ROOT, copy_project, edit_config
from tests.faults.server import fault_server, respond

from .conftest import HOOK_PATH, alarm_json


def _app() -> Any:
    spec = importlib.util.spec_from_file_location("canary_app_slack_glue", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project", share_cache=False)


def _use_webhook(project: Path, url: str) -> None:
    def change(cfg: dict[str, Any]) -> None:
        env = cfg["stages"]["dev"]["lambda_functions"]["permission_canary_alarm_to_slack"]["environment_variables"]
        env.pop("SLACK_WEBHOOK_SSM_PARAMETER")
        env["SLACK_WEBHOOK_URL"] = url

    edit_config(project, change)


def test_a_failed_delivery_fails_the_lambda_invocation_so_lambda_retries_it(project: Path) -> None:
    with fault_server() as slack:
        slack.on(respond(503, "service_unavailable", "text/plain"), path=HOOK_PATH)
        _use_webhook(project, slack.url + HOOK_PATH)
        with Client(_app(), stage_name="dev", project_dir=str(project)) as client:
            event = client.events.generate_sns_event(message=alarm_json("sample-alarm-ok.json"), subject="OK")
            with pytest.raises(AlarmNotDelivered) as caught:
                client.lambda_.invoke("permission_canary_alarm_to_slack", event)
        assert caught.value.result["status"] == 503
        assert 1 <= sum(r.path == HOOK_PATH for r in slack.requests) <= 3


def test_a_redelivered_sns_message_is_posted_once(project: Path) -> None:
    with fault_server() as slack:
        slack.on(respond(200, "ok", "text/plain"), path=HOOK_PATH)
        _use_webhook(project, slack.url + HOOK_PATH)
        with Client(_app(), stage_name="dev", project_dir=str(project)) as client:
            event = client.events.generate_sns_event(message=alarm_json("sample-alarm-ok.json"), subject="OK")
            first = client.lambda_.invoke("permission_canary_alarm_to_slack", event).payload
            again = client.lambda_.invoke("permission_canary_alarm_to_slack", json.loads(json.dumps(event))).payload
        assert (first["status"], again["status"]) == (200, "duplicate")
        assert sum(r.path == HOOK_PATH for r in slack.requests) == 1
