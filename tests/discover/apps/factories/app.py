"""Style: factory functions that build (and cache) clients and tables."""
import os

from chalice import Chalice

from chalicelib import aws
from chalicelib.aws import table

app = Chalice(app_name="factories")


@app.route("/flags")
def flags():
    return aws.ssm().get_parameter(Name="/app/feature-flags")["Parameter"]["Value"]


@app.route("/sessions/{sid}")
def session(sid):
    return table(os.environ["SESSIONS_TABLE"]).get_item(Key={"sessionId": sid}).get("Item")


@app.route("/count/{name}", methods=["POST"])
def count(name):
    table("counters").update_item(Key={"name": name}, UpdateExpression="ADD n :one",
                                  ExpressionAttributeValues={":one": 1})
    aws.lambda_client().invoke(FunctionName=os.environ["WORKER"], InvocationType="Event", Payload=b"{}")
    return {"ok": True}
