import os

import boto3
from chalice import Chalice

from chalicelib import db
from chalicelib import rekognition

app = Chalice(app_name="media-events")

_MEDIA_DB = None
_REKOGNITION_CLIENT = None
_S3 = boto3.client("s3")

if os.environ.get("MODE") == "PROD":
    ARCHIVE_BUCKET = "media-archive"
else:
    ARCHIVE_BUCKET = "media-archive-test"


def get_media_db():
    global _MEDIA_DB
    if _MEDIA_DB is None:
        _MEDIA_DB = db.DynamoMediaDB(boto3.resource("dynamodb").Table(os.environ["MEDIA_TABLE_NAME"]))
    return _MEDIA_DB


def get_rekognition_client():
    global _REKOGNITION_CLIENT
    if _REKOGNITION_CLIENT is None:
        _REKOGNITION_CLIENT = rekognition.RekognitionClient(boto3.client("rekognition"))
    return _REKOGNITION_CLIENT


@app.route("/")
def list_media_files():
    return get_media_db().list_media_files()


@app.on_s3_event(bucket=os.environ["MEDIA_BUCKET_NAME"], events=["s3:ObjectCreated:*"])
def handle_object_created(event):
    bucket, key = event.bucket, event.key
    labels = get_rekognition_client().get_image_labels(bucket=bucket, key=key)
    get_media_db().add_media_file(key, media_type="image", labels=labels)
    _make_thumbnail(bucket=bucket, key=key)


@app.on_s3_event(bucket=os.environ["MEDIA_BUCKET_NAME"], events=["s3:ObjectRemoved:*"])
def handle_object_removed(event):
    get_media_db().delete_media_file(event.key)
    _S3.copy_object(Bucket=ARCHIVE_BUCKET, Key=event.key, CopySource={"Bucket": event.bucket, "Key": event.key})


def _make_thumbnail(bucket, key):
    path = "/tmp/" + os.path.basename(key)
    _S3.download_file(bucket, key, path)
    with open(path, "rb") as body:
        _S3.put_object(Bucket=f"{app.app_name}-thumbnails", Key=os.environ["THUMBS_PREFIX"] + key, Body=body)
