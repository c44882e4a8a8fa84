"""Send one probe's call: bounded retries with full jitter, for transient failures only, within the deadline."""

from __future__ import annotations

import random
from typing import Any, Callable

from canary._deadline import Deadline, Scope
from canary.classify import Verdict, attempt
from canary.probes import Call

__all__ = ["execute", "BACKOFF_BASE_S", "BACKOFF_CAP_S"]

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0
_rng = random.Random()


def execute(call: Call, client: Any, *, retries: int, attempt_s: float, deadline: Deadline,
            scope: Scope, beat: Callable[[], None] = lambda: None) -> tuple[Verdict, int]:
    """Return the verdict of the last attempt and how many were made.

    Another attempt starts only if its backoff and a whole attempt (`attempt_s`) fit before the
    deadline, and never once the run has been cut.
    """
    attempts = 0
    while True:
        attempts += 1
        beat()  # each attempt gets its own total bound (canary._pool)
        verdict = attempt(client, call)
        if not verdict.transient or attempts > retries or scope.is_cut:
            return verdict, attempts
        backoff = _rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1)))
        if backoff + attempt_s > deadline.remaining():
            return verdict, attempts  # no time left for another full attempt
        scope.wait(backoff)
