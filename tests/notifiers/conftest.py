"""Fixtures for the Slack notifier: a real HTTP server on 127.0.0.1 plays Slack, moto plays AWS.

The webhook URL in every test carries a recognisable secret token; `assert_never_leaked` checks
that neither the URL nor its token shows up in logs, stdout/stderr or the handler's result.
The access logs of the two servers that play Slack and AWS (werkzeug, moto) are not the system
under test — real Slack's and AWS's logs are not ours either — so werkzeug is held at ERROR here.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
from importlib import resources
from typing import Any, Callable, Iterator

import pytest

from canary.notifiers import secrets

TOKEN = "s3cr3tW3bh00kT0k3nXYZ"
HOOK_PATH = f"/services/T0CANARY/B0CANARY/{TOKEN}"


def sample(name: str) -> dict[str, Any]:
    """A sample shipped in canary/data (the same files the demo uses)."""
    return json.loads(resources.files("canary").joinpath("data", name).read_text(encoding="utf-8"))


def alarm_json(name: str = "sample-alarm-denied.json", **changes: Any) -> str:
    data = copy.deepcopy(sample(name))
    data.update(changes)
    return json.dumps(data)


def failing_result(i: int, *, outcome: str = "DENIED", message_len: int = 200) -> dict[str, Any]:
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/table-{i:03d}"
    return {"id": f"probe-{i:03d}", "action": "dynamodb:UpdateItem", "resource": arn, "outcome": outcome,
            "deny_reason": "implicit" if outcome == "DENIED" else None,
            "error_code": "AccessDeniedException" if outcome == "DENIED" else "ResourceNotFoundException",
            "message": ("x" * message_len), "transient": False, "duration_ms": 3, "attempts": 1,
            "remediation": {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": arn}
            if outcome == "DENIED" else None}


def report_with(results: list[dict[str, Any]], stage: str = "dev") -> dict[str, Any]:
    return {"ok": not any(r["outcome"] != "ALLOWED" for r in results), "stage": stage,
            "started_at": "2026-01-23T07:28:00Z", "duration_ms": 40,
            "principal": "arn:aws:sts::123456789012:assumed-role/api-dev/api-dev",
            "summary": {"allowed": sum(r["outcome"] == "ALLOWED" for r in results),
                        "denied": sum(r["outcome"] == "DENIED" for r in results),
                        "error": sum(r["outcome"] == "ERROR" for r in results)},
            "results": results}


@pytest.fixture(autouse=True)
def _fresh_secret_cache() -> Iterator[None]:
    from canary.notifiers.handler import forget_posted

    secrets.clear_cache()
    forget_posted()  # each test is a fresh container: nothing posted yet
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    yield
    secrets.clear_cache()
    forget_posted()


@pytest.fixture
def hook_url(httpserver: Any) -> str:
    """The webhook URL on the local server that plays Slack."""
    return httpserver.url_for(HOOK_PATH)


@pytest.fixture
def refused_url() -> str:
    """A webhook URL on a 127.0.0.1 port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{HOOK_PATH}"


@pytest.fixture
def assert_never_leaked(caplog: pytest.LogCaptureFixture,
                        capsys: pytest.CaptureFixture[str]) -> Callable[..., None]:
    """Check logs (captured at DEBUG, every logger), stdout/stderr and given values for the secret."""
    caplog.set_level(logging.DEBUG)

    def check(*values: Any, url: str | None = None) -> None:
        out, err = capsys.readouterr()
        texts = [caplog.text, out, err, *(repr(v) for v in values)]
        texts += [r.getMessage() for r in caplog.records]
        for needle in filter(None, (TOKEN, HOOK_PATH, url)):
            for text in texts:
                assert needle not in text, f"secret leaked: {text[:300]!r}"

    return check


def posted(httpserver: Any) -> list[dict[str, Any]]:
    """The JSON bodies the fake Slack received, in order."""
    return [json.loads(req.get_data(as_text=True)) for req, _ in httpserver.log]
