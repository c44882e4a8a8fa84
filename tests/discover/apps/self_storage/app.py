"""Style: clients and tables kept on `self` (set in __init__) and as class attributes."""
from chalice import Chalice

from chalicelib.repo import Archive, OrdersRepository

app = Chalice(app_name="orders")
repo = OrdersRepository()
archive = Archive()


@app.route("/orders", methods=["POST"])
def create_order():
    order = app.current_request.json_body
    repo.save(order)
    archive.store(order["id"], b"{}")
    return {"ok": True}


@app.route("/orders/{order_id}")
def get_order(order_id):
    return repo.find(order_id)
