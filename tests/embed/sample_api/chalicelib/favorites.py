"""Favourites: which listings a user saved. The table name comes from the stage's environment."""
import os

import boto3


class FavoritesService:
    def __init__(self, table_name=None):
        self._table = boto3.resource("dynamodb").Table(table_name or os.environ["FAVORITES_TABLE"])

    def is_favorite(self, user_id, listing_id):
        resp = self._table.get_item(Key={"userId": user_id, "listingId": listing_id})
        return "Item" in resp
