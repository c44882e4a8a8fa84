"""The run under faults: the deadline holds whatever the endpoint does, and answers already in hand are kept.

The fault server sits in front of the session's moto server (IAM checks on, assumed-role
credentials): requests no rule takes pass through, so every DENIED below is moto's policy
evaluation, and only the faulted calls misbehave. No test asserts a duration: each run happens on
a daemon thread (or a subprocess) whose generous join timeout is the failure detector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from canary.config import parse_config
from canary.model import Outcome, Report, exit_code
from canary.runner import run
from tests.conftest import allow
from tests.faults.server import barrier, drip, garbage, hang, reset, server_error, throttle, truncate

KEY = {"pk": "__permission_canary__"}
DETECTOR_S = 60.0  # a run that has not returned by then never would: the test fails, it does not hang


def cfg(*probes: dict[str, Any], **settings: Any):
    return parse_config({**settings, "probes": list(probes)}, env={})


def finish(fn: Callable[[], Report]) -> Report:
    """Run `fn` on a daemon thread; fail (instead of hanging) if it does not return."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["report"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["error"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(DETECTOR_S)
    assert not t.is_alive(), f"the run did not return within {DETECTOR_S}s"
    if "error" in box:
        raise box["error"]
    return box["report"]


def canary_threads() -> list[threading.Thread]:
    """Threads the canary may have started (the fault server's own are not counted)."""
    return [t for t in threading.enumerate()
            if "process_request_thread" not in t.name and t.name != "fault-server" and t.is_alive()]


@pytest.fixture(scope="module")
def table(emu) -> str:
    name = f"faults-{os.getpid()}"
    emu.create_table(name, "pk")
    return name


@pytest.fixture(scope="module")
def creds(emu):
    """May read and update the table; may not delete from it."""
    arn = emu.create_role(f"faults-{os.getpid()}", {"Version": "2012-10-17", "Statement": [
        allow("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DescribeTable")]})
    return emu.assume(arn)


def probes(table: str) -> list[dict[str, Any]]:
    return [{"id": "get", "action": "dynamodb:GetItem", "table": table, "key": KEY},
            {"id": "delete", "action": "dynamodb:DeleteItem", "table": table, "key": KEY},
            {"id": "describe", "action": "dynamodb:DescribeTable", "table": table}]


def outcomes(report: Report) -> dict[str, tuple[str, str | None]]:
    """Outcome by probe id, with the error code of an ERROR (a denial's code is moto's, not the point)."""
    return {r.id: (r.outcome.value, r.error_code if r.outcome is Outcome.ERROR else None) for r in report.results}


@pytest.mark.parametrize("fault", [hang, lambda: drip(interval=0.2)], ids=["hang", "drip"])
def test_a_stuck_sts_never_turns_a_denial_into_an_error(emu, faults_emu, creds, table, fault):
    faults_emu.on(fault(), service="sts")
    session = emu.session(creds)
    report = finish(lambda: run(cfg(*probes(table), probe_timeout_s=1, deadline_s=20), session,
                                endpoint_url=faults_emu.url, stage="test"))
    assert outcomes(report) == {"get": ("ALLOWED", None), "delete": ("DENIED", None),
                                "describe": ("ALLOWED", None)}
    assert exit_code(report) == 1
    assert report.principal is None  # STS only enriches the report
    assert faults_emu.seen("sts", "GetCallerIdentity")


def test_the_account_comes_from_a_known_arn_when_sts_is_stuck(emu, faults_emu, creds, table):
    faults_emu.on(drip(interval=0.2), service="sts")
    report = finish(lambda: run(cfg(*probes(table)[1:2], probe_timeout_s=1), emu.session(creds),
                                endpoint_url=faults_emu.url,
                                account_arn="arn:aws:lambda:us-east-1:210987654321:function:canary"))
    (r,) = report.results
    assert r.outcome is Outcome.DENIED
    assert r.resource == f"arn:aws:dynamodb:us-east-1:210987654321:table/{table}"
    assert r.remediation and r.remediation["Resource"] == r.resource


@pytest.mark.parametrize("fault", [hang, lambda: drip(interval=0.2)], ids=["hang", "drip"])
def test_answers_in_hand_are_kept_and_only_the_stuck_probe_misses_the_deadline(emu, faults_emu, creds, table,
                                                                               fault):
    faults_emu.on(fault(), service="dynamodb", operation="DescribeTable")
    # probe_timeout_s longer than the deadline: only the deadline can end the stuck call
    report = finish(lambda: run(cfg(*probes(table), probe_timeout_s=30, deadline_s=3, retries=0),
                                emu.session(creds), endpoint_url=faults_emu.url))
    assert outcomes(report) == {"get": ("ALLOWED", None), "delete": ("DENIED", None),
                                "describe": ("ERROR", "DeadlineExceeded")}
    assert report.results[2].transient and exit_code(report) == 1


