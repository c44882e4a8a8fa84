"""The IAM action index implied by botocore's service models."""

from __future__ import annotations

from canary.policy import actions


def test_signing_name_maps_sesv2_to_ses() -> None:
    assert "sesv2" in actions.iam_prefixes()["ses"]
    assert "sesv2" not in actions.iam_prefixes()


def test_cloudwatch_prefix_is_not_its_endpoint_name() -> None:
    prefixes = actions.iam_prefixes()
    assert "cloudwatch" in prefixes["cloudwatch"] and "monitoring" not in prefixes
    assert actions.known_action("cloudwatch:PutMetricData") is True


def test_known_actions_are_case_insensitive_and_typos_are_not() -> None:
    assert actions.known_action("DynamoDB:updateitem") is True
    assert actions.known_action("dynamodb:UpdateItems") is False
    assert actions.known_action("dynamdb:GetItem") is None


def test_iam_only_actions_are_known() -> None:
    for a in ("s3:ListBucket", "lambda:InvokeFunction", "iam:PassRole", "dynamodb:ConditionCheckItem",
              "execute-api:Invoke"):
        assert actions.known_action(a) is True, a


def test_expand_lists_what_a_wildcard_grants() -> None:
    granted = actions.expand("dynamodb:Delete*")
    assert granted is not None
    assert {"dynamodb:DeleteItem", "dynamodb:DeleteTable", "dynamodb:DeleteBackup"} <= set(granted)
    assert all(a.startswith("dynamodb:Delete") for a in granted)
    assert actions.expand("*:Get*") is None


def test_canonical_spelling_and_suggestions() -> None:
    assert actions.canonical("DYNAMODB:updateitem") == "dynamodb:UpdateItem"
    assert actions.suggest("dynamodb:UpdateItems") == ["dynamodb:UpdateItem"]
    assert actions.suggest("sess:SendEmail") == ["ses:SendEmail"]


def test_destructive_verbs() -> None:
    assert actions.is_destructive("dynamodb:DeleteTable")
    assert actions.is_destructive("sqs:PurgeQueue")
    assert not actions.is_destructive("dynamodb:UpdateItem")
