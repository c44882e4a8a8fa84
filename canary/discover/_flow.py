"""Pass 2, flow: the fixpoint that carries abstract values through names, attributes, calls and returns.

Every name, parameter, return value and `self.x` attribute holds a set of abstract values (boto3
objects, project functions and classes, strings). One pass walks every statement of every module
once; passes repeat until no set grows. A function body whose reads have not grown since the last
pass is replayed from its memo instead of walked again, so a pass costs little once facts settle.
"""

from __future__ import annotations

import ast
import itertools
from typing import Any, Iterable, Iterator, Mapping

from canary.discover._calls import DEFAULT, EMPTY, RawCall, Vals, resource_index, xform
from canary.discover._facts import Memo
from canary.discover._inline import simple_body
from canary.discover._reach import Reach, reaching
from canary.discover._stage import written_env
from canary.discover._parse import (
    Func,
    Klass,
    Module,
    Scope,
    arg_names,
    bound_names,
    by_import_name,
    decorator_names,
    dependency_order,
)
from canary.discover._values import ClassV, CollectionV, EventV, ExternalClass, FuncV, InstV, ModuleV, StrV, Value
from canary.discover._wrappers import find_rewrites

__all__ = ["Flow"]


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))

MAX_PASSES = 8
# decorator -> (event kind, the decorator's parameter, the event attribute that carries it)
_EVENT_SOURCES = {"on_s3_event": ("s3", "bucket", "bucket")}
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class Flow:
    """The walk over statements and the passes (mixed into `Analyzer`)."""

    def __init__(self, modules: list[Module], env: Mapping[str, str] | None = None) -> None:
        self.env: Mapping[str, str] = env or {}
        self.staged = bool(self.env)  # no stage chosen: environment guards stay undecided
        self.env_written = written_env([m.tree for m in modules])
        self.dead: str | None = None  # why the stage never runs the statements being walked
        self.called: set[int] = set()  # functions some call in the source reaches
        # (calling function or None at module level, called function, why the stage never runs that call)
        self.edges: set[tuple[int | None, int, str | None]] = set()
        self.unit_fids: list[int | None] = []  # the functions whose bodies are being walked, innermost last
        self.inline_stack: list[tuple[Scope, dict[str, Vals]]] = []  # helpers being evaluated per call
        self.modules = by_import_name(modules)
        self.facts: dict[tuple[int, str], set[Value]] = {}
        self.memos: dict[int, Memo] = {}
        self.frames: list[Memo] = []
        self.funcs: dict[int, Func] = {}
        self.classes: dict[int, Klass] = {}
        self.node_scope: dict[int, Scope] = {}  # id(def node) -> its own scope
        self.reach: dict[int, Reach] = {}  # fid -> the bindings that reach each use of a rebound local
        self._aug: dict[int, ast.BinOp] = {}
        self._load_calls: dict[int, ast.Call] = {}  # id(`table.key_schema`) -> the load call it stands for  # id(`x += y`) -> `x + y`, evaluated as the new x
        self.changed = False
        self.waiting = False  # something was left for a later pass (`_defer`)
        self.lenient = 0
        self.passes = 0
        self.order = dependency_order(modules)
        self.calls: dict[tuple[Any, ...], RawCall] = {}
        self._source: dict[int, str] = {}
        self._consts: dict[str, Vals] = {}
        self._ids = itertools.count(1)
        for m in modules:
            m.scope = Scope("module", m, None)
            self._prepare(bound_names(m.tree.body, m.scope), m.scope, m)
        find_rewrites(self.funcs, {fid: fn.scope.module.rel for fid, fn in self.funcs.items()})

    # -- setup ----------------------------------------------------------------------------------

    def _prepare(self, defs: list[_Def], parent: Scope, module: Module, cls: Klass | None = None) -> None:
        for sub in defs:
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._prepare_func(sub, parent, module, cls)
            else:
                self._prepare_class(sub, parent, module)

    def _prepare_func(self, node: ast.FunctionDef | ast.AsyncFunctionDef, parent: Scope, module: Module,
                      cls: Klass | None) -> None:
        fid = next(self._ids)
        lexical = parent if parent.kind != "class" else parent.parent
        scope = Scope("function", module, lexical, fid=fid)
        pos, kw = arg_names(node.args)
        scope.locals.update(pos + kw)
        for extra in (node.args.vararg, node.args.kwarg):
            if extra:
                scope.locals.add(extra.arg)
        defs = bound_names(node.body, scope)
        decos = decorator_names(node)
        static = "staticmethod" in decos
        method_of = cls.cid if cls is not None and pos and not static else None
        self.funcs[fid] = Func(fid, node, scope, pos, kw, method_of, static,
                               classmethod=method_of is not None and "classmethod" in decos,
                               simple=simple_body(node))
        self.node_scope[id(node)] = scope
        reach = reaching(node, pos + kw + [a.arg for a in (node.args.vararg, node.args.kwarg) if a])
        if reach.tracked:
            self.reach[fid] = reach
        if method_of is not None:
            self._add((id(scope), pos[0]), {ClassV(method_of) if "classmethod" in decos else InstV(method_of)})
        self._prepare(defs, scope, module)

    def _prepare_class(self, node: ast.ClassDef, parent: Scope, module: Module) -> None:
        cid = next(self._ids)
        scope = Scope("class", module, parent, cid=cid)
        defs = bound_names(node.body, scope)
        klass = Klass(cid, node, scope)
        klass.fields = [s.target.id for s in node.body
                        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
        self.classes[cid] = klass
        self.node_scope[id(node)] = scope
        self._prepare(defs, scope, module, klass)

    def _module_scope(self, scope: Scope) -> Scope:
        return scope.module.scope

    def lookup(self, scope: Scope, name: str, node: ast.Name | None = None) -> Vals:
        if self.inline_stack:
            found = self.inline_lookup(scope, name)
            if found is not None:
                return found
        s: Scope | None = scope
        if scope.kind == "class":
            if name in scope.locals:
                return frozenset(self._get((id(scope), name)))
            s = scope.parent
        while s is not None:
            if s.kind == "function" and name in s.globals:
                s = self._module_scope(s)
                continue
            if s.kind == "function" and s.fid in self.reach and name in self.reach[s.fid].tracked:
                return self._reaching(s, name, node if s is scope else None)
            if s.kind == "module" or name in s.locals:
                return frozenset(self._get((id(s), name)))
            s = s.parent
        return EMPTY

    def _reaching(self, scope: Scope, name: str, node: ast.Name | None) -> Vals:
        """A rebound local: the values of the bindings that reach this use (all of them when not known)."""
        reach = self.reach[scope.fid]  # type: ignore[index]
        found = reach.uses.get(id(node)) if node is not None else None
        bindings = sorted(found) if found is not None else reach.keys.get(name, [])
        out: set[Value] = set()
        for b in bindings:
            out.update(self._get((id(scope), reach.key(name, b))))
        return frozenset(out)

    def bind(self, scope: Scope, name: str, values: Iterable[Value], node: ast.Name | None = None) -> None:
        target = scope
        if scope.kind == "function" and name in scope.globals:
            target = self._module_scope(scope)
        elif scope.kind == "function" and name in scope.nonlocals:
            s = scope.parent
            while s is not None and s.kind == "function" and name not in s.locals:
                s = s.parent
            target = s or self._module_scope(scope)
        elif scope.kind == "function" and node is not None and scope.fid in self.reach:
            key = self.reach[scope.fid].defs.get(id(node))  # type: ignore[index]
            if key is not None:
                self._add((id(scope), key), values)
                return
        self._add((id(target), name), values)

    # -- the passes -----------------------------------------------------------------------------

    def run(self) -> list[RawCall]:
        # Strict passes first: a resource whose name is still unknown (a parameter no call has reached
        # yet) is not created, so it cannot linger as an unresolved twin of the real one. Then lenient
        # passes admit names that stay unknown for good (e.g. a route handler's argument).
        # The lenient passes come in two steps: first only in functions no call reaches (a route
        # handler's argument is unknown for good), then anywhere (a caller's value never came). A
        # helper's parameter is thus not read as unknown while its callers' values are still on the way.
        # A phase whose last pass left nothing waiting for a later one ends the passes.
        for lenient in (0, 1, 2):
            self.lenient = lenient
            for _ in range(MAX_PASSES):
                self.changed = False
                self.waiting = False
                self.calls = {}
                self.passes += 1
                for mod in self.order:
                    self._walk_unit(mod.tree, mod.tree.body, mod.scope)
                if not self.changed:
                    break
            if not self.waiting:
                break
        return list(self.calls.values())

    def block(self, body: Iterable[ast.stmt], scope: Scope) -> None:
        outer = self.dead
        try:
            for stmt in body:
                try:
                    self.stmt(stmt, scope)
                except RecursionError:  # a pathologically deep expression: skip that statement, keep the rest
                    continue
                if self.dead is None and type(stmt) is ast.If and _exits(stmt.body) and not stmt.orelse:
                    # `if not ENABLED: return` that the stage always takes: the rest never runs
                    evidence: list[str] = []
                    if self.decide(stmt.test, scope, evidence) is True:
                        self.dead = self.guard_reason(stmt.test, True, evidence, "returns early on")
        finally:
            self.dead = outer

    def _branches(self, node: ast.If, scope: Scope) -> None:
        self.eval(node.test, scope)
        evidence: list[str] = []
        truth = self.decide(node.test, scope, evidence) if self.dead is None else None
        outer = self.dead
        for block, runs in ((node.body, truth is not False), (node.orelse, truth is not True)):
            if not block:
                continue
            self.dead = outer if runs else self.guard_reason(node.test, bool(truth), evidence)
            try:
                self.block(block, scope)
            finally:
                self.dead = outer

    def stmt(self, node: ast.stmt, scope: Scope) -> None:
        kind = type(node)
        if kind is ast.Expr:  # the most common statements first
            self.eval(node.value, scope)  # type: ignore[attr-defined]
            return
        if kind is ast.If:
            self._branches(node, scope)  # type: ignore[arg-type]
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fscope = self.node_scope[id(node)]
            fn = self.funcs[fscope.fid]  # type: ignore[index]
            for d in node.decorator_list:
                self.eval(d, scope)
                self._event_handler(d, fn, scope)
            args = node.args
            pos_defaults = list(zip(fn.params[len(fn.params) - len(args.defaults):], args.defaults))
            kw_defaults = [(n, d) for n, d in zip(fn.kwonly, args.kw_defaults) if d is not None]
            fn.defaults = [name for name, _ in pos_defaults + kw_defaults]
            for name, default in pos_defaults + kw_defaults:
                values = self.rewritten(fn, name, self.eval(default, scope))
                self._add((id(fscope), name + DEFAULT), values)
                if fn.fid not in self.called:  # called by the framework: defaults apply (lenient passes)
                    if self.lenient:
                        self._add((id(fscope), name), values)
                    else:
                        self._defer()
            self.bind(scope, node.name, {FuncV(fn.fid)})
            self._walk_unit(node, node.body, fscope)
        elif isinstance(node, ast.ClassDef):
            cscope = self.node_scope[id(node)]
            klass = self.classes[cscope.cid]  # type: ignore[index]
            for b in node.bases:
                for v in self.eval(b, scope):
                    base = v.cid if isinstance(v, ClassV) else v.marker if isinstance(v, ExternalClass) else None
                    if base is not None and base not in klass.bases and base != klass.cid:
                        klass.bases.add(base)
                        self.changed = True
            for d in node.decorator_list:
                self.eval(d, scope)
            self.bind(scope, node.name, {ClassV(klass.cid)})
            self.block(node.body, cscope)
        elif isinstance(node, ast.Assign):
            values = self.eval(node.value, scope)
            for target in node.targets:
                self.assign(target, values, node.value, scope)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, scope), node.value, scope)
        elif isinstance(node, ast.AugAssign):
            t = node.target
            fid = scope.fid if scope.kind == "function" else None
            if isinstance(t, ast.Name) and fid in self.reach and id(t) in self.reach[fid].defs:  # type: ignore[operator]
                both = self._aug.get(id(node))
                if both is None:
                    both = self._aug[id(node)] = ast.BinOp(left=t, op=node.op, right=node.value)
                self.bind(scope, t.id, self.eval(both, scope), t)
            else:
                self.eval(node.value, scope)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                values = self.eval(node.value, scope)
                fid = self._enclosing_fid(scope)
                if fid is not None:
                    self._add_return(fid, values)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.assign(node.target, self.items_of(node.iter, scope), None, scope)
            self.block(node.body, scope)
            self.block(node.orelse, scope)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                values = self.eval(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, values, item.context_expr, scope)
            self.block(node.body, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.import_(node, scope)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self.stmt(child, scope)
                elif isinstance(child, ast.expr):
                    self.eval(child, scope)
                elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    for sub in ast.iter_child_nodes(child):
                        if isinstance(sub, ast.stmt):
                            self.stmt(sub, scope)
                        elif isinstance(sub, ast.expr):
                            self.eval(sub, scope)

    def _event_handler(self, deco: ast.expr, fn: Func, scope: Scope) -> None:
        """`@app.on_s3_event(bucket=B)`: the handler's event comes from bucket B (`event.bucket`)."""
        if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and fn.params):
            return
        fixed = _EVENT_SOURCES.get(deco.func.attr)
        if fixed is None:
            return
        kind, param, attr = fixed
        node = next((k.value for k in deco.keywords if k.arg == param), deco.args[0] if deco.args else None)
        if node is None:
            return
        strs = sorted((v for v in self.eval(node, scope) if isinstance(v, StrV)), key=repr)
        self._add((id(fn.scope), fn.params[0]), {EventV(kind, ((attr, s),)) for s in strs})

    def admit_empty(self, scope: Scope | None) -> bool:
        """Whether an expression with no value yet stands for an unknown one (else: wait for a pass)."""
        if self.lenient != 1 or scope is None:
            return bool(self.lenient)
        fid = self._enclosing_fid(scope)
        return fid is None or fid not in self.called

    def _enclosing_fid(self, scope: Scope) -> int | None:
        s: Scope | None = scope
        while s is not None and s.kind != "function":
            s = s.parent
        return s.fid if s is not None else None

    def assign(self, target: ast.expr, values: Vals, value_node: ast.expr | None, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self.bind(scope, target.id, values, target)
        elif isinstance(target, ast.Attribute):
            for base in self.eval(target.value, scope):
                if isinstance(base, InstV):
                    self._add((id(self.classes[base.cid].scope), target.attr), values)
                elif isinstance(base, ClassV):
                    self._add((id(self.classes[base.cid].scope), target.attr), values)
                elif isinstance(base, ModuleV) and base.name in self.modules:
                    self._add((id(self.modules[base.name].scope), target.attr), values)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value_node, (ast.Tuple, ast.List)) and len(value_node.elts) == len(target.elts):
                for t, v in zip(target.elts, value_node.elts):
                    self.assign(t, self.eval(v, scope), v, scope)
            else:
                for t in target.elts:
                    self.assign(t, EMPTY, None, scope)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, EMPTY, None, scope)
        elif isinstance(target, ast.Subscript):
            self.eval(target.value, scope)

    def _iterate(self, values: Vals) -> Iterator[Value]:
        yield from self.pynamo_items(values)
        for v in values:
            if isinstance(v, CollectionV):
                spec = resource_index(v.parent.service, v.parent.rtype).get(
                    xform(v.name), ("", {}))[1]
                res = spec[1].get("resource", {}) if isinstance(spec, tuple) else {}
                if res.get("type"):
                    yield self._make_resource(v.parent, res, [], {})
