"""Media records in DynamoDB, behind a small interface so that tests can swap the store."""


class MediaDB(object):
    def add_media_file(self, name, media_type, labels=None):
        raise NotImplementedError

    def delete_media_file(self, name):
        raise NotImplementedError

    def list_media_files(self):
        raise NotImplementedError


class DynamoMediaDB(MediaDB):
    def __init__(self, table_resource):
        self._table = table_resource

    def add_media_file(self, name, media_type, labels=None):
        self._table.put_item(Item={"name": name, "type": media_type, "labels": labels or []})

    def delete_media_file(self, name):
        self._table.delete_item(Key={"name": name})

    def list_media_files(self):
        return self._table.scan()["Items"]
