"""Config validation, registry and schema for the S3, SSM, Secrets Manager, SQS and SNS probes.

Bad configs are fixture files (`bad_configs/<case>.json`), each with the exact message it must give
(`<case>.expected`, `{file}` standing for the path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canary.config import json_schema, load_config
from canary.errors import ConfigError
from canary.probes import PROBES

BAD = Path(__file__).parent / "bad_configs"
NEW = {"s3:GetObject": ("s3",), "s3:PutObject": ("s3",), "ssm:GetParameter": ("ssm",),
       "secretsmanager:GetSecretValue": ("secretsmanager",), "sqs:SendMessage": ("sqs",),
       "sqs:GetQueueAttributes": ("sqs",), "sns:Publish": ("sns",)}


@pytest.mark.parametrize("case", sorted(p.stem for p in BAD.glob("*.json")))
def test_bad_config_gives_its_exact_message(case):
    path = BAD / f"{case}.json"
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    assert str(exc.value) == (BAD / f"{case}.expected").read_text().strip().format(file=path)


def test_every_new_probe_is_registered_under_its_action_with_its_client():
    assert {a: PROBES[a].services for a in NEW} == NEW


def test_schema_lists_every_new_probe_and_its_fields():
    titles = {s["title"]: s for s in json_schema()["properties"]["probes"]["items"]["oneOf"]}
    assert set(NEW) <= set(titles)
    assert {"bucket", "prefix", "key"} <= set(titles["s3:PutObject"]["properties"])
    assert "sentinel_queue" in titles["sqs:SendMessage"]["required"]
    assert "sentinel_topic" in titles["sns:Publish"]["required"]
    assert titles["ssm:GetParameter"]["properties"]["with_decryption"]["type"] == "boolean"


def test_env_vars_fill_the_new_fields(tmp_path):
    path = tmp_path / "canary.json"
    path.write_text('{"probes": [{"action": "s3:GetObject", "bucket": "uploads-${STAGE}", "prefix": "u/"},'
                    ' {"action": "sqs:SendMessage", "sentinel_queue": "orders-${STAGE}-permission-canary"}]}')
    get, send = load_config(path, env={"STAGE": "dev"}).probes
    assert get.probe_id == "s3-getobject-uploads-dev-u-permission-canary"
    assert send.probe_id == "sqs-sendmessage-orders-dev-permission-canary"
