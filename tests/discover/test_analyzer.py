"""What the analyser follows, what it refuses to guess, and that it never runs the code it reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

from canary.discover import discover


def project(tmp_path: Path, files: dict[str, str], env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    found = discover(tmp_path, None, env=env or {})
    return sorted((f.action, f.resource) for f in found.findings)


def actions(rows: list[tuple[str, str]]) -> set[str]:
    return {a for a, _ in rows}


def test_user_code_is_read_never_imported_or_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    rows = project(tmp_path, {"app.py": f"""
        import boto3
        open({str(marker)!r}, "w").write("module code ran")
        raise SystemExit("importing this app would stop here")
        boto3.client("sqs").send_message(QueueUrl="q", MessageBody="x")
        """})
    assert not marker.exists()
    assert actions(rows) == {"sqs:SendMessage"}


def test_methods_of_objects_that_are_not_boto3_are_not_aws_calls(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import requests

        class FakeTable:
            def put_item(self, **kw):
                return kw

        FakeTable().put_item(Item={})
        requests.put("http://example.invalid")
        cache = {}
        cache.get("x")
        """})
    assert rows == []


def test_attributes_of_a_client_are_not_calls(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        ddb = boto3.client("dynamodb")
        region = ddb.meta.region_name
        err = ddb.exceptions.ConditionalCheckFailedException
        waiter = ddb.get_waiter("table_exists")
        ref = ddb.describe_table
        """})
    assert rows == []


def test_a_bound_method_kept_in_a_variable_is_followed(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        put = boto3.resource("dynamodb").Table("t1").put_item
        put(Item={"pk": "x"})
        """})
    assert rows == [("dynamodb:PutItem", "arn:aws:dynamodb:*:*:table/t1")]


def test_environment_lookups_in_every_spelling_resolve(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import os
        from os import environ, getenv
        import boto3
        ddb = boto3.resource("dynamodb")
        ddb.Table(os.environ["A"]).get_item(Key={})
        ddb.Table(os.getenv("B", "b-default")).get_item(Key={})
        ddb.Table(os.environ.get("C") or "c-default").get_item(Key={})
        ddb.Table(environ["D"] + "-suffix").get_item(Key={})
        ddb.Table(getenv("E")).get_item(Key={})
        ddb.Table(f"{os.environ['F']}-{os.environ['G']}").get_item(Key={})
        """}, env={"A": "a", "D": "d", "F": "f", "G": "g"})
    tables = {r.rsplit("/", 1)[1] for _, r in rows}
    assert tables == {"a", "b-default", "c-default", "d-suffix", "?", "f-g"}


def test_a_constant_service_name_in_a_variable_is_followed_and_unknown_services_ignored(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        SERVICE = "sns"
        boto3.client(SERVICE).publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="m")
        boto3.client("no-such-service").publish(Message="m")
        boto3.client(service_name="sqs").purge_queue(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q")
        """})
    assert rows == [("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
                    ("sqs:PurgeQueue", "arn:aws:sqs:us-east-1:123456789012:q")]


def test_relative_imports_star_imports_and_closures_are_followed(tmp_path: Path) -> None:
    rows = project(tmp_path, {
        "app.py": """
            from chalicelib.api import handler
            from chalicelib.everything import *
            handler()
            STREAM.put_record(StreamName="s", Data=b"", PartitionKey="k")
            """,
        "chalicelib/__init__.py": "",
        "chalicelib/api.py": """
            from .clients import make_queue

            def handler():
                queue = make_queue()

                def inner():
                    queue.delete_message(QueueUrl="https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
                                         ReceiptHandle="r")
                inner()
            """,
        "chalicelib/clients.py": """
            import boto3

            def make_queue():
                return boto3.client("sqs")
            """,
        "chalicelib/everything.py": """
            import boto3
            STREAM = boto3.client("kinesis")
            """,
    })
    assert rows == [("kinesis:PutRecord", "arn:aws:kinesis:*:*:stream/s"),
                    ("sqs:DeleteMessage", "arn:aws:sqs:eu-west-1:123456789012:jobs")]


def test_inherited_clients_and_class_level_attributes_are_followed(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3

        class Base:
            def __init__(self):
                self.sm = boto3.client("secretsmanager")

        class Child(Base):
            def read(self):
                return self.sm.describe_secret(SecretId="arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf")

        class Holder:
            bucket = boto3.resource("s3").Bucket("holder-bucket")

            @staticmethod
            def make():
                return Holder()

        Holder.make().bucket.upload_file("/tmp/f", "k")
        """})
    assert rows == [("s3:PutObject", "arn:aws:s3:::holder-bucket/k"),
                    ("secretsmanager:DescribeSecret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf")]


def test_transact_write_items_authorizes_each_kind_of_item_it_writes(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        ddb = boto3.client("dynamodb")
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}, "ConditionExpression": "x"}},
        ])
        """})
    assert actions(rows) == {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"}


def test_meta_client_injected_transfer_methods_and_collections(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        s3 = boto3.resource("s3")
        s3.meta.client.download_file("b1", "k", "/tmp/k")
        bucket = s3.Bucket("b2")
        keys = [o.key for o in bucket.objects.all()]
        bucket.objects.filter(Prefix="tmp/").delete()
        s3.Object("b3", "k3").load()
        """})
    assert rows == [("s3:DeleteObject", "arn:aws:s3:::b2"), ("s3:GetObject", "arn:aws:s3:::b1/k"),
                    ("s3:GetObject", "arn:aws:s3:::b3/k3"), ("s3:ListBucket", "arn:aws:s3:::b2"),
                    ("s3:ListBucket", "arn:aws:s3:::b2")]


def test_vendored_packages_are_not_analysed(tmp_path: Path) -> None:
    rows = project(tmp_path, {
        "app.py": "import thirdparty\nthirdparty.go()\n",
        "vendor/thirdparty.py": "import boto3\ndef go():\n    boto3.client('sqs').purge_queue(QueueUrl='q')\n",
    })
    assert rows == []


def test_a_lazily_initialised_global_is_followed(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        _client = None

        def client():
            global _client
            if _client is None:
                _client = boto3.Session(profile_name="x").client("ssm")
            return _client

        def handler(name):
            return client().get_parameters_by_path(Path="/app/")
        """})
    assert rows == [("ssm:GetParametersByPath", "arn:aws:ssm:*:*:parameter/app/")]  # the path (or what lies below it)


