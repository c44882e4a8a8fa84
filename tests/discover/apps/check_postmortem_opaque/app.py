from chalice import Chalice

from chalicelib import db

app = Chalice(app_name="listings-api")


@app.route("/listings/{listing_id}", methods=["GET"])
def get_listing(listing_id):
    return db.get_listing(listing_id)


@app.route("/listings", methods=["POST"])
def create_listing():
    db.put_listing(app.current_request.json_body)
    return {"ok": True}


@app.route("/listings/{listing_id}", methods=["PUT"])
def update_listing(listing_id):
    try:
        db.update_listing(listing_id, app.current_request.json_body)
    except Exception as exc:  # the incident: swallowed, answered 200
        return {"statusCode": 500, "error": str(exc)}
    return {"ok": True}


@app.route("/listings/{listing_id}", methods=["DELETE"])
def delete_listing(listing_id):
    try:
        db.delete_listing(listing_id)
    except Exception as exc:
        return {"statusCode": 500, "error": str(exc)}
    return {"ok": True}


@app.route("/listings", methods=["GET"])
def search():
    return {"items": db.search(app.current_request.query_params or {})}
