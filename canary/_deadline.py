"""Time bounds in one place: an absolute deadline, and a way to end calls abandoned at it.

A socket timeout bounds each read, not a call: an endpoint that sends one byte a second never
trips it. So every AWS call the canary makes runs in a worker thread inside a `Scope`, the caller
waits only until its deadline, and then `Scope.cut()` shuts down every socket those workers opened.
The abandoned read returns at once, the worker ends, and no thread outlives its run.

The scope learns which sockets are its own from Python's `socket.__new__` audit event, raised in
the thread that creates the socket (for TLS too: the SSL socket is a new socket object). A process
has one audit hook for this, installed on first use; it costs one attribute lookup per event.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import weakref
from typing import Any, Callable, TypeVar

__all__ = ["Deadline", "Scope", "DeadlineExceeded", "within", "bounded_here"]

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """A call did not finish by its deadline; it was abandoned and its sockets were shut."""


class Deadline:
    """An absolute point in monotonic time; everything asks it how long is left."""

    def __init__(self, seconds: float, *, start: float | None = None) -> None:
        self.start = time.monotonic() if start is None else start
        self.seconds = max(0.0, seconds)
        self.at = self.start + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def cap(self, seconds: float) -> float:
        """`seconds`, cut to what is left."""
        return max(0.0, min(seconds, self.remaining()))


_local = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.__new__":
        scope = getattr(_local, "scope", None)
        if scope is not None:
            scope._adopt(args[0])


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True


class Scope:
    """The sockets opened by the threads working for one run (or one call); `cut()` ends them all.

    After a cut, a new socket in the scope fails at creation, so an abandoned worker cannot start
    another attempt either.
    """

    def __init__(self, name: str = "scope") -> None:
        _install_hook()
        self.name = name
        self._socks: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._cut = threading.Event()

    def run(self, fn: Callable[[], T]) -> T:
        """Call `fn` in this thread with every socket it creates belonging to this scope."""
        previous = getattr(_local, "scope", None)
        _local.scope = self
        try:
            return fn()
        finally:
            _local.scope = previous

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (at once) when the scope is cut."""
        return self._cut.wait(max(0.0, seconds))

    def _adopt(self, sock: socket.socket) -> None:
        with self._lock:
            if self._cut.is_set():
                raise ConnectionAbortedError(f"{self.name}: deadline passed, no new connections")
            self._socks.add(sock)

    def cut(self) -> int:
        """Shut down every socket of the scope (in use or idle); return how many were open."""
        with self._lock:
            self._cut.set()
            socks = list(self._socks)
        n = 0
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                n += 1
            except OSError:
                pass  # already closed, detached (wrapped by TLS) or never connected
        return n


def within(fn: Callable[[], T], seconds: float, *, name: str = "bounded-call") -> T:
    """Return `fn()` if it finishes within `seconds`; otherwise cut its sockets and raise DeadlineExceeded.

    `fn` runs on a daemon thread, so even a call that ignores the cut never keeps a process alive.
    """
    scope = Scope(name)
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = scope.run(fn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name=name, daemon=True).start()
    finished = done.wait(max(0.0, seconds))
    if not finished:
        scope.cut()
        raise DeadlineExceeded(f"no answer within {seconds:.1f}s (total bound)")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def bounded_here(fn: Callable[[], T], seconds: float, *, name: str = "bounded-call") -> T:
    """Call `fn` in this thread (keeping its tracing context); at `seconds`, cut its sockets.

    A hang or a drip then ends as a connection error, raised here as DeadlineExceeded, and a retry
    cannot open a new socket. Unlike `within`, this bounds only what waits on a socket.
    """
    scope = Scope(name)
    timer = threading.Timer(max(0.0, seconds), scope.cut)
    timer.daemon = True
    timer.start()
    try:
        result = scope.run(fn)
    except Exception as exc:
        if scope.is_cut:
            raise DeadlineExceeded(f"no answer within {seconds:.1f}s (total bound)") from exc
        raise
    finally:
        timer.cancel()
    if scope.is_cut:  # cut mid-answer: botocore may have parsed the part that came (a cut JSON body is `{}`)
        raise DeadlineExceeded(f"no complete answer within {seconds:.1f}s (total bound)")
    return result
