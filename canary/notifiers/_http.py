"""One HTTP request with a TOTAL time bound: connect, send, headers and body together end by a deadline.

A socket timeout bounds each read, not the request: an endpoint that drips one byte a second never
trips it (a dripping Slack answer took 60 s). Here a watchdog timer shuts the request's socket down
at the deadline, which wakes the blocked read at once; the request then fails with
`DeadlineExceeded`. The timer thread is cancelled when the request ends, so nothing outlives it.

stdlib only (urllib: proxies from the environment, NO_PROXY honoured); it serves the Slack webhook.
The Slack function's AWS calls are bounded by `canary._deadline.bounded_here`, whose exception is the
one raised here too.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Mapping

from canary._deadline import DeadlineExceeded

__all__ = ["DeadlineExceeded", "Response", "request"]

MAX_BODY = 1 << 20  # answers here are small (Slack: "ok"; AWS: one page); never buffer more


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Watchdog:
    """Shut the watched connections down at `deadline` (time.monotonic()), unless cancelled first.

    It keeps a duplicate of each socket's descriptor: shutdown() on the duplicate ends the
    connection itself, so it also wakes a read on the TLS socket that later took the descriptor
    over (`wrap_socket` detaches the plain socket), the TLS handshake included.
    """

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._dups: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.name = "canary-http-deadline"
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        try:
            dup = sock.dup()
        except OSError:
            return
        with self._lock:
            self._dups.append(dup)
            fired = self.fired
        if fired:
            _shutdown(dup)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            dups = list(self._dups)
        for d in dups:
            _shutdown(d)

    def cancel(self) -> None:
        self._timer.cancel()
        self._timer.join(1.0)
        with self._lock:
            dups, self._dups = self._dups, []
        for d in dups:
            try:
                d.close()
            except OSError:
                pass


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread, on any dup of the socket
    except OSError:
        pass


def _connection_classes(dog: _Watchdog) -> tuple[type, type]:
    """HTTP(S) connections whose socket the watchdog holds from the moment it exists (before TLS)."""

    def create(*a: Any, **kw: Any) -> socket.socket:
        sock = socket.create_connection(*a, **kw)
        dog.watch(sock)
        return sock

    class HTTP(http.client.HTTPConnection):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self._create_connection = create

    class HTTPS(http.client.HTTPSConnection):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self._create_connection = create

    return HTTP, HTTPS


def _opener(dog: _Watchdog, context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    http_cls, https_cls = _connection_classes(dog)

    class H(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_cls, req)

    class HS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(https_cls, req, context=context or ssl.create_default_context())

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a: Any, **kw: Any) -> None:
            return None  # a webhook POST that redirects is an answer to report, not to follow

    return urllib.request.build_opener(urllib.request.ProxyHandler(), H(), HS(), NoRedirect())


def request(method: str, url: str, *, deadline: float, body: bytes | None = None,
            headers: Mapping[str, str] | None = None, per_read_s: float = 10.0,
            context: ssl.SSLContext | None = None) -> Response:
    """Send one request; return any HTTP answer (2xx-5xx alike); raise DeadlineExceeded or OSError.

    `deadline` is a time.monotonic() value: the whole exchange ends by it, whatever the peer does.
    """
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("no time left for the request")
    dog = _Watchdog(deadline)
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        try:
            resp = _opener(dog, context).open(req, timeout=max(0.05, min(per_read_s, left)))
        except urllib.error.HTTPError as err:  # a non-2xx answer is still an answer
            resp = err
        with resp:
            status = int(resp.status if hasattr(resp, "status") else resp.code)
            hdrs = {k: v for k, v in resp.headers.items()} if resp.headers else {}
            data = resp.read(MAX_BODY)
        if dog.fired:
            raise DeadlineExceeded("the answer did not arrive in full before the deadline")
        return Response(status, hdrs, data)
    except DeadlineExceeded:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if dog.fired or time.monotonic() >= deadline:
            raise DeadlineExceeded("the request did not finish before the deadline") from None
        if isinstance(exc, OSError):
            raise
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
    finally:
        dog.cancel()
