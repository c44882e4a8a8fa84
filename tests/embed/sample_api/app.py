import logging

from chalice import BadRequestError, Chalice, NotFoundError

from chalicelib import listings
from chalicelib.favorites import FavoritesService

app = Chalice(app_name="listings-api")
app.log.setLevel(logging.INFO)


@app.route("/listings/{listing_id}", methods=["GET"])
def get_listing(listing_id):
    item = listings.get_listing(listing_id)
    if item is None:
        raise NotFoundError(f"listing {listing_id} not found")
    return item


@app.route("/listings", methods=["POST"])
def create_listing():
    body = app.current_request.json_body or {}
    if "listingId" not in body or "title" not in body:
        raise BadRequestError("listingId and title are required")
    listings.create_listing(body)
    return {"listingId": body["listingId"]}


@app.route("/listings/{listing_id}/price", methods=["PUT"])
def update_price(listing_id):
    body = app.current_request.json_body or {}
    if "price" not in body:
        raise BadRequestError("price is required")
    return listings.update_price(listing_id, body["price"])


@app.route("/listings/{listing_id}", methods=["DELETE"])
def delete_listing(listing_id):
    listings.delete_listing(listing_id)
    return {"deleted": listing_id}


@app.route("/cities/{city}/listings", methods=["GET"])
def listings_in_city(city):
    return {"items": listings.in_city(city)}


@app.route("/users/{user_id}/favorites/{listing_id}", methods=["GET"])
def is_favorite(user_id, listing_id):
    return {"favorite": FavoritesService().is_favorite(user_id, listing_id)}
