"""Alarm messages of shapes CloudWatch never sends are refused in one line, never with a traceback.

Only someone who can publish to the topic can send these; the Slack function must still not crash on
them (a crash is retried, then parked, and never read), and `notify` must exit 2 with one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from canary.notifiers.alarm import AlarmMessageError, parse_alarm

BASE = {"AlarmName": "PermissionCanary-dev-denied", "NewStateValue": "ALARM"}


@pytest.mark.parametrize("message", [
    json.dumps({**BASE, "Trigger": {"Metrics": [5, {"MetricStat": 3}, {"MetricStat": {"Metric": []}}]}}),
    json.dumps({**BASE, "Trigger": {"Metrics": 7}}),
    json.dumps({**BASE, "Trigger": {"MetricName": "ProbesDenied", "Dimensions": "Stage=dev"}}),
    json.dumps({**BASE, "AlarmArn": 42, "Trigger": []}),
], ids=["metricstat-number", "metrics-number", "dimensions-string", "arn-number"])
def test_fields_of_the_wrong_type_still_parse_or_are_refused_cleanly(message: str) -> None:
    try:
        alarm = parse_alarm(message)
    except AlarmMessageError:
        return
    assert alarm.name == BASE["AlarmName"] and alarm.stage is None  # no stage: never this stage's canary alarm


def test_a_message_nested_too_deeply_is_refused_in_one_line() -> None:
    deep = '{"AlarmName": "x", "NewStateValue": "ALARM", "AlarmDescription": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(AlarmMessageError, match="nests too deeply"):
        parse_alarm(deep)


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (("[" * 100000 + "]" * 100000).encode(), "nests too deeply"),
], ids=["not-utf8", "deep"])
def test_notify_refuses_a_hostile_alarm_file_with_one_line_and_exit_2(tmp_path: Path, content: bytes,
                                                                       expected: str) -> None:
    path = tmp_path / "alarm.json"
    path.write_bytes(content)
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    p = subprocess.run([sys.executable, "-m", "canary.cli", "notify", "--dry-run", "--alarm", str(path)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    assert expected in p.stderr and "Traceback" not in p.stderr
