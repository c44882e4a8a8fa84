from dataclasses import dataclass
from typing import Any


class Notifier:
    def __init__(self, client, topic_arn):
        self.client = client
        self.topic_arn = topic_arn

    def send(self, text):
        self.client.publish(TopicArn=self.topic_arn, Message=text)


class Store:
    def __init__(self, table):
        self.table = table

    def remove(self, item_id):
        self.table.delete_item(Key={"pk": item_id})


class AuditedStore(Store):
    def __init__(self, table, audit):
        super().__init__(table)
        self.audit = audit

    def remove(self, item_id):
        super().remove(item_id)
        self.audit.put_record(StreamName="audit-stream", Data=b"deleted", PartitionKey=item_id)


@dataclass
class Secrets:
    client: Any

    def get(self, name):
        return self.client.get_secret_value(SecretId=name)["SecretString"]
