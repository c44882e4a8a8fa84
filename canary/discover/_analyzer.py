"""Find the AWS calls in a project's source with `ast`, never importing or running it.

A small flow-insensitive abstract interpreter, in the spirit of chalice's own analyzer but across
modules, classes and factories: every name, parameter, return value and `self.x` attribute holds a
set of abstract values (boto3 clients, resources, project functions, classes, strings). One pass
walks every statement of every module once; passes repeat until no set grows (a few passes in
practice, each linear in the source), and the last pass records the calls. Each file is parsed once.
"""

from __future__ import annotations

import ast
import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from canary.discover import _models as models
from canary.discover._tables import ARN_TEMPLATES, INJECTED, TRANSACT_WRITE
from canary.discover._values import (
    BatchWriterV,
    Boto3Factory,
    Boto3Module,
    Boto3SessionModule,
    BoundFuncV,
    ClassV,
    ClientV,
    CollectionV,
    Env,
    FuncV,
    Getenv,
    InstV,
    MetaV,
    MethodV,
    ModuleV,
    OsEnviron,
    OsModule,
    PaginatorV,
    ResourceV,
    SessionV,
    StrV,
    Value,
)

__all__ = ["RawCall", "analyze", "project_files"]

MAX_VALUES = 12       # per name: keeps a pathological program linear
MAX_PASSES = 8
_RESOURCE_PARAMS = frozenset(p for temps in ARN_TEMPLATES.values() for names, _ in temps for p in names)
_COLLECTION_METHODS = frozenset({"all", "filter", "limit", "page_size", "pages"})
Vals = frozenset[Value]
EMPTY: Vals = frozenset()


@dataclass(frozen=True)
class RawCall:
    """One AWS API call found in the source, before it is mapped to IAM."""

    file: str
    line: int
    service: str
    operation: str
    params: tuple[tuple[str, tuple[StrV, ...]], ...] = ()  # API parameter -> its alternatives (sorted, >= 1)
    key_names: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # set only where the action depends on the request (TransactWriteItems)
    via: str = ""                  # how the call was written, e.g. "Table.update_item"
    not_in_stage: str | None = None  # why the stage never runs this call; None when it may run


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "function" | "class"
    module: "Module"
    parent: "Scope | None"
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    fid: int | None = None
    cid: int | None = None


@dataclass(eq=False)
class Module:
    name: str
    path: Path
    rel: str
    tree: ast.Module
    is_package: bool
    scope: Scope = field(init=False)
    imports: tuple[str, ...] = ()  # every module name it imports (project or not), sorted

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(eq=False)
class Func:
    fid: int
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: Scope
    params: list[str]
    kwonly: list[str]
    method_of: int | None  # class id when the first parameter is self
    static: bool


@dataclass(eq=False)
class Klass:
    cid: int
    node: ast.ClassDef
    scope: Scope
    bases: set[int] = field(default_factory=set)
    fields: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Finding the project's files

def _module_name(rel: Path) -> tuple[str, bool]:
    parts = list(rel.with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _candidates(root: Path, name: str) -> Iterator[Path]:
    base = root.joinpath(*name.split("."))
    yield base.with_suffix(".py")
    yield base / "__init__.py"


def _imported_names(tree: ast.Module, package: str) -> Iterator[str]:
    for node in _stmts(tree.body, into_defs=True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(1, len(parts) + 1):
                    yield ".".join(parts[:i])
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            parts = base.split(".") if base else []
            for i in range(1, len(parts) + 1):
                yield ".".join(parts[:i])
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}" if base else alias.name


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if not level:
        return module
    pkg_parts = package.split(".") if package else []
    if level - 1 > len(pkg_parts):
        return None
    base = pkg_parts[: len(pkg_parts) - (level - 1)]
    if module:
        base += module.split(".")
    return ".".join(base)


def project_files(root: Path) -> list[Module]:
    """Parse app.py, chalicelib/ and every project module they import (each file once)."""
    start = [root / "app.py"]
    lib = root / "chalicelib"
    if lib.is_dir():
        start += sorted(p for p in lib.rglob("*.py") if "__pycache__" not in p.parts)
    seen: dict[Path, Module] = {}
    queue = [p for p in start if p.is_file()]
    while queue:
        path = queue.pop()
        resolved = path.resolve()
        if resolved in seen:
            continue
        rel = path.relative_to(root)
        name, is_pkg = _module_name(rel)
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source, filename=str(rel))
        except SyntaxError as exc:
            from canary.errors import CanaryError

            raise CanaryError(f"{rel}:{exc.lineno}: cannot parse: {exc.msg}") from None
        except (RecursionError, MemoryError):
            from canary.errors import CanaryError

            raise CanaryError(f"{rel}: cannot parse: nested too deeply for Python's parser") from None
        mod = Module(name=name, path=path, rel=rel.as_posix(), tree=tree, is_package=is_pkg)
        seen[resolved] = mod
        mod.imports = tuple(sorted(set(_imported_names(tree, mod.package))))
        for imported in mod.imports:
            for cand in _candidates(root, imported):
                if cand.is_file() and cand.resolve() not in seen:
                    queue.append(cand)
                    break
    return sorted(seen.values(), key=lambda m: m.rel)


