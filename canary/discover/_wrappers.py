"""Decorators that rewrite the arguments they pass on: the value the function sees is not the one written.

The postmortem's API passed the table name as the literal `"listings"` and a decorator appended
`-dev`/`-prod` before the call (`kwargs["table_name"] += "-" + os.environ["STAGE"]`). Reading the
literal gave `table/listings`, a table that does not exist. Here each decorator is read once,
before the passes: a wrapper that appends to a keyword argument gives `listings` followed by what
it appends (exactly, when that is literals and environment variables; a hole otherwise); a wrapper
that replaces it, rebinds `args`/`kwargs`, or changes them in a way not followed gives a hole after
the known prefix ("partly known"), never the bare literal. A rewrite under an `if` is an
alternative unless the stage settles the `if`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from canary.discover._values import StrV, Unknown, Value

if TYPE_CHECKING:
    from canary.discover._parse import Func, Scope

__all__ = ["Rewrite", "find_rewrites", "decorator_name"]

ANY = "*"  # the parameter name of a rewrite that may change any argument


@dataclass(frozen=True)
class Rewrite:
    """What a decorator's wrapper does to one argument (`param`, or ANY) before it calls the function."""

    param: str
    appended: ast.expr | None  # the expression appended (`+=`), None when the value is replaced or unknown
    replaced: bool             # the whole value is replaced (nothing of the original is known to remain)
    guards: tuple[ast.expr, ...]  # the `if` tests the rewrite sits under (all must hold)
    scope_node: ast.AST        # the wrapper def, whose scope evaluates `appended` and the guards
    label: str                 # "rewritten by @name at file:line"
    position: int | None = None  # the wrapper passes it on at this position (its own named parameter)
    # The new value as pieces joined in order: None is the value the wrapper received, an expression is
    # evaluated in the wrapper (`f"{table_name}-{stage}"` -> (None, "-", stage)). None when not followed.
    template: tuple[ast.expr | None, ...] | None = None


def decorator_name(d: ast.expr) -> str | None:
    """`deco`, `mod.deco`, `deco(...)` -> "deco"."""
    if isinstance(d, ast.Call):
        d = d.func
    if isinstance(d, ast.Name):
        return d.id
    if isinstance(d, ast.Attribute):
        return d.attr
    return None


def _key(node: ast.expr, kw: str | None) -> str | None:
    """"k" for `kwargs["k"]`; ANY for `kwargs[expr]`; None when not a subscript of `kwargs`."""
    if (kw and isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == kw):
        s = node.slice
        return s.value if isinstance(s, ast.Constant) and isinstance(s.value, str) else ANY
    return None


def _walk(body: list[ast.stmt], guards: tuple[ast.expr, ...]) -> Iterator[tuple[ast.AST, tuple[ast.expr, ...]]]:
    for stmt in body:
        yield stmt, guards
        if isinstance(stmt, ast.If):
            yield from _walk(stmt.body, guards + (stmt.test,))
            yield from _walk(stmt.orelse, guards + (ast.UnaryOp(ast.Not(), stmt.test),))
        elif isinstance(stmt, (ast.For, ast.While, ast.AsyncFor)):
            cond = ast.Name("<loop>")  # may run or not: undecided
            yield from _walk(stmt.body + stmt.orelse, guards + (cond,))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _walk(stmt.body, guards)
        elif isinstance(stmt, ast.Try):
            yield from _walk(stmt.body + stmt.finalbody, guards)
            for h in stmt.handlers:
                yield from _walk(h.body, guards + (ast.Name("<except>"),))
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.expr):
                    yield sub, guards


