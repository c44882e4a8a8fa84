"""Reading policy files, and the evaluator's input shapes and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canary.errors import CanaryError
from canary.policy import evaluate, load_policy

T = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def test_load_policy_returns_the_document(tmp_path: Path) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    assert load_policy(path) == doc


@pytest.mark.parametrize("text,needle", [
    (None, "policy file not found"),
    ('{"Statement": [', "invalid JSON at line 1"),
    ("[1, 2]", "not a policy document: expected an object"),
    ('{"Version": "2012-10-17"}', "no \"Statement\" field"),
    ('{"Effect": "Allow", "Action": "*", "Resource": "*"}', "looks like a single statement"),
    ('{"Version": "2012-10-17", "Statement": ["x"]}', "Statement[0] must be an object"),
])
def test_load_policy_errors_name_the_file(tmp_path: Path, text: str | None, needle: str) -> None:
    path = tmp_path / "p.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CanaryError) as exc:
        load_policy(path)
    assert str(exc.value).startswith(str(path))
    assert needle in str(exc.value)


def test_a_bare_statement_list_is_evaluated() -> None:
    assert evaluate([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": T}],
                    "dynamodb:GetItem", [T]).verdict == "GRANTED"


def test_a_single_resource_string_is_one_resource() -> None:
    assert evaluate({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": T}]},
                    "dynamodb:GetItem", T).verdict == "GRANTED"  # type: ignore[arg-type]


def test_unknown_segments_are_said_in_the_reason() -> None:
    d = evaluate({"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "*", "Resource": T}]},
                 "dynamodb:GetItem", ["arn:aws:dynamodb:*:*:table/orders"])
    assert d.verdict == "GRANTED" and "unknown account/region" in d.reason


def test_conditional_deny_says_so() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                            {"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*",
                             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
    d = evaluate(policy, "dynamodb:GetItem", [T])
    assert (d.verdict, d.statement, d.condition_keys) == ("CONDITIONAL", "D", ("aws:SourceIp",))
    assert "Deny statement D applies when its Condition holds" in d.reason


def test_mutating_a_policy_between_calls_is_seen() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": T}]}
    assert evaluate(policy, "dynamodb:GetItem", [T]).verdict == "GRANTED"
    policy["Statement"][0]["Effect"] = "Deny"
    assert evaluate(policy, "dynamodb:GetItem", [T]).verdict == "EXPLICITLY_DENIED"


def test_no_resources_means_an_action_authorized_on_star() -> None:
    specific = {"Statement": [{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": T}]}
    star = {"Statement": [{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}]}
    assert evaluate(specific, "cloudwatch:PutMetricData", []).verdict == "NOT_GRANTED"
    assert evaluate(star, "cloudwatch:PutMetricData", []).verdict == "GRANTED"
