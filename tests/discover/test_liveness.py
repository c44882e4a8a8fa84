"""Calls the code makes that are easy to miss or to misjudge: Chalice's websocket sender,
modules app.py never imports, and clients pointed at a local emulator instead of AWS."""

from __future__ import annotations

from pathlib import Path

from tests.discover._project import calls, write

BATTLE = {"app.py": """
    import json

    import boto3
    from chalice import Chalice, WebsocketDisconnectedError

    app = Chalice(app_name="battle")
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    app.websocket_api.session = boto3.session.Session()
    connections = boto3.resource("dynamodb").Table("battle-connections")


    @app.on_ws_message()
    def message(event):
        ws_client = app.websocket_api
        for item in connections.scan()["Items"]:
            try:
                ws_client.send(item["connection_id"], json.dumps({"from": event.connection_id}))
            except WebsocketDisconnectedError:
                connections.delete_item(Key={"connection_id": item["connection_id"]})


    @app.on_ws_disconnect()
    def disconnect(event):
        app.websocket_api.close(event.connection_id)
    """}


def test_the_websocket_sender_is_a_call_to_the_management_api(tmp_path: Path) -> None:
    found = {(c.service, c.operation, c.line) for c in calls(write(tmp_path, BATTLE))}
    assert ("apigatewaymanagementapi", "PostToConnection", 18) in found
    assert ("apigatewaymanagementapi", "DeleteConnection", 25) in found


LEFTOVER = {"app.py": """
    from chalice import Chalice

    from chalicelib.api.listings import listings_api

    app = Chalice(app_name="zap")
    app.register_blueprint(listings_api)
    """, "chalicelib/__init__.py": "", "chalicelib/api/__init__.py": "", "chalicelib/api/listings.py": """
    from chalice import Blueprint

    from chalicelib.services.listing_service import listing_service

    listings_api = Blueprint(__name__)


    @listings_api.route("/listings")
    def get_all():
        return listing_service.get_all()
    """, "chalicelib/services/__init__.py": "", "chalicelib/services/listing_service.py": """
    import boto3


    class ListingService:
        def __init__(self):
            self.s3 = boto3.client("s3")

        def get_all(self):
            return self.s3.list_objects_v2(Bucket="zap-listings")


    listing_service = ListingService()
    """, "chalicelib/db.py": """
    import boto3


    class DBResource:
        def __init__(self):
            self.resource = boto3.resource("dynamodb")

        def get_all(self, table_name):
            return self.resource.Table(table_name).scan()["Items"]


    db = DBResource()
    """}


def test_calls_in_a_module_app_py_never_imports_are_listed_apart(tmp_path: Path) -> None:
    marks = {c.operation: c.not_in_stage for c in calls(write(tmp_path, LEFTOVER))}
    assert marks["ListObjectsV2"] is None                      # through a blueprint and a service: live
    assert marks["Scan"] == "in chalicelib/db.py, which app.py never imports (the Lambda never loads it)"


def test_a_project_that_imports_by_computed_name_marks_nothing(tmp_path: Path) -> None:
    files = dict(LEFTOVER)
    files["app.py"] = LEFTOVER["app.py"] + "\n    import importlib\n    plugin = importlib.import_module('chalicelib.' + 'db')\n"
    marks = {c.operation: c.not_in_stage for c in calls(write(tmp_path, files))}
    assert marks["Scan"] is None


SHORTENER = {"app.py": """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="shortener")
    table = boto3.resource("dynamodb").Table("url-shortener-table")


    @app.route("/{code}")
    def resolve(code):
        key_names = [k["AttributeName"] for k in table.key_schema]
        return table.get_item(Key={key_names[0]: code}).get("Item")
    """}


def test_reading_a_resource_attribute_loads_the_resource(tmp_path: Path) -> None:
    found = {(c.operation, c.line): dict(c.params) for c in calls(write(tmp_path, SHORTENER))}
    assert ("DescribeTable", 11) in found
    assert [a.literal for a in found[("DescribeTable", 11)]["TableName"]] == ["url-shortener-table"]
    assert ("GetItem", 12) in found
