"""Tell people when a canary alarm changes state: one small interface, Slack behind it.

A notifier has one method, `send(payload) -> Delivery`, and never raises: delivery problems are
facts to return. The Slack function's handler decides what a failed Delivery means: it raises so
the invocation fails, Lambda retries it and then keeps it in the undelivered-alerts queue
(`canary.notifiers.handler`). Importing this package is cheap; the HTTP client, boto3 and the
renderer load only where they are used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

__all__ = ["Delivery", "Notifier", "handle_sns_alarm", "render_for_demo"]


@dataclass(frozen=True)
class Delivery:
    """What happened to one message: posted or not, the last HTTP status (or a word), attempts, why."""

    posted: bool
    status: int | str
    attempts: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Notifier(Protocol):
    """Deliver one rendered message; report the outcome instead of raising."""

    def send(self, payload: dict[str, Any]) -> Delivery: ...


def __getattr__(name: str) -> Any:
    # Lazy re-exports: `import canary.notifiers` must not pull in the renderer or the handler.
    if name == "handle_sns_alarm":
        from canary.notifiers.handler import handle_sns_alarm

        return handle_sns_alarm
    if name == "render_for_demo":
        from canary.notifiers.message import render_for_demo

        return render_for_demo
    raise AttributeError(f"module 'canary.notifiers' has no attribute {name!r}")
