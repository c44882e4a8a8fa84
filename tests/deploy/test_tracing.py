"""X-Ray: one subsegment per probe, sent to a real UDP listener playing the X-Ray daemon.

The run happens in a child interpreter set up as a traced Lambda invocation (the environment the
Lambda runtime gives: AWS_LAMBDA_FUNCTION_NAME, LAMBDA_TASK_ROOT, AWS_XRAY_DAEMON_ADDRESS and
_X_AMZN_TRACE_ID), against the moto server, because botocore patching is process-wide.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from canary.emulator import Emulator
from tests.conftest import allow

CHILD = """
import json, sys
from canary.handlers import run_manual
class Ctx:
    def get_remaining_time_in_millis(self): return 60000
report = run_manual({"publish": False}, Ctx())
print(json.dumps({"summary": report["summary"], "xray": "aws_xray_sdk" in sys.modules, "errors": [r["message"] for r in report["results"] if r["outcome"] == "ERROR"]}))
"""
TRACE_ROOT = "1-67891233-abcdef012345678912345678"


def _run_child(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


@pytest.fixture
def lambda_env(tmp_path: Path, emu: Emulator, unique: Callable[[str], str],
               assume_role: Callable[..., Any]) -> dict[str, str]:
    table = unique("traced")
    emu.create_table(table, key="pk")
    (tmp_path / "canary.json").write_text(json.dumps({"version": 1, "max_workers": 4, "probes": [
        {"id": "t-update", "action": "dynamodb:UpdateItem", "table": table, "key": {"pk": "s"}},
        {"id": "t-delete", "action": "dynamodb:DeleteItem", "table": table, "key": {"pk": "s"}},
    ]}))
    creds = assume_role(allow("dynamodb:UpdateItem"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_X_AMZN"))}
    env.update(emu.env(creds))
    env.update({"CANARY_CONFIG": str(tmp_path / "canary.json"), "CANARY_STAGE": "dev",
                "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def test_outside_lambda_xray_is_never_imported_and_nothing_is_logged(lambda_env: dict[str, str], tmp_path: Path) -> None:
    env = {**lambda_env, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}  # a daemon address alone is not Lambda
    result = _run_child(env, tmp_path)
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last == {"summary": {"allowed": 1, "denied": 1, "error": 0}, "xray": False, "errors": []}
    assert "context" not in result.stderr.lower() and "xray" not in result.stderr.lower()


def test_traced_run_sends_one_annotated_subsegment_per_probe_and_no_fault_for_the_harmless_refusal(
        lambda_env: dict[str, str], tmp_path: Path) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    port = udp.getsockname()[1]
    env = {**lambda_env, "AWS_LAMBDA_FUNCTION_NAME": "permission-canary-dev-permission_canary_invoke",
           "LAMBDA_TASK_ROOT": str(tmp_path), "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
           "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"}
    result = _run_child(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["xray"] is True
    docs = []
    try:
        while True:
            header, _, body = udp.recv(65536).decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            docs.append(json.loads(body))
    except socket.timeout:
        pass
    finally:
        udp.close()
    run = next(d for d in docs if d["name"] == "permission_canary run")
    assert run["trace_id"] == TRACE_ROOT, result.stdout
    assert run["annotations"] == {"stage": "dev", "allowed": 1, "denied": 1, "error": 0}, result.stdout[-2000:]
    assert run["annotations"] == {"stage": "dev", "allowed": 1, "denied": 1, "error": 0}
    probes = {s["annotations"]["probe_id"]: s for s in run["subsegments"] if s["name"].startswith("probe ")}
    assert any(s.get("aws", {}).get("operation") == "GetCallerIdentity" for s in run["subsegments"])
    assert set(probes) == {"t-update", "t-delete"}
    update, delete = probes["t-update"], probes["t-delete"]
    assert update["annotations"] == {"probe_id": "t-update", "action": "dynamodb:UpdateItem", "outcome": "ALLOWED"}
    assert delete["annotations"]["outcome"] == "DENIED" and delete.get("error") is True
    # The AWS call under the ALLOWED probe ended in ConditionalCheckFailedException: not a fault.
    (call,) = update["subsegments"]
    assert call["namespace"] == "aws" and call["aws"]["operation"] == "UpdateItem"
    assert not call.get("fault") and not call.get("error") and "cause" not in call
    assert call["metadata"]["permission_canary"]["harmless_refusal"] == "ConditionalCheckFailedException"
    assert not update.get("fault") and not update.get("error")


# aws-xray-sdk is optional (not in the runtime requirements). Its absence is simulated the way Python
# itself reports a missing package: `sys.modules[name] = None` makes `import aws_xray_sdk` raise
# ImportError and find_spec answer None, exactly as when the zip does not carry it.
CHILD_WITHOUT_SDK = """
import json, logging, sys
sys.modules["aws_xray_sdk"] = None
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
from canary.handlers import run_manual
class Ctx:
    def get_remaining_time_in_millis(self): return 60000
for _ in range(2):  # a warm container says it once
    report = run_manual({"publish": False}, Ctx())
print(json.dumps({"summary": report["summary"], "errors": [r["message"] for r in report["results"] if r["outcome"] == "ERROR"]}))
"""


def test_without_aws_xray_sdk_a_traced_invocation_runs_untraced_and_says_so_once(
        lambda_env: dict[str, str], tmp_path: Path) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(1)
    port = udp.getsockname()[1]
    env = {**lambda_env, "AWS_LAMBDA_FUNCTION_NAME": "permission-canary-dev-permission_canary_invoke",
           "LAMBDA_TASK_ROOT": str(tmp_path), "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
           "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"}
    result = subprocess.run([sys.executable, "-c", CHILD_WITHOUT_SDK], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last == {"summary": {"allowed": 1, "denied": 1, "error": 0}, "errors": []}
    from canary.tracing import NO_SDK

    said = [line for line in result.stderr.splitlines() if "aws-xray-sdk" in line]
    assert said == [f"INFO canary.tracing {NO_SDK}"], result.stderr
    assert "Traceback" not in result.stderr
    try:
        sent = udp.recv(65536)
    except socket.timeout:
        sent = b""
    finally:
        udp.close()
    assert sent == b""  # no subsegments without the SDK


def test_sdk_available_reports_what_can_be_imported() -> None:
    from canary.tracing import sdk_available

    # The dev install carries aws-xray-sdk (the "xray" extra), so the traced test above runs for real.
    assert sdk_available() is True
