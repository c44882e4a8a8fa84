from chalice import Chalice

from chalicelib.storage import storage

app = Chalice(app_name="flow-media")


@app.route("/members/{member_id}/photo", methods=["PUT"])
def upload_photo(member_id):
    storage.upload_file(f"image/{member_id}.png", app.current_request.raw_body)
    return {"ok": True}


@app.route("/members/{member_id}/resume", methods=["PUT"])
def upload_resume(member_id):
    storage.upload_file(f"resume/{member_id}.pdf", app.current_request.raw_body)
    return {"ok": True}