# ---------------------------------------------------------------------------------------------------
# Scopes: which names each function binds (so lookups follow Python's rules)



_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _bound_names(body: Iterable[ast.AST], scope: Scope) -> list[_Def]:
    """Record the names a block binds (Python's rule for what is local); return the defs directly in it."""
    defs: list[_Def] = []
    for node in _stmts(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.locals.add(node.name)
            defs.append(node)
            continue
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    scope.locals.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.locals.add(node.name)
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Name):
                    scope.locals.add(sub.id)
    scope.locals -= scope.globals | scope.nonlocals
    return defs


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _stmts(body: Iterable[ast.AST], into_defs: bool = False) -> Iterator[ast.AST]:
    """The statements of a block and of its nested blocks, not descending into expressions (nor defs)."""
    stack = list(body)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if not into_defs and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for attr in _BODIES:
            block = getattr(node, attr, None)
            if block:
                stack.extend(block[::-1])


def _dependency_order(modules: "list[Module]") -> "list[Module]":
    """Modules with what they import first, so that most facts flow forward within one pass."""
    by_name = {m.name: m for m in modules}
    order: list[Module] = []
    state: dict[str, int] = {}

    def visit(m: Module) -> None:
        stack = [(m, iter(m.imports))]
        state[m.name] = 1
        while stack:
            mod, deps = stack[-1]
            for dep in deps:
                d = by_name.get(dep)
                if d is not None and dep not in state:
                    state[dep] = 1
                    stack.append((d, iter(d.imports)))
                    break
            else:
                stack.pop()
                order.append(mod)

    for m in modules:
        if m.name not in state:
            visit(m)
    return order


def _arg_names(args: ast.arguments) -> tuple[list[str], list[str]]:
    pos = [a.arg for a in args.posonlyargs + args.args]
    kw = [a.arg for a in args.kwonlyargs]
    return pos, kw


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    out = set()
    for d in node.decorator_list:
        if isinstance(d, ast.Name):
            out.add(d.id)
        elif isinstance(d, ast.Attribute):
            out.add(d.attr)
    return out


# ---------------------------------------------------------------------------------------------------
# Resource models, indexed by the Python names boto3 gives their parts

@functools.lru_cache(maxsize=None)
def _resource_index(service: str, rtype: str) -> dict[str, tuple[str, Any]]:
    """method/attribute name -> (kind, definition) for a boto3 resource type ("" = service resource)."""
    from botocore import xform_name

    model = models.resource_model(service)
    if model is None:
        return {}
    resources = model.get("resources", {})
    defn = model.get("service", {}) if not rtype else resources.get(rtype, {})
    index: dict[str, tuple[str, Any]] = {}
    has = dict(defn.get("has", {}))
    if not rtype:  # boto3 gives the service resource a factory for every resource type
        named = {h.get("resource", {}).get("type") for h in has.values()}
        for name, rdef in resources.items():
            if name not in named:
                has[name] = {"resource": {"type": name, "identifiers": [
                    {"target": i["name"], "source": "input"} for i in rdef.get("identifiers", [])]}}
    for name, spec in has.items():
        index[name] = ("has", spec)
    for name, spec in defn.get("actions", {}).items():
        index[xform_name(name)] = ("action", spec)
    for name, spec in defn.get("hasMany", {}).items():
        index[xform_name(name)] = ("collection", (name, spec))
    if "load" in defn:
        index["load"] = index["reload"] = ("action", defn["load"])
    return index


def _identifiers(service: str, rtype: str) -> list[str]:
    model = models.resource_model(service) or {}
    return [i["name"] for i in model.get("resources", {}).get(rtype, {}).get("identifiers", [])]


def _batch_actions(service: str, rtype: str) -> dict[str, Any]:
    from botocore import xform_name

    model = models.resource_model(service) or {}
    acts = model.get("resources", {}).get(rtype, {}).get("batchActions", {})
    return {xform_name(k): v for k, v in acts.items()}


# ---------------------------------------------------------------------------------------------------
# The interpreter

@dataclass(eq=False)
class _Memo:
    """What one walk of a function body read (fact -> its size then) and the calls it recorded."""

    lenient: bool
    deferred: bool = False  # a strict walk left something for the lenient passes
    reads: dict[Any, int] = field(default_factory=dict)
    calls: dict[tuple[Any, ...], RawCall] = field(default_factory=dict)

    def merge(self, inner: "_Memo") -> None:
        for key, size in inner.reads.items():
            if size < self.reads.get(key, size + 1):
                self.reads[key] = size
        self.calls.update(inner.calls)
        self.deferred = self.deferred or inner.deferred


