"""Values (`_flow`, `_eval`, `_calls`): alternatives stay alternatives, and common sources resolve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.discover._project import by_operation, calls, write


def test_if_else_branches_give_two_candidates_not_a_concatenation(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3
        s3 = boto3.client("s3")

        def archive(name, prod):
            if prod:
                path = "prod/" + name
            else:
                path = "dev/" + name
            s3.put_object(Bucket="archive", Key=path, Body=b"")
        """})
    assert by_operation(root)["PutObject"]["Key"] == {"prod/?", "dev/?"}


def test_one_call_site_reached_by_two_tables_is_one_call_with_two_alternatives(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3
        ddb = boto3.resource("dynamodb")
        TABLES = {"orders": ddb.Table("orders"), "users": ddb.Table("users")}

        def save(kind, item, cache=None):
            table = ddb.Table("orders") if kind == "order" else ddb.Table("users")
            table.put_item(Item=item)
        """})
    found = calls(root)
    assert len(found) == 1
    assert by_operation(root)["PutItem"]["TableName"] == {"orders", "users"}


def test_the_app_name_given_to_chalice_is_read_back_through_app_app_name(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3
        from chalice import Chalice
        app = Chalice(app_name="thumbs")
        boto3.client("s3").put_object(Bucket=f"{app.app_name}-uploads", Key="k")
        """})
    assert by_operation(root)["PutObject"]["Bucket"] == {"thumbs-uploads"}


def test_an_s3_event_handler_reads_the_bucket_its_decorator_names(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        from chalice import Chalice
        app = Chalice(app_name="thumbs")
        s3 = boto3.client("s3")

        @app.on_s3_event(bucket=os.environ["UPLOADS"], events=["s3:ObjectCreated:*"])
        def resize(event):
            s3.get_object(Bucket=event.bucket, Key=event.key)
        """})
    assert by_operation(root)["GetObject"] == {"Bucket": {"${UPLOADS}"}, "Key": {"?"}}


def test_constructor_defaults_forwarded_through_super_init_resolve_without_the_base_default(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3

        class Repository(object):
            def __init__(self, table_name="unused-default"):
                self.table = boto3.resource("dynamodb").Table(table_name)

        class Orders(Repository):
            def __init__(self, table_name="orders"):
                super(Orders, self).__init__(table_name)

        class Users(Repository):
            def __init__(self):
                super().__init__(table_name="users")

        def handler():
            Orders().table.put_item(Item={})
            Users()
        """})
    assert by_operation(root)["PutItem"]["TableName"] == {"orders", "users"}


def test_a_default_applies_where_the_framework_calls_the_function(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3
        from chalice import Chalice
        app = Chalice(app_name="a")

        @app.route("/")
        def index(bucket="public-assets"):
            boto3.client("s3").list_objects_v2(Bucket=bucket)
        """})
    assert by_operation(root)["ListObjectsV2"]["Bucket"] == {"public-assets"}


def test_more_alternatives_than_the_cap_keep_a_hole_that_says_so(tmp_path: Path) -> None:
    branches = "\n".join(f"    {'if' if i == 0 else 'elif'} kind == {i}:\n        name = 't{i:02d}'" for i in range(20))
    root = write(tmp_path, {"app.py": f"import boto3\n\ndef f(kind):\n{branches}\n"
                                      "    boto3.resource('dynamodb').Table(name).scan()\n"})
    names = by_operation(root)["Scan"]["TableName"]
    assert "?" in names and len(names) <= 12
    assert {n for n in names if n != "?"} == {f"t{i:02d}" for i in range(11)}  # the same ones every run


def test_output_is_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    apps = Path(__file__).parent / "apps"
    script = ("import sys; from pathlib import Path; from canary.discover._analyzer import analyze\n"
              "for p in sys.argv[1:]: print(repr(analyze(Path(p), {'STAGE': 'dev'})))")
    args = [str(apps / a) for a in ("factories", "postmortem", "aliases", "module_globals")]
    outs = {subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1", "97")}
    assert len(outs) == 1


def test_a_classmethod_factory_builds_the_instance_with_its_table(tmp_path: Path) -> None:
    # the style of a storage class built from the environment (seen in public websocket chat samples)
    root = write(tmp_path, {"app.py": """
        import os
        import boto3

        class Storage(object):
            def __init__(self, table):
                self._table = table

            @classmethod
            def from_env(cls, suffix=""):
                return cls(boto3.resource("dynamodb").Table(os.environ["TABLE"] + suffix))

            def save(self, item):
                self._table.put_item(Item=item)

        STORAGE = Storage.from_env("-connections")
        STORAGE.save({})
        """})
    assert by_operation(root)["PutItem"]["TableName"] == {"${TABLE}-connections"}


def test_a_dict_of_constants_gives_the_entry_the_stage_picks_or_all_entries_as_alternatives(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        TABLES = {"dev": "orders-dev", "prod": "orders-prod"}
        CONFIG = {"bucket": os.environ["BUCKET"], "queue": "jobs"}
        ddb = boto3.resource("dynamodb")

        def handler():
            ddb.Table(TABLES[os.environ["STAGE"]]).put_item(Item={})
            ddb.Table(TABLES.get(os.environ.get("STAGE"), "orders-local")).get_item(Key={})
            boto3.client("s3").put_object(Bucket=CONFIG["bucket"], Key="k")
        """})
    assert by_operation(root)["PutItem"]["TableName"] == {"orders-dev", "orders-prod"}
    assert by_operation(root)["GetItem"]["TableName"] == {"orders-dev", "orders-prod", "orders-local"}
    assert by_operation(root)["PutObject"]["Bucket"] == {"${BUCKET}"}  # the entry named, not every entry
    staged = by_operation(root, {"STAGE": "prod", "BUCKET": "b"})
    assert staged["PutItem"]["TableName"] == staged["GetItem"]["TableName"] == {"orders-prod"}


