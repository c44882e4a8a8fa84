"""The DESIGN.md story: every AWS call lives in chalicelib/, behind a resource and a helper."""
from chalice import Chalice

from chalicelib import db, mail

app = Chalice(app_name="listings")


@app.route("/listings/{listing_id}", methods=["PUT"])
def update_listing(listing_id):
    body = app.current_request.json_body or {}
    try:
        db.update_listing(listing_id, body.get("title", ""))
        mail.notify_owner(body.get("owner", "owner@example.com"), listing_id)
    except Exception as exc:  # the original bug: swallowed, answered 200
        return {"status": 500, "error": str(exc)}
    return {"status": 200}


@app.route("/listings/{listing_id}", methods=["DELETE"])
def delete_listing(listing_id):
    db.delete_listing(listing_id)
    return {"status": 200}


@app.route("/listings/{listing_id}", methods=["GET"])
def get_listing(listing_id):
    return db.get_listing(listing_id)