class Analyzer:
    def __init__(self, modules: list[Module]) -> None:
        self.modules = {m.name: m for m in modules}
        self.facts: dict[tuple[int, str], set[Value]] = {}
        self.memos: dict[int, _Memo] = {}
        self.frames: list[_Memo] = []
        self.funcs: dict[int, Func] = {}
        self.classes: dict[int, Klass] = {}
        self.node_scope: dict[int, Scope] = {}  # id(def node) -> its own scope
        self.changed = False
        self.lenient = False
        self.passes = 0
        self.order = _dependency_order(modules)
        self.calls: dict[tuple[Any, ...], RawCall] = {}
        self._source: dict[int, str] = {}
        self._consts: dict[str, Vals] = {}
        self._ids = itertools.count(1)
        for m in modules:
            m.scope = Scope("module", m, None)
            self._prepare(_bound_names(m.tree.body, m.scope), m.scope, m)

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
        pos, kw = _arg_names(node.args)
        scope.locals.update(pos + kw)
        for extra in (node.args.vararg, node.args.kwarg):
            if extra:
                scope.locals.add(extra.arg)
        defs = _bound_names(node.body, scope)
        decos = _decorator_names(node)
        static = "staticmethod" in decos
        method_of = cls.cid if cls is not None and pos and not static else None
        self.funcs[fid] = Func(fid, node, scope, pos, kw, method_of, static)
        self.node_scope[id(node)] = scope
        if method_of is not None and "classmethod" not in decos:
            self._add((id(scope), pos[0]), {InstV(method_of)})
        self._prepare(defs, scope, module)

    def _prepare_class(self, node: ast.ClassDef, parent: Scope, module: Module) -> None:
        cid = next(self._ids)
        scope = Scope("class", module, parent, cid=cid)
        defs = _bound_names(node.body, scope)
        klass = Klass(cid, node, scope)
        klass.fields = [s.target.id for s in node.body
                        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
        self.classes[cid] = klass
        self.node_scope[id(node)] = scope
        self._prepare(defs, scope, module, klass)

    # -- facts ----------------------------------------------------------------------------------

    def _add(self, key: tuple[int, str], values: Iterable[Value]) -> None:
        cur = self.facts.setdefault(key, set())
        for v in values:
            if v not in cur and len(cur) < MAX_VALUES:
                cur.add(v)
                self.changed = True

    def _add_return(self, fid: int, values: Vals) -> None:
        self._add((-fid, "<return>"), values)

    # Every read of a fact goes through these two, so that a function body whose reads have not grown
    # since the last pass can be skipped (facts only grow: a set's size is its version).

    def _get(self, key: tuple[int, str]) -> set[Value] | tuple[()]:
        vals = self.facts.get(key, ())
        if self.frames:
            self.frames[-1].reads.setdefault(key, len(vals))  # the first (smallest) size this walk saw
        return vals

    def _bases(self, cid: int) -> set[int]:
        bases = self.classes[cid].bases
        if self.frames:
            self.frames[-1].reads.setdefault(("<bases>", cid), len(bases))
        return bases

    def _defer(self) -> Vals:
        if self.frames:
            self.frames[-1].deferred = True
        return EMPTY

    def _fresh(self, memo: "_Memo") -> bool:
        if memo.lenient != self.lenient and memo.deferred:
            return False
        for key, size in memo.reads.items():
            if isinstance(key[0], str):
                if len(self.classes[key[1]].bases) != size:
                    return False
            elif len(self.facts.get(key, ())) != size:
                return False
        return True

    def _walk_unit(self, node: ast.AST, body: list[ast.stmt], scope: Scope) -> None:
        """Walk a module's or a function's body, or replay it when nothing it read has grown since."""
        memo = self.memos.get(id(node))
        if memo is not None and self._fresh(memo):
            for key, call in memo.calls.items():
                self.calls.setdefault(key, call)
            if self.frames:
                self.frames[-1].merge(memo)
            return
        frame = _Memo(self.lenient)
        self.frames.append(frame)
        try:
            self.block(body, scope)
        finally:
            self.frames.pop()
        self.memos[id(node)] = frame
        if self.frames:
            self.frames[-1].merge(frame)

    def _module_scope(self, scope: Scope) -> Scope:
        return scope.module.scope

    def lookup(self, scope: Scope, name: str) -> Vals:
        s: Scope | None = scope
        if scope.kind == "class":
            if name in scope.locals:
                return frozenset(self._get((id(scope), name)))
            s = scope.parent
        while s is not None:
            if s.kind == "function" and name in s.globals:
                s = self._module_scope(s)
                continue
            if s.kind == "module" or name in s.locals:
                return frozenset(self._get((id(s), name)))
            s = s.parent
        return EMPTY

    def bind(self, scope: Scope, name: str, values: Iterable[Value]) -> None:
        target = scope
        if scope.kind == "function" and name in scope.globals:
            target = self._module_scope(scope)
        elif scope.kind == "function" and name in scope.nonlocals:
            s = scope.parent
            while s is not None and s.kind == "function" and name not in s.locals:
                s = s.parent
            target = s or self._module_scope(scope)
        self._add((id(target), name), values)

    # -- the passes -----------------------------------------------------------------------------

    def run(self) -> list[RawCall]:
        # Strict passes first: a resource whose name is still unknown (a parameter no call has reached
        # yet) is not created, so it cannot linger as an unresolved twin of the real one. Then lenient
        # passes admit names that stay unknown for good (e.g. a route handler's argument).
        for lenient in (False, True):
            self.lenient = lenient
            for _ in range(MAX_PASSES):
                self.changed = False
                self.calls = {}
                self.passes += 1
                for mod in self.order:
                    self._walk_unit(mod.tree, mod.tree.body, mod.scope)
                if not self.changed:
                    break
        return list(self.calls.values())

    def block(self, body: Iterable[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            try:
                self.stmt(stmt, scope)
            except RecursionError:  # a pathologically deep expression: skip that statement, keep the rest
                continue

    def stmt(self, node: ast.stmt, scope: Scope) -> None:
        kind = type(node)
        if kind is ast.Expr:  # the most common statements first
            self.eval(node.value, scope)  # type: ignore[attr-defined]
            return
        if kind is ast.If:
            self.eval(node.test, scope)  # type: ignore[attr-defined]
            self.block(node.body, scope)  # type: ignore[attr-defined]
            self.block(node.orelse, scope)  # type: ignore[attr-defined]
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fscope = self.node_scope[id(node)]
            fn = self.funcs[fscope.fid]  # type: ignore[index]
            for d in node.decorator_list:
                self.eval(d, scope)
            args = node.args
            pos_defaults = list(zip(fn.params[len(fn.params) - len(args.defaults):], args.defaults))
            kw_defaults = [(n, d) for n, d in zip(fn.kwonly, args.kw_defaults) if d is not None]
            for name, default in pos_defaults + kw_defaults:
                self._add((id(fscope), name), self.eval(default, scope))
            self.bind(scope, node.name, {FuncV(fn.fid)})
            self._walk_unit(node, node.body, fscope)
        elif isinstance(node, ast.ClassDef):
            cscope = self.node_scope[id(node)]
            klass = self.classes[cscope.cid]  # type: ignore[index]
            for b in node.bases:
                for v in self.eval(b, scope):
                    if isinstance(v, ClassV) and v.cid not in klass.bases and v.cid != klass.cid:
                        klass.bases.add(v.cid)
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
            self.eval(node.value, scope)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                values = self.eval(node.value, scope)
                fid = self._enclosing_fid(scope)
                if fid is not None:
                    self._add_return(fid, values)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            it = self.eval(node.iter, scope)
            self.assign(node.target, frozenset(self._iterate(it)), None, scope)
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

    def _enclosing_fid(self, scope: Scope) -> int | None:
        s: Scope | None = scope
        while s is not None and s.kind != "function":
            s = s.parent
        return s.fid if s is not None else None

    def assign(self, target: ast.expr, values: Vals, value_node: ast.expr | None, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self.bind(scope, target.id, values)
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
        for v in values:
            if isinstance(v, CollectionV):
                spec = _resource_index(v.parent.service, v.parent.rtype).get(
                    _xform(v.name), ("", {}))[1]
                res = spec[1].get("resource", {}) if isinstance(spec, tuple) else {}
                if res.get("type"):
                    yield self._make_resource(v.parent, res, [], {})

    # -- imports --------------------------------------------------------------------------------

    def import_(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(scope, alias.asname, self._module_value(alias.name))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(scope, top, self._module_value(top))
            return
        base = _absolute(node.module, node.level, scope.module.package)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                mod = self.modules.get(base)
                if mod is not None:
                    for name in mod.scope.locals:
                        if not name.startswith("_"):
                            self.bind(scope, name, self.lookup(mod.scope, name))
                continue
            self.bind(scope, alias.asname or alias.name, self._from_value(base, alias.name))

    def _module_value(self, name: str) -> Vals:
        if name == "boto3":
            return frozenset({Boto3Module()})
        if name == "boto3.session":
            return frozenset({Boto3SessionModule()})
        if name == "os":
            return frozenset({OsModule()})
        if name in self.modules or any(m.startswith(name + ".") for m in self.modules):
            return frozenset({ModuleV(name)})
        return EMPTY

    def _from_value(self, base: str, name: str) -> Vals:
        if base == "boto3":
            if name in ("client", "resource"):
                return frozenset({Boto3Factory(name)})
            if name == "Session":
                return frozenset({Boto3Factory("Session")})
            if name == "session":
                return frozenset({Boto3SessionModule()})
            return EMPTY
        if base == "boto3.session" and name == "Session":
            return frozenset({Boto3Factory("Session")})
        if base == "os":
            return frozenset({OsEnviron()}) if name == "environ" else (
                frozenset({Getenv()}) if name == "getenv" else EMPTY)
        return self.attribute(ModuleV(base), name)

    # -- expressions ----------------------------------------------------------------------------

    def eval(self, node: ast.expr, scope: Scope) -> Vals:
        kind = type(node)
        if kind is ast.Name:
            return self.lookup(scope, node.id)  # type: ignore[attr-defined]
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if not isinstance(value, str):
                return EMPTY
            cached = self._consts.get(value)
            if cached is None:
                cached = self._consts[value] = frozenset({StrV.lit(value)})
            return cached
        if isinstance(node, ast.Attribute):
            out: set[Value] = set()
            for v in self.eval(node.value, scope):
                out |= self.attribute(v, node.attr)
            return frozenset(out)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, scope)
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left, scope), self.eval(node.right, scope)
            if isinstance(node.op, ast.Add):
                ls = [v for v in left if isinstance(v, StrV)]
                rs = [v for v in right if isinstance(v, StrV)]
                if (ls or rs) and not self.lenient and not (left and right):
                    return self._defer()  # one side not known yet: wait for the next pass
                if ls or rs:
                    ls = ls or [StrV.unknown(self.source(node.left))]
                    rs = rs or [StrV.unknown(self.source(node.right))]
                    return frozenset(StrV.join([a, b]) for a in ls[:4] for b in rs[:4])
            return EMPTY
        if isinstance(node, ast.Subscript):
            base = self.eval(node.value, scope)
            key = self.eval(node.slice, scope)
            if any(isinstance(v, OsEnviron) for v in base):
                names = [k.literal for k in key if isinstance(k, StrV) and k.literal is not None]
                return frozenset(StrV((Env(n),)) for n in names)
            return EMPTY
        if isinstance(node, ast.IfExp):
            self.eval(node.test, scope)
            return self.eval(node.body, scope) | self.eval(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            vals = [self.eval(v, scope) for v in node.values]
            if isinstance(node.op, ast.Or) and len(vals) == 2:
                lefts = [v for v in vals[0] if isinstance(v, StrV)]
                rights = [v for v in vals[1] if isinstance(v, StrV) and v.literal is not None]
                if lefts and rights and all(len(v.parts) == 1 and isinstance(v.parts[0], Env) for v in lefts):
                    # os.environ.get("X") or "default"
                    return frozenset(StrV((Env(v.parts[0].name, rights[0].literal),))  # type: ignore[union-attr]
                                     for v in lefts) | (vals[1] - frozenset(rights))
            return frozenset().union(*vals)
        if isinstance(node, ast.NamedExpr):
            values = self.eval(node.value, scope)
            self.assign(node.target, values, node.value, scope)
            return values
        if isinstance(node, ast.Await):
            return self.eval(node.value, scope)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in node.generators:
                self.assign(gen.target, frozenset(self._iterate(self.eval(gen.iter, scope))), None, scope)
                for cond in gen.ifs:
                    self.eval(cond, scope)
            for child in ("elt", "key", "value"):
                if hasattr(node, child):
                    self.eval(getattr(node, child), scope)
            return EMPTY
        if isinstance(node, ast.Lambda):
            self.eval(node.body, scope)
            return EMPTY
        for sub in ast.iter_child_nodes(node):
            if isinstance(sub, ast.expr):
                self.eval(sub, scope)
            elif isinstance(sub, ast.keyword):
                self.eval(sub.value, scope)
        return EMPTY

    def source(self, node: ast.AST) -> str:
        key = id(node)
        if key not in self._source:
            self._source[key] = ast.unparse(node)
        return self._source[key]

    def _fstring(self, node: ast.JoinedStr, scope: Scope) -> Vals:
        pieces: list[StrV] = []
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                pieces.append(StrV.lit(v.value))
            elif isinstance(v, ast.FormattedValue):
                vals = self.eval(v.value, scope)
                if not vals and not self.lenient:
                    return self._defer()  # not known yet: wait for the next pass
                strs = [x for x in vals if isinstance(x, StrV)]
                if len(strs) == 1 and v.format_spec is None and v.conversion in (-1, 115):
                    pieces.append(strs[0])
                else:
                    pieces.append(StrV.unknown(self.source(v.value)))
        return frozenset({StrV.join(pieces)})

    def attribute(self, v: Value, name: str) -> Vals:
        if isinstance(v, Boto3Module):
            if name in ("client", "resource"):
                return frozenset({Boto3Factory(name)})
            if name == "Session":
                return frozenset({Boto3Factory("Session")})
            if name == "session":
                return frozenset({Boto3SessionModule()})
        elif isinstance(v, Boto3SessionModule):
            if name == "Session":
                return frozenset({Boto3Factory("Session")})
        elif isinstance(v, SessionV):
            if name in ("client", "resource"):
                return frozenset({Boto3Factory(name)})
        elif isinstance(v, OsModule):
            if name == "environ":
                return frozenset({OsEnviron()})
            if name == "getenv":
                return frozenset({Getenv()})
        elif isinstance(v, OsEnviron):
            if name == "get":
                return frozenset({Getenv()})
        elif isinstance(v, ClientV):
            if name not in ("meta", "exceptions"):
                return frozenset({MethodV(v, name)})
        elif isinstance(v, ResourceV):
            if name == "meta":
                return frozenset({MetaV(v.service)})
            kind = _resource_index(v.service, v.rtype).get(name)
            if kind is not None and kind[0] == "collection":
                return frozenset({CollectionV(v, kind[1][0])})
            return frozenset({MethodV(v, name)})
        elif isinstance(v, MetaV):
            if name == "client":
                return frozenset({ClientV(v.service)})
        elif isinstance(v, (CollectionV, PaginatorV, BatchWriterV)):
            return frozenset({MethodV(v, name)})
        elif isinstance(v, ModuleV):
            mod = self.modules.get(v.name)
            if mod is not None and name in mod.scope.locals:
                return frozenset(self._get((id(mod.scope), name)))
            sub = f"{v.name}.{name}"
            if sub in self.modules or any(m.startswith(sub + ".") for m in self.modules):
                return frozenset({ModuleV(sub)})
            if mod is not None:
                return frozenset(self._get((id(mod.scope), name)))
        elif isinstance(v, InstV):
            return frozenset(self._instance_attr(v, name))
        elif isinstance(v, ClassV):
            return frozenset(self._class_attr(v.cid, name))
        return EMPTY

    def _mro(self, cid: int) -> Iterator[Klass]:
        seen: set[int] = set()
        stack = [cid]
        while stack:
            c = stack.pop(0)
            if c in seen or c not in self.classes:
                continue
            seen.add(c)
            yield self.classes[c]
            stack.extend(sorted(self._bases(c)))

    def _class_attr(self, cid: int, name: str) -> set[Value]:
        for k in self._mro(cid):
            vals = self._get((id(k.scope), name))
            if vals:
                return set(vals)
        return set()

    def _instance_attr(self, inst: InstV, name: str) -> set[Value]:
        out: set[Value] = set()
        for v in self._class_attr(inst.cid, name):
            if isinstance(v, FuncV) and self.funcs[v.fid].method_of is not None:
                out.add(BoundFuncV(v.fid, inst))
            else:
                out.add(v)
        return out

    # -- calls ----------------------------------------------------------------------------------

    def call(self, node: ast.Call, scope: Scope) -> Vals:
        funcs = self.eval(node.func, scope)
        args = [self.eval(a.value if isinstance(a, ast.Starred) else a, scope) for a in node.args]
        kwargs = {k.arg: self.eval(k.value, scope) for k in node.keywords if k.arg is not None}
        for k in node.keywords:
            if k.arg is None:
                self.eval(k.value, scope)
        if isinstance(node.func, ast.Name) and node.func.id == "super" and not node.args:
            return self._super(scope)
        out: set[Value] = set()
        for f in funcs:
            out |= self.apply(f, args, kwargs, node, scope)
        return frozenset(out)

    def _super(self, scope: Scope) -> Vals:
        s: Scope | None = scope
        while s is not None and s.kind == "function":
            fn = self.funcs[s.fid]  # type: ignore[index]
            if fn.method_of is not None:
                return frozenset(InstV(b) for b in self._bases(fn.method_of))
            s = s.parent
        return EMPTY

    def apply(self, f: Value, args: list[Vals], kwargs: dict[str, Vals], node: ast.Call, scope: Scope) -> Vals:
        if isinstance(f, Boto3Factory):
            if f.kind == "Session":
                return frozenset({SessionV()})
            names = args[0] if args else kwargs.get("service_name", EMPTY)
            out: set[Value] = set()
            for n in names:
                service = n.literal if isinstance(n, StrV) else None
                if service is None or service not in models.known_services():
                    continue
                if f.kind == "client":
                    out.add(ClientV(service))
                elif models.resource_model(service) is not None:
                    out.add(ResourceV(service, ""))
            return frozenset(out)
        if isinstance(f, Getenv):
            names = args[0] if args else kwargs.get("key", EMPTY)
            defaults = args[1] if len(args) > 1 else kwargs.get("default", EMPTY)
            default = next((d.literal for d in defaults if isinstance(d, StrV) and d.literal is not None), None)
            return frozenset(StrV((Env(n.literal, default),)) for n in names
                             if isinstance(n, StrV) and n.literal is not None)
        if isinstance(f, FuncV):
            return self._call_func(self.funcs[f.fid], None, args, kwargs)
        if isinstance(f, BoundFuncV):
            return self._call_func(self.funcs[f.fid], f.self_value, args, kwargs)
        if isinstance(f, ClassV):
            inst = InstV(f.cid)
            init = next((v for v in self._class_attr(f.cid, "__init__") if isinstance(v, FuncV)), None)
            if init is not None:
                self._call_func(self.funcs[init.fid], inst, args, kwargs)
            else:  # dataclass-style: fields in declaration order, or by keyword
                klass = self.classes[f.cid]
                for name, vals in list(zip(klass.fields, args)) + list(kwargs.items()):
                    self._add((id(klass.scope), name), vals)
            return frozenset({inst})
        if isinstance(f, MethodV):
            return self._boto_method(f, args, kwargs, node, scope)
        return EMPTY

    def _call_func(self, fn: Func, self_value: InstV | None, args: list[Vals], kwargs: dict[str, Vals]) -> Vals:
        params = fn.params
        if self_value is not None and fn.method_of is not None:
            self._add((id(fn.scope), params[0]), {self_value})
            params = params[1:]
        for name, vals in zip(params, args):
            self._add((id(fn.scope), name), vals)
        allowed = set(params) | set(fn.kwonly)
        for name, vals in kwargs.items():
            if name in allowed:
                self._add((id(fn.scope), name), vals)
        return frozenset(self._get((-fn.fid, "<return>")))

    # -- boto3 methods ---------------------------------------------------------------------------

    def _boto_method(self, m: MethodV, args: list[Vals], kwargs: dict[str, Vals], node: ast.Call,
                     scope: Scope) -> Vals:
        obj = m.obj
        if isinstance(obj, ClientV):
            if m.name == "get_paginator":
                ops = [models.method_operation(obj.service, n.literal) for n in (args[0] if args else EMPTY)
                       if isinstance(n, StrV) and n.literal]
                return frozenset(PaginatorV(obj.service, op) for op in ops if op)
            op = models.method_operation(obj.service, m.name)
            if op is not None:
                self._record(node, scope, obj.service, op, {}, kwargs, f"{obj.service}.{m.name}")
                return EMPTY
            injected = INJECTED.get((obj.service, "client"), {}).get(m.name)
            if injected is not None:
                kw = self._positional(injected[1], args, kwargs)
                for op in injected[0]:
                    self._record(node, scope, obj.service, op, {}, kw, f"{obj.service}.{m.name}", injected[1])
            return EMPTY
        if isinstance(obj, PaginatorV):
            if m.name == "paginate":
                self._record(node, scope, obj.service, obj.operation, {}, kwargs, f"{obj.service} paginator")
            return EMPTY
        if isinstance(obj, BatchWriterV):
            if m.name in ("put_item", "delete_item"):
                fixed = {"TableName": obj.table.ids[0]} if obj.table.ids and obj.table.ids[0] else {}
                self._record(node, scope, "dynamodb", "BatchWriteItem", fixed, {}, f"batch_writer.{m.name}")
            return EMPTY
        if isinstance(obj, CollectionV):
            return self._collection_method(obj, m.name, kwargs, node, scope)
        if isinstance(obj, ResourceV):
            return self._resource_method(obj, m.name, args, kwargs, node, scope)
        return EMPTY

    @staticmethod
    def _positional(names: tuple[str, ...], args: list[Vals], kwargs: dict[str, Vals]) -> dict[str, Vals]:
        """Name the positional arguments of a hand-written boto3 method after the API parameters they fill."""
        out = dict(kwargs)
        for name, vals in zip(names, args):
            out.setdefault(name, vals)
        return out

    def _collection_method(self, coll: CollectionV, name: str, kwargs: dict[str, Vals], node: ast.Call,
                           scope: Scope) -> Vals:
        parent = coll.parent
        kind = _resource_index(parent.service, parent.rtype).get(_xform(coll.name))
        if kind is None:
            return EMPTY
        spec = kind[1][1]
        label = f"{parent.rtype or parent.service}.{_xform(coll.name)}.{name}"
        if name in _COLLECTION_METHODS:
            request = spec.get("request", {})
            self._record_request(node, scope, parent, request, kwargs, label)
            return frozenset({coll})
        rtype = spec.get("resource", {}).get("type", "")
        batch = _batch_actions(parent.service, rtype).get(name)
        if batch is not None:
            request = dict(batch.get("request", {}))
            # batch actions take the parent's identifiers (e.g. the bucket)
            self._record_request(node, scope, parent, {"operation": request.get("operation"),
                                                       "params": [p for p in request.get("params", [])
                                                                  if "." not in p.get("target", "")]},
                                 {}, label, ids_from=self._batch_ids(parent, rtype))
        return EMPTY

    def _batch_ids(self, parent: ResourceV, rtype: str) -> dict[str, StrV | None]:
        # ObjectSummary's BucketName is the parent Bucket's Name
        pids = dict(zip(_identifiers(parent.service, parent.rtype), parent.ids))
        out: dict[str, StrV | None] = {}
        for ident in _identifiers(parent.service, rtype):
            out[ident] = pids.get(ident) or pids.get("Name")
        return out

    def _resource_method(self, res: ResourceV, name: str, args: list[Vals], kwargs: dict[str, Vals],
                         node: ast.Call, scope: Scope) -> Vals:
        kind = _resource_index(res.service, res.rtype).get(name)
        label = f"{res.rtype or res.service}.{name}"
        if kind is None:
            injected = INJECTED.get((res.service, res.rtype), {}).get(name)
            if injected is not None:
                if name == "batch_writer":
                    return frozenset({BatchWriterV(res)})
                ids = dict(zip(_identifiers(res.service, res.rtype), res.ids))
                fixed = {"Bucket": ids.get("Name") or ids.get("BucketName"), "Key": ids.get("Key")}
                kw = self._positional(injected[1], args, kwargs)
                for op in injected[0]:
                    self._record(node, scope, res.service, op, {k: v for k, v in fixed.items() if v}, kw, label,
                                 injected[1])
            return EMPTY
        if kind[0] == "has":
            return self._subresource(res, kind[1], args, kwargs)
        if kind[0] == "action":
            spec = kind[1]
            self._record_request(node, scope, res, spec.get("request", {}), kwargs, label)
            made = spec.get("resource")
            if made and made.get("type"):
                return frozenset(self._make_resource(res, made, [], kwargs) for _ in (0,))
        return EMPTY

    def _subresource(self, parent: ResourceV, spec: dict[str, Any], args: list[Vals],
                     kwargs: dict[str, Vals]) -> Vals:
        res = spec.get("resource", {})
        if not res.get("type"):
            return EMPTY
        inputs = [i for i in res.get("identifiers", []) if i.get("source") == "input"]
        choices: list[list[StrV | None]] = []
        arg_iter = iter(args)
        for ident in inputs:
            vals = next(arg_iter, None)
            if vals is None:
                vals = kwargs.get(_xform(ident["target"]), EMPTY)
            if not vals and not self.lenient:
                return self._defer()
            strs: list[StrV | None] = [v for v in vals if isinstance(v, StrV)]
            strs = strs[:4]
            choices.append(strs or [None])
        out: set[Value] = set()
        for combo in itertools.islice(itertools.product(*choices), MAX_VALUES):
            out.add(self._make_resource(parent, res, list(combo), kwargs))
        return frozenset(out)

    def _make_resource(self, parent: ResourceV, res: dict[str, Any], inputs: list[StrV | None],
                       kwargs: dict[str, Vals]) -> ResourceV:
        rtype = res["type"]
        pids = dict(zip(_identifiers(parent.service, parent.rtype), parent.ids))
        values: dict[str, StrV | None] = {}
        it = iter(inputs)
        for ident in res.get("identifiers", []):
            src = ident.get("source")
            if src == "input":
                values[ident["target"]] = next(it, None)
            elif src == "identifier":
                values[ident["target"]] = pids.get(ident.get("name", ""))
            elif src == "requestParameter":
                vals = [v for v in kwargs.get(ident.get("path", ""), EMPTY) if isinstance(v, StrV)]
                values[ident["target"]] = vals[0] if vals else None
        return ResourceV(parent.service, rtype, tuple(values.get(i) for i in _identifiers(parent.service, rtype)))

    def _record_request(self, node: ast.Call, scope: Scope, res: ResourceV, request: dict[str, Any],
                        kwargs: dict[str, Vals], label: str,
                        ids_from: dict[str, StrV | None] | None = None) -> None:
        op = request.get("operation")
        if not op:
            return
        ids = ids_from if ids_from is not None else dict(zip(_identifiers(res.service, res.rtype), res.ids))
        fixed: dict[str, StrV] = {}
        for p in request.get("params", []):
            target = p.get("target", "")
            if not target.isidentifier():
                continue
            if p.get("source") == "identifier":
                val = ids.get(p.get("name", ""))
                if val is not None:
                    fixed[target] = val
            elif p.get("source") == "string" and isinstance(p.get("value"), str):
                fixed[target] = StrV.lit(p["value"])
        self._record(node, scope, res.service, op, fixed, kwargs, label)

    def _record(self, node: ast.Call, scope: Scope, service: str, operation: str, fixed: dict[str, StrV],
                kwargs: dict[str, Vals], label: str, positional: tuple[str, ...] = ()) -> None:
        params: dict[str, list[StrV]] = {k: [v] for k, v in fixed.items()}
        by_name = {k.arg: k.value for k in node.keywords if k.arg is not None}
        for pname, arg in zip(positional, node.args):
            by_name.setdefault(pname, arg)
        for k in node.keywords:  # f(**{"TableName": ...})
            if k.arg is None and isinstance(k.value, ast.Dict):
                for kn, vn in zip(k.value.keys, k.value.values):
                    if isinstance(kn, ast.Constant) and isinstance(kn.value, str):
                        by_name.setdefault(kn.value, vn)
                        kwargs = {**kwargs, kn.value: self.eval(vn, scope)}
        for name in _RESOURCE_PARAMS:
            if name in params or name not in by_name:
                continue
            strs = [v for v in kwargs.get(name, EMPTY) if isinstance(v, StrV)]
            params[name] = strs[:4] or [StrV.unknown(self.source(by_name[name]))]
        key_names: tuple[str, ...] = ()
        key_node = by_name.get("Key")
        if isinstance(key_node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                                  for k in key_node.keys):
            key_names = tuple(k.value for k in key_node.keys)  # type: ignore[union-attr]
        actions: tuple[str, ...] = ()
        if service == "dynamodb" and operation == "TransactWriteItems":
            actions = self._transact_actions(by_name.get("TransactItems"))
        names = sorted(params)
        call = RawCall(file=scope.module.rel, line=node.lineno, service=service, operation=operation,
                       params=tuple((n, tuple(sorted(set(params[n]), key=repr))) for n in names),
                       key_names=key_names, actions=actions, via=label)
        key = (call.file, call.line, node.col_offset, service, operation, call.params)
        self.calls.setdefault(key, call)
        if self.frames:
            self.frames[-1].calls[key] = call

    @staticmethod
    def _transact_actions(node: ast.expr | None) -> tuple[str, ...]:
        found = set()
        if node is not None:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Dict):
                    for k in sub.keys:
                        if isinstance(k, ast.Constant) and k.value in TRANSACT_WRITE:
                            found.add(TRANSACT_WRITE[k.value])
        return tuple(sorted(found or TRANSACT_WRITE.values()))


@functools.lru_cache(maxsize=None)
def _xform(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))


def analyze(root: Path, env: Mapping[str, str] | None = None) -> tuple[list[RawCall], list[str]]:
    """Every AWS call the project at `root` makes, as far as the source shows, and the files read.

    `env` is the stage's environment (empty when no stage is chosen).
    """
    modules = project_files(root)
    calls = Analyzer(modules).run()
    return (sorted(calls, key=lambda c: (c.file, c.line, c.service, c.operation, repr(c.params))),
            [m.rel for m in modules])