def _wrapper_rewrites(wrapper: ast.FunctionDef | ast.AsyncFunctionDef, deco: str, rel: str,
                      wrapped: set[str]) -> list[Rewrite]:
    """What `wrapper` changes in the arguments it passes on to the function it wraps (named in `wrapped`)."""
    kw = wrapper.args.kwarg.arg if wrapper.args.kwarg else None
    va = wrapper.args.vararg.arg if wrapper.args.vararg else None
    named = [a.arg for a in wrapper.args.posonlyargs + wrapper.args.args]
    named_kw = [a.arg for a in wrapper.args.kwonlyargs]
    position = {p: i for i, p in enumerate(named)}
    out: list[Rewrite] = []

    def add(param: str, node: ast.AST, guards: tuple[ast.expr, ...], appended: ast.expr | None = None,
            replaced: bool = False, pos: int | None = None,
            template: tuple[ast.expr | None, ...] | None = None) -> None:
        label = f"rewritten by @{deco} at {rel}:{getattr(node, 'lineno', wrapper.lineno)}"
        out.append(Rewrite(param, appended, replaced, guards, wrapper, label, pos, template))

    def own(name: str) -> bool:  # one of the wrapper's named parameters
        return name in position or name in named_kw

    for node, guards in _walk(wrapper.body, ()):
        if isinstance(node, ast.AugAssign):
            key = _key(node.target, kw)
            t = node.target
            if key is not None:
                add(key, node, guards, node.value if isinstance(node.op, ast.Add) and key != ANY else None)
            elif isinstance(t, ast.Name) and t.id in (kw, va):
                add(ANY, node, guards)
            elif isinstance(t, ast.Name) and own(t.id):  # `table_name += "-dev"`
                add(t.id, node, guards, node.value if isinstance(node.op, ast.Add) else None,
                    pos=position.get(t.id))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            v = node.value
            for t in targets:
                key = _key(t, kw)
                if isinstance(t, ast.Name) and own(t.id) and v is not None:
                    pos = position.get(t.id)
                    if (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and isinstance(v.left, ast.Name)
                            and v.left.id == t.id):
                        add(t.id, node, guards, v.right, pos=pos)
                    else:
                        name = t.id
                        tpl = template_of(v, lambda e: isinstance(e, ast.Name) and e.id == name)
                        add(t.id, node, guards, replaced=tpl is None, pos=pos, template=tpl)
                elif key is not None and key != ANY and v is not None:
                    if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and _key(v.left, kw) == key:
                        add(key, node, guards, v.right)
                    else:
                        k = key
                        tpl = template_of(v, lambda e: _key(e, kw) == k or (
                            isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "get"
                            and isinstance(e.func.value, ast.Name) and e.func.value.id == kw and bool(e.args)
                            and isinstance(e.args[0], ast.Constant) and e.args[0].value == k))
                        add(key, node, guards, replaced=tpl is None, template=tpl)
                elif key == ANY or (isinstance(t, ast.Name) and t.id in (kw, va)):
                    add(ANY, node, guards)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            obj = node.func.value
            if isinstance(obj, ast.Name) and obj.id == kw and node.func.attr in ("update", "__setitem__"):
                add(ANY, node, guards)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in wrapped:
            # `func(table_name + "-dev", *args, **kwargs)`: what it passes that is not what it received
            for i, arg in enumerate(node.args):
                if isinstance(arg, ast.Starred):
                    break
                if isinstance(arg, ast.Name) and named[i:i + 1] == [arg.id]:
                    continue
                _passed(add, "", arg, node, guards, i, named[i] if i < len(named) else None)
            for k in node.keywords:
                if k.arg is not None and not (isinstance(k.value, ast.Name) and k.value.id == k.arg):
                    _passed(add, k.arg, k.value, node, guards, None, k.arg if own(k.arg) else None)
    return out


def template_of(expr: ast.expr, is_original: Any) -> tuple[ast.expr | None, ...] | None:
    """`expr` as pieces joined in order (None: the original value); None when it cannot be read so.

    Concatenation (`+`) and f-strings without conversions are followed; any other expression is one
    piece evaluated in the wrapper, as long as it does not itself use the original value.
    """
    if is_original(expr):
        return (None,)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = template_of(expr.left, is_original), template_of(expr.right, is_original)
        return None if left is None or right is None else left + right
    if isinstance(expr, ast.JoinedStr):
        out: list[ast.expr | None] = []
        for v in expr.values:
            if isinstance(v, ast.Constant):
                out.append(v)
            elif isinstance(v, ast.FormattedValue) and v.conversion == -1 and v.format_spec is None:
                inner = template_of(v.value, is_original)
                if inner is None:
                    return None
                out.extend(inner)
            else:
                return None
        return tuple(out)
    if any(is_original(n) for n in ast.walk(expr) if isinstance(n, ast.expr)):
        return None  # uses the original in a way not followed (a call, a slice, ...)
    return (expr,)


