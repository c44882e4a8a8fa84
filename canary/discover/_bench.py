"""Write a synthetic Chalice project of a given size, for benchmarking `discover`.

The project mixes every style discover recognises (module-level clients, resources and tables,
classes that keep clients on `self`, factories, cross-module imports) in modules of a few hundred
lines each, so that the benchmark exercises the interpreter the way a real, large app would.
Each generated module makes a fixed number of AWS calls (`CALLS_PER_MODULE` call sites), which the
tests use to check that nothing is lost as the project grows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["generate_project", "CALLS_PER_MODULE"]

CALLS_PER_MODULE = 6
_FILLER_FUNCS = 30  # plain-Python helpers per module, so most lines are ordinary code

_MODULE = '''"""Generated module {n}."""
import os

import boto3

from chalicelib import shared

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_{n}"] if "TABLE_{n}" in os.environ else "table-{n}")
QUEUE_URL = os.environ.get("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/q{n}")


def client_{n}():
    return boto3.client("sqs")


class Service{n}:
    def __init__(self, table=TABLE):
        self.table = table
        self.s3 = boto3.client("s3")

    def save(self, item_id):
        self.table.put_item(Item={{"pk": item_id}})
        self.table.update_item(Key={{"pk": item_id}}, UpdateExpression="SET n = :n",
                               ExpressionAttributeValues={{":n": 1}})

    def archive(self, item_id):
        self.s3.put_object(Bucket="bucket-{n}", Key=f"items/{{item_id}}", Body=b"")


def handler_{n}(event):
    svc = Service{n}()
    svc.save(event["id"])
    svc.archive(event["id"])
    client_{n}().send_message(QueueUrl=QUEUE_URL, MessageBody="x")
    shared.TOPIC.publish(TopicArn=shared.TOPIC_ARN, Message="done")
    return TABLE.get_item(Key={{"pk": event["id"]}})
'''

_FILLER = '''

def helper_{n}_{i}(values, factor={i}):
    """A plain helper: no AWS here."""
    total = 0
    for v in values:
        if v % 2:
            total += v * factor
        else:
            total -= v
    return {{"total": total, "count": len(values), "name": "helper_{n}_{i}"}}
'''

_SHARED = '''import boto3

TOPIC = boto3.client("sns")
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:events"
'''


def generate_project(path: str | os.PathLike[str], lines: int) -> Path:
    """Write a Chalice project of about `lines` lines of Python under `path`; return its directory."""
    root = Path(path)
    lib = root / "chalicelib"
    lib.mkdir(parents=True, exist_ok=True)
    (root / ".chalice").mkdir(exist_ok=True)
    (lib / "__init__.py").write_text("", encoding="utf-8")
    (lib / "shared.py").write_text(_SHARED, encoding="utf-8")
    written = _SHARED.count("\n")
    imports, routes, n = [], [], 0
    while written < lines:
        text = _MODULE.format(n=n) + "".join(_FILLER.format(n=n, i=i) for i in range(_FILLER_FUNCS))
        (lib / f"mod{n}.py").write_text(text, encoding="utf-8")
        written += text.count("\n")
        imports.append(f"from chalicelib import mod{n}")
        routes.append(f'@app.lambda_function(name="h{n}")\ndef h{n}(event, context):\n'
                      f"    return mod{n}.handler_{n}(event)\n")
        n += 1
    app = ("from chalice import Chalice\n" + "\n".join(imports) + '\n\napp = Chalice(app_name="bench")\n\n\n'
           + "\n\n".join(routes))
    (root / "app.py").write_text(app, encoding="utf-8")
    config = {"version": "2.0", "app_name": "bench",
              "stages": {"dev": {"environment_variables": {f"TABLE_{i}": f"table-{i}-dev" for i in range(n)}}}}
    (root / ".chalice" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return root
