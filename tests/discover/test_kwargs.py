"""Parameters passed through a dict: `client.op(**args)` and the tables a batch call's RequestItems names."""

from __future__ import annotations

from pathlib import Path

from tests.discover._project import by_operation, write

MAILER = {"app.py": """
    import boto3
    from chalice import Chalice

    from chalicelib.mail import Mailer

    app = Chalice(app_name="newsletter")
    mailer = Mailer()


    @app.route("/announce", methods=["POST"])
    def announce():
        body = app.current_request.json_body
        mailer.send_email("news@acme.org", body["to"], body["text"])
        mailer.send_email("acme.team@gmail.com", body["to"], body["text"], reply_tos=["ops@acme.org"])
        return {}


    @app.route("/reports/{day}")
    def report(day):
        params = {"Bucket": "acme-reports"}
        params["Key"] = f"daily/{day}.csv"
        s3 = boto3.client("s3")
        return s3.get_object(**params)["Body"].read()


    @app.route("/archive/{day}", methods=["POST"])
    def archive(day):
        extra = dict(Bucket="acme-archive")
        extra.update({"Key": f"{day}.csv.gz"})
        boto3.client("s3").put_object(Body=b"", **extra)
        return {}
    """, "chalicelib/__init__.py": "", "chalicelib/mail.py": """
    import boto3


    class Mailer:
        def __init__(self):
            self.ses_client = boto3.client("ses")

        def send_email(self, source, to, text, reply_tos=None):
            send_args = {
                "Source": source,
                "Destination": {"ToAddresses": [to]},
                "Message": {"Subject": {"Data": "news"}, "Body": {"Text": {"Data": text}}},
            }
            if reply_tos is not None:
                send_args["ReplyToAddresses"] = reply_tos
            return self.ses_client.send_email(**send_args)["MessageId"]
    """}


def test_a_local_dict_passed_as_kwargs_gives_its_entries_with_every_callers_value(tmp_path: Path) -> None:
    ops = by_operation(write(tmp_path, MAILER))
    assert ops["SendEmail"]["Source"] == {"news@acme.org", "acme.team@gmail.com"}
    assert ops["GetObject"] == {"Bucket": {"acme-reports"}, "Key": {"daily/?.csv"}}    # a later `params[k] = v`
    assert ops["PutObject"] == {"Bucket": {"acme-archive"}, "Key": {"?.csv.gz"}}       # dict(...) and .update()


STATS = {"app.py": """
    import os

    import boto3
    from chalice import Chalice

    app = Chalice(app_name="stats")
    dynamodb = boto3.client("dynamodb")
    EVENTS = os.environ["EVENTS_TABLE"]


    @app.route("/summary/{user}")
    def summary(user):
        key = {"user": {"S": user}}
        return dynamodb.batch_get_item(RequestItems={
            "stats-users": {"Keys": [key]},
            EVENTS: {"Keys": [key]},
        })


    @app.route("/events", methods=["POST"])
    def record():
        items = {"stats-events-log": [{"PutRequest": {"Item": {"id": {"S": "1"}}}}]}
        boto3.resource("dynamodb").batch_write_item(RequestItems=items)
        return {}
    """}


def test_a_batch_calls_tables_are_the_keys_of_request_items(tmp_path: Path) -> None:
    ops = by_operation(write(tmp_path, STATS))
    assert ops["BatchGetItem"]["TableName"] == {"stats-users", "${EVENTS_TABLE}"}
    assert ops["BatchWriteItem"]["TableName"] == {"stats-events-log"}