def _passed(add: Any, param: str, arg: ast.expr, node: ast.AST, guards: tuple[ast.expr, ...],
            pos: int | None, original: str | None) -> None:
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add) and isinstance(arg.left, ast.Name):
        add(param or arg.left.id, node, guards, arg.right, pos=pos)
        return
    tpl = (template_of(arg, lambda e: isinstance(e, ast.Name) and e.id == original)
           if original is not None else None)
    if tpl is not None:
        add(param or original or ANY, node, guards, pos=pos, template=tpl)
    else:
        add(param or ANY, node, guards, replaced=param != "" or pos is not None, pos=pos)


def find_rewrites(funcs: "dict[int, Func]", rel_of: "dict[int, str]") -> None:
    """Record on each decorated project function what its project decorators do to its arguments."""
    by_name: dict[str, list[Func]] = {}
    for fn in funcs.values():
        by_name.setdefault(fn.node.name, []).append(fn)
    cache: dict[int, list[Rewrite]] = {}
    for fn in funcs.values():
        for d in fn.node.decorator_list:
            name = decorator_name(d)
            for deco in _resolve(fn, name, d, by_name.get(name or "", [])):
                if deco.fid not in cache:
                    defs = [sub for sub in ast.walk(deco.node) if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))]
                    wrapped = {d.args.args[0].arg for d in defs if d.args.args}  # `def deco(func)`
                    cache[deco.fid] = [r for sub in defs if sub is not deco.node
                                       for r in _wrapper_rewrites(sub, deco.node.name, rel_of[deco.fid],
                                                                  wrapped - {a.arg for a in sub.args.args})]
                fn.rewrites.extend(cache[deco.fid])


def _resolve(fn: "Func", name: str | None, d: ast.expr, found: "list[Func]") -> "list[Func]":
    """The decorator definitions `@name` can mean for `fn`: several projects name theirs alike.

    The one in `fn`'s own module wins (a class-body or module-level def); otherwise the one from the
    module `fn` imports it from (`from chalicelib.decorators import name`, or `@mod.name`); otherwise
    every definition of that name (none is known to be wrong).
    """
    if len(found) <= 1 or name is None:
        return found
    module = fn.scope.module
    own = [f for f in found if f.scope.module is module]
    if own:
        return own
    wanted: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any((a.asname or a.name) == name for a in node.names):
                wanted.add(node.module.lstrip("."))
    target = d.func if isinstance(d, ast.Call) else d
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        wanted.add(target.value.id)
    picked = [f for f in found if any(f.scope.module.name == w or f.scope.module.name.endswith("." + w)
                                      for w in wanted)]
    return picked or found


