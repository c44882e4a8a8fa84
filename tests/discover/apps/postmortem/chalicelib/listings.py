import os

import boto3

from chalicelib.staging import staged_table

_dynamodb = boto3.resource("dynamodb")


@staged_table
def get_listing(listing_id, table_name):
    return _dynamodb.Table(table_name).get_item(Key={"listingId": listing_id})


@staged_table
def update_listing(listing_id, title, table_name):
    _dynamodb.Table(table_name).update_item(Key={"listingId": listing_id}, UpdateExpression="SET t = :t",
                                            ExpressionAttributeValues={":t": title})


def archive_path(listing_id):
    if os.environ.get("MODE") == "PROD":
        path = "prod/" + listing_id
    else:
        path = "dev/" + listing_id
    return path


def archive(listing_id):
    boto3.client("s3").put_object(Bucket="listings-archive", Key=archive_path(listing_id), Body=b"")
