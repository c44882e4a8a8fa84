"""Pass 2, values: what an expression evaluates to, as a set of abstract values.

Strings are followed through literals, `+`, f-strings, `os.environ`/`os.getenv` and `or` defaults;
boto3 objects through the factories (`boto3.client`, sessions, `.Table(...)`, `meta.client`);
project code through calls (arguments to parameters, returns to callers), classes and instances.
"""

from __future__ import annotations

import ast
from typing import Iterator

from canary.discover._values import (
    BatchWriterV,
    Boto3Factory,
    Boto3Module,
    Boto3SessionModule,
    BoundFuncV,
    ClassV,
    BoundStrV,
    ChaliceApp,
    ChaliceClass,
    ClientV,
    ConstV,
    DictGetV,
    DictV,
    EventV,
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
    PynamoIndexV,
    PynamoMethodV,
    PaginatorV,
    ResourceV,
    SessionV,
    StrV,
    Value,
    WebsocketApiV,
    WebsocketMethodV,
)
from canary.discover import _models as models
from canary.discover import _strings as strings
from canary.discover._calls import DEFAULT, EMPTY, MAX_VALUES, OPAQUE, Vals, capped, resource_index
from canary.discover._parse import Func, Klass, Scope

__all__ = ["Eval"]

# chalice's WebsocketAPI methods -> the apigatewaymanagementapi operation each one calls
WEBSOCKET_OPERATIONS = {"send": "PostToConnection", "close": "DeleteConnection", "info": "GetConnection"}


