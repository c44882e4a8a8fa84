"""provision_sentinels against the moto server: creates what is missing, keeps what exists, never overwrites."""

from __future__ import annotations

import pytest

from canary.probes.s3 import SENTINEL_BODY, SENTINEL_NAME
from canary.sentinels import SentinelError, provision_sentinels
from tests.probes.conftest import admin, cfg, session


@pytest.fixture
def names(unique):
    bucket = unique("site").lower()
    return {"bucket": bucket, "queue": unique("jobs") + "-permission-canary", "topic": unique("news") + "-permission-canary"}


def config_for(n):
    return cfg({"action": "s3:GetObject", "bucket": n["bucket"], "prefix": "u/"},
               {"action": "s3:PutObject", "bucket": n["bucket"], "prefix": "u/"},
               {"action": "sqs:SendMessage", "sentinel_queue": n["queue"]},
               {"action": "sns:Publish", "sentinel_topic": n["topic"]},
               {"action": "ssm:GetParameter", "name": "/not/a/sentinel"})


def provision(emu, config):
    return provision_sentinels(config, session(emu), endpoint_url=emu.url)


def test_provision_creates_each_sentinel_once_then_keeps_it_unchanged(emu, names):
    s3, sqs, sns = admin(emu, "s3"), admin(emu, "sqs"), admin(emu, "sns")
    s3.create_bucket(Bucket=names["bucket"])
    config = config_for(names)
    first = provision(emu, config)
    assert first == [f"created S3 sentinel object s3://{names['bucket']}/u/{SENTINEL_NAME}",
                     f"created SQS sentinel queue {names['queue']} (retention 60 s, no consumer)",
                     f"created SNS sentinel topic {names['topic']} (no subscribers)"]
    obj = s3.get_object(Bucket=names["bucket"], Key="u/" + SENTINEL_NAME)
    assert obj["Body"].read() == SENTINEL_BODY.encode()
    url = sqs.get_queue_url(QueueName=names["queue"])["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])[
        "Attributes"]["MessageRetentionPeriod"] == "60"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"permission-canary": "sentinel"}
    second = provision(emu, config)
    assert second == [f"kept S3 sentinel object s3://{names['bucket']}/u/{SENTINEL_NAME} (already there; left unchanged)",
                      f"kept SQS sentinel queue {names['queue']} (retention 60 s)",
                      f"kept SNS sentinel topic {names['topic']} (no subscribers)"]
    again = s3.get_object(Bucket=names["bucket"], Key="u/" + SENTINEL_NAME)
    assert (again["ETag"], again["LastModified"]) == (obj["ETag"], obj["LastModified"])
    assert len([t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":" + names["topic"])]) == 1


def test_provision_never_overwrites_an_existing_object_at_the_sentinel_key(emu, names):
    s3 = admin(emu, "s3")
    s3.create_bucket(Bucket=names["bucket"])
    s3.put_object(Bucket=names["bucket"], Key="u/" + SENTINEL_NAME, Body=b"someone else's bytes")
    lines = provision(emu, cfg({"action": "s3:GetObject", "bucket": names["bucket"], "prefix": "u/"}))
    assert lines[0].startswith("kept S3 sentinel object")
    assert s3.get_object(Bucket=names["bucket"], Key="u/" + SENTINEL_NAME)["Body"].read() == b"someone else's bytes"


def test_provision_shortens_the_retention_of_an_existing_sentinel_queue(emu, names):
    sqs = admin(emu, "sqs")
    url = sqs.create_queue(QueueName=names["queue"], Attributes={"MessageRetentionPeriod": "345600"})["QueueUrl"]
    lines = provision(emu, cfg({"action": "sqs:SendMessage", "sentinel_queue": names["queue"]}))
    assert lines == [f"kept SQS sentinel queue {names['queue']} (retention set to 60 s)"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])[
        "Attributes"]["MessageRetentionPeriod"] == "60"


def test_provision_warns_when_the_sentinel_topic_has_subscribers(emu, names):
    sns, sqs = admin(emu, "sns"), admin(emu, "sqs")
    arn = sns.create_topic(Name=names["topic"])["TopicArn"]
    qurl = sqs.create_queue(QueueName=names["queue"] + "-listener")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=qurl, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)
    (line,) = provision(emu, cfg({"action": "sns:Publish", "sentinel_topic": names["topic"]}))
    assert line.startswith(f"kept SNS sentinel topic {names['topic']} - WARNING: it has 1 subscription(s)")


def test_provision_names_the_probe_and_bucket_when_the_bucket_is_missing(emu, names):
    config = cfg({"action": "s3:PutObject", "bucket": names["bucket"], "id": "uploads-write"})
    with pytest.raises(SentinelError) as exc:
        provision(emu, config)
    assert str(exc.value) == (f"probe uploads-write (s3:PutObject): cannot provision the S3 sentinel object "
                              f"s3://{names['bucket']}/{SENTINEL_NAME}: NoSuchBucket: The specified bucket does not exist")


def test_provision_with_credentials_that_may_not_write_is_a_clear_error(emu, names, role):
    admin(emu, "s3").create_bucket(Bucket=names["bucket"])
    creds = role({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})
    with pytest.raises(SentinelError, match=r"cannot provision the S3 sentinel object .*: AccessDenied"):
        provision_sentinels(cfg({"action": "s3:PutObject", "bucket": names["bucket"]}), session(emu, creds),
                            endpoint_url=emu.url)


def test_a_config_without_sentinel_probes_provisions_nothing(emu):
    assert provision(emu, cfg({"action": "ssm:GetParameter", "name": "/x"},
                              {"action": "sqs:GetQueueAttributes", "queue": "orders"})) == []
