"""Style: clients passed into constructors (plain, keyword, subclass with super(), dataclass)."""
import os

import boto3
from chalice import Chalice

from chalicelib.services import AuditedStore, Notifier, Secrets

app = Chalice(app_name="injected")
notifier = Notifier(boto3.client("sns"), os.environ["TOPIC_ARN"])
store = AuditedStore(boto3.resource("dynamodb").Table("items"), audit=boto3.client("kinesis"))
secrets = Secrets(boto3.client("secretsmanager"))


@app.route("/items/{item_id}", methods=["DELETE"])
def delete(item_id):
    store.remove(item_id)
    notifier.send(f"deleted {item_id}")
    return {"ok": True}


@app.route("/key")
def key():
    return {"len": len(secrets.get("app/api-key"))}
