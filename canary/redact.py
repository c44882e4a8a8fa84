"""Keep secret answers out of logs at every log level, without touching anyone else's logging.

With DEBUG logging on, botocore logs every response body (`botocore.parsers`: "Response body: ...")
and the request dict (`botocore.endpoint`), so a probe reading a SecureString parameter or a secret
would write its value to the logs. `withheld()` marks the current thread while such a call runs; a
filter on botocore's and urllib3's loggers then replaces those records' text with one line saying
what was withheld. Scoped per thread (other threads' records pass untouched), so concurrent probes
and the caller's own logging are unaffected, and no logger level is ever changed.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["withheld", "WITHHELD", "install"]

WITHHELD = "[withheld by permission-canary: this answer may hold a secret value]"
# Loggers that may carry a response body or the parsed answer during a call. Filters act only on
# records created by the logger they are attached to, so every botocore/urllib3 logger known when a
# secret call starts gets the filter (they are all created by then: the client exists).
_PREFIXES = ("botocore", "urllib3", "boto3", "s3transfer")
_state = threading.local()
_lock = threading.Lock()
_installed: set[str] = set()


class _Withhold(logging.Filter):
    """Blank the text of records made in a thread that is running a secret-bearing call."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_state, "depth", 0):
            record.msg, record.args = f"{record.name}: {WITHHELD}", None
            record.exc_info = record.exc_text = None
            record.stack_info = None
        return True


_FILTER = _Withhold()


def install() -> None:
    """Attach the filter to every botocore/urllib3 logger that exists now (idempotent, thread-safe)."""
    manager = logging.Logger.manager
    names = [n for n in list(manager.loggerDict) if n.split(".", 1)[0] in _PREFIXES and n not in _installed]
    if not names and _installed:
        return
    with _lock:
        for name in names + [p for p in _PREFIXES if p not in _installed]:
            if name in _installed:
                continue
            logging.getLogger(name).addFilter(_FILTER)
            _installed.add(name)


@contextmanager
def withheld(active: bool = True) -> Iterator[None]:
    """While the block runs in this thread, botocore/urllib3 log records carry no text from the call."""
    if not active:
        yield
        return
    install()
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
