"""Decorators that rewrite arguments (`_wrappers`): the table is partly known, never the bare literal."""

from __future__ import annotations

from pathlib import Path

from canary.config import stage_environment
from canary.discover._analyzer import analyze
from canary.discover._values import Lit, StrV, Unknown

from tests.discover._project import by_operation, calls, write

APPS = Path(__file__).parent / "apps"

DECORATORS = {"chalicelib/__init__.py": "", "chalicelib/naming.py": """
    import functools
    import os

    def stage_table(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            kwargs["table_name"] += "-" + os.environ["STAGE"]
            return fn(*args, **kwargs)
        return wrapper

    def maybe_suffix(fn):
        def wrapper(*args, **kwargs):
            if os.environ.get("SUFFIX"):
                kwargs["table_name"] = kwargs["table_name"] + os.environ["SUFFIX"]
            return fn(*args, **kwargs)
        return wrapper

    def renamed(fn):
        def wrapper(*args, **kwargs):
            kwargs["table_name"] = lookup(kwargs["table_name"])
            return fn(*args, **kwargs)
        return wrapper

    def opaque(fn):
        def wrapper(*args, **kwargs):
            kwargs.update(overrides())
            return fn(*args, **kwargs)
        return wrapper

    def logged(fn):
        def wrapper(*args, **kwargs):
            print("calling", fn.__name__)
            return fn(*args, **kwargs)
        return wrapper
    """, "app.py": """
    import boto3
    from chalicelib.naming import stage_table, maybe_suffix, renamed, opaque, logged

    ddb = boto3.resource("dynamodb")

    @stage_table
    def get(table_name):
        return ddb.Table(table_name).get_item(Key={})

    @maybe_suffix
    def put(table_name):
        return ddb.Table(table_name).put_item(Item={})

    @renamed
    def delete(table_name):
        return ddb.Table(table_name).delete_item(Key={})

    @opaque
    def scan(table_name):
        return ddb.Table(table_name).scan()

    @logged
    def query(table_name):
        return ddb.Table(table_name).query()

    def handler():
        get(table_name="listings")
        put(table_name="listings")
        delete(table_name="listings")
        scan(table_name="listings")
        query(table_name="listings")
    """}


def test_an_appended_environment_variable_is_followed_exactly(tmp_path: Path) -> None:
    found = by_operation(write(tmp_path, DECORATORS))
    assert found["GetItem"]["TableName"] == {"listings-${STAGE}"}


def test_a_rewrite_under_an_if_is_an_alternative_unless_the_stage_settles_it(tmp_path: Path) -> None:
    root = write(tmp_path, DECORATORS)
    assert by_operation(root)["PutItem"]["TableName"] == {"listings", "listings${SUFFIX}"}
    assert by_operation(root, {"SUFFIX": "-x"})["PutItem"]["TableName"] == {"listings${SUFFIX}"}
    assert by_operation(root, {"STAGE": "dev"})["PutItem"]["TableName"] == {"listings"}  # SUFFIX unset


def test_a_replaced_value_is_wholly_unknown_and_an_opaque_change_keeps_the_prefix(tmp_path: Path) -> None:
    root = write(tmp_path, DECORATORS)
    by_op = {c.operation: dict(c.params)["TableName"] for c in calls(root)}
    assert by_op["DeleteItem"] == (StrV((Unknown("rewritten by @renamed at chalicelib/naming.py:21"),)),)
    assert by_op["Scan"] == (StrV((Lit("listings"), Unknown("rewritten by @opaque at chalicelib/naming.py:27"))),)


def test_a_decorator_that_passes_arguments_through_changes_nothing(tmp_path: Path) -> None:
    assert by_operation(write(tmp_path, DECORATORS))["Query"]["TableName"] == {"listings"}


def test_the_postmortem_api_never_reports_the_bare_literal_table() -> None:
    for stage, table in (("dev", "listings-dev"), ("prod", "listings-prod")):
        env = stage_environment(APPS / "postmortem", stage)
        found = {c.operation: c for c in analyze(APPS / "postmortem", env)[0]}
        for op in ("GetItem", "UpdateItem"):
            names = {alt.resolve(env) for alt in dict(found[op].params)["TableName"]}
            assert names == {table}, (stage, op)
    no_stage = {c.operation: c for c in analyze(APPS / "postmortem", {})[0]}
    (alt,) = dict(no_stage["UpdateItem"].params)["TableName"]
    assert alt.literal is None and alt.parts[0] == Lit("listings")  # partly known, not "listings"


