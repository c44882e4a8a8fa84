"""Style: module globals in chalicelib, a project module outside chalicelib, sesv2, paginators,
batch writers and resource collections."""
import boto3
from chalice import Chalice

import helpers
from chalicelib import clients
from chalicelib.clients import TABLE

app = Chalice(app_name="globals")


@app.route("/orders", methods=["POST"])
def import_orders():
    with TABLE.batch_writer() as batch:
        for order in app.current_request.json_body:
            batch.put_item(Item=order)
    clients.EMAIL.send_email(FromEmailAddress="reports@example.com",
                             Destination={"ToAddresses": ["ops@example.com"]},
                             Content={"Simple": {"Subject": {"Data": "imported"}, "Body": {"Text": {"Data": "ok"}}}})
    return {"reports": helpers.list_reports("globals-reports")}


@app.route("/reports", methods=["DELETE"])
def purge_reports():
    for obj in boto3.resource("s3").Bucket("globals-reports").objects.filter(Prefix="old/"):
        obj.delete()
    return {"ok": True}
