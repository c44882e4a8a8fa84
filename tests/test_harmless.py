"""Harmless by construction: many probe runs leave user data byte-identical and mail only the simulator.

Runs go against the moto server with IAM checks on and a role that may do everything the probes
try, so every write probe is authorized and reaches DynamoDB's condition check: the strongest test.
"""

from __future__ import annotations

import json

import pytest

from canary.config import parse_config
from canary.model import Outcome
from canary.probes.ses import SIMULATOR_DOMAIN
from canary.runner import run
from tests.conftest import allow

RUNS = 200
SENTINEL = "__permission_canary__"


def snapshot(ddb, table: str) -> bytes:
    """Every item of the table, serialised canonically: equal bytes mean equal contents."""
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    def canon(item: dict) -> str:
        return json.dumps(item, sort_keys=True, default=lambda b: {"__bytes__": bytes(b).hex()})

    return ("[" + ",".join(sorted(canon(i) for i in items)) + "]").encode()


@pytest.mark.parametrize("sentinel_present", [True, False], ids=["sentinel-present", "sentinel-absent"])
def test_two_hundred_runs_leave_the_table_byte_identical(emu, assume_role, unique, sentinel_present):
    table = unique("harmless")
    emu.create_table(table, "pk")
    admin = emu.client("dynamodb")
    for i in range(5):
        admin.put_item(TableName=table, Item={"pk": {"S": f"user-{i}"}, "n": {"N": str(i)}, "blob": {"B": b"\x00\x01"}})
    if sentinel_present:
        admin.put_item(TableName=table, Item={"pk": {"S": SENTINEL}, "note": {"S": "keep me exactly"}})
    before = snapshot(admin, table)
    assert len(json.loads(before)) == (6 if sentinel_present else 5)

    creds = assume_role(allow("dynamodb:*"))
    key = {"pk": SENTINEL}
    config = parse_config({"probes": [
        {"action": a, "table": table, "key": key} for a in
        ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:GetItem",
         "dynamodb:Query", "dynamodb:BatchGetItem")] + [
        {"action": "dynamodb:Scan", "table": table}, {"action": "dynamodb:DescribeTable", "table": table}]}, env={})
    session = emu.session(creds)
    for _ in range(RUNS):
        report = run(config, session, endpoint_url=emu.url)
        assert all(r.outcome is Outcome.ALLOWED for r in report.results), report.to_dict()

    assert snapshot(admin, table) == before


def test_ses_probes_mail_only_simulator_addresses(emu, assume_role, unique):
    from moto.ses.models import ses_backends  # the in-process server's own state

    sender = f"{unique('noreply')}@example.com"
    emu.verify_email(sender)
    creds = assume_role(allow("ses:SendEmail", "ses:SendRawEmail"))
    config = parse_config({"probes": [
        {"id": "v1", "action": "ses:SendEmail", "from": sender},
        {"id": "v2", "action": "ses:SendEmail", "from": sender, "api": "v2"},
        {"id": "bounce", "action": "ses:SendEmail", "from": sender, "to": f"bounce@{SIMULATOR_DOMAIN}"},
        {"id": "raw", "action": "ses:SendRawEmail", "from": sender}]}, env={})
    session = emu.session(creds)
    for _ in range(20):
        assert run(config, session, endpoint_url=emu.url).ok

    sent = [m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if m.source == sender]
    assert len(sent) == 80
    recipients = set()
    for m in sent:
        dest = m.destinations
        recipients.update(dest if isinstance(dest, list) else [a for addrs in dest.values() for a in addrs])
    assert recipients and all(r.endswith("@" + SIMULATOR_DOMAIN) for r in recipients)


def test_a_real_recipient_is_refused_before_anything_is_sent():
    from canary.errors import ConfigError

    with pytest.raises(ConfigError, match="outside simulator.amazonses.com"):
        parse_config({"probes": [{"action": "ses:SendEmail", "from": "a@example.com", "to": "ceo@example.com"}]},
                     source="canary.json", env={})
