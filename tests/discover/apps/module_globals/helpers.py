from chalicelib.clients import S3


def list_reports(bucket):
    keys = []
    for page in S3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="reports/"):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys
