"""Style: boto3.client(...) in app.py, the only style chalice's own analyzer sees."""
import os

import boto3
import requests  # noqa: F401  (an unrelated library: its calls are not AWS calls)
from chalice import Chalice

app = Chalice(app_name="plain")
dynamodb = boto3.client("dynamodb")


@app.route("/items", methods=["POST"])
def create_item():
    item = app.current_request.json_body
    dynamodb.put_item(TableName=os.environ["TABLE"], Item={"pk": {"S": item["id"]}})
    return {"ok": True}


@app.route("/items/{item_id}")
def get_item(item_id):
    try:
        return dynamodb.get_item(TableName=os.environ["TABLE"], Key={"pk": {"S": item_id}})
    except dynamodb.exceptions.ResourceNotFoundException:  # an attribute, not a call
        return {}


@app.route("/files/{name}")
def get_file(name):
    s3 = boto3.client("s3", region_name=dynamodb.meta.region_name)
    listing = s3.list_objects_v2(Bucket="uploads-bucket", Prefix=name)
    body = boto3.client("s3").get_object(Bucket="uploads-bucket", Key=name)["Body"].read()
    return {"listing": len(listing.get("Contents", [])), "size": len(body)}