def test_sequential_mode_ends_by_the_deadline_too(emu, faults_emu, creds, table):
    faults_emu.on(hang(), service="dynamodb", operation="GetItem")
    six = [{"id": f"p{i}", "action": "dynamodb:GetItem", "table": table, "key": KEY} for i in range(6)]
    report = finish(lambda: run(cfg(*six, probe_timeout_s=30, deadline_s=2, max_workers=1), emu.session(creds),
                                endpoint_url=faults_emu.url))
    assert {r.error_code for r in report.results} == {"DeadlineExceeded"}
    assert len(report.results) == 6


def test_a_dripping_answer_costs_one_attempt_bound_not_the_run_even_in_sequential_mode(emu, faults_emu, creds,
                                                                                       table):
    faults_emu.on(drip(interval=0.2), service="dynamodb", operation="GetItem", times=1)  # only the first call
    six = [{"id": f"p{i}", "action": "dynamodb:GetItem", "table": table, "key": KEY} for i in range(6)]
    report = finish(lambda: run(cfg(*six, probe_timeout_s=1, deadline_s=40, max_workers=1, retries=0),
                                emu.session(creds), endpoint_url=faults_emu.url))
    assert [(r.outcome.value, r.error_code) for r in report.results] == [("ERROR", "Timeout")] + [("ALLOWED", None)] * 5
    assert report.results[0].transient


def test_a_throttled_call_is_retried_and_its_second_answer_counts(emu, faults_emu, creds, table):
    faults_emu.on(throttle(), service="dynamodb", operation="DeleteItem", times=1)
    report = finish(lambda: run(cfg(*probes(table)[1:2], retries=2), emu.session(creds),
                                endpoint_url=faults_emu.url))
    (r,) = report.results
    assert (r.outcome, r.attempts) == (Outcome.DENIED, 2)


def test_a_warm_process_keeps_no_threads_from_runs_that_hit_a_dripping_endpoint(emu, faults_emu, creds, table):
    session = emu.session(creds)
    config = cfg(*probes(table), probe_timeout_s=30, deadline_s=1.5, retries=0)
    finish(lambda: run(config, session, endpoint_url=faults_emu.url))  # warm-up: STS answer cached, models loaded
    baseline = len(canary_threads())
    faults_emu.on(drip(interval=0.2), service="dynamodb")
    for _ in range(3):
        report = finish(lambda: run(config, session, endpoint_url=faults_emu.url))
        assert {r.error_code for r in report.results} == {"DeadlineExceeded"}
    end = time.monotonic() + 20  # abandoned calls end when their sockets are cut, not when the drip stops
    while len(canary_threads()) > baseline and time.monotonic() < end:
        time.sleep(0.05)
    assert len(canary_threads()) <= baseline, [t.name for t in canary_threads()]


def test_the_default_settings_run_twenty_probes_at_once(emu, faults_emu, creds, table):
    # The barrier answers only once 20 requests are held together: the run gets through only if all
    # 20 probes are in flight at the same time. Its timeout (then 503) is the failure detector.
    faults_emu.on(barrier(20, timeout=30), service="dynamodb")
    twenty = [{"id": f"p{i}", "action": "dynamodb:GetItem", "table": table, "key": KEY} for i in range(20)]
    # Only the timeout differs from the defaults, so that held requests never time out on a loaded machine.
    report = finish(lambda: run(cfg(*twenty, probe_timeout_s=30), emu.session(creds), endpoint_url=faults_emu.url))
    assert [(r.outcome, r.attempts) for r in report.results] == [(Outcome.ALLOWED, 1)] * 20
    assert faults_emu.max_in_flight >= 20


