"""Fixtures for the S3, SSM, Secrets Manager, SQS and SNS probe tests.

Resources are created with the emulator's admin credentials and unique names; the probes then run
with STS assumed-role credentials for a role holding only the statements a test gives, so every
DENIED is moto's policy evaluation. Sentinels are made by `provision_sentinels`, as in production.
boto3 sessions, admin clients and roles with identical statements are reused across tests only to
keep the suite fast (a fresh boto3 Session re-reads every service model): roles are never changed
after creation, so sharing them cannot leak state between tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from canary.config import CanaryConfig, parse_config
from canary.emulator import Credentials, Emulator
from canary.model import ProbeResult, Report
from canary.runner import run
from canary.sentinels import provision_sentinels

SECRET_VALUE = "s3cr3t-db-password-9f8e7d"  # must never appear anywhere the canary writes
PARAM_VALUE = "postgres://api:hunter2-a1b2c3@db.internal/prod"


def cfg(*probes: dict[str, Any], **settings: Any) -> CanaryConfig:
    return parse_config({**settings, "probes": list(probes)}, env={})


_SESSIONS: dict[tuple[str, Credentials | None], Any] = {}
_CLIENTS: dict[tuple[str, str], Any] = {}
_ROLES: dict[tuple[str, str], Credentials] = {}


def session(emu: Emulator, creds: Credentials | None = None) -> Any:
    """A boto3 session for `creds` (admin when None), made once per credentials."""
    key = (emu.url, creds)
    if key not in _SESSIONS:
        _SESSIONS[key] = emu.session(creds)
    return _SESSIONS[key]


def admin(emu: Emulator, service: str) -> Any:
    """An admin client for setting up and inspecting resources (never used to run probes)."""
    key = (emu.url, service)
    if key not in _CLIENTS:
        _CLIENTS[key] = session(emu).client(service, endpoint_url=emu.url)
    return _CLIENTS[key]


@pytest.fixture
def role(emu: Emulator, assume_role: Callable[..., Credentials]) -> Callable[..., Credentials]:
    """Like `assume_role`, but a role with the same statements is created once per session."""

    def make(*statements: dict[str, Any]) -> Credentials:
        key = (emu.url, json.dumps(statements, sort_keys=True))
        if key not in _ROLES:
            _ROLES[key] = assume_role(*statements)
        return _ROLES[key]

    return make


def run_as(emu: Emulator, creds: Credentials, config: CanaryConfig, **kwargs: Any) -> Report:
    return run(config, session(emu, creds), endpoint_url=emu.url, stage="test", **kwargs)


def only(report: Report) -> ProbeResult:
    assert len(report.results) == 1, report.to_dict()
    return report.results[0]


def s3_state(emu: Emulator, bucket: str) -> dict[str, tuple[bytes, str, Any]]:
    """Every object's key, bytes, ETag and LastModified: what 'unchanged' means for a bucket."""
    s3 = admin(emu, "s3")
    out = {}
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=o["Key"])
        out[o["Key"]] = (got["Body"].read(), got["ETag"], got["LastModified"])
    return out


@dataclass
class Api:
    """The API's resources in the emulator: bucket (+ sentinel), parameter, secret, queue, topics."""

    bucket: str
    parameter: str
    secret: str
    queue: str
    sentinel_queue: str
    sentinel_topic: str

    def probes(self) -> list[dict[str, Any]]:
        return [
            {"action": "s3:GetObject", "bucket": self.bucket, "prefix": "uploads/"},
            {"action": "s3:PutObject", "bucket": self.bucket, "prefix": "uploads/"},
            {"action": "ssm:GetParameter", "name": self.parameter, "with_decryption": True},
            {"action": "secretsmanager:GetSecretValue", "secret": self.secret},
            {"action": "sqs:SendMessage", "sentinel_queue": self.sentinel_queue},
            {"action": "sqs:GetQueueAttributes", "queue": self.queue},
            {"action": "sns:Publish", "sentinel_topic": self.sentinel_topic},
        ]


@pytest.fixture
def api(emu: Emulator, unique: Callable[[str], str]) -> Api:
    a = Api(bucket=unique("uploads").lower(), parameter=f"/{unique('app')}/db-url", secret=unique("app") + "/db",
            queue=unique("orders"), sentinel_queue=unique("orders") + "-permission-canary",
            sentinel_topic=unique("events") + "-permission-canary")
    s3 = admin(emu, "s3")
    s3.create_bucket(Bucket=a.bucket)
    s3.put_object(Bucket=a.bucket, Key="uploads/user-1/avatar.png", Body=b"\x89PNG user data")
    s3.put_object(Bucket=a.bucket, Key="reports/2026-01.csv", Body=b"a,b\n1,2\n")
    admin(emu, "ssm").put_parameter(Name=a.parameter, Value=PARAM_VALUE, Type="SecureString")
    admin(emu, "secretsmanager").create_secret(Name=a.secret, SecretString=SECRET_VALUE)
    admin(emu, "sqs").create_queue(QueueName=a.queue)
    provision_sentinels(cfg(*a.probes()), session(emu), endpoint_url=emu.url)
    return a
