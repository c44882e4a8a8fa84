import json

import pytest
from chalice.test import Client

import app as listings_app
from chalicelib import listings


@pytest.fixture
def store(monkeypatch):
    """An in-memory table in place of DynamoDB."""
    items = {}
    monkeypatch.setattr(listings, "get_listing", lambda listing_id: items.get(listing_id))
    monkeypatch.setattr(listings, "create_listing", lambda item: items.__setitem__(item["listingId"], item))

    def update_price(listing_id, price):
        items[listing_id]["price"] = price
        return items[listing_id]

    monkeypatch.setattr(listings, "update_price", update_price)
    monkeypatch.setattr(listings, "delete_listing", lambda listing_id: items.pop(listing_id, None))
    monkeypatch.setattr(listings, "in_city", lambda city: [i for i in items.values() if i.get("city") == city])
    return items


@pytest.fixture
def client():
    with Client(listings_app.app, stage_name="dev") as c:
        yield c


def _post(client, body):
    return client.http.post("/listings", headers={"Content-Type": "application/json"}, body=json.dumps(body))


def test_create_then_get(client, store):
    assert _post(client, {"listingId": "l1", "title": "Flat", "city": "Lyon"}).status_code == 200
    resp = client.http.get("/listings/l1")
    assert resp.status_code == 200
    assert resp.json_body["title"] == "Flat"


def test_missing_listing_is_404(client, store):
    assert client.http.get("/listings/nope").status_code == 404


def test_create_needs_a_title(client, store):
    assert _post(client, {"listingId": "l2"}).status_code == 400


def test_update_price_and_delete(client, store):
    _post(client, {"listingId": "l3", "title": "House", "city": "Nantes"})
    resp = client.http.put("/listings/l3/price", headers={"Content-Type": "application/json"},
                           body=json.dumps({"price": 120}))
    assert resp.json_body["price"] == 120
    assert client.http.delete("/listings/l3").status_code == 200
    assert "l3" not in store


def test_listings_in_city(client, store):
    _post(client, {"listingId": "l4", "title": "Loft", "city": "Lyon"})
    assert [i["listingId"] for i in client.http.get("/cities/Lyon/listings").json_body["items"]] == ["l4"]


def test_favorite_lookup(client, monkeypatch):
    from chalicelib import favorites

    monkeypatch.setattr(favorites.FavoritesService, "__init__", lambda self, table_name=None: None)
    monkeypatch.setattr(favorites.FavoritesService, "is_favorite", lambda self, u, l: (u, l) == ("u1", "l1"))
    assert client.http.get("/users/u1/favorites/l1").json_body == {"favorite": True}
