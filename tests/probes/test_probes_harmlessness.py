"""Harmlessness, measured: after many runs the API's data is byte-for-byte unchanged, and the values
the read probes fetch never appear in reports, logs or `--explain`.

What 'unchanged' covers: every object in the bucket (key, bytes, ETag, LastModified), the parameter
(value, version), the secret (value, versions), the API's queue (no message, same attributes) and
its topic list. The sentinel queue does receive the SendMessage probes' messages (one per run, kept
60 s): that is the documented cost of proving sqs:SendMessage, and it is asserted here too.
"""

from __future__ import annotations

import json
import logging

from click.testing import CliRunner

from canary.cli import cli
from canary.logs import probe_line, report_line
from canary.model import Outcome
from tests.conftest import allow
from tests.probes.conftest import PARAM_VALUE, SECRET_VALUE, admin, cfg, run_as, s3_state

RUNS = 25  # each run sends every probe once; the 412 and the sentinel-only sends, not the count, keep them harmless
ACTIONS = ("s3:GetObject", "s3:PutObject", "ssm:GetParameter", "secretsmanager:GetSecretValue",
           "sqs:SendMessage", "sqs:GetQueueAttributes", "sns:Publish")


def world(emu, api):
    ssm, sm, sqs, sns = (admin(emu, s) for s in ("ssm", "secretsmanager", "sqs", "sns"))
    param = ssm.get_parameter(Name=api.parameter, WithDecryption=True)["Parameter"]
    secret = sm.get_secret_value(SecretId=api.secret)
    url = sqs.get_queue_url(QueueName=api.queue)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "objects": s3_state(emu, api.bucket),
        "parameter": (param["Value"], param["Version"], param["LastModifiedDate"]),
        "secret": (secret["SecretString"], secret["VersionId"],
                   sm.describe_secret(SecretId=api.secret)["VersionIdsToStages"]),
        "queue": queue,
        "topics": sorted(t["TopicArn"] for t in sns.list_topics()["Topics"]),
        "queues": sorted(sqs.list_queues().get("QueueUrls", [])),
    }


def sentinel_depth(emu, api):
    sqs = admin(emu, "sqs")
    url = sqs.get_queue_url(QueueName=api.sentinel_queue)["QueueUrl"]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_many_runs_leave_the_api_data_unchanged_and_never_show_a_value(emu, role, api, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="canary")
    before = world(emu, api)
    creds = role(allow(*ACTIONS))
    config = cfg(*api.probes())
    out = []
    for _ in range(RUNS):
        report = run_as(emu, creds, config)
        assert [r.outcome for r in report.results] == [Outcome.ALLOWED] * len(ACTIONS), report.to_dict()
        data = report.to_dict()
        out.append(report_line(data))
        out.extend(probe_line(r, "test") for r in data["results"])
    after = world(emu, api)
    assert after == before
    assert after["queue"]["ApproximateNumberOfMessages"] == "0"
    assert sentinel_depth(emu, api) == RUNS
    seen = "\n".join(out) + caplog.text + "".join(capsys.readouterr())
    assert SECRET_VALUE not in seen and PARAM_VALUE not in seen


def test_cli_report_and_explain_never_show_a_value(emu, role, api, tmp_path):
    path = tmp_path / "canary.json"
    path.write_text(json.dumps({"probes": api.probes()}))
    creds = role(allow(*ACTIONS))
    runner = CliRunner()
    explained = runner.invoke(cli, ["run", "--explain", "--format", "json", "--config", str(path)],
                              env={"AWS_REGION": "us-east-1"})
    assert explained.exit_code == 0, explained.output
    calls = json.loads(explained.output)
    assert [c["action"] for c in calls] == list(ACTIONS)
    assert all(c["why_harmless"] for c in calls)
    ran = runner.invoke(cli, ["run", "--format", "json", "--no-publish", "--config", str(path)], env=emu.env(creds))
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["summary"] == {"allowed": len(ACTIONS), "denied": 0, "error": 0}
    for text in (explained.output, ran.output):
        assert SECRET_VALUE not in text and PARAM_VALUE not in text


def test_denied_runs_change_nothing_either(emu, role, api):
    before = world(emu, api)
    creds = role(allow("sts:GetCallerIdentity"))
    for _ in range(5):
        report = run_as(emu, creds, cfg(*api.probes()))
        assert {r.outcome for r in report.results} == {Outcome.DENIED}
    assert world(emu, api) == before
    assert sentinel_depth(emu, api) == 0