def test_facts_that_appear_after_a_function_was_read_are_still_followed(tmp_path: Path) -> None:
    """A body is replayed from memory only while nothing it read has grown; here everything arrives late."""
    rows = project(tmp_path, {"app.py": """
        import boto3

        def handler():
            return topic().publish(TopicArn=TOPIC_ARN, Message="m")

        def topic():
            return make()

        def make():
            return CLIENTS["sns"] if False else SNS

        SNS = boto3.client("sns")
        TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:late"
        """})
    assert rows == [("sns:Publish", "arn:aws:sns:us-east-1:123456789012:late")]


def test_a_pathologically_deep_expression_is_skipped_not_fatal(tmp_path: Path) -> None:
    deep = " + ".join(['"x"'] * 1500)  # parses, but deeper than the analyser's recursion allows
    rows = project(tmp_path, {"app.py": f"""
        import boto3
        NAME = {deep}
        boto3.client("sqs").purge_queue(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q")
        """})
    assert rows == [("sqs:PurgeQueue", "arn:aws:sqs:us-east-1:123456789012:q")]


def test_resource_methods_map_through_boto3s_resource_models(tmp_path: Path) -> None:
    rows = project(tmp_path, {"app.py": """
        import boto3
        s3 = boto3.resource("s3")
        obj = s3.Object("b", "k")
        obj.get()
        obj.put(Body=b"")
        obj.delete()
        s3.Bucket("b").put_object(Key="k2", Body=b"")
        table = boto3.resource("dynamodb").Table("t")
        table.update_item(Key={"pk": "x"})
        table.scan()
        """})
    assert rows == [("dynamodb:Scan", "arn:aws:dynamodb:*:*:table/t"),
                    ("dynamodb:UpdateItem", "arn:aws:dynamodb:*:*:table/t"),
                    ("s3:DeleteObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::b/k"),
                    ("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:PutObject", "arn:aws:s3:::b/k2")]


def test_an_app_without_aws_calls_says_so(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from canary.cli import cli

    (tmp_path / "app.py").write_text("from chalice import Chalice\napp = Chalice(app_name='x')\n")
    result = CliRunner().invoke(cli, ["discover", str(tmp_path)])
    assert result.exit_code == 0
    assert "No AWS calls found." in result.stdout


def test_circular_imports_between_modules_converge(tmp_path: Path) -> None:
    rows = project(tmp_path, {
        "app.py": "from chalicelib import a\n",
        "chalicelib/__init__.py": "",
        "chalicelib/a.py": """
            from chalicelib import b
            RESULT = b.QUEUE.send_message(QueueUrl=b.URL, MessageBody="x")
            NAME = "from-a"
            """,
        "chalicelib/b.py": """
            import boto3
            from chalicelib import a
            QUEUE = boto3.client("sqs")
            URL = "https://sqs.us-east-1.amazonaws.com/123456789012/" + a.NAME
            """,
    })
    assert rows == [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:from-a")]