class Eval:
    """Expressions (mixed into `Analyzer`)."""


    def eval(self, node: ast.expr, scope: Scope) -> Vals:
        kind = type(node)
        if kind is ast.Name:
            return self.lookup(scope, node.id, node)  # type: ignore[attr-defined]
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if value is None or isinstance(value, bool):
                return frozenset({ConstV(value)})
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
                if isinstance(v, ResourceV) and v.rtype:
                    self.lazy_load(v, node, scope)
            return frozenset(out)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, scope)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return self._percent(node, scope)
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left, scope), self.eval(node.right, scope)
            if isinstance(node.op, ast.Add):
                ls = [v for v in left if isinstance(v, StrV)]
                rs = [v for v in right if isinstance(v, StrV)]
                if (ls or rs) and not self.admit_empty(scope) and not (left and right):
                    return self._defer()  # one side not known yet: wait for the next pass
                if ls or rs:
                    ls = ls or [StrV.unknown(self.source(node.left))]
                    rs = rs or [StrV.unknown(self.source(node.right))]
                    one = MAX_VALUES - 1 if len(ls) == 1 or len(rs) == 1 else 4  # a fixed side: no product
                    ls = capped(ls, one, self.source(node.left))
                    rs = capped(rs, one, self.source(node.right))
                    return frozenset(StrV.join([a, b]) for a in ls for b in rs)
            return EMPTY
        if isinstance(node, ast.Subscript):
            base = self.eval(node.value, scope)
            key = self.eval(node.slice, scope)
            out = set()
            if any(isinstance(v, OsEnviron) for v in base):
                names = [k.literal for k in key if isinstance(k, StrV) and k.literal is not None]
                out |= {StrV((Env(n),)) for n in names}
            for d in base:
                if isinstance(d, DictV):
                    out |= self._lookup_dict(d, key, None)
            return frozenset(out)
        if isinstance(node, ast.Dict):
            values = [self.eval(v, scope) for v in node.values]
            if node.keys and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
                entries = sorted(((k.value, v) for k, vs in zip(node.keys, values)  # type: ignore[union-attr]
                                  for v in vs), key=repr)
                return frozenset({DictV(tuple(entries))})
            for k in node.keys:
                if k is not None:
                    self.eval(k, scope)
            return EMPTY
        if isinstance(node, ast.IfExp):
            self.eval(node.test, scope)
            truth = self.decide(node.test, scope, [])
            body = self.eval(node.body, scope) if truth is not False else EMPTY
            orelse = self.eval(node.orelse, scope) if truth is not True else EMPTY
            return body | orelse
        if isinstance(node, ast.Compare) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            for sub in ast.iter_child_nodes(node):
                if isinstance(sub, ast.expr):
                    self.eval(sub, scope)
            truth = self.decide(node, scope, [])
            return EMPTY if truth is None else frozenset({ConstV(truth)})
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
                self.assign(gen.target, self.items_of(gen.iter, scope), None, scope)
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

    def items_of(self, node: ast.expr, scope: Scope) -> Vals:
        """What `for x in node` binds: each element written in a list/tuple/set, or a collection's items."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return frozenset().union(*(self.eval(e, scope) for e in node.elts if not isinstance(e, ast.Starred)))
        return frozenset(self._iterate(self.eval(node, scope)))

    def source(self, node: ast.AST) -> str:
        key = id(node)
        if key not in self._source:
            self._source[key] = ast.unparse(node)
        return self._source[key]

    def _fstring(self, node: ast.JoinedStr, scope: Scope) -> Vals:
        """Each alternative of each field gives an alternative of the string (a hole says when some were cut).

        One field keeps as many alternatives as a fact may hold; several keep 4 each (their product grows).
        """
        fields = sum(isinstance(v, ast.FormattedValue) for v in node.values)
        cap = MAX_VALUES - 1 if fields == 1 else 4
        pieces: list[list[StrV]] = []
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                pieces.append([StrV.lit(v.value)])
            elif isinstance(v, ast.FormattedValue):
                vals = self.eval(v.value, scope)
                if not vals and not self.admit_empty(scope):
                    return self._defer()  # not known yet: wait for the next pass
                strs = [x for x in vals if isinstance(x, StrV)]
                if strs and v.format_spec is None and v.conversion in (-1, 115):
                    pieces.append(capped(strs, cap, self.source(v.value)))
                else:
                    pieces.append([StrV.unknown(self.source(v.value))])
        return frozenset(strings.combine(pieces))

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
                return frozenset({MetaV(v.service, v.region)})
            kind = resource_index(v.service, v.rtype).get(name)
            if kind is not None and kind[0] == "collection":
                return frozenset({CollectionV(v, kind[1][0])})
            return frozenset({MethodV(v, name)})
        elif isinstance(v, MetaV):
            if name == "client":
                return frozenset({ClientV(v.service, v.region)})
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
            found = self._instance_attr(v, name)
            return frozenset(self.pynamo_attr(v, name, found) if self.classes[v.cid].bases else found)
        elif isinstance(v, PynamoIndexV):
            return frozenset(self.pynamo_index_attr(v, name))
        elif isinstance(v, PynamoMethodV) and v.name == "<batch>":
            return frozenset({PynamoMethodV(v.model, f"<batch>:{name}", False)})
        elif isinstance(v, StrV):
            if name in ("format", "join") or name in strings.STR_METHODS:
                return frozenset({BoundStrV(v, name)})
        elif isinstance(v, DictV):
            if name == "get":
                return frozenset({DictGetV(v)})
        elif isinstance(v, ChaliceApp):
            if name == "app_name" and v.name is not None:
                return frozenset({v.name})
            if name == "websocket_api":
                return frozenset({WebsocketApiV()})
        elif isinstance(v, WebsocketApiV):
            if name in WEBSOCKET_OPERATIONS:
                return frozenset({WebsocketMethodV(name)})
        elif isinstance(v, EventV):
            return frozenset(val for key, val in v.attrs if key == name)
        elif isinstance(v, ClassV):
            found = {BoundFuncV(f.fid, v) if isinstance(f, FuncV) and self.funcs[f.fid].classmethod else f
                     for f in self._class_attr(v.cid, name)}
            return frozenset(self.pynamo_attr(v, name, found) if self.classes[v.cid].bases else found)
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
            if isinstance(v, FuncV) and self.funcs[v.fid].classmethod:
                out.add(BoundFuncV(v.fid, ClassV(inst.cid)))
            elif isinstance(v, FuncV) and self.funcs[v.fid].method_of is not None:
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
        if isinstance(node.func, ast.Name) and node.func.id == "super" and len(node.args) in (0, 2):
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
            given = args[1] if len(args) > 1 else kwargs.get("region_name")
            regions = [r for r in (given or EMPTY) if isinstance(r, StrV)]
            if given is not None and not regions and not self.admit_empty(scope):
                return self._defer()  # the region is on its way: a client made now would be one "for any region"
            region = regions[0] if len(regions) == 1 else None  # several: unknown, as if not given
            out: set[Value] = set()
            for n in names:
                service = n.literal if isinstance(n, StrV) else None
                if service is None or service not in models.known_services():
                    continue
                if f.kind == "client":
                    out.add(ClientV(service, region))
                elif models.resource_model(service) is not None:
                    out.add(ResourceV(service, "", (), region))
            return frozenset(out)
        if isinstance(f, PynamoMethodV):
            return self.apply_pynamo(f, node, scope)
        if isinstance(f, BoundStrV):
            return self._string_method(f, args, kwargs, node, scope)
        if isinstance(f, DictGetV):
            keys = args[0] if args else EMPTY
            default = args[1] if len(args) > 1 else frozenset({ConstV(None)})
            return frozenset(self._lookup_dict(f.d, keys, default))
        if isinstance(f, ChaliceClass):
            names = args[0] if args else kwargs.get("app_name", kwargs.get("import_name", EMPTY))
            strs = sorted((n for n in names if isinstance(n, StrV)), key=repr)
            return frozenset(ChaliceApp(n) for n in strs) or frozenset({ChaliceApp(None)})
        if isinstance(f, Getenv):
            names = args[0] if args else kwargs.get("key", EMPTY)
            defaults = args[1] if len(args) > 1 else kwargs.get("default", EMPTY)
            default = next((d.literal for d in defaults if isinstance(d, StrV) and d.literal is not None), None)
            return frozenset(StrV((Env(n.literal, default, optional=True),)) for n in names
                             if isinstance(n, StrV) and n.literal is not None)
        if isinstance(f, FuncV):
            return self._call_func(self.funcs[f.fid], None, args, kwargs, node)
        if isinstance(f, BoundFuncV):
            return self._call_func(self.funcs[f.fid], f.self_value, args, kwargs, node)
        if isinstance(f, ClassV):
            inst = InstV(f.cid)
            init = next((v for v in self._class_attr(f.cid, "__init__") if isinstance(v, FuncV)), None)
            if init is not None:
                self._call_func(self.funcs[init.fid], inst, args, kwargs, node)
            else:  # dataclass-style: fields in declaration order, or by keyword
                klass = self.classes[f.cid]
                for name, vals in list(zip(klass.fields, args)) + list(kwargs.items()):
                    self._add((id(klass.scope), name), vals)
            return frozenset({inst})
        if isinstance(f, MethodV):
            return self._boto_method(f, args, kwargs, node, scope)
        if isinstance(f, WebsocketMethodV):
            # Chalice posts through API Gateway's management API: execute-api:ManageConnections on
            # the connection, whose API id is only known once deployed.
            self._record(node, scope, "apigatewaymanagementapi", WEBSOCKET_OPERATIONS[f.name], {}, {},
                         f"websocket_api.{f.name}")
            return EMPTY
        return EMPTY

    def _opaque(self, fn: Func, name: str) -> None:
        """A call passes `name` a value not followed: a guard on it decides nothing (`_stage.opaque_param`)."""
        if self.lenient:
            self._add((id(fn.scope), name + OPAQUE), {StrV.unknown(name)})
        else:
            self._defer()  # it may still get a value: look again in the lenient passes

    def _call_func(self, fn: Func, self_value: InstV | ClassV | None, args: list[Vals], kwargs: dict[str, Vals],
                   node: ast.Call | None = None) -> Vals:
        self.called.add(fn.fid)
        self.edges.add((self.unit_fids[-1] if self.unit_fids else None, fn.fid, self.dead))
        params = fn.params
        overlay: dict[str, Vals] = {}
        if fn.classmethod:  # `cls` is the class it was reached through (its own, when read)
            if isinstance(self_value, ClassV):
                self._add((id(fn.scope), params[0]), {self_value})
                overlay[params[0]] = frozenset({self_value})
            params = params[1:]
        elif self_value is not None and fn.method_of is not None:
            self._add((id(fn.scope), params[0]), {self_value})
            overlay[params[0]] = frozenset({self_value})
            params = params[1:]
        for name, vals in zip(params, args):
            overlay[name] = self.rewritten(fn, name, vals) if fn.rewrites else vals
            self._add((id(fn.scope), name), overlay[name])
            if not vals:
                self._opaque(fn, name)
        allowed = set(params) | set(fn.kwonly)
        for name, vals in kwargs.items():
            if name in allowed:
                overlay[name] = self.rewritten(fn, name, vals) if fn.rewrites else vals
                self._add((id(fn.scope), name), overlay[name])
                if not vals:
                    self._opaque(fn, name)
        # a default reaches the body only from a call that leaves its parameter out
        splat = node is None or any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords)
        given = set(params[:len(args)]) | set(kwargs)
        if splat and node is not None:  # `f(*args, **kw)`: any parameter may get anything
            for name in list(params[len(args):]) + list(fn.kwonly):
                if name not in kwargs:
                    self._opaque(fn, name)
        for name in fn.defaults:
            if splat or name not in given:
                default = frozenset(self._get((id(fn.scope), name + DEFAULT)))
                self._add((id(fn.scope), name), default)
                if not splat:
                    overlay[name] = default
        if fn.simple is not None and not splat and all(overlay.get(p) for p in params if p in overlay):
            here = self.inline_return(fn, overlay)
            if here is not None:
                return here
        return frozenset(self._get((-fn.fid, "<return>")))

