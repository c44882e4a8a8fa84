"""A local AWS endpoint that misbehaves on purpose: hang, drip, truncate, garble, throttle, reset, 5xx.

Point boto3 at `FaultServer.url` (`endpoint_url=`). Each request is matched against the rules added
with `on(...)` — by AWS service (read from the SigV4 credential scope, so one endpoint can serve
STS and DynamoDB differently), by operation (`X-Amz-Target` for JSON protocols, `Action=` for query
protocols) or by path prefix — and the first rule that matches answers it. A request no rule takes
goes to `default`: passed through unchanged to `upstream` (the moto server) when there is one, or
answered 404 otherwise. Passing through keeps the Host header, so moto's SigV4 checks still hold.

Bounded by construction: every fault waits on the server's stop event, never on a bare sleep or a
blocking read without a timeout, and `stop()` closes every open connection, so no handler thread
outlives the server and teardown never blocks. Use it as a context manager:

    with fault_server(upstream=emu.url) as fs:
        fs.on(hang(), service="sts")
        client = session.client("dynamodb", endpoint_url=fs.url)

This server plays AWS behaviour moto cannot produce (hangs, drips, throttling, cut bodies); the
payloads it sends are AWS's documented error shapes, written here by hand.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

__all__ = ["FaultServer", "fault_server", "Request", "Exchange", "Fault", "hang", "drip", "truncate", "respond",
           "garbage", "throttle", "server_error", "reset", "passthrough", "barrier", "delay"]

FOREVER = 3600.0  # "never" for a fault; stop() ends it long before


@dataclass(frozen=True)
class Request:
    """What the server saw: enough to match rules and to assert on in tests."""

    method: str
    path: str
    service: str | None
    operation: str | None
    headers: dict[str, str]
    body: bytes
    arrived: float = field(default_factory=time.monotonic)

    @property
    def protocol(self) -> str:
        """`json` (X-Amz-Target), `query` (form Action=) or `rest`."""
        if "x-amz-target" in self.headers:
            return "json"
        form = "form-urlencoded" in self.headers.get("content-type", "") or "Action=" in self.path
        return "query" if form else "rest"


class Exchange:
    """One request being answered: the fault writes through this, and waits on the server's stop event."""

    def __init__(self, handler: "_Handler", request: Request, server: "FaultServer") -> None:
        self._h = handler
        self.request = request
        self.server = server

    @property
    def stopping(self) -> bool:
        return self.server._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the server is stopping (the fault must then return)."""
        return self.server._stop.wait(seconds)

    def raw(self, data: bytes) -> bool:
        """Write bytes as they are; False when the client has gone (or the server is stopping)."""
        if self.stopping:
            return False
        try:
            self._h.wfile.write(data)
            self._h.wfile.flush()
            return True
        except OSError:
            self._h.close_connection = True
            return False

    def head(self, status: int, headers: dict[str, str]) -> bool:
        reason = http.client.responses.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
        return self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bool:
        hdrs = {"Content-Type": "application/octet-stream", **(headers or {}),
                "Content-Length": str(len(body)), "x-amzn-RequestId": "fault-0000"}
        return self.head(status, hdrs) and (self.raw(body) if body else True)

    def close(self) -> None:
        """End the connection after this answer (the client sees EOF)."""
        self._h.close_connection = True

    def reset(self) -> None:
        """Close with an RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        self._h.close_connection = True
        try:
            self._h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._h.connection.close()
        except OSError:
            pass


Fault = Callable[[Exchange], None]


# -- faults --------------------------------------------------------------------------------------

def respond(status: int, body: bytes | str | dict[str, object] = b"", content_type: str | None = None,
            headers: dict[str, str] | None = None) -> Fault:
    """Answer with exactly this status and body (a dict is sent as JSON)."""
    if isinstance(body, dict):
        data, ctype = json.dumps(body).encode(), content_type or "application/x-amz-json-1.0"
    else:
        data = body.encode() if isinstance(body, str) else body
        ctype = content_type or "application/octet-stream"

    def fault(ex: Exchange) -> None:
        ex.send(status, data, {"Content-Type": ctype, **(headers or {})})

    return fault


