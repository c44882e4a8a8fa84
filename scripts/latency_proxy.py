"""Add a fixed latency to every HTTP request on its way to an upstream server (a bench-only shim).

`make bench` puts this in front of the embedded moto server to show that the canary's probes run
concurrently: with 100 ms added per request, 20 probes should take about as long as one call, not
twenty. The proxy forwards method, path, query, headers (Host included, so SigV4 signatures made
for the proxy's address still verify upstream) and body unchanged, and relays the upstream status,
headers and body. It keeps its own counters (requests forwarded, delay applied, peak concurrency,
upstream failures) so that tests can check what it did without timing anything.

Standard library only; never imported by the Lambda path.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LatencyProxy", "ProxyCounters"]

# Hop-by-hop headers are about one connection, so they are not relayed (RFC 9110, section 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "proxy-connection"})


@dataclass
class ProxyCounters:
    """What the proxy did, counted by the proxy itself."""

    requests: int = 0            # requests received from clients
    forwarded: int = 0           # requests that got an answer from upstream (any status)
    upstream_errors: int = 0     # requests upstream could not answer (connection refused, reset, ...)
    delay_applied_s: float = 0.0  # sum of the configured delay applied, one per request
    delayed_requests: int = 0    # requests the delay was applied to
    in_flight: int = 0           # requests being handled right now
    peak_in_flight: int = 0      # the most requests handled at the same time
    upstream_busy_s: float = 0.0  # summed time spent waiting on upstream (for context, not asserted)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # a bench's output is its figures, not an access log

    def _relay(self) -> None:
        proxy = self.server.proxy
        proxy._enter()
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            proxy._delay()
            try:
                status, reason, headers, payload = proxy._forward(self.command, self.path, self.headers.items(), body)
            except (OSError, http.client.HTTPException) as exc:
                proxy._count_error()
                msg = f"latency proxy: upstream {proxy.upstream} failed: {type(exc).__name__}".encode()
                self.send_response(502)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            self.send_response(status, reason)
            for k, v in headers:
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        finally:
            proxy._leave()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _relay


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    proxy: "LatencyProxy"


class LatencyProxy:
    """Forward HTTP from 127.0.0.1:<port> to `upstream`, sleeping `delay_s` before each request."""

    def __init__(self, upstream: str, delay_s: float = 0.1, *, host: str = "127.0.0.1", port: int = 0) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self.upstream = upstream
        self.delay_s = delay_s
        self._up_host = parsed.hostname
        self._up_port = parsed.port or 80
        self._lock = threading.Lock()
        self._local = threading.local()
        self.counters = ProxyCounters()
        self._server = _Server((host, port), _Handler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LatencyProxy":
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="latency-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "LatencyProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_counters(self) -> None:
        with self._lock:
            in_flight = self.counters.in_flight
            self.counters = ProxyCounters(in_flight=in_flight)

    # -- used by the handler ------------------------------------------------------------------

    def _enter(self) -> None:
        with self._lock:
            c = self.counters
            c.requests += 1
            c.in_flight += 1
            c.peak_in_flight = max(c.peak_in_flight, c.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.counters.in_flight -= 1

    def _delay(self) -> None:
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        with self._lock:
            self.counters.delay_applied_s += self.delay_s
            self.counters.delayed_requests += 1

    def _count_error(self) -> None:
        with self._lock:
            self.counters.upstream_errors += 1

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self._up_host, self._up_port, timeout=30)
        return conn

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]],
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        t0 = time.monotonic()
        try:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    # Headers go upstream exactly as received (Host included: SigV4 signed it).
                    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                    for k, v in headers:
                        if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length":
                            conn.putheader(k, v)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    resp = conn.getresponse()
                    payload = resp.read()
                    break
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    # A kept-alive connection upstream closed while idle: send once more on a fresh one.
                    # (A bench tool's trade-off: in the rare case upstream closed *after* acting, a
                    # request is sent twice; moto's probes here never change state.)
                    conn.close()
                    self._local.conn = None
                    if attempt == 2:
                        raise
                except (OSError, http.client.HTTPException):
                    conn.close()
                    self._local.conn = None
                    raise
            if resp.will_close:
                conn.close()
                self._local.conn = None
            with self._lock:
                self.counters.forwarded += 1
            return resp.status, resp.reason, resp.getheaders(), payload
        finally:
            with self._lock:
                self.counters.upstream_busy_s += time.monotonic() - t0


if __name__ == "__main__":  # pragma: no cover - manual use: python scripts/latency_proxy.py URL [DELAY_S]
    import sys

    if len(sys.argv) < 2:
        sys.exit("usage: latency_proxy.py UPSTREAM_URL [DELAY_SECONDS]")
    p = LatencyProxy(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.1).start()
    print(f"{p.url} -> {p.upstream} (+{p.delay_s * 1000:.0f} ms per request); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        p.stop()
