import functools

import boto3
from deployment_naming import stage_suffix  # the platform team's package (requirements.txt)

_dynamodb = boto3.resource("dynamodb")


def stage_table(func):
    """Append the deployment's suffix (from the platform's naming package) to the table name."""

    @functools.wraps(func)
    def wrapper(table_name, *args, **kwargs):
        table_name += stage_suffix()
        return func(table_name, *args, **kwargs)

    return wrapper


@stage_table
def _table(table_name):
    return _dynamodb.Table(table_name)


def get_listing(listing_id):
    return _table("listings").get_item(Key={"listingId": listing_id}).get("Item")


def put_listing(item):
    _table("listings").put_item(Item=item)


def update_listing(listing_id, changes):
    _table("listings").update_item(
        Key={"listingId": listing_id},
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": changes.get("title")},
    )


def delete_listing(listing_id):
    _table("listings").delete_item(Key={"listingId": listing_id})


def search(params):
    table = _table("listings")
    if "owner" in params:
        return table.query(KeyConditionExpression="ownerId = :o",
                           ExpressionAttributeValues={":o": params["owner"]})["Items"]
    return table.scan(Limit=50)["Items"]
