import os

import boto3

_table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def get_listing(listing_id):
    return _table.get_item(Key={"listingId": listing_id}).get("Item")


def update_listing(listing_id, title):
    _table.update_item(
        Key={"listingId": listing_id},
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": title},
    )


def delete_listing(listing_id):
    _table.delete_item(Key={"listingId": listing_id})
