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
