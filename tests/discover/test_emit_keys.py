"""`--emit-config` (and so `init`) borrows a table's key from the calls that show it whole.

Real services write `get_item(Key={"username": u, "uid": i})` in one method and `put_item(Item=item)` or
`query(KeyConditionExpression=Key("username").eq(u))` in another: the put and query probes need the
table's primary key, which the get call shows. Without borrowing, UpdateItem and PutItem — the story's
own actions — were left out of the config.
"""

from __future__ import annotations

from pathlib import Path

from canary.discover import discover
from canary.discover._emit import emit_config, left_out

from tests.discover._project import write

SERVICE = """
    import boto3
    from boto3.dynamodb.conditions import Key

    table = boto3.resource("dynamodb").Table("todos")

    def get(u, i):
        return table.get_item(Key={"username": u, "uid": i})

    def put(item):
        table.put_item(Item=item)

    def update(u, i):
        table.update_item(Key={"username": u, "uid": i}, UpdateExpression="SET done = :d",
                          ExpressionAttributeValues={":d": True})

    def mine(u):
        return table.query(KeyConditionExpression=Key("username").eq(u))
    """


def test_put_and_query_probes_borrow_the_key_the_get_call_shows(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": SERVICE})
    probes = {p["action"]: p for p in emit_config(discover(root))["probes"]}
    whole = {"username": "__permission_canary__", "uid": "__permission_canary__"}
    assert probes["dynamodb:PutItem"]["key"] == whole
    assert probes["dynamodb:Query"]["key"] == whole
    assert probes["dynamodb:UpdateItem"]["key"] == whole
    assert not [e for e in left_out(discover(root)) if e["action"].startswith("dynamodb:")]


def test_a_table_whose_calls_disagree_on_the_key_is_left_to_fill_in(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": SERVICE.replace('table.update_item(Key={"username": u, "uid": i}',
                                                      'table.update_item(Key={"id": i}')})
    probes = {p["action"] for p in emit_config(discover(root))["probes"]}
    assert "dynamodb:PutItem" not in probes
    entry = next(e for e in left_out(discover(root)) if e["action"] == "dynamodb:PutItem")
    assert "whole key" in entry["fill_in"][0]
