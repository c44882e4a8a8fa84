"""The listings service: one DynamoDB table keyed on listingId, a GSI on city."""
from boto3.dynamodb.conditions import Key

from chalicelib.db import table

TABLE = "listings"


def get_listing(listing_id):
    return table(table_name=TABLE).get_item(Key={"listingId": listing_id}).get("Item")


def create_listing(item):
    table(table_name=TABLE).put_item(Item=item)


def update_price(listing_id, price):
    resp = table(table_name=TABLE).update_item(
        Key={"listingId": listing_id},
        UpdateExpression="SET price = :p",
        ExpressionAttributeValues={":p": price},
        ReturnValues="ALL_NEW",
    )
    return resp["Attributes"]


def delete_listing(listing_id):
    table(table_name=TABLE).delete_item(Key={"listingId": listing_id})


def in_city(city):
    resp = table(table_name=TABLE).query(IndexName="city-index", KeyConditionExpression=Key("city").eq(city))
    return resp.get("Items", [])
