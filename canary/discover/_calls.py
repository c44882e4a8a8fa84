"""Pass 3, calls: recognise boto3 API calls on the values the interpreter tracks, and record them.

A client method (`s3.put_object`), a resource action (`table.update_item`), a collection
(`bucket.objects.filter`), a paginator or a batch writer becomes a `RawCall` with the API
parameters that name its resource (`TableName`, `Bucket`, `Key`, ...), each with every string value
that can reach it. boto3's own resource models say which identifiers fill which parameters.
"""

from __future__ import annotations

import ast
import functools
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from canary.discover import _models as models
from canary.discover._tables import ARN_TEMPLATES, CONTEXT_PARAMS, INJECTED, NESTED_PARAMS, TRANSACT_WRITE
from canary.discover._values import (BatchWriterV, ClientV, CollectionV, DictV, Lit, MethodV, PaginatorV, ResourceV,
                                     StrV, Unknown, Value)

if TYPE_CHECKING:
    from canary.discover._parse import Scope

__all__ = ["RawCall", "Calls", "merge_sites", "capped", "resource_index", "identifiers", "xform"]

Vals = frozenset[Value]
EMPTY: Vals = frozenset()
MAX_VALUES = 12
DEFAULT = "\x00default"  # suffix of the fact holding a parameter's default value
OPAQUE = "\x00opaque"  # suffix of the fact saying some call passes a parameter a value not followed (request data)
_RESOURCE_PARAMS = frozenset(p for temps in ARN_TEMPLATES.values() for names, _ in temps for p in names)
_COLLECTION_METHODS = frozenset({"all", "filter", "limit", "page_size", "pages"})


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
    region: StrV | None = None       # `region_name=` of the client or resource that made the call


# ---------------------------------------------------------------------------------------------------
# Resource models, indexed by the Python names boto3 gives their parts

@functools.lru_cache(maxsize=None)
def resource_index(service: str, rtype: str) -> dict[str, tuple[str, Any]]:
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


@functools.lru_cache(maxsize=None)
def loaded_attributes(service: str, rtype: str) -> frozenset[str]:
    """The attributes of a boto3 resource that its first read loads (`table.key_schema` calls DescribeTable)."""
    from botocore import xform_name

    model = models.resource_model(service) or {}
    defn = model.get("resources", {}).get(rtype, {})
    if "load" not in defn or not defn.get("shape"):
        return frozenset()
    try:
        shape = models._service_model(service).shape_for(defn["shape"])
    except Exception:  # noqa: BLE001 - a model botocore cannot read: no lazy loads known
        return frozenset()
    index = resource_index(service, rtype)
    idents = {xform_name(i) for i in identifiers(service, rtype)}
    return frozenset(n for n in (xform_name(m) for m in getattr(shape, "members", {}))
                     if n not in index and n not in idents)


def identifiers(service: str, rtype: str) -> list[str]:
    model = models.resource_model(service) or {}
    return [i["name"] for i in model.get("resources", {}).get(rtype, {}).get("identifiers", [])]


def _batch_actions(service: str, rtype: str) -> dict[str, Any]:
    from botocore import xform_name

    model = models.resource_model(service) or {}
    acts = model.get("resources", {}).get(rtype, {}).get("batchActions", {})
    return {xform_name(k): v for k, v in acts.items()}


@functools.lru_cache(maxsize=None)
def xform(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))


def merge_sites(calls: "list[RawCall]") -> "list[RawCall]":
    """One call per place in the source: the objects that can reach it give alternatives, not copies.

    `t.put_item(...)` where `t` may be table `a` or table `b` is one call whose TableName is `a` or
    `b`. Calls that differ in what they name (their parameters, their actions) stay apart.
    """
    groups: dict[tuple[Any, ...], dict[str, set[StrV]]] = {}
    first: dict[tuple[Any, ...], RawCall] = {}
    regions: dict[tuple[Any, ...], set[StrV | None]] = {}
    for c in calls:
        key = (c.file, c.line, c.service, c.operation, c.via, c.key_names, c.actions, c.not_in_stage,
               tuple(n for n, _ in c.params))
        first.setdefault(key, c)
        regions.setdefault(key, set()).add(c.region)
        slots = groups.setdefault(key, {})
        for name, alts in c.params:
            slots.setdefault(name, set()).update(alts)
    out = []
    for key, c in first.items():
        params = tuple((n, tuple(sorted(alts, key=repr))) for n, alts in sorted(groups[key].items()))
        known = regions.get(key, set())
        out.append(RawCall(file=c.file, line=c.line, service=c.service, operation=c.operation, params=params,
                           key_names=c.key_names, actions=c.actions, via=c.via, not_in_stage=c.not_in_stage,
                           region=next(iter(known)) if len(known) == 1 else None))
    return out


