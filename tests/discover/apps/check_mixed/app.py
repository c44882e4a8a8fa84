import os

import boto3
from chalice import Chalice

from chalicelib.auth import sign_in
from chalicelib.storage import Storage

app = Chalice(app_name="mixed")
secrets = boto3.client("secretsmanager")
storage = Storage(os.environ["BUCKET"])


@app.route("/login", methods=["POST"])
def login():
    body = app.current_request.json_body
    return sign_in(body["u"], body["p"])


@app.route("/config")
def config():
    return secrets.get_secret_value(SecretId="mixed/api-key")["SecretString"]


@app.route("/reports/{name}", methods=["PUT"])
def put_report(name):
    storage.save(name, app.current_request.raw_body)
    return {"ok": True}


@app.route("/odd")
def odd():
    # a bucket key that looks like rich markup and an emoji code
    boto3.client("s3").get_object(Bucket="mixed-docs", Key="[/x]:secret:")
    return {}


@app.route("/ledger")
def ledger():
    return boto3.client("qldb-session-v9").send_command(SessionToken="x")