def test_the_cli_exits_by_its_deadline_with_the_answered_verdicts(emu, faults_emu, creds, table, tmp_path: Path):
    faults_emu.on(drip(interval=0.2), service="sts")
    faults_emu.on(drip(interval=0.2), service="dynamodb", operation="DescribeTable")
    config = tmp_path / "canary.json"
    config.write_text(json.dumps({"version": 1, "probe_timeout_s": 30, "deadline_s": 3, "retries": 0,
                                  "probes": probes(table)}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(creds.env(), AWS_ENDPOINT_URL=faults_emu.url, AWS_DEFAULT_REGION="us-east-1")
    cli = Path(sys.executable).parent / "permission-canary"
    proc = subprocess.run([str(cli), "run", "--config", str(config), "--format", "json", "--no-publish"],
                          env=env, capture_output=True, text=True, timeout=DETECTOR_S)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert {r["id"]: (r["outcome"], r["error_code"] if r["outcome"] == "ERROR" else None)
            for r in report["results"]} == {
        "get": ("ALLOWED", None), "delete": ("DENIED", None),
        "describe": ("ERROR", "DeadlineExceeded")}


def test_a_probe_whose_request_names_the_account_waits_for_sts_only_within_its_bound(emu, faults_emu, table):
    queue = f"faults-{os.getpid()}-q"
    emu.client("sqs").create_queue(QueueName=queue)
    arn = emu.create_role(f"faults-{os.getpid()}-sqs", {"Version": "2012-10-17", "Statement": [
        allow("sqs:GetQueueAttributes", "dynamodb:GetItem")]})
    session = emu.session(emu.assume(arn))
    config = cfg({"id": "queue", "action": "sqs:GetQueueAttributes", "queue": queue}, *probes(table)[1:2],
                 probe_timeout_s=1, deadline_s=20)
    faults_emu.on(drip(interval=0.2), service="sts")
    blind = finish(lambda: run(config, session, endpoint_url=faults_emu.url))
    assert outcomes(blind) == {"queue": ("ERROR", "AccountUnknown"), "delete": ("DENIED", None)}
    assert blind.results[0].transient
    known = finish(lambda: run(config, session, endpoint_url=faults_emu.url,
                               account_arn="arn:aws:lambda:us-east-1:123456789012:function:canary"))
    assert outcomes(known) == {"queue": ("ALLOWED", None), "delete": ("DENIED", None)}


@pytest.mark.parametrize("fault", [reset, lambda: server_error(503), lambda: server_error(500), throttle,
                                   truncate, garbage, lambda: drip(n=5, interval=0.1)],
                         ids=["reset", "503", "500", "throttle", "truncate", "garbage", "drip-then-eof"])
@pytest.mark.parametrize("action", ["dynamodb:UpdateItem", "dynamodb:DescribeTable"])
def test_a_broken_answer_is_an_error_never_a_verdict(emu, faults_emu, creds, table, fault, action):
    op = action.split(":")[1]
    faults_emu.on(fault(), service="dynamodb", operation=op)
    probe = {"id": "p", "action": action, "table": table}
    if action == "dynamodb:UpdateItem":
        probe["key"] = KEY
    report = finish(lambda: run(cfg(probe, retries=1, probe_timeout_s=2), emu.session(creds),
                                endpoint_url=faults_emu.url))
    (r,) = report.results
    assert r.outcome is Outcome.ERROR, (r.error_code, r.message)
    if r.error_code != "UnexpectedSuccess":  # a cut 200 to a write built to fail may have written: not retried
        assert r.transient and r.attempts == 2, (r.error_code, r.message)  # retried once, failed the same way
    assert "{account}" not in (r.message or "") + r.resource
    assert exit_code(report) == 3


def test_the_cli_with_account_keeps_an_sqs_denial_when_sts_drips(emu, faults_emu, tmp_path: Path):
    # In Lambda the account comes from the function's ARN; from a laptop or CI, `run --account` gives it,
    # so a probe whose request names the account (an SQS queue URL) does not wait on STS.
    queue = f"faults-{os.getpid()}-cliq"
    emu.client("sqs").create_queue(QueueName=queue)
    arn = emu.create_role(f"faults-{os.getpid()}-cli", {"Version": "2012-10-17", "Statement": [
        allow("sqs:GetQueueAttributes")]})
    creds = emu.assume(arn)
    faults_emu.on(drip(interval=0.2), service="sts")
    config = tmp_path / "canary.json"
    config.write_text(json.dumps({"version": 1, "probe_timeout_s": 1, "deadline_s": 10, "probes": [
        {"id": "attrs", "action": "sqs:GetQueueAttributes", "queue": queue},
        {"id": "send", "action": "sqs:SendMessage", "sentinel_queue": queue}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(creds.env(), AWS_ENDPOINT_URL=faults_emu.url, AWS_DEFAULT_REGION="us-east-1")
    cli = Path(sys.executable).parent / "permission-canary"
    proc = subprocess.run([str(cli), "run", "--config", str(config), "--format", "json", "--no-publish",
                           "--account", "123456789012"], env=env, capture_output=True, text=True, timeout=DETECTOR_S)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert {r["id"]: r["outcome"] for r in report["results"]} == {"attrs": "ALLOWED", "send": "DENIED"}
