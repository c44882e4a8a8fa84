"""The time-bound primitives on their own: gather by a deadline, replace overdue workers, cut sockets."""

from __future__ import annotations

import socket
import threading

import pytest

from canary._deadline import Deadline, DeadlineExceeded, Scope, within
from canary._pool import gather
from tests.faults.server import fault_server, hang


def test_gather_keeps_what_finished_and_names_what_did_not():
    release = threading.Event()
    tasks = {"quick": lambda beat: "done", "stuck": lambda beat: release.wait(30) and "late"}
    try:
        results, late = gather(tasks, workers=2, deadline=Deadline(1.0), scope=Scope("t"))
    finally:
        release.set()
    assert results == {"quick": "done"} and late == ["stuck"]


def test_an_overdue_attempt_gets_its_verdict_and_the_queue_goes_on_in_sequential_mode():
    release = threading.Event()
    tasks = {"a": lambda beat: release.wait(30) and "late", "b": lambda beat: "b-done", "c": lambda beat: "c-done"}
    try:
        results, late = gather(tasks, workers=1, deadline=Deadline(30.0), scope=Scope("t"), cap_s=0.3,
                                overdue=lambda key, began, attempts: f"{key}-overdue-after-{attempts}")
    finally:
        release.set()
    assert results == {"a": "a-overdue-after-1", "b": "b-done", "c": "c-done"} and late == []


def test_results_reach_on_result_in_the_callers_thread():
    seen: list[tuple[str, bool]] = []
    gather({k: (lambda beat, k=k: k) for k in "xyz"}, workers=3, deadline=Deadline(30.0), scope=Scope("t"),
           on_result=lambda key, value: seen.append((key, threading.current_thread() is threading.main_thread())))
    assert sorted(seen) == [("x", True), ("y", True), ("z", True)]


def test_within_abandons_a_hanging_read_and_its_socket_is_shut():
    ended = threading.Event()
    with fault_server() as fs:
        fs.on(hang())
        host, port = fs.url.rsplit(":", 1)

        def read_forever() -> bytes:
            try:
                s = socket.create_connection((host.split("//")[1], int(port)), timeout=60)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                return s.recv(1)  # the server never answers; only the cut ends this
            finally:
                ended.set()

        with pytest.raises(DeadlineExceeded):
            within(read_forever, 0.5)
        assert ended.wait(10), "the abandoned read did not end when its socket was shut"


def test_a_cut_scope_refuses_new_sockets():
    scope = Scope("t")
    scope.cut()
    with pytest.raises(ConnectionAbortedError):
        scope.run(lambda: socket.socket())
    socket.socket().close()  # outside the scope nothing changes


def test_a_tls_wrapped_socket_belongs_to_the_scope_too():
    import ssl

    scope = Scope("t")
    wrapped = scope.run(lambda: ssl.create_default_context().wrap_socket(
        socket.socket(), server_hostname="example.com", do_handshake_on_connect=False))
    try:
        assert wrapped in set(scope._socks)  # the object a TLS call reads from is the one the cut shuts
    finally:
        wrapped.close()
