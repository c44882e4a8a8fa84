"""Run tasks on a few daemon threads and collect what finishes by a deadline.

Unlike `ThreadPoolExecutor`, whose workers the interpreter joins at exit, these threads are daemons
and the caller never waits past the deadline: results are handed over as they finish, the tasks
still running then are named, and the run's `Scope` is cut so their sockets close and they end.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from typing import Callable, Generic, Hashable, TypeVar

from canary._deadline import Deadline, Scope

__all__ = ["gather"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class _Gathering(Generic[K, R]):
    def __init__(self, tasks: dict[K, Callable[[], R]], scope: Scope,
                 on_result: Callable[[K, R], None] | None) -> None:
        self.todo: "queue.SimpleQueue[K]" = queue.SimpleQueue()
        for key in tasks:
            self.todo.put(key)
        self.tasks = tasks
        self.scope = scope
        self.on_result = on_result
        self.results: dict[K, R] = {}
        self.lock = threading.Lock()
        self.finished = threading.Condition(self.lock)
        self.closed = False

    def worker(self) -> None:
        while not self.scope.is_cut:
            try:
                key = self.todo.get_nowait()
            except queue.Empty:
                return
            value = self.scope.run(self.tasks[key])
            with self.lock:
                if self.closed:
                    return  # too late: the deadline's verdict stands
                self.results[key] = value
                self.finished.notify_all()
            if self.on_result is not None:
                self.on_result(key, value)


def gather(tasks: dict[K, Callable[[], R]], *, workers: int, deadline: Deadline, scope: Scope,
           name: str = "probe", on_result: Callable[[K, R], None] | None = None) -> tuple[dict[K, R], list[K]]:
    """Run `tasks` on up to `workers` daemon threads; return (results by key, keys unfinished at the deadline).

    A task must not raise (wrap it). Each task runs in a copy of the caller's context. When the
    deadline passes first, `scope` is cut, which ends the tasks still talking to the network.
    """
    g: _Gathering[K, R] = _Gathering(tasks, scope, on_result)
    for i in range(max(1, min(workers, len(tasks)))):
        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(g.worker,), name=f"{name}-{i}", daemon=True).start()
    with g.lock:
        while len(g.results) < len(tasks):
            left = deadline.remaining()
            if left <= 0:
                break
            g.finished.wait(left)
        g.closed = True
        results = dict(g.results)
    unfinished = [k for k in tasks if k not in results]
    if unfinished:
        scope.cut()
    return results, unfinished
