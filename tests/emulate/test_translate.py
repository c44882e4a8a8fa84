"""canary.emulate.translate_policy: the stage policy made evaluable by moto (action names on "*" only).

Pure: no emulator. The end-to-end agreement with check-policy is in test_emulate_cli.py.
"""

from __future__ import annotations

from typing import Any

from canary.config import parse_config
from canary.emulate import NO_ACTION, translate_policy

KEY = {"pk": "__permission_canary__"}


def cfg(*probes: dict[str, Any]) -> Any:
    return parse_config({"probes": list(probes)}, env={})


def pol(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def get(table: str, pid: str | None = None) -> dict[str, Any]:
    return {"id": pid or f"get-{table}", "action": "dynamodb:GetItem", "table": table, "key": KEY}


def statements(policy: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["Effect"], s["Action"], s["Resource"]) for s in policy["Statement"]]


def test_an_allow_on_the_probes_arn_becomes_an_allow_on_star():
    t = translate_policy(pol({"Effect": "Allow", "Action": "dynamodb:GetItem",
                              "Resource": "arn:aws:dynamodb:*:*:table/listings-dev"}), cfg(get("listings-dev")))
    assert len(t.rounds) == 1
    assert statements(t.rounds[0].policy) == [("Allow", "dynamodb:GetItem", "*")]
    assert t.expected_denied == set()


def test_an_allow_on_another_resource_is_dropped():
    t = translate_policy(pol({"Effect": "Allow", "Action": "dynamodb:GetItem",
                              "Resource": "arn:aws:dynamodb:*:*:table/other"}), cfg(get("listings-dev")))
    assert [r.policy["Statement"] for r in t.rounds] == [[NO_ACTION]]
    assert t.expected_denied == {"get-listings-dev"}
    assert t.verdicts == {"get-listings-dev": "NOT_GRANTED"}


def test_the_probes_action_case_is_what_moto_receives():
    # IAM matches actions case-insensitively; moto compares them as written, so the translation
    # writes the probe's own spelling.
    t = translate_policy(pol({"Effect": "Allow", "Action": "DynamoDB:getitem", "Resource": "*"}), cfg(get("tab1")))
    assert statements(t.rounds[0].policy) == [("Allow", "dynamodb:GetItem", "*")]


def test_an_explicit_deny_stays_explicit():
    t = translate_policy(pol({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                             {"Effect": "Deny", "Action": "dynamodb:GetItem",
                              "Resource": "arn:aws:dynamodb:*:*:table/tab1"}), cfg(get("tab1")))
    assert statements(t.rounds[0].policy) == [("Deny", "dynamodb:GetItem", "*")]
    assert t.verdicts == {"get-tab1": "EXPLICITLY_DENIED"}


def test_one_action_granted_on_one_table_but_not_another_runs_in_two_rounds():
    t = translate_policy(pol({"Effect": "Allow", "Action": "dynamodb:GetItem",
                              "Resource": "arn:aws:dynamodb:*:*:table/tab1"}), cfg(get("tab1"), get("tab2")))
    assert [r.probe_ids for r in t.rounds] == [("get-tab1",), ("get-tab2",)]
    assert statements(t.rounds[0].policy) == [("Allow", "dynamodb:GetItem", "*")]
    assert t.rounds[1].policy["Statement"] == [NO_ACTION]
    assert t.expected_denied == {"get-tab2"}


def test_every_probe_is_in_exactly_one_round():
    probes = [get("tab1"), get("tab2"), get("tab3"), {"id": "scan", "action": "dynamodb:Scan", "table": "tab1"},
              {"id": "mail", "action": "ses:SendEmail", "from": "a@example.com"}]
    t = translate_policy(pol({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"],
                              "Resource": "arn:aws:dynamodb:*:*:table/tab1"},
                             {"Effect": "Deny", "Action": "dynamodb:GetItem",
                              "Resource": "arn:aws:dynamodb:*:*:table/tab3"}), cfg(*probes))
    ids = [i for r in t.rounds for i in r.probe_ids]
    assert sorted(ids) == sorted(p["id"] for p in probes)
    assert len(t.rounds) == 3  # GetItem: granted (t1), not granted (t2), explicitly denied (t3)
    for r in t.rounds:  # within a round, each action has one statement at most
        actions = [s["Action"] for s in r.policy["Statement"]]
        assert len(actions) == len(set(actions))


def test_a_conditional_grant_runs_as_granted_and_says_so():
    t = translate_policy(pol({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
                              "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}), cfg(get("tab1")))
    assert statements(t.rounds[0].policy) == [("Allow", "dynamodb:GetItem", "*")]
    assert t.verdicts == {"get-tab1": "CONDITIONAL"}
    assert len(t.notes) == 1 and "aws:RequestedRegion" in t.notes[0] and "as granted" in t.notes[0]