class Wrappers:
    """Apply a function's rewrites to the values bound to its parameters (mixed into `Analyzer`)."""

    def rewritten(self, fn: "Func", name: str, values: frozenset[Value]) -> frozenset[Value]:
        """The values `fn` sees in parameter `name` when its callers pass `values`.

        Rewrites are applied path by path: `if P: x += "-prod"` / `else: x += "-dev"` gives `x-prod` or
        `x-dev` (never `x-prod-dev`), and the stage decides P where it can, including an instance flag
        the class sets once (`self.is_prod = os.environ.get("ENV") == "prod"` in `__init__`).
        """
        index = fn.params.index(name) if name in fn.params else None
        if index is not None and fn.method_of is not None and not fn.static:
            index -= 1  # the wrapper's positions count after `self`
        rules = [r for r in fn.rewrites if r.param in (name, ANY) or (r.position is not None and r.position == index)]
        if not rules or not any(isinstance(v, StrV) for v in values):
            return values
        # Each rule needs its guards: decided ones are kept or drop the rule; the rest are atoms
        # (an `if` test, identity-compared; `not t` is the atom t negated) enumerated below.
        atoms: list[ast.expr] = []
        needs: list[tuple[Rewrite, "Scope", list[tuple[int, bool]]]] = []
        for rule in rules:
            scope = self.node_scope[id(rule.scope_node)]
            req: list[tuple[int, bool]] = []
            live = True
            for g in rule.guards:
                base, want = g, True
                while isinstance(base, ast.UnaryOp) and isinstance(base.op, ast.Not):
                    base, want = base.operand, not want
                truth = self._guard_truth(base, scope, rule, fn)
                if truth is None:
                    i = next((k for k, a in enumerate(atoms) if a is base), None)
                    if i is None:
                        atoms.append(base)
                        i = len(atoms) - 1
                    req.append((i, want))
                elif truth is not want:
                    live = False
                    break
            if live:
                needs.append((rule, scope, req))
        out: set[Value] = {v for v in values if not isinstance(v, StrV)}
        if len(atoms) > 6:  # too many independent choices to enumerate: keep what is known, mark the rest
            for v in values:
                if isinstance(v, StrV):
                    out.add(StrV.join([v, StrV((Unknown(rules[0].label),))]))
            return frozenset(out)
        for v in values:
            if not isinstance(v, StrV):
                continue
            for bits in range(1 << len(atoms)):
                current = v
                for rule, scope, req in needs:
                    if all(bool(bits >> i & 1) is want for i, want in req):
                        current = self._apply(rule, current, scope)
                out.add(current)
        return frozenset(out)

    def _guard_truth(self, test: ast.expr, scope: "Scope", rule: Rewrite, fn: "Func") -> bool | None:
        """Whether a wrapper's guard holds in this stage; None when neither the source nor the stage tells."""
        truth = self.decide(test, scope, [])
        if truth is not None or fn.method_of is None:
            return truth
        # `self.flag` in a method wrapper: the flag the class sets, when every assignment agrees.
        wrapper = rule.scope_node
        first = wrapper.args.args[0].arg if isinstance(wrapper, (ast.FunctionDef, ast.AsyncFunctionDef)) \
            and wrapper.args.args else None
        if not (isinstance(test, ast.Attribute) and isinstance(test.value, ast.Name) and test.value.id == first):
            return None
        klass = self.classes.get(fn.method_of)
        if klass is None:
            return None
        truths: set[bool | None] = set()
        for method in klass.node.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or not method.args.args:
                continue
            me = method.args.args[0].arg
            for node in ast.walk(method):
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if (isinstance(t, ast.Attribute) and t.attr == test.attr and isinstance(t.value, ast.Name)
                                and t.value.id == me):
                            if method.name != "__init__" or not isinstance(node, ast.Assign) or node.value is None:
                                return None  # changed after construction: not a constant
                            m_scope = self.node_scope.get(id(method))
                            truths.add(self.decide(node.value, m_scope, []) if m_scope is not None else None)
        return truths.pop() if len(truths) == 1 else None

    def _apply(self, rule: Rewrite, v: StrV, scope: "Scope") -> StrV:
        hole = StrV((Unknown(rule.label),))
        if rule.template is not None:
            pieces: list[StrV] = []
            for piece in rule.template:
                if piece is None:
                    pieces.append(v)
                    continue
                vals = [t for t in self.eval(piece, scope) if isinstance(t, StrV)]
                exact = len(vals) == 1 and not any(isinstance(p, Unknown) for p in vals[0].parts)
                pieces.append(vals[0] if exact else hole)  # followed only when it is literals and env vars
            return StrV.join(pieces)
        if rule.replaced:
            return hole
        if rule.appended is not None:
            tails = [t for t in self.eval(rule.appended, scope) if isinstance(t, StrV)]
            if len(tails) == 1 and not any(isinstance(p, Unknown) for p in tails[0].parts):
                return StrV.join([v, tails[0]])  # simple enough to follow exactly: literals and env vars
        return StrV.join([v, hole])

    if TYPE_CHECKING:
        node_scope: dict[int, Scope]
        classes: dict[int, Any]

        def decide(self, test: ast.expr, scope: "Scope", evidence: list[str]) -> bool | None: ...

        def eval(self, node: ast.expr, scope: "Scope") -> frozenset[Value]: ...
