from chalice import Chalice

from chalicelib.models import Reminder, User

app = Chalice(app_name="reminders")


@app.route("/users/{phone}", methods=["PUT"])
def save_user(phone):
    user = User(phone, hour=app.current_request.json_body["hour"])
    user.save()
    return {"greeting": user.greeting()}


@app.route("/users/{phone}", methods=["DELETE"])
def delete_user(phone):
    User.get(phone).delete()
    return {}


@app.schedule("rate(1 hour)")
def send_reminders(event):
    with Reminder.batch_write() as batch:
        for user in User.by_hour.query(9):
            batch.save(Reminder(user.phone, text="drink water"))