def hang() -> Fault:
    """Accept the request and never answer (until the server stops)."""

    def fault(ex: Exchange) -> None:
        ex.wait(FOREVER)
        ex.close()

    return fault


def delay(seconds: float, then: Fault | None = None) -> Fault:
    """Wait, then answer with `then` (pass through by default)."""

    def fault(ex: Exchange) -> None:
        if not ex.wait(seconds):
            (then or passthrough())(ex)
        else:
            ex.close()

    return fault


def drip(n: int | None = None, interval: float = 1.0, *, status: int = 200, phase: str = "body",
         content_type: str = "application/x-amz-json-1.0") -> Fault:
    """Send one byte every `interval` seconds: `n` bytes then close, or forever (None).

    `phase="body"` sends a complete header block first, announcing more bytes than will come;
    `phase="headers"` drips the status line itself. Either way no read ever waits a whole
    `interval`, so a per-read timeout longer than it never trips.
    """

    def fault(ex: Exchange) -> None:
        if phase == "body":
            first, filler = b'{"', b" "
            if not ex.head(status, {"Content-Type": content_type, "Content-Length": str(10**9)}):
                return
        else:
            first, filler = f"HTTP/1.1 {status} OK\r\nX-Drip: ".encode(), b"."
        pending = first
        sent = 0
        while n is None or sent < n:
            byte, pending = (pending[:1], pending[1:]) if pending else (filler, b"")
            if not ex.raw(byte):
                return
            sent += 1
            if ex.wait(interval):
                break
        ex.close()

    return fault


def truncate(body: bytes | str = b'{"Item": {"pk": {"S": "__permission', *, missing: int = 64,
             status: int = 200, content_type: str = "application/x-amz-json-1.0") -> Fault:
    """Announce `len(body) + missing` bytes, send `body`, then close: a cut answer."""
    data = body.encode() if isinstance(body, str) else body

    def fault(ex: Exchange) -> None:
        if ex.head(status, {"Content-Type": content_type, "Content-Length": str(len(data) + missing)}):
            ex.raw(data)
        ex.close()

    return fault


def garbage(status: int = 200, body: bytes = b"\x00\xffnot json, not xml <<<", *,
            content_type: str | None = None) -> Fault:
    """A complete answer whose body parses as nothing (the content type is the protocol's own)."""

    def fault(ex: Exchange) -> None:
        ctype = content_type or ("application/x-amz-json-1.0" if ex.request.protocol == "json" else "text/xml")
        ex.send(status, body, {"Content-Type": ctype})

    return fault


def _aws_error(ex: Exchange, status: int, code: str, message: str, protocol: str | None) -> None:
    proto = protocol or ex.request.protocol
    if proto == "json":
        body = json.dumps({"__type": f"com.amazonaws.fault#{code}", "message": message}).encode()
        ex.send(status, body, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code})
    else:
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>fault-0000</RequestId></ErrorResponse>").encode()
        ex.send(status, body, {"Content-Type": "text/xml"})


def throttle(protocol: str | None = None, code: str | None = None) -> Fault:
    """AWS's throttling answer: JSON `ThrottlingException` or query `Throttling`, HTTP 400 (auto by request)."""

    def fault(ex: Exchange) -> None:
        proto = protocol or ex.request.protocol
        _aws_error(ex, 400, code or ("ThrottlingException" if proto == "json" else "Throttling"), "Rate exceeded",
                   proto)

    return fault


def server_error(status: int = 503, protocol: str | None = None) -> Fault:
    """A 5xx in AWS's shape for the request's protocol."""
    code = {500: "InternalFailure", 503: "ServiceUnavailable"}.get(status, "InternalFailure")

    def fault(ex: Exchange) -> None:
        _aws_error(ex, status, code, "fault injected", protocol)

    return fault


def reset() -> Fault:
    """Reset the connection without answering."""
    return lambda ex: ex.reset()