def capped(values: "list[StrV]", cap: int, source: str) -> "list[StrV]":
    """The first `cap` values in a stable order, and a hole that says how many more were left out."""
    values = sorted(set(values), key=repr)
    if len(values) <= cap:
        return values
    return values[:cap] + [StrV.unknown(f"{source} (+{len(values) - cap} more values)")]


class Calls:
    """The boto3 half of the interpreter (mixed into `Analyzer`)."""

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
                self._record(node, scope, obj.service, op, {}, kwargs, f"{obj.service}.{m.name}", region=obj.region)
                if (obj.service, op) == ("sqs", "GetQueueUrl"):  # its answer's QueueUrl ends in the queue's name
                    return frozenset(DictV((("QueueUrl", StrV((Unknown("the URL get_queue_url returns"), Lit("/"),
                                                               *name.parts))),))
                                     for name in kwargs.get("QueueName", EMPTY) if isinstance(name, StrV))
                return EMPTY
            injected = INJECTED.get((obj.service, "client"), {}).get(m.name)
            if injected is not None:
                kw = self._positional(injected[1], args, kwargs)
                for op in injected[0]:
                    self._record(node, scope, obj.service, op, {}, kw, f"{obj.service}.{m.name}", injected[1],
                                 region=obj.region)
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

    def lazy_load(self, res: ResourceV, attr: ast.Attribute, scope: Scope) -> None:
        """`table.key_schema`: the first read of a resource's attribute loads it (DescribeTable, HeadObject, ...)."""
        if not res.rtype or attr.attr not in loaded_attributes(res.service, res.rtype):
            return
        spec = resource_index(res.service, res.rtype).get("load")
        if spec is None:
            return
        call = self._load_calls.get(id(attr))
        if call is None:  # a call node of its own, so the site is recorded like any other
            call = self._load_calls[id(attr)] = ast.copy_location(ast.Call(func=attr, args=[], keywords=[]), attr)
        self._record_request(call, scope, res, spec[1].get("request", {}), {},
                             f"{res.rtype}.{attr.attr} (loads the {res.rtype})")

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
        kind = resource_index(parent.service, parent.rtype).get(xform(coll.name))
        if kind is None:
            return EMPTY
        spec = kind[1][1]
        label = f"{parent.rtype or parent.service}.{xform(coll.name)}.{name}"
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
        pids = dict(zip(identifiers(parent.service, parent.rtype), parent.ids))
        out: dict[str, StrV | None] = {}
        for ident in identifiers(parent.service, rtype):
            out[ident] = pids.get(ident) or pids.get("Name")
        return out

    def _resource_method(self, res: ResourceV, name: str, args: list[Vals], kwargs: dict[str, Vals],
                         node: ast.Call, scope: Scope) -> Vals:
        kind = resource_index(res.service, res.rtype).get(name)
        label = f"{res.rtype or res.service}.{name}"
        if kind is None:
            injected = INJECTED.get((res.service, res.rtype), {}).get(name)
            if injected is not None:
                if name == "batch_writer":
                    return frozenset({BatchWriterV(res)})
                ids = dict(zip(identifiers(res.service, res.rtype), res.ids))
                fixed = {"Bucket": ids.get("Name") or ids.get("BucketName"), "Key": ids.get("Key")}
                kw = self._positional(injected[1], args, kwargs)
                for op in injected[0]:
                    self._record(node, scope, res.service, op, {k: v for k, v in fixed.items() if v}, kw, label,
                                 injected[1], region=res.region)
            return EMPTY
        if kind[0] == "has":
            return self._subresource(res, kind[1], args, kwargs, scope)
        if kind[0] == "action":
            spec = kind[1]
            self._record_request(node, scope, res, spec.get("request", {}), kwargs, label)
            made = spec.get("resource")
            if made and made.get("type"):
                named_by = [str(i.get("path", "")).rpartition(".")[2] for i in made.get("identifiers", [])
                            if i.get("source") in ("response", "requestParameter")]
                if any(n in kwargs and not any(isinstance(v, StrV) for v in kwargs[n]) for n in named_by) \
                        and not self.admit_empty(scope):
                    return self._defer()  # the name is not known yet: wait for it rather than record a hole
                return frozenset(self._make_resource(res, made, [], kwargs) for _ in (0,))
        return EMPTY

    def _subresource(self, parent: ResourceV, spec: dict[str, Any], args: list[Vals],
                     kwargs: dict[str, Vals], scope: "Scope | None" = None) -> Vals:
        res = spec.get("resource", {})
        if not res.get("type"):
            return EMPTY
        inputs = [i for i in res.get("identifiers", []) if i.get("source") == "input"]
        choices: list[list[StrV | None]] = []
        arg_iter = iter(args)
        for ident in inputs:
            vals = next(arg_iter, None)
            if vals is None:
                vals = kwargs.get(xform(ident["target"]), EMPTY)
            if not vals and not self.admit_empty(scope):
                return self._defer()
            strs: list[StrV | None] = [v for v in vals if isinstance(v, StrV)]
            # at most MAX_VALUES resources in all, the markers included
            cap = MAX_VALUES - 1 if len(inputs) == 1 else 2 if len(inputs) == 2 else 1
            strs = capped(strs, cap, ident.get("target", "identifier"))  # type: ignore[arg-type]
            choices.append(strs or [None])
        out: set[Value] = set()
        for combo in itertools.product(*choices):
            out.add(self._make_resource(parent, res, list(combo), kwargs))
        return frozenset(out)

    def _make_resource(self, parent: ResourceV, res: dict[str, Any], inputs: list[StrV | None],
                       kwargs: dict[str, Vals]) -> ResourceV:
        rtype = res["type"]
        pids = dict(zip(identifiers(parent.service, parent.rtype), parent.ids))
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
            elif src == "response":
                # `create_table(TableName=X)` answers with the table it made, named X: the response field
                # that names it is the request parameter of the same name (TableDescription.TableName).
                field = str(ident.get("path", "")).rpartition(".")[2]
                vals = [v for v in kwargs.get(field, EMPTY) if isinstance(v, StrV)] if field.isidentifier() else []
                values[ident["target"]] = vals[0] if len(vals) == 1 else None
        return ResourceV(parent.service, rtype, tuple(values.get(i) for i in identifiers(parent.service, rtype)),
                         parent.region)

    def _record_request(self, node: ast.Call, scope: Scope, res: ResourceV, request: dict[str, Any],
                        kwargs: dict[str, Vals], label: str,
                        ids_from: dict[str, StrV | None] | None = None) -> None:
        op = request.get("operation")
        if not op:
            return
        ids = ids_from if ids_from is not None else dict(zip(identifiers(res.service, res.rtype), res.ids))
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
        self._record(node, scope, res.service, op, fixed, kwargs, label, region=res.region)

    def _record(self, node: ast.Call, scope: Scope, service: str, operation: str, fixed: dict[str, StrV],
                kwargs: dict[str, Vals], label: str, positional: tuple[str, ...] = (),
                region: StrV | None = None) -> None:
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
            elif k.arg is None:  # f(**args): a dict built before the call
                for kn, (vn, vals) in sorted(self._splat_dict(k.value, scope).items()):
                    by_name.setdefault(kn, vn)
                    kwargs = {**kwargs, kn: kwargs.get(kn, EMPTY) | vals}
        if service == "dynamodb" and operation in ("BatchGetItem", "BatchWriteItem") and "TableName" not in params \
                and "RequestItems" in by_name:
            # The tables are RequestItems' keys. They are given to _arns as TableName's alternatives: the
            # call touches every one, and a call is granted only when each alternative is.
            params["TableName"] = self._request_tables(by_name["RequestItems"], kwargs.get("RequestItems", EMPTY),
                                                       scope)
        self._context_params(params, by_name, kwargs)  # ACL=, Tags=, ...: see _tables.DEPENDENT_ACTIONS
        for name in _RESOURCE_PARAMS:
            if name in params or name not in by_name:
                continue
            strs = sorted((v for v in kwargs.get(name, EMPTY) if isinstance(v, StrV)), key=repr)
            if not kwargs.get(name) and not self.lenient:
                self._defer()  # nothing reached it yet (e.g. a default only the lenient passes add)
            params[name] = strs or [StrV.unknown(self.source(by_name[name]))]
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
                       key_names=key_names, actions=actions, via=label, not_in_stage=self.dead, region=region)
        key = (call.file, call.line, node.col_offset, service, operation, call.params, region)
        self.calls.setdefault(key, call)
        if self.frames:
            self.frames[-1].calls[key] = call

    def _context_params(self, params: dict[str, list[StrV]], by_name: dict[str, ast.expr],
                        kwargs: dict[str, Vals]) -> None:
        """Record the parameters that make a call need another action (`_tables.CONTEXT_PARAMS`: ACL=, Tags=).

        Their values are kept as alternatives, like a resource's; the entries of a dict passed as
        ExtraArgs are the operation's own parameters (`_tables.NESTED_PARAMS`). Whether they are
        passed is what matters, so nothing waits for a later pass.
        """
        kwargs = dict(kwargs)
        for outer, prefix in NESTED_PARAMS.items():
            for d in kwargs.get(outer, EMPTY):
                if isinstance(d, DictV) and outer in by_name:
                    for k, v in d.entries:
                        by_name.setdefault(prefix + k, by_name[outer])
                        kwargs[prefix + k] = kwargs.get(prefix + k, EMPTY) | {v}
        for name in sorted(CONTEXT_PARAMS):
            if name in params or name not in by_name:
                continue
            vals = kwargs.get(name, EMPTY)
            strs = sorted((v for v in vals if isinstance(v, StrV)), key=repr)
            if not strs and name in NESTED_PARAMS and any(isinstance(v, DictV) for v in vals):
                continue  # a dict: its entries are recorded instead
            params[name] = strs or [StrV.unknown(self.source(by_name[name]))]

    def _splat_dict(self, expr: ast.expr, scope: Scope) -> dict[str, tuple[ast.expr, Vals]]:
        """The entries `**expr` passes: key -> (the expression written for it, its values).

        A local dict is read where the function writes it: `args = {"Source": ...}`, then
        `args["ReplyToAddresses"] = ...` or `args.update({...})` (an entry on any path may be passed);
        any other dict value with string keys gives its entries too.
        """
        out: dict[str, tuple[ast.expr, Vals]] = {}

        def add(key: str, node: ast.expr, vals: Vals) -> None:
            first, known = out.get(key, (node, EMPTY))
            out[key] = (first, known | vals)

        if isinstance(expr, ast.Name):
            fid = self._enclosing_fid(scope)
            tops: list[ast.AST] = [self.funcs[fid].node] if fid is not None else [
                st for st in scope.module.tree.body if not isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                            ast.ClassDef))]
            for st in (n for top in tops for n in ast.walk(top)):
                pairs: list[tuple[ast.expr | None, ast.expr]] = []
                if isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id for t in st.targets):
                    if isinstance(st.value, ast.Dict):
                        pairs = list(zip(st.value.keys, st.value.values))  # type: ignore[arg-type]
                    elif (isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Name)
                          and st.value.func.id == "dict"):
                        pairs = [(ast.Constant(k.arg), k.value) for k in st.value.keywords if k.arg]
                elif isinstance(st, ast.Assign):
                    for t in st.targets:
                        if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == expr.id):
                            pairs.append((t.slice, st.value))
                elif (isinstance(st, ast.Call) and isinstance(st.func, ast.Attribute) and st.func.attr == "update"
                      and isinstance(st.func.value, ast.Name) and st.func.value.id == expr.id):
                    for arg in st.args:
                        if isinstance(arg, ast.Dict):
                            pairs += list(zip(arg.keys, arg.values))  # type: ignore[arg-type]
                    pairs += [(ast.Constant(k.arg), k.value) for k in st.keywords if k.arg]
                for kn, vn in pairs:
                    if isinstance(kn, ast.Constant) and isinstance(kn.value, str):
                        add(kn.value, vn, self.eval(vn, scope))
        for d in self.eval(expr, scope):
            if isinstance(d, DictV):
                for key, val in d.entries:
                    add(key, expr, frozenset({val}))
        return out

    def _request_tables(self, node: ast.expr, values: Vals, scope: Scope) -> list[StrV]:
        """The table names a batch call's RequestItems names: its keys, as written or from a dict value."""
        names: list[StrV] = []
        if isinstance(node, ast.Dict):
            for k in node.keys:
                strs = [v for v in self.eval(k, scope) if isinstance(v, StrV)] if k is not None else []
                names += strs or [StrV.unknown(self.source(k) if k is not None else self.source(node))]
        else:
            names += [StrV.lit(key) for d in values if isinstance(d, DictV) for key, _ in d.entries]
            names += [StrV.lit(key) for key in self._splat_dict(node, scope)] if isinstance(node, ast.Name) else []
        return sorted(set(names), key=repr) or [StrV.unknown(self.source(node))]

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