def test_a_wrapper_that_rebinds_its_own_parameter_rewrites_the_positional_argument(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import functools
        import os
        import boto3

        def stage_table(func):
            @functools.wraps(func)
            def wrapper(table_name, *args, **kwargs):
                table_name += "-" + os.environ.get("STAGE", "dev")
                return func(table_name, *args, **kwargs)
            return wrapper

        def prefixed(func):
            def wrapper(name, *args, **kwargs):
                return func(name + lookup_prefix(), *args, **kwargs)
            return wrapper

        @stage_table
        def table(name):
            return boto3.resource("dynamodb").Table(name)

        @prefixed
        def queue_url(name):
            return name

        def handler():
            table("listings").update_item(Key={})
            boto3.client("sqs").send_message(QueueUrl=queue_url("jobs"), MessageBody="")
        """})
    found = by_operation(root)
    assert found["UpdateItem"]["TableName"] == {"listings-${STAGE}"}
    assert found["SendMessage"]["QueueUrl"] == {"jobs?"}


def test_a_wrapper_that_passes_an_f_string_of_its_parameter_is_followed(tmp_path: Path) -> None:
    # The common positional form: the wrapper builds the new name in the call it makes.
    root = write(tmp_path, {"app.py": """
        import functools
        import os
        import boto3

        def staged(fn):
            @functools.wraps(fn)
            def wrapper(table_name, *args, **kwargs):
                stage = os.environ.get("STAGE", "dev")
                return fn(f"{table_name}-{stage}", *args, **kwargs)
            return wrapper

        def keyed(fn):
            def wrapper(*args, **kwargs):
                kwargs["table_name"] = f"{kwargs['table_name']}_{os.environ['STAGE']}"
                return fn(*args, **kwargs)
            return wrapper

        def shouted(fn):
            def wrapper(table_name):
                return fn(table_name.upper())
            return wrapper

        @staged
        def table(table_name):
            return boto3.resource("dynamodb").Table(table_name)

        @keyed
        def put(table_name):
            return boto3.resource("dynamodb").Table(table_name).put_item(Item={})

        @shouted
        def scan(table_name):
            return boto3.resource("dynamodb").Table(table_name).scan()

        def handler():
            table("listings").delete_item(Key={})
            put(table_name="orders")
            scan("events")
        """})
    found = by_operation(root)
    assert found["DeleteItem"]["TableName"] == {"listings-${STAGE}"}
    assert found["PutItem"]["TableName"] == {"orders_${STAGE}"}
    assert "events" not in found["Scan"]["TableName"]  # changed in a way not followed: never the literal


def test_an_if_else_rewrite_gives_one_suffix_per_path_and_the_stage_decides_an_instance_flag(tmp_path: Path) -> None:
    # The postmortem's own shape: the flag is set once in __init__ from the stage's environment.
    root = write(tmp_path, {"chalicelib/__init__.py": "", "chalicelib/db.py": """
        import os
        import boto3

        class DB:
            def __init__(self):
                self.is_prod = os.environ.get("ENV") == "prod"
                self.resource = boto3.resource("dynamodb")

            def add_env_suffix(func):
                def wrapper(self, table_name, *args, **kwargs):
                    if self.is_prod:
                        table_name += "-prod"
                    else:
                        table_name += "-dev"
                    return func(self, table_name, *args, **kwargs)
                return wrapper

            @add_env_suffix
            def get_item(self, table_name, key):
                return self.resource.Table(table_name).get_item(Key=key)

        db = DB()
        """, "chalicelib/other.py": """
        def add_env_suffix(func):
            def wrapper(self, table_name, *args, **kwargs):
                table_name += "-elsewhere"
                return func(self, table_name, *args, **kwargs)
            return wrapper
        """, "app.py": """
        from chalicelib.db import db

        def handler():
            return db.get_item(table_name="zap-listings", key={})
        """})
    # no stage: the two paths, never their concatenation, never the bare literal, never the other module's
    assert by_operation(root)["GetItem"]["TableName"] == {"zap-listings-dev", "zap-listings-prod"}
    assert by_operation(root, {"ENV": "dev"})["GetItem"]["TableName"] == {"zap-listings-dev"}
    assert by_operation(root, {"ENV": "prod"})["GetItem"]["TableName"] == {"zap-listings-prod"}
