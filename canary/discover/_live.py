"""Functions the stage never runs because every call to them sits on a branch it never takes.

Chalice projects keep "dummy" functions so that chalice's policy generator sees the calls they need
(`if _DUMMY: dummy()` with `_DUMMY = False`): the stage never runs them, so their calls are not gaps.
The walk records, for every call to a project function, the function it sits in and why the stage
never runs it (`Flow.edges`). A function is live when something outside the project may call it (the
framework, a decorator, a callback: it is never called in the source, or it is referenced other than
by a call) or when a live function calls it on a branch the stage may take. The rest are dead.
"""

from __future__ import annotations

import ast
from typing import Iterable

__all__ = ["dead_functions"]


def _escaped_names(trees: Iterable[ast.AST]) -> set[str]:
    """Names used other than as the thing called: passed as callbacks, stored, returned, decorated."""
    out: set[str] = set()
    for tree in trees:
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in called:
                out.add(n.id)
            elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and id(n) not in called:
                out.add(n.attr)
    return out


def dead_functions(funcs: dict[int, object], edges: set[tuple[int | None, int, str | None]],
                   trees: Iterable[ast.AST]) -> dict[int, str]:
    """fid -> why the stage never runs it, for each function only reached through code it never runs."""
    escaped = _escaped_names(trees)
    callees = {callee for _, callee, _ in edges}
    live: set[int | None] = {None}
    for fid, fn in funcs.items():
        node = getattr(fn, "node")
        if fid not in callees or node.decorator_list or node.name in escaped:
            live.add(fid)
    grew = True
    while grew:
        grew = False
        for caller, callee, dead in edges:
            if dead is None and caller in live and callee not in live:
                live.add(callee)
                grew = True
    out: dict[int, str] = {}
    for fid in sorted(callees - live, key=lambda f: (f is None, f)):
        reasons = sorted({dead for caller, callee, dead in edges if callee == fid and dead is not None})
        name = getattr(funcs[fid], "node").name
        why = reasons[0] if reasons else "its callers never run in this stage"
        out[fid] = f"in {name}(), which this stage only calls from code it never runs ({why})"
    return out
