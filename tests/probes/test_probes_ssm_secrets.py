"""SSM Parameter Store and Secrets Manager probes end to end against the moto server.

moto checks the action only: it does not evaluate `kms:Decrypt` for a SecureString read with
`WithDecryption`, nor resource ARNs, so the KMS half and the ARN forms are tested as data here.
"""

from __future__ import annotations

import pytest

from canary.model import Outcome
from canary.probes import ANY_TARGET, Target, build_call, probe_resources
from tests.conftest import allow, deny
from tests.probes.conftest import PARAM_VALUE, SECRET_VALUE, cfg, only, run_as

T = Target("us-east-1", "123456789012")


def test_authorized_get_parameter_is_allowed(emu, role, api):
    creds = role(allow("ssm:GetParameter"))
    r = only(run_as(emu, creds, cfg({"action": "ssm:GetParameter", "name": api.parameter, "with_decryption": True})))
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, None)
    assert r.resource == f"arn:aws:ssm:us-east-1:123456789012:parameter{api.parameter}"


def test_get_parameter_without_the_grant_is_denied(emu, role, api):
    creds = role(allow("ssm:GetParameters"))
    r = only(run_as(emu, creds, cfg({"action": "ssm:GetParameter", "name": api.parameter})))
    assert (r.outcome, r.error_code) == (Outcome.DENIED, "AccessDenied")


def test_get_parameter_explicitly_denied_is_denied(emu, role, api):
    creds = role(allow("ssm:*"), deny("ssm:GetParameter"))
    r = only(run_as(emu, creds, cfg({"action": "ssm:GetParameter", "name": api.parameter})))
    assert r.outcome is Outcome.DENIED


def test_missing_parameter_is_error(emu, role, api):
    creds = role(allow("ssm:GetParameter"))
    r = only(run_as(emu, creds, cfg({"action": "ssm:GetParameter", "name": api.parameter + "-missing"})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "ParameterNotFound")


def test_authorized_get_secret_value_is_allowed(emu, role, api):
    creds = role(allow("secretsmanager:GetSecretValue"))
    r = only(run_as(emu, creds, cfg({"action": "secretsmanager:GetSecretValue", "secret": api.secret})))
    assert (r.outcome, r.error_code) == (Outcome.ALLOWED, None)


def test_get_secret_value_without_the_grant_is_denied(emu, role, api):
    creds = role(allow("secretsmanager:DescribeSecret"))
    r = only(run_as(emu, creds, cfg({"action": "secretsmanager:GetSecretValue", "secret": api.secret})))
    assert (r.outcome, r.error_code) == (Outcome.DENIED, "AccessDenied")


def test_missing_secret_is_error(emu, role, api):
    creds = role(allow("secretsmanager:GetSecretValue"))
    r = only(run_as(emu, creds, cfg({"action": "secretsmanager:GetSecretValue", "secret": api.secret + "-gone"})))
    assert (r.outcome, r.error_code) == (Outcome.ERROR, "ResourceNotFoundException")


@pytest.mark.parametrize(("name", "arn"), [
    ("/app/dev/db-url", "arn:aws:ssm:us-east-1:123456789012:parameter/app/dev/db-url"),
    ("app-dev-db-url", "arn:aws:ssm:us-east-1:123456789012:parameter/app-dev-db-url"),
    ("/app/dev/db-url:3", "arn:aws:ssm:us-east-1:123456789012:parameter/app/dev/db-url"),
    ("arn:aws:ssm:eu-west-1:999999999999:parameter/shared/x", "arn:aws:ssm:eu-west-1:999999999999:parameter/shared/x"),
])
def test_parameter_arn_has_exactly_one_slash_after_parameter(name, arn):
    assert probe_resources(cfg({"action": "ssm:GetParameter", "name": name}).probes[0], T) == (arn,)


def test_parameter_arn_for_check_policy_matches_any_account_and_region():
    (p,) = cfg({"action": "ssm:GetParameter", "name": "/app/x"}).probes
    assert probe_resources(p, ANY_TARGET) == ("arn:aws:ssm:*:*:parameter/app/x",)


@pytest.mark.parametrize(("secret", "arn"), [
    ("app/dev/db", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/dev/db-??????"),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/dev/db-AbCdEf",
     "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/dev/db-AbCdEf"),
])
def test_secret_resource_is_the_documented_suffix_pattern_or_the_given_arn(secret, arn):
    assert probe_resources(cfg({"action": "secretsmanager:GetSecretValue", "secret": secret}).probes[0], T) == (arn,)


def test_read_calls_carry_only_names_and_flags():
    ssm, sm = (build_call(p, T) for p in cfg(
        {"action": "ssm:GetParameter", "name": "/app/x", "with_decryption": True},
        {"action": "secretsmanager:GetSecretValue", "secret": "app/db", "version_stage": "AWSPREVIOUS"}).probes)
    assert (ssm.operation, ssm.params) == ("get_parameter", {"Name": "/app/x", "WithDecryption": True})
    assert (sm.operation, sm.params) == ("get_secret_value", {"SecretId": "app/db", "VersionStage": "AWSPREVIOUS"})
    assert "discarded" in ssm.why_harmless and "discarded" in sm.why_harmless


def test_with_decryption_defaults_to_false_like_boto3():
    (p,) = cfg({"action": "ssm:GetParameter", "name": "/app/x"}).probes
    assert build_call(p, T).params["WithDecryption"] is False


def test_values_never_reach_the_report(emu, role, api):
    creds = role(allow("ssm:GetParameter", "secretsmanager:GetSecretValue"))
    report = run_as(emu, creds, cfg({"action": "ssm:GetParameter", "name": api.parameter, "with_decryption": True},
                                    {"action": "secretsmanager:GetSecretValue", "secret": api.secret}))
    assert [r.outcome for r in report.results] == [Outcome.ALLOWED] * 2
    text = repr(report) + str(report.to_dict())
    assert SECRET_VALUE not in text and PARAM_VALUE not in text
