"""DynamoDB probes: writes carry a condition that can never hold; reads touch one sentinel key.

Write probes (UpdateItem, DeleteItem, PutItem) send
`attribute_exists(#k) AND attribute_not_exists(#k)` on the key attribute. DynamoDB authorizes the
request before it evaluates the condition, so an authorized role gets
`ConditionalCheckFailedException` (ALLOWED, nothing written) and an unauthorized one AccessDenied.
Side effects: one write capacity unit per probe and a tick of `ConditionalCheckFailedRequests`.
`ReturnValuesOnConditionCheckFailure` is never set, so no item data comes back.
A 2xx answer to a write probe is impossible by construction (the condition cannot hold), so it is
reported as an ERROR that says something may have been written, never as ALLOWED. Reads ask for
what a complete answer must carry (`ReturnConsumedCapacity`, `Count`, the table's name), so a
truncated or garbled 200, which botocore parses to `{}`, is an ERROR too.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from canary.probes import Call, ProbeParams, Target, need, register

__all__ = ["DynamoKeyProbe", "DynamoTableProbe", "dynamo_key"]

NEVER_TRUE = "attribute_exists(#k) AND attribute_not_exists(#k)"
CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})
SENTINEL_ATTR = "__permission_canary__"
_TYPED = {"S", "N", "B"}


def dynamo_key(value: Any) -> dict[str, Any]:
    """Turn a plain or typed key value into DynamoDB JSON (`"x"` -> S, `3` -> N, `{"S": "x"}` kept)."""
    if isinstance(value, bool):
        raise ValueError("a key value cannot be a boolean; use a string, a number or {\"S\"|\"N\"|\"B\": ...}")
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPED:
        (kind, inner), = value.items()
        if not isinstance(inner, str):
            raise ValueError(f"typed key {{\"{kind}\": ...}} needs a string value")
        return {kind: inner}
    raise ValueError("a key value must be a string, a number or typed DynamoDB JSON like {\"S\": \"x\"}")


class DynamoTableProbe(ProbeParams):
    """A probe on a table as a whole (DescribeTable, Scan)."""

    table: str = Field(min_length=3, max_length=255)
    index: str | None = None

    def resource_name(self) -> str:
        return self.table + (f"-{self.index}" if self.index else "")

    def arn(self, target: Target) -> str:
        suffix = f"/index/{self.index}" if self.index else ""
        return target.arn("dynamodb", f"table/{self.table}{suffix}")


class DynamoKeyProbe(DynamoTableProbe):
    """A probe on one sentinel item, named by its full primary key (or the index's key for Query)."""

    key: dict[str, Any] = Field(min_length=1, max_length=2)

    @field_validator("key")
    @classmethod
    def _typed(cls, v: dict[str, Any]) -> dict[str, Any]:
        return {name: dynamo_key(val) for name, val in v.items()}

    def names(self) -> dict[str, str]:
        return {"#k": next(iter(self.key))}


def _conditional_write(p: DynamoKeyProbe, t: Target, operation: str, **extra: Any) -> Call:
    names = p.names()
    params: dict[str, Any] = {"TableName": p.table, "ConditionExpression": NEVER_TRUE,
                              "ExpressionAttributeNames": names, **extra}
    if operation == "put_item":
        params["Item"] = dict(p.key)
    else:
        params["Key"] = dict(p.key)
    if "UpdateExpression" in extra:
        params["ExpressionAttributeNames"] = {**names, "#c": SENTINEL_ATTR}
    return Call(action=p.action, service="dynamodb", operation=operation, params=params,
                resource=p.arn(t), harmless_errors=CONDITION_FAILED, must_fail=True,
                why_harmless="the condition can never hold, so DynamoDB authorizes the call and then "
                             "refuses it with ConditionalCheckFailedException; nothing is written")


@register("dynamodb:UpdateItem", DynamoKeyProbe, services=("dynamodb",))
def update_item(p: DynamoKeyProbe, t: Target) -> Call:
    return _conditional_write(p, t, "update_item", UpdateExpression="SET #c = :c",
                              ExpressionAttributeValues={":c": {"BOOL": True}})


@register("dynamodb:DeleteItem", DynamoKeyProbe, services=("dynamodb",))
def delete_item(p: DynamoKeyProbe, t: Target) -> Call:
    return _conditional_write(p, t, "delete_item")


@register("dynamodb:PutItem", DynamoKeyProbe, services=("dynamodb",))
def put_item(p: DynamoKeyProbe, t: Target) -> Call:
    return _conditional_write(p, t, "put_item")


_READ_ONLY = "a read of one sentinel key; the returned data is discarded and never logged"


@register("dynamodb:GetItem", DynamoKeyProbe, services=("dynamodb",))
def get_item(p: DynamoKeyProbe, t: Target) -> Call:
    return Call(action=p.action, service="dynamodb", operation="get_item",
                params={"TableName": p.table, "Key": dict(p.key), "ProjectionExpression": "#k",
                        "ExpressionAttributeNames": p.names(), "ReturnConsumedCapacity": "TOTAL"},
                resource=p.arn(t), why_harmless=_READ_ONLY, expect=(need("ConsumedCapacity.TableName", p.table),))


@register("dynamodb:BatchGetItem", DynamoKeyProbe, services=("dynamodb",))
def batch_get_item(p: DynamoKeyProbe, t: Target) -> Call:
    return Call(action=p.action, service="dynamodb", operation="batch_get_item",
                params={"RequestItems": {p.table: {"Keys": [dict(p.key)], "ProjectionExpression": "#k",
                                                   "ExpressionAttributeNames": p.names()}},
                        "ReturnConsumedCapacity": "TOTAL"},
                resource=p.arn(t), why_harmless=_READ_ONLY, expect=(need("Responses"), need("ConsumedCapacity")))


@register("dynamodb:Query", DynamoKeyProbe, services=("dynamodb",))
def query(p: DynamoKeyProbe, t: Target) -> Call:
    name = next(iter(p.key))
    params: dict[str, Any] = {"TableName": p.table, "KeyConditionExpression": "#k = :k",
                              "ExpressionAttributeNames": {"#k": name},
                              "ExpressionAttributeValues": {":k": p.key[name]},
                              "Select": "COUNT", "Limit": 1}
    if p.index:
        params["IndexName"] = p.index
    return Call(action=p.action, service="dynamodb", operation="query", params=params,
                resource=p.arn(t), expect=(need("Count"), need("ScannedCount")),
                why_harmless="Select=COUNT with Limit=1 on the sentinel key: no item data is returned")


@register("dynamodb:Scan", DynamoTableProbe, services=("dynamodb",))
def scan(p: DynamoTableProbe, t: Target) -> Call:
    params: dict[str, Any] = {"TableName": p.table, "Select": "COUNT", "Limit": 1}
    if p.index:
        params["IndexName"] = p.index
    return Call(action=p.action, service="dynamodb", operation="scan", params=params,
                resource=p.arn(t), expect=(need("Count"), need("ScannedCount")),
                why_harmless="Select=COUNT with Limit=1: reads at most one item, returns no data")


@register("dynamodb:DescribeTable", DynamoTableProbe, services=("dynamodb",))
def describe_table(p: DynamoTableProbe, t: Target) -> Call:
    return Call(action=p.action, service="dynamodb", operation="describe_table",
                params={"TableName": p.table}, resource=p.arn(t).split("/index/")[0],
                expect=(need("Table.TableName", p.table),), why_harmless="metadata only")
