"""A resource made by a call names what the call made: `create_table(TableName=X)` is `Table(X)`.

A real app keeps `self.table = None`, sets it to `resource.Table(name)` in one method and to
`resource.create_table(TableName=name, ...)` in another, then calls `self.table.put_item`: the put touches
that one table, never an unknown one.
"""

from __future__ import annotations

from pathlib import Path

from tests.discover._project import by_operation, write


def test_a_table_made_by_create_table_is_the_table_it_names(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3

        class Store:
            def __init__(self, name):
                self.table_name = name
                self.resource = boto3.resource("dynamodb")
                self.table = None

            def exists(self):
                self.table = self.resource.Table(self.table_name)

            def create(self):
                self.table = self.resource.create_table(TableName=self.table_name, KeySchema=[],
                                                        AttributeDefinitions=[])

            def put(self, item):
                self.table.put_item(Item=item)

        store = Store("tasks")
        """})
    found = by_operation(root)
    assert found["CreateTable"]["TableName"] == {"tasks"}
    assert found["PutItem"]["TableName"] == {"tasks"}
