"""Run tasks on a few daemon threads and collect what finishes by a deadline.

Unlike `ThreadPoolExecutor`, whose workers the interpreter joins at exit, these threads are daemons
and the caller never waits past the deadline: results are handed over as they finish, the tasks
still running then are named, and the run's `Scope` is cut so their sockets close and they end.

A task reports each attempt's start through the `beat` it is given. An attempt that runs longer than
`cap_s` (an answer that drips forever) gets the `overdue` verdict at once and its worker is replaced,
so the tasks queued behind it (in sequential mode, all of them) still get their turn.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from typing import Callable, Generic, Hashable, TypeVar

from canary._deadline import Deadline, Scope

__all__ = ["gather", "start", "Gathering", "Task"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
Task = Callable[[Callable[[], None]], R]  # called with `beat`, the attempt-start signal


class _Gathering(Generic[K, R]):
    def __init__(self, tasks: dict[K, Task[R]], scope: Scope, name: str) -> None:
        self.todo: "queue.SimpleQueue[K]" = queue.SimpleQueue()
        for key in tasks:
            self.todo.put(key)
        self.tasks = tasks
        self.scope = scope
        self.name = name
        self.results: dict[K, R] = {}
        self.running: dict[K, float] = {}  # key -> start of its current attempt
        self.began: dict[K, float] = {}  # key -> start of its task
        self.beats: dict[K, int] = {}  # key -> attempts started
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.closed = False
        self.stuck = 0
        self.threads = 0
        self.delivered: "queue.SimpleQueue[tuple[K, R]]" = queue.SimpleQueue()

    def spawn(self) -> None:
        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(self.worker,), name=f"{self.name}-{self.threads}",
                         daemon=True).start()
        self.threads += 1

    def beat(self, key: K) -> None:
        with self.lock:
            if key in self.running:
                self.running[key] = time.monotonic()
                self.beats[key] = self.beats.get(key, 0) + 1

    def worker(self) -> None:
        while not self.scope.is_cut:
            try:
                key = self.todo.get_nowait()
            except queue.Empty:
                return
            with self.lock:
                self.running[key] = self.began[key] = time.monotonic()
                self.changed.notify_all()  # the caller's next wake-up depends on this attempt's bound
            value = self.scope.run(lambda: self.tasks[key](lambda: self.beat(key)))
            with self.lock:
                self.running.pop(key, None)
                if self.closed or key in self.results:
                    return  # too late (deadline or overdue): that verdict stands, a replacement took over
                self.results[key] = value
                self.delivered.put((key, value))
                self.changed.notify_all()


class Gathering(_Gathering[K, R]):
    """Workers started; `collect` waits for their results (in the caller's thread) until the deadline."""

    def collect(self, deadline: Deadline, *, cap_s: float | None = None,
                overdue: Callable[[K, float, int], R] | None = None,
                on_result: Callable[[K, R], None] | None = None) -> tuple[dict[K, R], list[K]]:
        """Return (results by key, keys unfinished at the deadline); results already in hand are always kept.

        `overdue(key, task_start, attempts)` gives the verdict of a task whose attempt outlived `cap_s`.
        `on_result` is called in the caller's thread as results arrive. When tasks are left running,
        the scope is cut, which ends those still talking to the network.
        """
        while True:
            with self.lock:
                now = time.monotonic()
                if cap_s is not None and overdue is not None:
                    for key, began in list(self.running.items()):
                        if now - began > cap_s:
                            del self.running[key]
                            self.results[key] = overdue(key, self.began[key], max(1, self.beats.get(key, 1)))
                            self.delivered.put((key, self.results[key]))
                            self.stuck += 1
                            self.spawn()  # the stuck worker ends with the scope's cut; the queue goes on
                left = deadline.remaining()
                if len(self.results) < len(self.tasks) and left > 0:
                    wake = left
                    if cap_s is not None and self.running:
                        wake = min(wake, max(0.001, min(self.running.values()) + cap_s - now))
                    if self.delivered.empty():
                        self.changed.wait(wake)
                else:
                    self.closed = True
            while not self.delivered.empty():
                key, value = self.delivered.get()
                if on_result is not None:
                    on_result(key, value)
            if self.closed:
                break
        results = dict(self.results)
        unfinished = [k for k in self.tasks if k not in results]
        if unfinished or self.stuck:
            self.scope.cut()
        return results, unfinished


def start(tasks: dict[K, Task[R]], *, workers: int, scope: Scope, name: str = "probe") -> Gathering[K, R]:
    """Start up to `workers` daemon threads on `tasks` (each worker in a copy of the caller's context).

    A task must not raise (wrap it); its sockets belong to `scope`.
    """
    g: Gathering[K, R] = Gathering(tasks, scope, name)
    with g.lock:
        for _ in range(max(1, min(workers, len(tasks)))):
            g.spawn()
    return g


def gather(tasks: dict[K, Task[R]], *, workers: int, deadline: Deadline, scope: Scope,
           cap_s: float | None = None, overdue: Callable[[K, float, int], R] | None = None, name: str = "probe",
           on_result: Callable[[K, R], None] | None = None) -> tuple[dict[K, R], list[K]]:
    """`start` then `collect`: run `tasks`, return (results by key, keys unfinished at the deadline)."""
    return start(tasks, workers=workers, scope=scope, name=name).collect(deadline, cap_s=cap_s, overdue=overdue,
                                                                          on_result=on_result)
