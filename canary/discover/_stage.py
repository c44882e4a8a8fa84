"""Decide the guards a stage settles, so that calls on branches it never takes are marked, not checked.

A guard is decided when every value its names can hold is known in this stage: module constants
(`DUMMY = False`), comparisons of environment variables with literals (`MODE == "BETA"` with MODE
from `.chalice/config.json`, `os.environ.get("X") == "y"`, `"X" in os.environ`), `not`/`and`/`or`
of those, and `__name__ == "__main__"` (never true in a module the Lambda imports). Anything else is
undecided, and both branches may run. The decision comes with the evidence, so that the output can
say why a call is not in this stage.
"""

from __future__ import annotations

import ast
import operator
import os
from typing import TYPE_CHECKING, Any, Callable, Mapping

from canary.discover._values import ConstV, Env, Lit, OsEnviron, StrV, Value

if TYPE_CHECKING:
    from canary.discover._parse import Scope

__all__ = ["Stage", "concrete", "UNKNOWN", "lambda_env", "written_env"]

UNKNOWN: Any = object()
_CONFIG = ".chalice/config.json"
_OPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: isinstance(a, str) and isinstance(b, str) and a in b,
    ast.NotIn: lambda a, b: isinstance(a, str) and isinstance(b, str) and a not in b,
}


def _lambda_sets(name: str) -> bool:
    """Variables Lambda itself sets (AWS_REGION, ...): the stage's config does not say their value."""
    return name.startswith(("AWS_", "LAMBDA_", "_")) or name in ("TZ", "LANG", "PATH", "LD_LIBRARY_PATH")


def written_env(trees: "list[ast.Module]") -> set[str] | None:
    """The variables the code itself sets (`os.environ["X"] = ...`): the config does not settle them.

    None when it changes the environment in a way that does not name the variable (`update(...)`).
    """
    names: set[str] = set()

    def environ(node: ast.expr) -> bool:
        return ((isinstance(node, ast.Attribute) and node.attr == "environ") or
                (isinstance(node, ast.Name) and node.id == "environ"))

    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) and environ(node.value):
                key = node.slice
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return None
                names.add(key.value)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("setdefault", "update", "pop", "clear", "putenv", "unsetenv")
                  and (environ(node.func.value) or node.func.attr in ("putenv", "unsetenv"))):
                first = node.args[0] if node.args else None
                if node.func.attr in ("setdefault", "pop", "putenv", "unsetenv") and isinstance(first, ast.Constant) \
                        and isinstance(first.value, str):
                    names.add(first.value)
                else:
                    return None
    return names


def concrete(v: Value, env: Mapping[str, str], staged: bool, evidence: list[str],
             written: "set[str] | frozenset[str] | None" = frozenset()) -> Any:
    """The Python value `v` has in this stage (str, bool or None), or UNKNOWN."""
    if isinstance(v, ConstV):
        return v.value
    if not isinstance(v, StrV):
        return UNKNOWN
    out = []
    for p in v.parts:
        if isinstance(p, Env) and (written is None or p.name in written):
            return UNKNOWN  # the code sets it itself
        if isinstance(p, Lit):
            out.append(p.text)
        elif isinstance(p, Env) and p.name in env:
            evidence.append(f"the stage sets {p.name}={env[p.name]!r} ({_CONFIG})")
            out.append(env[p.name])
        elif isinstance(p, Env) and staged and not _lambda_sets(p.name) and p.default is not None:
            evidence.append(f"the stage does not set {p.name} ({_CONFIG}), so it is {p.default!r}")
            out.append(p.default)
        elif (isinstance(p, Env) and staged and not _lambda_sets(p.name) and p.optional
              and len(v.parts) == 1):
            evidence.append(f"the stage does not set {p.name} ({_CONFIG})")
            return None
        else:
            return UNKNOWN
    return "".join(out)


