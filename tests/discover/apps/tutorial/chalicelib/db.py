from uuid import uuid4

DEFAULT_USERNAME = "default"


class TodoDB:
    def list_items(self):
        raise NotImplementedError()


class DynamoDBTodo(TodoDB):
    def __init__(self, table_resource):
        self._table = table_resource

    def list_all_items(self):
        return self._table.scan()["Items"]

    def list_items(self, username=DEFAULT_USERNAME):
        return self.list_all_items()

    def add_item(self, description, metadata=None, username=DEFAULT_USERNAME):
        uid = str(uuid4())
        self._table.put_item(Item={"username": username, "uid": uid, "description": description,
                                   "state": "unstarted", "metadata": metadata or {}})
        return uid

    def get_item(self, uid, username=DEFAULT_USERNAME):
        return self._table.get_item(Key={"username": username, "uid": uid})["Item"]

    def delete_item(self, uid, username=DEFAULT_USERNAME):
        self._table.delete_item(Key={"username": username, "uid": uid})

    def update_item(self, uid, description=None, state=None, metadata=None, username=DEFAULT_USERNAME):
        item = self.get_item(uid, username)
        if description is not None:
            item["description"] = description
        self._table.put_item(Item=item)
