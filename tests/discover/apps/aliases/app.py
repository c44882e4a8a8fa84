"""Style: import aliases, `from boto3 import ...`, sessions, and resources (Bucket, Object, Table)."""
import os

import boto3 as b3
from boto3 import client, resource
from boto3.session import Session
from chalice import Chalice

app = Chalice(app_name="aliases")
session = b3.Session(region_name="eu-west-1")
sqs = session.client("sqs")
sns = client("sns")
s3 = resource("s3")
uploads = s3.Bucket(os.environ["BUCKET"])


@app.route("/jobs", methods=["POST"])
def enqueue():
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody="{}")
    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message="queued")
    return {"ok": True}


@app.route("/uploads/{name}", methods=["PUT"])
def upload(name):
    uploads.put_object(Key=f"uploads/{name}", Body=app.current_request.raw_body)
    return {"ok": True}


@app.route("/report")
def report():
    body = s3.Object(os.environ["BUCKET"], "report.csv").get()["Body"].read()
    Session().resource("dynamodb").Table("audit").put_item(Item={"pk": "report"})
    return {"size": len(body)}