def passthrough(upstream: str | None = None, timeout: float = 30.0) -> Fault:
    """Forward the request unchanged (Host kept, so SigV4 still verifies) and relay the answer."""

    def fault(ex: Exchange) -> None:
        target = upstream or ex.server.upstream
        if not target:
            ex.send(404, b"no upstream for this request", {"Content-Type": "text/plain"})
            return
        parts = urlsplit(target)
        req = ex.request
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        try:
            conn.putrequest(req.method, req.path, skip_host=True, skip_accept_encoding=True)
            for k, v in req.headers.items():
                if k not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(req.body)))
            conn.endheaders(req.body)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k: v for k, v in resp.getheaders()
                    if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length",
                                         "server", "date")}
        except OSError as exc:
            ex.send(502, f"upstream failed: {exc}".encode(), {"Content-Type": "text/plain"})
            return
        finally:
            conn.close()
        ex.send(resp.status, b"" if req.method == "HEAD" else data, hdrs)

    return fault


def barrier(n: int, then: Fault | None = None, timeout: float = 30.0) -> Fault:
    """Hold each request until `n` requests are held together, then answer all with `then`.

    With n = the number of probes, the run can only get past the barrier if all of them are in
    flight at once; `timeout` is the failure detector (the held requests are then answered 503).
    """
    cond = threading.Condition()
    state = {"arrived": 0}

    def fault(ex: Exchange) -> None:
        with cond:
            state["arrived"] += 1
            cond.notify_all()
            end = time.monotonic() + timeout
            while state["arrived"] < n and not ex.stopping and time.monotonic() < end:
                cond.wait(min(0.1, max(0.0, end - time.monotonic())))
            met = state["arrived"] >= n
        if ex.stopping:
            ex.close()
        elif met:
            (then or passthrough())(ex)
        else:
            server_error(503)(ex)

    return fault


# -- the server ----------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def _operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(urlsplit(path).query)
    if "Action" in query:
        return query["Action"][0]
    if body and "form-urlencoded" in headers.get("content-type", ""):
        form = parse_qs(body.decode("latin-1"))
        if "Action" in form:
            return form["Action"][0]
    return None


@dataclass
class _Rule:
    fault: Fault
    service: str | None
    operation: str | None
    path: str | None
    times: int | None

    def matches(self, r: Request) -> bool:
        return ((self.service is None or r.service == self.service)
                and (self.operation is None or r.operation == self.operation)
                and (self.path is None or r.path.startswith(self.path))
                and (self.times is None or self.times > 0))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection ends by itself even if nobody stops the server
    server: "_HTTPServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _serve(self) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = _SCOPE.search(headers.get("authorization", ""))
        req = Request(self.command, self.path, auth.group(1) if auth else None,
                      _operation(self.command, self.path, headers, body), headers, body)
        fault = owner._take(req)
        try:
            fault(Exchange(self, req, owner))
        finally:
            owner._done()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default backlog (5) drops connections when 20 probes connect at once
    owner: "FaultServer"

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        self.owner._track(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self.owner._lock:
            self.owner._threads.add(threading.current_thread())
        super().process_request_thread(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        self.owner._untrack(request)
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that went away mid-answer is the point of most faults


class FaultServer:
    """A 127.0.0.1 HTTP server answering by rules; see the module docstring."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream
        self.default: Fault = passthrough() if upstream else respond(404, b"no rule", "text/plain")
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- rules --
    def on(self, fault: Fault, *, service: str | None = None, operation: str | None = None,
           path: str | None = None, times: int | None = None) -> "FaultServer":
        """Answer matching requests with `fault` (`times`: only the next N of them); first rule wins."""
        with self._lock:
            self._rules.append(_Rule(fault, service, operation, path, times))
        return self

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def seen(self, service: str | None = None, operation: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if (service is None or r.service == service)
                    and (operation is None or r.operation == operation)]

    def _take(self, req: Request) -> Fault:
        with self._lock:
            self.requests.append(req)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            for rule in self._rules:
                if rule.matches(req):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.fault
            return self.default

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    # -- life --
    def start(self) -> "FaultServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end every fault, close every connection; returns within about `timeout`."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        end = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for t in threads + ([self._thread] if self._thread is not None else []):
            if t is not threading.current_thread():
                t.join(max(0.0, end - time.monotonic()))

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def fault_server(upstream: str | None = None) -> Iterator[FaultServer]:
    """Run a FaultServer for the duration of a `with` block (stopped, bounded, on exit)."""
    server = FaultServer(upstream).start()
    try:
        yield server
    finally:
        server.stop()
