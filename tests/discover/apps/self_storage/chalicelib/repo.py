import os

import boto3
from boto3.dynamodb.conditions import Key


class OrdersRepository:
    def __init__(self):
        self._table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
        self._events = boto3.client("events")

    def save(self, order):
        self._table.put_item(Item=order)
        self._publish("OrderCreated", order["id"])

    def find(self, order_id):
        return self._table.query(KeyConditionExpression=Key("orderId").eq(order_id))["Items"]

    def _publish(self, kind, order_id):
        self._events.put_events(Entries=[{"Source": "orders", "DetailType": kind, "Detail": "{}"}])


class Archive:
    s3 = boto3.client("s3")

    def store(self, key, body):
        self.s3.put_object(Bucket=os.environ["ARCHIVE_BUCKET"], Key=f"orders/{key}.json", Body=body)
