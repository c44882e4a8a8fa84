"""`permission-canary invoke`: the post-deploy gate, against a stub Lambda Invoke API on 127.0.0.1.

moto's Lambda cannot run a function without Docker, so a small HTTP server answers the Invoke
API (`POST /2015-03-31/functions/<name>/invocations`) with what the deployed function would
return; moto's Lambda API covers the case it can: the function does not exist.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from canary.cli.deploy import invoke
from canary.emulator import Emulator

ARN = "arn:aws:lambda:us-east-1:123456789012:function:permission-canary-dev-permission_canary_invoke"


def _report(denied: int = 0, error: int = 0) -> dict[str, Any]:
    results = [{"id": "listings-update", "action": "dynamodb:UpdateItem",
                "resource": "arn:aws:dynamodb:us-east-1:123456789012:table/listings-dev",
                "outcome": "DENIED" if denied else ("ERROR" if error else "ALLOWED"),
                "deny_reason": "implicit" if denied else None, "error_code": "AccessDeniedException" if denied else None,
                "message": "not authorized" if denied else None, "transient": False, "duration_ms": 12,
                "attempts": 1, "remediation": None}]
    return {"ok": not (denied or error), "stage": "dev", "started_at": "2026-01-23T07:28:00Z", "duration_ms": 41,
            "principal": "arn:aws:sts::123456789012:assumed-role/api-dev/api-dev",
            "summary": {"allowed": 1 - denied - error, "denied": denied, "error": error}, "results": results}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "dev.json").write_text(json.dumps({"schema_version": "2.0", "backend": "api", "resources": [
        {"name": "permission_canary", "resource_type": "lambda_function", "lambda_arn": ARN.replace("_invoke", "")},
        {"name": "permission_canary_invoke", "resource_type": "lambda_function", "lambda_arn": ARN}]}))
    return tmp_path


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return monkeypatch


def _stub(httpserver: HTTPServer, body: Any, *, function_error: str | None = None) -> None:
    headers = {"X-Amz-Executed-Version": "$LATEST"}
    if function_error:
        headers["X-Amz-Function-Error"] = function_error
    httpserver.expect_request(f"/2015-03-31/functions/{ARN}/invocations", method="POST").respond_with_data(
        json.dumps(body), status=200, headers=headers, content_type="application/json")


def _run(project: Path, *args: str) -> Any:
    return CliRunner().invoke(invoke, ["--stage", "dev", "--project-dir", str(project), *args])


@pytest.mark.parametrize("report, code", [(_report(), 0), (_report(denied=1), 1), (_report(error=1), 3)])
def test_gate_exits_like_run(project: Path, httpserver: HTTPServer, aws_env: pytest.MonkeyPatch,
                             report: dict[str, Any], code: int) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", httpserver.url_for(""))
    _stub(httpserver, report)
    result = _run(project, "--format", "json")
    assert result.exit_code == code, result.output
    assert json.loads(result.output) == report


def test_gate_sends_the_payload_and_prints_the_table(project: Path, httpserver: HTTPServer,
                                                     aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", httpserver.url_for(""))
    _stub(httpserver, _report(denied=1))
    result = _run(project, "--payload", '{"probes": ["listings-update"], "publish": false}')
    assert result.exit_code == 1
    assert "DENIED" in result.output and "listings-update" in result.output
    (request, _), = httpserver.log
    assert json.loads(request.get_data()) == {"probes": ["listings-update"], "publish": False}
    assert request.headers["X-Amz-Invocation-Type"] == "RequestResponse"


def test_function_error_exits_3_with_the_error_message(project: Path, httpserver: HTTPServer,
                                                       aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", httpserver.url_for(""))
    _stub(httpserver, {"errorMessage": "Task timed out after 60.00 seconds", "errorType": "Sandbox.Timedout"},
          function_error="Unhandled")
    result = _run(project)
    assert result.exit_code == 3
    assert "failed (Unhandled: Sandbox.Timedout): Task timed out after 60.00 seconds" in result.output


def test_unreachable_lambda_exits_3_with_a_clear_message(project: Path, aws_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    aws_env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    result = _run(project)
    assert result.exit_code == 3
    assert f"could not invoke {ARN}" in result.output


def test_function_missing_in_lambda_exits_3(project: Path, emu: Emulator, aws_env: pytest.MonkeyPatch) -> None:
    for k, v in emu.env().items():
        aws_env.setenv(k, v)
    result = _run(project)
    assert result.exit_code == 3
    assert "ResourceNotFoundException" in result.output


def test_not_deployed_stage_is_a_usage_error(tmp_path: Path, aws_env: pytest.MonkeyPatch) -> None:
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "no deployed function 'permission_canary_invoke' for stage 'dev'" in result.output
    assert "run `chalice deploy --stage dev` first, or pass --function" in result.output


def test_payload_that_is_not_json_is_a_usage_error(project: Path, aws_env: pytest.MonkeyPatch) -> None:
    result = _run(project, "--payload", "{probes")
    assert result.exit_code == 2
    assert "--payload" in result.output


@pytest.mark.parametrize("report, code", [(_report(), 0), (_report(denied=1), 1), (_report(error=1), 3)])
def test_deploy_takes_the_gates_exit_code_from_the_in_process_invoke(
        project: Path, httpserver: HTTPServer, aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        report: dict[str, Any], code: int) -> None:
    """`deploy` runs `invoke` in-process as its last step; the gate's verdict must become deploy's exit code."""
    from canary.cli.deploy import _step

    aws_env.setenv("AWS_ENDPOINT_URL", httpserver.url_for(""))
    _stub(httpserver, report)
    assert _step(invoke, ["--stage", "dev", "--project-dir", str(project), "--format", "json"], to_stderr=False) == code
    out, err = capsys.readouterr()
    assert json.loads(out) == report
    assert err.startswith(f"+ permission-canary invoke --stage dev --project-dir {project}")
