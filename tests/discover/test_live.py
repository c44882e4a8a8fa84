"""A function called only from code the stage never runs is never run: its calls are not gaps.

Chalice projects keep `def dummy(): s3.get_object() ...` so that chalice's policy generator sees the calls
they need, and guard its one call with a constant that is False (a real app's pattern).
"""

from __future__ import annotations

from pathlib import Path

from tests.discover._project import not_in_stage, write

APP = """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="live")
    _DUMMY = False

    def dummy():
        boto3.client("s3").list_buckets()
        warm()

    def warm():
        boto3.client("sqs").list_queues()

    def shared():
        boto3.client("sns").list_topics()

    def callback():
        boto3.client("dynamodb").list_tables()

    @app.route("/")
    def index():
        if _DUMMY:
            dummy()
            callback()
        shared()
        return {}

    @app.route("/later")
    def later():
        if _DUMMY:
            shared()
        return {"then": callback}
    """


def test_calls_only_reached_through_a_branch_the_stage_never_takes_are_not_in_this_stage(tmp_path: Path) -> None:
    found = not_in_stage(write(tmp_path, {"app.py": APP}), {"X": "stage"})
    assert "in dummy()" in (found["ListBuckets"] or "") and "_DUMMY" in (found["ListBuckets"] or "")
    assert "in warm()" in (found["ListQueues"] or "")  # reached only through dummy()
    assert found["ListTopics"] is None      # also called from a live branch
    assert found["ListTables"] is None      # referenced as a value too: someone may call it
