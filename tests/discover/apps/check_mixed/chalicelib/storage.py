import boto3

from chalicelib.mailer import notify


class Storage:
    def __init__(self, bucket):
        self.bucket = bucket
        self.s3 = boto3.client("s3")

    def save(self, name, body):
        if name.endswith(".final"):
            key = "published/" + name
        else:
            key = "drafts/" + name
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        notify("team@mixed.example.com", key)
