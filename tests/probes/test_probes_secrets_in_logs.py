"""Secret values stay out of the logs at every log level, DEBUG included, whatever thread runs the probe.

With the root logger at DEBUG, botocore logs every response body ("Response body: ...") and urllib3
every request line. The probes reading a SecureString parameter and a secret run against the moto
server next to probes that return nothing secret; every record from every logger is captured
(formatted with its traceback, if any) and searched for the values. Two controls keep the test
honest: botocore does log bodies in this setup (the SQS answer's body is there), and the same
GetParameter call made outside the canary does leak the value into the same capture.
"""

from __future__ import annotations

import logging
import threading

import pytest

from canary.model import Outcome
from canary.redact import WITHHELD, withheld
from tests.conftest import allow
from tests.probes.conftest import PARAM_VALUE, SECRET_VALUE, admin, cfg, run_as

ACTIONS = ("s3:GetObject", "s3:PutObject", "ssm:GetParameter", "secretsmanager:GetSecretValue",
           "sqs:SendMessage", "sqs:GetQueueAttributes", "sns:Publish")


class Everything(logging.Handler):
    """Keep every record's fully formatted text (message, arguments, traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(threadName)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def debug_logs():
    root = logging.getLogger()
    handler, level = Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("max_workers", [1, 8], ids=["sequential", "parallel"])
def test_secret_values_never_reach_the_logs_at_debug(emu, role, api, debug_logs, max_workers):
    creds = role(allow(*ACTIONS))
    report = run_as(emu, creds, cfg(*api.probes(), max_workers=max_workers))
    assert [r.outcome for r in report.results] == [Outcome.ALLOWED] * len(ACTIONS), report.to_dict()
    text = debug_logs.text
    assert "Response body" in text and "MD5OfMessageBody" in text  # control: bodies are logged here
    assert WITHHELD in text  # the secret answers' records are there, their text withheld
    assert SECRET_VALUE not in text and PARAM_VALUE not in text
    report_text = str(report.to_dict())
    assert SECRET_VALUE not in report_text and PARAM_VALUE not in report_text


def test_the_same_read_outside_the_canary_does_leak_into_this_capture(emu, api, debug_logs):
    """Control: without the canary's scope, botocore writes the decrypted value to the DEBUG log."""
    admin(emu, "ssm").get_parameter(Name=api.parameter, WithDecryption=True)
    assert PARAM_VALUE in debug_logs.text


def test_withholding_is_per_thread_and_other_threads_log_normally(debug_logs):
    log = logging.getLogger("botocore.parsers")
    inside, outside = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait(5)
        log.debug("Response body:\n%r", b"another thread's body")
        outside.set()

    t = threading.Thread(target=other, name="other")
    t.start()
    with withheld():
        inside.set()
        log.debug("Response body:\n%r", b"the secret body")
        assert outside.wait(5)
    t.join(5)
    log.debug("Response body:\n%r", b"after the scope")
    text = debug_logs.text
    assert "the secret body" not in text and WITHHELD in text
    assert "another thread's body" in text and "after the scope" in text
