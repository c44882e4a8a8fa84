"""Reaching definitions inside one function: which assignment of a local name a use can see.

The interpreter keeps one set of values per name, whatever the statement order, so
`if PROD: path = f"prod/{path}"` / `else: path = f"dev/{path}"` would feed every value of `path`
back into both f-strings (`dev/dev/…`, `dev/prod/…`, and the un-prefixed original at the call).
For the locals a function rebinds, this pass says, per use of the name, which bindings reach it:
the parameter's value on entry, or one `name = …` / `name += …` / `for name in …` / `with … as name`.
Straight-line code and `if`/`else` are followed exactly (a branch ending in `return`/`raise`
reaches nothing after it); loops and `try` are over-approximated (a binding anywhere in a loop or a
`try` body may reach its head, its handlers and what follows). Names bound in any other way
(`import`, `def`, `global`, `:=`, a comprehension, `match`) are not tracked and keep the
flow-insensitive facts.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["Reach", "reaching", "ENTRY"]

ENTRY = ""  # the binding a parameter has on entry (its fact key is the plain name)
State = Optional[dict[str, frozenset[str]]]  # name -> binding keys that may reach here; None: unreachable


@dataclass
class Reach:
    """The tracked names of one function, and per use (id of its Name node) the bindings that reach it."""

    tracked: set[str] = field(default_factory=set)
    uses: dict[int, frozenset[str]] = field(default_factory=dict)
    defs: dict[int, str] = field(default_factory=dict)        # id(Name node bound) -> its binding key
    keys: dict[str, list[str]] = field(default_factory=dict)  # name -> every binding key (ENTRY first)

    def key(self, name: str, binding: str) -> str:
        """The fact key holding what one binding gives (the plain name for the entry value)."""
        return name if binding == ENTRY else f"{name}\x00@{binding}"


def _merge(*states: State) -> State:
    live = [s for s in states if s is not None]
    if not live:
        return None
    out: dict[str, frozenset[str]] = {}
    for s in live:
        for k, v in s.items():
            out[k] = out.get(k, frozenset()) | v
    return out


def _scan(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[dict[str, int], set[str], list[ast.Name]]:
    """How often each name is bound in `fn`'s own body, the names bound in ways this pass does not
    follow, and the names read.

    Nested functions, classes and lambdas are their own scopes: only their names count here.
    """
    counts: dict[str, int] = {}
    bad: set[str] = set()
    loads: list[ast.Name] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
            elif isinstance(node.ctx, ast.Load):
                loads.append(node)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bad.add(node.name)
            todo.extend(node.decorator_list)
            # a nested function that rebinds one of ours (`nonlocal x`) may do so at any time
            bad.update(n for sub in ast.walk(node) if isinstance(sub, ast.Nonlocal) for n in sub.names)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            bad.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bad.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            bad.add(node.target.id)
        elif isinstance(node, ast.comprehension):
            bad.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bad.add(node.name)
        elif isinstance(node, ast.Delete):
            bad.update(n.id for n in node.targets if isinstance(n, ast.Name))
        elif isinstance(node, ast.match_case):
            for n in ast.walk(node.pattern):
                if isinstance(getattr(n, "name", None), str):
                    bad.add(n.name)  # type: ignore[attr-defined]
                if isinstance(getattr(n, "rest", None), str):
                    bad.add(n.rest)  # type: ignore[attr-defined]
        elif type(node).__name__ == "TryStar":
            bad.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        todo.extend(ast.iter_child_nodes(node))
    return counts, bad, loads


def _targets(t: ast.expr) -> list[ast.Name]:
    if isinstance(t, ast.Name):
        return [t]
    if isinstance(t, (ast.Tuple, ast.List)):
        return [n for e in t.elts for n in _targets(e.value if isinstance(e, ast.Starred) else e)]
    return []


def reaching(fn: ast.FunctionDef | ast.AsyncFunctionDef, params: list[str]) -> Reach:
    """The reaching bindings of the locals `fn` rebinds (a parameter assigned again, a name bound twice)."""
    counts, bad, loads = _scan(fn)
    for p in params:
        counts[p] = counts.get(p, 0) + 1
    reach = Reach(tracked={n for n, c in counts.items() if c >= 2 and n not in bad})
    if not reach.tracked:
        return reach
    for name in sorted(reach.tracked):
        reach.keys[name] = [ENTRY] if name in params else []
    reads = sorted((n for n in loads if n.id in reach.tracked), key=lambda n: (n.lineno, n.col_offset))
    _Walker(reach, reads).run(fn.body, {n: frozenset({ENTRY}) if n in params else frozenset() for n in reach.tracked})
    return reach


class _Walker:
    def __init__(self, reach: Reach, reads: list[ast.Name]) -> None:
        self.r = reach
        self.reads = reads  # the uses of tracked names, in source order
        self.at = [(n.lineno, n.col_offset) for n in reads]
        self.loops: list[tuple[list[State], list[State]]] = []  # (breaks, continues) per enclosing loop

    # -- expressions: record what reaches each use ---------------------------------------------

    def uses(self, node: ast.AST | None, state: State) -> None:
        """Record `state` for every use of a tracked name inside the expression `node` (found by position)."""
        if node is None or state is None or not self.reads:
            return
        lo = bisect.bisect_left(self.at, (node.lineno, node.col_offset))  # type: ignore[attr-defined]
        hi = bisect.bisect_left(self.at, (node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]
        for n in self.reads[lo:hi]:
            self.r.uses[id(n)] = state.get(n.id, frozenset())

    def bind(self, t: ast.expr, state: State) -> State:
        if state is None:
            return None
        self.uses_in_target(t, state)
        for name in _targets(t):
            if name.id in self.r.tracked:
                b = f"{name.lineno}:{name.col_offset}"
                self.r.defs[id(name)] = self.r.key(name.id, b)
                if b not in self.r.keys[name.id]:
                    self.r.keys[name.id].append(b)
                state = {**state, name.id: frozenset({b})}
        return state

    def uses_in_target(self, t: ast.expr, state: State) -> None:
        if isinstance(t, (ast.Attribute, ast.Subscript)):
            self.uses(t, state)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self.uses_in_target(e.value if isinstance(e, ast.Starred) else e, state)

    # -- statements ---------------------------------------------------------------------------

    def run(self, body: list[ast.stmt], state: State) -> State:
        for st in body:
            state = self.stmt(st, state)
        return state

    def stmt(self, st: ast.stmt, state: State) -> State:
        if state is None:
            return None
        if isinstance(st, ast.Assign):
            self.uses(st.value, state)
            for t in st.targets:
                state = self.bind(t, state)
            return state
        if isinstance(st, ast.AnnAssign):
            if st.value is None:
                return state
            self.uses(st.value, state)
            return self.bind(st.target, state)
        if isinstance(st, ast.AugAssign):
            self.uses(st.value, state)
            if isinstance(st.target, ast.Name) and st.target.id in self.r.tracked:
                self.r.uses[id(st.target)] = state.get(st.target.id, frozenset())  # `x += y` reads x first
            return self.bind(st.target, state)
        if isinstance(st, ast.If):
            self.uses(st.test, state)
            return _merge(self.run(st.body, state), self.run(st.orelse, state))
        if isinstance(st, (ast.Return, ast.Raise)):
            for child in ast.iter_child_nodes(st):
                self.uses(child, state)
            return None
        if isinstance(st, (ast.Break, ast.Continue)):
            if self.loops:
                self.loops[-1][0 if isinstance(st, ast.Break) else 1].append(state)
            return None
        if isinstance(st, (ast.For, ast.AsyncFor, ast.While)):
            return self.loop(st, state)
        if isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                self.uses(item.context_expr, state)
                if item.optional_vars is not None:
                    state = self.bind(item.optional_vars, state)
            return self.run(st.body, state)
        if isinstance(st, ast.Try):
            return self.try_(st, state)
        if isinstance(st, ast.Match):
            self.uses(st.subject, state)
            for case in st.cases:
                self.uses(case.guard, state)
            return _merge(state, *(self.run(case.body, state) for case in st.cases))
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return state  # uses inside a nested body see every binding (no entry in `uses`)
        for child in ast.iter_child_nodes(st):  # Expr, Assert, Delete, Global, Import, ...
            if isinstance(child, ast.expr):
                self.uses(child, state)
            elif isinstance(child, ast.stmt):
                state = _merge(state, self.stmt(child, state))
        return state

    def loop(self, st: ast.For | ast.AsyncFor | ast.While, state: State) -> State:
        head = state
        for _ in range(len(self.r.tracked) + 2):  # the head's bindings only grow; a few rounds settle it
            self.loops.append(([], []))
            if isinstance(st, ast.While):
                self.uses(st.test, head)
                body_in = head
            else:
                self.uses(st.iter, head)
                body_in = self.bind(st.target, head)
            end = self.run(st.body, body_in)
            breaks, continues = self.loops.pop()
            new_head = _merge(state, end, *continues)
            if new_head == head:
                break
            head = new_head
        out = self.run(st.orelse, head)
        return _merge(out, head, *breaks)

    def try_(self, st: ast.Try, state: State) -> State:
        anywhere = self._bound_in(st.body, state)
        body_out = self.run(st.body, state)
        handler_in = _merge(state, anywhere, body_out)
        outs = [self.run(st.orelse, body_out)]
        for h in st.handlers:
            self.uses(h.type, handler_in)
            outs.append(self.run(h.body, handler_in))
        after = _merge(*outs)
        if st.finalbody:
            fin = self.run(st.finalbody, _merge(after, handler_in))
            return None if after is None else fin
        return after

    def _bound_in(self, body: list[ast.stmt], state: State) -> State:
        """Every binding made anywhere in `body` added to `state` (an exception may leave after any)."""
        if state is None:
            return None
        out = dict(state)
        for st in body:
            for node in ast.walk(st):
                for t in _targets(node) if isinstance(node, ast.expr) else ():
                    if isinstance(t.ctx, ast.Store) and t.id in self.r.tracked:
                        out[t.id] = out.get(t.id, frozenset()) | {f"{t.lineno}:{t.col_offset}"}
        return out
