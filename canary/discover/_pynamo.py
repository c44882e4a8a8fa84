"""PynamoDB models: `Users.get(...)`, `user.save()`, `Users.time_index.query(...)` are DynamoDB calls too.

A project class that derives from `pynamodb.models.Model` names its table in `class Meta:
table_name = ...`; an index class (`GlobalSecondaryIndex`, `LocalSecondaryIndex`) names its index in
`Meta.index_name` (else the attribute it is kept in). PynamoDB's own methods map to the DynamoDB
operations it sends, with the model's table (and index) as the call's parameters.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Iterable

from canary.discover._values import ClassV, InstV, PynamoIndexV, PynamoMethodV, StrV, Value

if TYPE_CHECKING:
    from canary.discover._parse import Klass, Scope

__all__ = ["Pynamo", "MODEL", "INDEX", "PYNAMO_BASES"]

MODEL, INDEX = -1, -2  # markers kept among a class's bases (a real class id is positive)
PYNAMO_BASES = {("pynamodb.models", "Model"): MODEL, ("pynamodb.indexes", "GlobalSecondaryIndex"): INDEX,
                ("pynamodb.indexes", "LocalSecondaryIndex"): INDEX, ("pynamodb.indexes", "Index"): INDEX}
# PynamoDB method -> the DynamoDB operation it sends
_MODEL_CLASS = {"get": "GetItem", "query": "Query", "scan": "Scan", "count": "Query", "batch_get": "BatchGetItem",
                "create_table": "CreateTable", "delete_table": "DeleteTable", "exists": "DescribeTable",
                "describe_table": "DescribeTable", "update_ttl": "UpdateTimeToLive", "get_or_none": "GetItem"}
_MODEL_INSTANCE = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem", "refresh": "GetItem"}
_INDEX = {"query": "Query", "scan": "Scan", "count": "Query"}
_BATCH = {"save": "BatchWriteItem", "delete": "BatchWriteItem", "commit": "BatchWriteItem"}
_RETURNS_ITEMS = {"get", "query", "scan", "batch_get", "get_or_none"}


class Pynamo:
    """PynamoDB's methods on project models (mixed into `Analyzer`)."""

    def pynamo_kind(self, cid: int) -> int | None:
        for k in self._mro(cid):
            bases = self._bases(k.cid)
            if MODEL in bases:
                return MODEL
            if INDEX in bases:
                return INDEX
        return None

    def _meta(self, cid: int, name: str) -> list[StrV]:
        out: list[StrV] = []
        for meta in self._class_attr(cid, "Meta"):
            if isinstance(meta, ClassV):
                out += [v for v in self._class_attr(meta.cid, name) if isinstance(v, StrV)]
        return sorted(set(out), key=repr)

    def pynamo_attr(self, v: ClassV | InstV, name: str, found: set[Value]) -> set[Value]:
        """What `Model.name` / `item.name` is when the project's own class does not define it."""
        kind = self.pynamo_kind(v.cid)
        if kind is None:
            return found
        if found:
            if kind == MODEL:  # `Users.time_index`: an index of this model's table
                return {PynamoIndexV(v.cid, x.cid, name) if isinstance(x, InstV) and self.pynamo_kind(x.cid) == INDEX
                        else x for x in found}
            return found
        if kind == MODEL:
            table = _MODEL_INSTANCE if isinstance(v, InstV) else {}
            if name in table or name in _MODEL_CLASS or name == "batch_write":
                return {PynamoMethodV(v.cid, name, isinstance(v, InstV) and name in table)}
        return set()

    def pynamo_index_attr(self, v: PynamoIndexV, name: str) -> set[Value]:
        return {PynamoMethodV(v.model, name, False, v.index, v.attr)} if name in _INDEX else set()

    def apply_pynamo(self, f: PynamoMethodV, node: ast.Call, scope: "Scope") -> frozenset[Value]:
        if f.name == "batch_write":
            return frozenset({PynamoMethodV(f.model, "<batch>", False)})
        if f.index is not None:
            op = _INDEX.get(f.name)
        elif f.name.startswith("<batch>"):
            op = _BATCH.get(f.name.partition(":")[2])
        else:
            op = (_MODEL_INSTANCE if f.instance else _MODEL_CLASS).get(f.name)
        if op is None:
            return frozenset()
        tables = self._meta(f.model, "table_name") or [StrV.unknown(f"{self.classes[f.model].node.name}.Meta.table_name")]  # noqa: E501
        fixed_index: list[StrV | None] = [None]
        if f.index is not None:
            fixed_index = list(self._meta(f.index, "index_name")) or [StrV.lit(f.attr or "")]
        model = self.classes[f.model].node.name
        label = (f"pynamodb {model}.{f.attr}.{f.name}" if f.index is not None else
                 f"pynamodb {model}.batch_write().{f.name.partition(':')[2]}" if f.name.startswith("<batch>") else
                 f"pynamodb {model}.{f.name}" if not f.instance else f"pynamodb {model}().{f.name}")
        for table in tables:
            for index in fixed_index:
                fixed = {"TableName": table, **({"IndexName": index} if index is not None else {})}
                self._record(node, scope, "dynamodb", op, fixed, {}, label)
        if f.name in _RETURNS_ITEMS and f.index is None:
            return frozenset({InstV(f.model)})
        return frozenset()

    def pynamo_items(self, values: Iterable[Value]) -> Iterable[Value]:
        """`for user in Users.query(...)`: each item is an instance of the model."""
        for v in values:
            if isinstance(v, InstV) and self.pynamo_kind(v.cid) == MODEL:
                yield v
            elif isinstance(v, PynamoMethodV) and v.name == "<batch>":
                yield v

    if TYPE_CHECKING:
        classes: dict[int, Klass]

        def _mro(self, cid: int) -> Iterable[Klass]: ...
        def _bases(self, cid: int) -> set[int]: ...
        def _class_attr(self, cid: int, name: str) -> set[Value]: ...
        def _record(self, node: ast.Call, scope: "Scope", service: str, operation: str,
                    fixed: dict[str, StrV], kwargs: dict[str, frozenset[Value]], label: str) -> None: ...
