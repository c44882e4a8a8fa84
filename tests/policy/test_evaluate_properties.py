"""Properties of the evaluator that hold for any policy, checked with hypothesis.

The segment rule is checked against a deliberately naive reference (split both ARNs on ':' and
compare each segment with fnmatch), so the single-regex implementation cannot drift from it.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canary.policy import evaluate

SEG = st.sampled_from(["", "*", "us-east-1", "us-*", "?s-east-1", "eu-west-1", "123456789012", "1234*", "*9012"])
RES = st.sampled_from(["table/orders", "table/*", "table/orders/index/*", "table/ord?rs", "*", "identity/a:b",
                       "table/orders/index/by-user"])
PROBE_REGION = st.sampled_from(["us-east-1", "eu-west-1"])
PROBE_ACCOUNT = st.sampled_from(["123456789012", "999999999012"])
PROBE_RES = st.sampled_from(["table/orders", "table/orders/index/by-user", "identity/a:b"])


def _reference(pattern: str, arn: str) -> bool:
    if pattern == "*":
        return True
    p, a = pattern.split(":", 5), arn.split(":", 5)
    if len(p) != 6:
        return False
    return all(fnmatch.fnmatchcase(av, pv) for pv, av in zip(p, a, strict=True))


def _allow(resource: str) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": resource}]}


@settings(max_examples=150, deadline=None)
@given(SEG, SEG, RES, PROBE_REGION, PROBE_ACCOUNT, PROBE_RES)
def test_six_segment_arns_match_segment_by_segment(region: str, account: str, res: str, p_region: str,
                                                    p_account: str, p_res: str) -> None:
    pattern = f"arn:aws:dynamodb:{region}:{account}:{res}"
    arn = f"arn:aws:dynamodb:{p_region}:{p_account}:{p_res}"
    granted = evaluate(_allow(pattern), "dynamodb:GetItem", [arn]).verdict == "GRANTED"
    assert granted == _reference(pattern, arn)


@settings(max_examples=100, deadline=None)
@given(SEG, SEG, RES, PROBE_REGION, PROBE_ACCOUNT, PROBE_RES)
def test_an_unknown_probe_segment_matches_whenever_some_real_value_would(region: str, account: str, res: str,
                                                                         p_region: str, p_account: str,
                                                                         p_res: str) -> None:
    pattern = f"arn:aws:dynamodb:{region}:{account}:{res}"
    unknown = evaluate(_allow(pattern), "dynamodb:GetItem", [f"arn:aws:dynamodb:*:*:{p_res}"]).verdict
    # a real account/region is non-empty; the unknown one matches iff the policy's segments are non-empty
    expected = region != "" and account != "" and _reference(
        f"arn:aws:dynamodb:*:*:{res}", f"arn:aws:dynamodb:x:x:{p_res}")
    assert (unknown == "GRANTED") == expected


STATEMENTS = st.lists(st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "Action": st.sampled_from(["dynamodb:GetItem", "dynamodb:*", "*", "ses:SendEmail", "dynamodb:Get*"]),
    "Resource": st.sampled_from(["*", "arn:aws:dynamodb:*:*:table/orders", "arn:aws:dynamodb:us-east-1::table/x"]),
}), max_size=6)


@settings(max_examples=100, deadline=None)
@given(STATEMENTS)
def test_an_unconditional_deny_on_everything_always_wins(statements: list[dict[str, Any]]) -> None:
    policy = {"Version": "2012-10-17", "Statement": [*statements, {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    d = evaluate(policy, "dynamodb:GetItem", ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"])
    assert d.verdict == "EXPLICITLY_DENIED"


@settings(max_examples=100, deadline=None)
@given(STATEMENTS)
def test_statement_order_never_changes_the_verdict(statements: list[dict[str, Any]]) -> None:
    arn = ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
    forward = evaluate({"Statement": statements}, "dynamodb:GetItem", arn).verdict
    backward = evaluate({"Statement": statements[::-1]}, "dynamodb:GetItem", arn).verdict
    assert forward == backward