def test_format_percent_and_join_build_partly_known_names(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import os
        import boto3
        s3 = boto3.client("s3")

        def handler(name):
            s3.put_object(Bucket="{}-{}".format(os.environ["STAGE"], "uploads"), Key="{0}/{name}.json".format("in", name=name))
            s3.get_object(Bucket="%s-archive" % os.environ["STAGE"], Key="/".join(["reports", name]))
            s3.delete_object(Bucket="ASSETS".lower(), Key="{:>10}".format(name))
        """})
    found = by_operation(root)
    assert found["PutObject"] == {"Bucket": {"${STAGE}-uploads"}, "Key": {"in/?.json"}}
    assert found["GetObject"] == {"Bucket": {"${STAGE}-archive"}, "Key": {"reports/?"}}
    assert found["DeleteObject"] == {"Bucket": {"assets"}, "Key": {"?"}}  # a format spec: not followed


def test_a_small_helper_returns_what_each_call_gives_not_every_calls_values(tmp_path: Path) -> None:
    # the style of an env-reading helper shared by every module (seen in public PynamoDB starter kits)
    root = write(tmp_path, {"app.py": """
        import os
        import boto3

        def get_env(name, fallback=False):
            if name in os.environ:
                return os.getenv(name)
            return fallback

        def stage():
            return get_env("STAGE", "local")

        ENDPOINT = get_env("DYNAMO_ENDPOINT", "https://dynamodb.amazonaws.com")
        boto3.resource("dynamodb").Table("{}__users".format(stage())).scan()
        """})
    assert by_operation(root)["Scan"]["TableName"] == {"${STAGE}__users", "local__users"}
    assert by_operation(root, {"STAGE": "dev"})["Scan"]["TableName"] == {"${STAGE}__users"}
    assert by_operation(root, {"OTHER": "x"})["Scan"]["TableName"] == {"local__users"}


def test_an_f_string_over_alternatives_gives_alternatives_not_a_hole(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        import boto3

        def archive(name, published):
            prefix = "published" if published else "drafts"
            boto3.client("s3").put_object(Bucket="site", Key=f"{prefix}/{name}.html", Body=b"")
        """})
    assert by_operation(root)["PutObject"]["Key"] == {"published/?.html", "drafts/?.html"}


def test_many_fields_with_many_alternatives_stay_bounded_and_say_so(tmp_path: Path) -> None:
    fields = "\n".join(f"    p{i} = 'a{i}' if x else ('b{i}' if y else 'c{i}')" for i in range(6))
    key = "".join(f"{{p{i}}}" for i in range(6))
    root = write(tmp_path, {"app.py": f"import boto3\n\ndef f(x, y):\n{fields}\n"
                                      f"    boto3.client('s3').put_object(Bucket='b', Key=f'{key}', Body=b'')\n"})
    keys = by_operation(root)["PutObject"]["Key"]
    assert 1 < len(keys) <= 13 and all("?" in k for k in keys)  # holes where alternatives were cut


UPLOADS = {"app.py": """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="uploads")
    s3 = boto3.client("s3")


    def upload(folder, body):
        s3.put_object(Bucket="uploads-media", Key=f"dev/{folder}/latest", Body=body)


    @app.route("/a", methods=["PUT"])
    def a():
        for folder in ("avatars", "banners", "covers", "docs", "icons", "resumes"):
            upload(folder, app.current_request.raw_body)
    """}


def test_one_varying_part_keeps_every_callers_value_without_a_cut(tmp_path: Path) -> None:
    keys = by_operation(write(tmp_path, UPLOADS))["PutObject"]["Key"]
    assert keys == {f"dev/{f}/latest" for f in ("avatars", "banners", "covers", "docs", "icons", "resumes")}
