import os

import boto3
from chalice import Blueprint

uploads = Blueprint(__name__)
_S3 = boto3.client("s3")


@uploads.route("/attachments/{name}", methods=["PUT"])
def attach(name):
    _S3.put_object(Bucket=os.environ["ATTACHMENTS"], Key=f"todos/{name}",
                   Body=uploads.current_request.raw_body)
    return {"ok": True}
