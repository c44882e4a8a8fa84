from chalice import Chalice

from chalicelib import listings

app = Chalice(app_name="listings-api")


@app.route("/listings/{listing_id}")
def show(listing_id):
    return listings.get_listing(listing_id, table_name="listings")


@app.route("/listings/{listing_id}", methods=["PUT"])
def rename(listing_id):
    listings.update_listing(listing_id, app.current_request.json_body["title"], table_name="listings")
    listings.archive(listing_id)
    return {"ok": True}
