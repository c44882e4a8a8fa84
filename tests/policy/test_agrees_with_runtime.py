"""check-policy and the runtime canary agree: same probes, same policy, same answer.

The runtime side runs against the moto server with IAM checks on and an assumed role, so its
verdicts come from moto's own policy evaluation. moto checks action names only (resource ARNs are
ignored unless "*"), so the policy here uses `"Resource": "*"`, where both evaluators must agree.
"""

from __future__ import annotations

from canary.config import parse_config
from canary.model import Outcome
from canary.policy import check_config
from canary.probes import Target
from canary.runner import run
from tests.conftest import allow, deny, policy

KEY = {"pk": "__permission_canary__"}
EXPECTED = {"GRANTED": (Outcome.ALLOWED, None), "NOT_GRANTED": (Outcome.DENIED, "implicit"),
            "EXPLICITLY_DENIED": (Outcome.DENIED, "identity-policy")}


def test_offline_verdicts_match_what_the_deployed_role_gets(emu, assume_role, unique) -> None:
    table = unique("listings")
    emu.create_table(table, "pk")
    sender = f"{unique('noreply')}@example.com"
    emu.verify_email(sender)
    statements = (allow("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "ses:SendEmail"),
                  deny("dynamodb:DeleteItem"))
    config = parse_config({"probes": [
        {"action": "dynamodb:GetItem", "table": table, "key": KEY},
        {"action": "dynamodb:PutItem", "table": table, "key": KEY},
        {"action": "dynamodb:Query", "table": table, "key": KEY},
        {"action": "dynamodb:Scan", "table": table},
        {"action": "dynamodb:UpdateItem", "table": table, "key": KEY},
        {"action": "dynamodb:DeleteItem", "table": table, "key": KEY},
        {"action": "ses:SendEmail", "from": sender},
    ]}, env={})

    report = run(config, emu.session(assume_role(*statements)), endpoint_url=emu.url, stage="test")
    offline = check_config(config, policy(*statements), Target(region="us-east-1", account="123456789012"))

    runtime = {r.id: (r.outcome, r.deny_reason) for r in report.results}
    assert {v.probe_id: EXPECTED[v.decision.verdict] for v in offline} == runtime
    assert sorted(v.decision.verdict for v in offline).count("GRANTED") == 5
    # the statement offline suggests is the one the runtime canary suggests
    upd = next(r for r in report.results if r.action == "dynamodb:UpdateItem")
    from canary.classify import remediation

    off = next(v for v in offline if v.action == "dynamodb:UpdateItem")
    assert remediation(off.action, off.resources) == upd.remediation
