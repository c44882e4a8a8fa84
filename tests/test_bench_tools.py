"""The bench's tools behave as the figures assume: the latency shim forwards faithfully and delays each request.

The shim (`scripts/latency_proxy.py`) is checked against a real HTTP server on 127.0.0.1 and against
the moto server (SigV4 through the proxy, IAM checks on). The delay is checked through the proxy's
own counters, never by timing; concurrency through a barrier that only opens when every request is
upstream at once.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from canary.emulator import Emulator
from tests.conftest import allow

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


latency_proxy = _load("latency_proxy")
bench = _load("bench")


class Upstream:
    """A real HTTP server that records what it receives and answers as told."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.status = 200
        self.barrier: threading.Barrier | None = None
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.seen.append({"method": self.command, "path": self.path, "body": body,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                if upstream.barrier is not None:
                    upstream.barrier.wait()  # opens only when all expected requests are here at once
                payload = json.dumps({"echo": body.decode(), "path": self.path}).encode()
                self.send_response(upstream.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Upstream", "yes")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture
def proxy_for() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def make(url: str, delay_s: float = 0.0) -> Any:
        p = latency_proxy.LatencyProxy(url, delay_s).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def request(url: str, method: str = "GET", path: str = "/", body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_proxy_forwards_method_path_query_headers_and_body_unchanged(upstream: Upstream,
                                                                       proxy_for: Callable[..., Any]) -> None:
    proxy = proxy_for(upstream.url)
    status, headers, body = request(proxy.url, "POST", "/a/b?x=1&y=%2F", b'{"k": "v"}',
                                    {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Authorization": "sig"})
    assert status == 200
    assert headers["x-upstream"] == "yes"
    assert json.loads(body) == {"echo": '{"k": "v"}', "path": "/a/b?x=1&y=%2F"}
    (seen,) = upstream.seen
    assert seen["method"] == "POST" and seen["path"] == "/a/b?x=1&y=%2F" and seen["body"] == b'{"k": "v"}'
    assert seen["headers"]["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert seen["headers"]["authorization"] == "sig"
    # The Host the client signed (the proxy's address) reaches upstream unchanged, so SigV4 still verifies.
    assert seen["headers"]["host"] == proxy.url.removeprefix("http://")


def test_proxy_relays_upstream_error_status_and_body(upstream: Upstream, proxy_for: Callable[..., Any]) -> None:
    upstream.status = 404
    proxy = proxy_for(upstream.url)
    status, _, body = request(proxy.url, "DELETE", "/gone")
    assert status == 404
    assert json.loads(body)["path"] == "/gone"
    assert proxy.counters.forwarded == 1 and proxy.counters.upstream_errors == 0


def test_proxy_applies_the_configured_delay_once_per_request(upstream: Upstream,
                                                             proxy_for: Callable[..., Any]) -> None:
    proxy = proxy_for(upstream.url, delay_s=0.02)
    for i in range(3):
        assert request(proxy.url, "PUT", f"/{i}", b"x")[0] == 200
    c = proxy.counters
    assert (c.requests, c.delayed_requests, c.forwarded) == (3, 3, 3)
    assert c.delay_applied_s == pytest.approx(3 * 0.02)
    assert len(upstream.seen) == 3


def test_proxy_counters_reset_to_zero(upstream: Upstream, proxy_for: Callable[..., Any]) -> None:
    proxy = proxy_for(upstream.url, delay_s=0.01)
    request(proxy.url)
    proxy.reset_counters()
    assert (proxy.counters.requests, proxy.counters.delay_applied_s, proxy.counters.forwarded) == (0, 0.0, 0)


def test_proxy_serves_requests_concurrently(upstream: Upstream, proxy_for: Callable[..., Any]) -> None:
    """Five requests must be upstream at the same time for the barrier to open; a serial proxy would deadlock."""
    upstream.barrier = threading.Barrier(5, timeout=10)
    proxy = proxy_for(upstream.url, delay_s=0.01)
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda i: request(proxy.url, path=f"/{i}")[0], range(5)))
    assert statuses == [200] * 5
    assert proxy.counters.peak_in_flight == 5
    assert proxy.counters.in_flight == 0


def test_proxy_answers_502_when_upstream_is_down(proxy_for: Callable[..., Any]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = proxy_for(f"http://127.0.0.1:{port}", delay_s=0.01)
    status, _, body = request(proxy.url, "POST", "/", b"x")
    assert status == 502
    assert b"upstream" in body
    assert (proxy.counters.upstream_errors, proxy.counters.forwarded, proxy.counters.delayed_requests) == (1, 0, 1)


@pytest.mark.parametrize("url,delay", [("https://127.0.0.1:1", 0.1), ("127.0.0.1:1", 0.1),
                                       ("http://127.0.0.1:1", -1.0)])
def test_proxy_refuses_an_unusable_upstream_or_delay(url: str, delay: float) -> None:
    with pytest.raises(ValueError):
        latency_proxy.LatencyProxy(url, delay)


def test_boto3_through_the_proxy_is_authorized_and_denied_by_moto(emu: Emulator, assume_role: Callable[..., Any],
                                                                   unique: Callable[[str], str],
                                                                   proxy_for: Callable[..., Any]) -> None:
    table = unique("bench-proxy")
    emu.create_table(table)
    creds = assume_role(allow("dynamodb:DescribeTable"))
    proxy = proxy_for(emu.url, delay_s=0.01)
    client = emu.session(creds).client("dynamodb", endpoint_url=proxy.url)
    assert client.describe_table(TableName=table)["Table"]["TableName"] == table
    with pytest.raises(ClientError) as denied:
        client.delete_item(TableName=table, Key={"pk": {"S": "x"}})
    assert "AccessDenied" in str(denied.value)
    assert proxy.counters.forwarded == 2 and proxy.counters.delayed_requests == 2


def test_bench_policy_fixture_has_the_sizes_issue_5_names() -> None:
    from canary.config import parse_config

    policy, cfg = bench.policy_fixture()
    assert len(policy["Statement"]) == 200
    assert len(parse_config(cfg, env={}).probes) == 500


def test_bench_project_generator_writes_about_the_lines_asked(tmp_path: Path) -> None:
    written = bench.generate_project(tmp_path / "p", 5000)
    counted = sum(len(f.read_text().splitlines()) for f in (tmp_path / "p").rglob("*.py"))
    assert counted == written
    assert 4500 <= counted <= 5500
    assert "boto3.client('dynamodb')" in (tmp_path / "p" / "chalicelib" / "mod0.py").read_text()


def test_bench_config_has_twenty_probes_with_distinct_ids() -> None:
    cfg = bench.bench_config()
    assert len(cfg.probes) == 20
    assert len({p.probe_id for p in cfg.probes}) == 20
