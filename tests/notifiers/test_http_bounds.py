"""The total time bound of one request (`canary.notifiers._http`), over plain HTTP and over TLS.

Slack and AWS are HTTPS in production, so the bound is also proven on a TLS socket: a local
server with a throw-away self-signed certificate (made here with `cryptography`, which moto
already needs) that answers, or drips its answer one byte at a time.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from canary.notifiers._http import DeadlineExceeded, request
from tests.faults.server import drip, fault_server, respond


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _read_request(conn: ssl.SSLSocket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext, dict[str, str]]]:
    """A TLS server on 127.0.0.1: mode 'ok' answers 200, mode 'drip' sends a byte every 0.2 s."""
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    mode = {"mode": "ok"}
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                with server_ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    _read_request(conn)  # all of it: closing on unread bytes would reset the answer away
                    if mode["mode"] == "ok":
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    else:  # announces a body that never ends, one byte every 0.2 s, until the test ends
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                        while not stop.wait(0.2):
                            conn.sendall(b".")
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], client_ctx, mode
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_tls_answer_is_read(tls_server: tuple[int, ssl.SSLContext, dict[str, str]]) -> None:
    port, ctx, _ = tls_server
    resp = request("POST", f"https://localhost:{port}/services/T/B/x", deadline=time.monotonic() + 5, body=b"{}",
                   context=ctx)
    assert (resp.status, resp.body) == (200, b"ok")


def test_a_dripping_tls_answer_ends_at_the_deadline(tls_server: tuple[int, ssl.SSLContext, dict[str, str]]) -> None:
    port, ctx, mode = tls_server
    mode["mode"] = "drip"
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            request("POST", f"https://localhost:{port}/x", deadline=time.monotonic() + 1.0, body=b"{}",
                    per_read_s=10, context=ctx)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(60)  # liveness, not speed: without the watchdog this request never ends
    assert not worker.is_alive(), "the dripping TLS answer held the request past its deadline"
    assert len(outcome) == 1 and isinstance(outcome[0], DeadlineExceeded)


def test_a_dripping_plain_answer_ends_at_the_deadline_and_no_timer_thread_is_left() -> None:
    with fault_server() as fs:
        fs.on(drip(interval=0.2), path="/drip")
        fs.on(respond(200, "ok", "text/plain"), path="/ok")
        with pytest.raises(DeadlineExceeded):
            request("POST", fs.url + "/drip", deadline=time.monotonic() + 0.8, body=b"{}", per_read_s=10)
        assert request("POST", fs.url + "/ok", deadline=time.monotonic() + 5, body=b"{}").status == 200
    assert not [t for t in threading.enumerate() if t.name == "canary-http-deadline"]


def test_no_time_left_means_no_request() -> None:
    with fault_server() as fs:
        with pytest.raises(DeadlineExceeded):
            request("POST", fs.url + "/x", deadline=time.monotonic() - 1)
        assert fs.requests == []