class Stage:
    """Three-valued guard evaluation (mixed into `Analyzer`): True, False, or None for undecided."""

    env: Mapping[str, str]
    staged: bool
    env_written: set[str] | None  # variables the code sets itself (None: it changes ones it does not name)

    def decide(self, test: ast.expr, scope: "Scope", evidence: list[str]) -> bool | None:
        """Whether `test` is true in this stage; None when the source and the stage do not settle it."""
        if isinstance(test, ast.BoolOp):
            results = []
            for value in test.values:
                ev: list[str] = []
                r = self.decide(value, scope, ev)
                if r is (not isinstance(test.op, ast.And)):  # `or` with a true part, `and` with a false one
                    evidence.extend(ev)
                    return r
                results.append((r, ev))
            if all(r is not None for r, _ in results):
                for _, ev in results:
                    evidence.extend(ev)
                return isinstance(test.op, ast.And)
            return None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            r = self.decide(test.operand, scope, evidence)
            return None if r is None else not r
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            return self._compare(test, scope, evidence)
        values = self._concretes(test, scope, evidence)
        if values is None:
            return None
        truths = {bool(x) for x in values}
        return truths.pop() if len(truths) == 1 else None

    def _compare(self, test: ast.Compare, scope: "Scope", evidence: list[str]) -> bool | None:
        op, left, right = type(test.ops[0]), test.left, test.comparators[0]
        if (isinstance(left, ast.Name) and left.id == "__name__" and isinstance(right, ast.Constant)
                and right.value == "__main__" and op in (ast.Eq, ast.NotEq)):
            evidence.append("the Lambda imports this module, so __name__ is never '__main__'")
            return op is ast.NotEq
        if op in (ast.In, ast.NotIn) and any(isinstance(v, OsEnviron) for v in self.eval(right, scope)):
            names = self._concretes(left, scope, evidence)
            if names is None or not self.staged or any(not isinstance(n, str) or _lambda_sets(n) for n in names):
                return None
            if self.env_written is None or any(n in self.env_written for n in names):
                return None
            found = {n in self.env for n in names}
            if len(found) != 1:
                return None
            for n in names:
                evidence.append(f"the stage {'sets' if n in self.env else 'does not set'} {n} ({_CONFIG})")
            return found.pop() is (op is ast.In)
        fn = _OPS.get(op)
        if fn is None:
            return None
        lefts = self._concretes(left, scope, evidence)
        rights = self._concretes(right, scope, evidence) if lefts is not None else None
        if lefts is None or rights is None:
            return None
        results = {fn(a, b) for a in lefts for b in rights}
        return results.pop() if len(results) == 1 else None

    def _concretes(self, node: ast.expr, scope: "Scope", evidence: list[str]) -> list[Any] | None:
        if isinstance(node, ast.Constant):
            return [node.value] if isinstance(node.value, (str, bool, type(None))) else None
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):  # `MODE in ("BETA", "PROD")`
            return None
        if isinstance(node, ast.Name) and self.opaque_param(scope, node.id):
            return None  # `caption=None` and a caller passes request data: both branches run
        values = self.eval(node, scope)
        if not values:
            return None
        ev: list[str] = []
        out = []
        for v in sorted(values, key=repr):
            c = concrete(v, self.env, self.staged, ev, self.env_written)
            if c is UNKNOWN:
                return None
            out.append(c)
        if isinstance(node, (ast.Name, ast.Attribute)) and not ev:
            shown = ast.unparse(node)
            ev.append(f"{shown} is {out[0]!r}" if len(set(map(repr, out))) == 1 else
                      f"{shown} is one of {', '.join(sorted(set(map(repr, out))))}")
        evidence.extend(e for e in ev if e not in evidence)
        return out

    def opaque_param(self, scope: "Scope", name: str) -> bool:
        """Whether `name` is a parameter of the function `scope` is, and some call passes it a value not followed.

        A parameter with a default is a constant only when every call passes a known value (a left-out
        argument is the default); one call with request data (`json_body['caption']`) decides nothing.
        """
        fn = self.funcs.get(scope.fid) if scope.kind == "function" else None  # type: ignore[arg-type]
        if fn is None or (name not in fn.params and name not in fn.kwonly):
            return False
        if fn.fid not in self.called:
            return True  # called by the framework (a route's URL parameters) or by nobody: not a constant
        from canary.discover._calls import OPAQUE

        return bool(self._get((id(scope), name + OPAQUE)))

    def guard_reason(self, test: ast.expr, taken: bool, evidence: list[str], how: str = "guarded by") -> str:
        """One sentence: why the branch the stage never takes is not taken."""
        shown = ast.unparse(test)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        why = "; ".join(dict.fromkeys(evidence)) or "it is constant"
        return f"{how} `{shown}`, which is {taken} in this stage: {why}"

    if TYPE_CHECKING:
        def eval(self, node: ast.expr, scope: "Scope") -> frozenset[Value]: ...
        def _get(self, key: tuple[int, str]) -> Any: ...
        funcs: dict[int, Any]
        called: set[int]


def lambda_env(project_dir: "str | os.PathLike[str]", stage: str) -> dict[str, str]:
    """The environment variables the stage's code sees, from `.chalice/config.json`, for any of its functions.

    Layers as chalice applies them: top level, then the stage, then
    `stages.<stage>.lambda_functions.<name>.environment_variables`. Code in `chalicelib/` may run in
    any function, so a variable whose functions disagree (`TABLE` is `a` in one, `b` in another) is
    left out (unknown) rather than guessed; one set only in some functions takes that value.
    """
    import json
    from pathlib import Path

    from canary.config import stage_environment

    base = stage_environment(project_dir, stage, function="\x00")  # no such function: top level + stage
    try:
        cfg = json.loads((Path(project_dir) / ".chalice" / "config.json").read_text(encoding="utf-8-sig"))
        functions = sorted(cfg["stages"][stage].get("lambda_functions") or {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        functions = []
    per_function = [stage_environment(project_dir, stage, function=name) for name in functions]
    env = dict(base)
    for name in sorted({k for e in per_function for k in e}):
        values = {e[name] for e in per_function if name in e} | ({base[name]} if name in base else set())
        if len(values) == 1:
            env[name] = values.pop()
        else:
            env.pop(name, None)
    return env
