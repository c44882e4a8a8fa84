import os

import boto3


class StorageResource:
    def __init__(self):
        self.bucket = "flow-media-assets"
        self.is_prod = os.environ.get("ENV") == "prod"
        self.s3 = boto3.client("s3")

    def upload_file(self, path, body):
        if self.is_prod:
            path = f"prod/{path}"
        else:
            path = f"dev/{path}"
        self.s3.put_object(Bucket=self.bucket, Key=path, Body=body)
        return f"https://{self.bucket}.s3.amazonaws.com/{path}"


storage = StorageResource()
