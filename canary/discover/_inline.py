"""Small helpers evaluated per call: `get_env("STAGE", "local")` returns what *this* call's arguments give.

The interpreter keeps one return set per function, so a helper such as
`def get_env(name, default): return os.environ.get(name, default)` would return, at every call,
every variable any call reads: a table named from `get_env("STAGE")` would get the DynamoDB endpoint
and the region as alternatives. A function whose body is only assignments to names, `if`s and
`return`s (a few statements, no loops, no nested defs) is therefore also evaluated at each call
with that call's arguments; the stage decides its `if`s as anywhere else. Its body is still walked
once for the calls it makes.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from canary.discover._values import ConstV, Value

if TYPE_CHECKING:
    from canary.discover._parse import Func, Scope

__all__ = ["Inline", "simple_body"]

_MAX_STATEMENTS = 12
_MAX_DEPTH = 4
Vals = frozenset[Value]


def simple_body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt] | None:
    """The statements to evaluate per call, or None when the function is not that simple."""
    if isinstance(node, ast.AsyncFunctionDef) or node.decorator_list:
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    count = 0

    def ok(stmts: list[ast.stmt]) -> bool:
        nonlocal count
        for st in stmts:
            count += 1
            if count > _MAX_STATEMENTS:
                return False
            if isinstance(st, ast.If):
                if not (ok(st.body) and ok(st.orelse)):
                    return False
            elif isinstance(st, ast.Assign):
                if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
                    return False
            elif not isinstance(st, (ast.Return, ast.Pass)):
                return False
        return True

    if not body or not ok(body) or any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Lambda, ast.NamedExpr))
                                       for n in ast.walk(node)):
        return None
    return body


class Inline:
    """Per-call evaluation of simple helpers (mixed into `Analyzer`)."""

    inline_stack: list[tuple["Scope", dict[str, Vals]]]

    def inline_return(self, fn: "Func", overlay: dict[str, Vals]) -> Vals | None:
        """What this call returns, or None when the function is not evaluated per call."""
        if fn.simple is None or len(self.inline_stack) >= _MAX_DEPTH or any(
                s is fn.scope for s, _ in self.inline_stack):
            return None
        out: set[Value] = set()
        self.inline_stack.append((fn.scope, overlay))
        try:
            if not self._run(fn.simple, fn.scope, overlay, out):
                out.add(ConstV(None))  # it can fall off the end
        finally:
            self.inline_stack.pop()
        return frozenset(out)

    def inline_lookup(self, scope: "Scope", name: str) -> Vals | None:
        if self.inline_stack:
            top, overlay = self.inline_stack[-1]
            if top is scope and name in overlay:
                return overlay[name]
        return None

    def _run(self, stmts: list[ast.stmt], scope: "Scope", overlay: dict[str, Vals], out: set[Value]) -> bool:
        """Evaluate a block; True when it always returns."""
        for st in stmts:
            if isinstance(st, ast.Return):
                out |= self.eval(st.value, scope) if st.value is not None else {ConstV(None)}
                return True
            if isinstance(st, ast.Assign):
                overlay[st.targets[0].id] = self.eval(st.value, scope)  # type: ignore[attr-defined]
            elif isinstance(st, ast.If):
                truth = self.decide(st.test, scope, [])
                if truth is True:
                    if self._run(st.body, scope, overlay, out):
                        return True
                elif truth is False:
                    if self._run(st.orelse, scope, overlay, out):
                        return True
                else:
                    branches = []
                    for block in (st.body, st.orelse):
                        local = dict(overlay)
                        self.inline_stack[-1] = (scope, local)
                        branches.append((self._run(block, scope, local, out), local))
                    self.inline_stack[-1] = (scope, overlay)
                    if all(returned for returned, _ in branches):
                        return True
                    for returned, local in branches:  # names either branch may have set
                        if not returned:
                            for k, v in local.items():
                                overlay[k] = overlay.get(k, frozenset()) | v if k in overlay else v
        return False

    if TYPE_CHECKING:
        def eval(self, node: ast.expr, scope: "Scope") -> Vals: ...
        def decide(self, test: ast.expr, scope: "Scope", evidence: list[str]) -> bool | None: ...
