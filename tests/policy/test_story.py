"""The DESIGN.md story is caught before deploy, from files alone.

`tests/policy/story/` is a Chalice project whose dev policy grants dynamodb Get/Put/Query/Scan but
not UpdateItem/DeleteItem, and `ses:SendEmail` only on an identity that is not the probe's `from`.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from canary.cli import cli
from canary.config import load_config, stage_environment
from canary.policy import check_config, load_policy, stage_policy

STORY = Path(__file__).parent / "story"


def _verdicts(stage: str) -> dict[str, str]:
    env = {"STAGE": stage, **stage_environment(STORY, stage)}
    config = load_config(STORY / "canary.json", env=env)
    policy = load_policy(stage_policy(STORY, stage).path)
    return {v.action: v.decision.verdict for v in check_config(config, policy)}


def test_story_policy_misses_update_delete_and_send() -> None:
    assert _verdicts("dev") == {
        "dynamodb:GetItem": "GRANTED", "dynamodb:PutItem": "GRANTED", "dynamodb:Query": "GRANTED",
        "dynamodb:Scan": "GRANTED", "dynamodb:UpdateItem": "NOT_GRANTED", "dynamodb:DeleteItem": "NOT_GRANTED",
        "ses:SendEmail": "NOT_GRANTED",
    }


def test_fixed_policy_grants_every_probe() -> None:
    assert set(_verdicts("prod").values()) == {"GRANTED"}


def test_story_cli_fails_ci_and_names_the_wrong_ses_identity() -> None:
    result = CliRunner().invoke(cli, ["check-policy", "--stage", "dev", "--project-dir", str(STORY),
                                      "--config", str(STORY / "canary.json"), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    failing = {r["id"]: r for r in report["results"] if r["verdict"] != "GRANTED"}
    assert sorted(failing) == ["listings-delete", "listings-update", "mail-send"]
    assert "identity/mail.example.org" in failing["mail-send"]["reason"]
    assert failing["mail-send"]["remediation"]["Resource"] == [
        "arn:aws:ses:*:*:identity/noreply@example.com", "arn:aws:ses:*:*:identity/example.com"]
