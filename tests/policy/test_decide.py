"""The one decision procedure: partly known resources against IAM globs, each case citing its rule.

Cases live in `decide_cases/*.json`. A candidate is a list of parts, each literal text or
`{"hole": "<expression>"}` (a part the source does not tell), or `{"any_of": [...]}` for resources
IAM accepts either of. The evaluator's own corpus (`cases/`) runs through `decide` too: one procedure
decides for `check-policy` and `discover --check`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from canary.policy import evaluate
from canary.policy.decide import DECIDE_VERDICTS, covers, decide, overlaps
from canary.policy.pattern import AnyOf, Hole

HERE = Path(__file__).parent


def _pattern(parts: list[Any]) -> tuple[Any, ...]:
    return tuple(Hole(p["hole"]) if isinstance(p, dict) else p for p in parts)


def _candidate(c: Any) -> Any:
    if isinstance(c, dict):
        return AnyOf(tuple(_pattern(p) for p in c["any_of"]))
    return _pattern(c)


def _load(folder: str) -> list[Any]:
    out = []
    for path in sorted((HERE / folder).glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            out.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return out


CASES = _load("decide_cases")
EVALUATE_CASES = _load("cases")


def test_every_case_cites_a_rule_and_expects_a_known_verdict() -> None:
    assert len(CASES) >= 25
    for p in CASES:
        assert p.values[0]["rule"].strip()
        assert p.values[0]["expected"] in DECIDE_VERDICTS


@pytest.mark.parametrize("case", CASES)
def test_partly_known_resource_gets_the_verdict_the_rule_gives(case: dict[str, Any]) -> None:
    d = decide(case["policy"], case["action"], tuple(_candidate(c) for c in case["candidates"]))
    assert d.verdict == case["expected"], f"{case['rule']}: {d.reason}"
    if "statement" in case:
        assert d.statement == case["statement"]
    if "covering" in case:
        assert list(d.covering) == case["covering"]
    if "condition_keys" in case:
        assert list(d.condition_keys) == case["condition_keys"]
    assert d.reason


@pytest.mark.parametrize("case", EVALUATE_CASES)
def test_decide_on_known_resources_agrees_with_the_evaluator(case: dict[str, Any]) -> None:
    ruled = evaluate(case["policy"], case["action"], case["resources"])
    got = decide(case["policy"], case["action"], (AnyOf(tuple((r,) for r in case["resources"])),))
    assert got.verdict == ruled.verdict, got.reason


def test_a_hole_is_never_read_as_the_literal_around_it() -> None:
    pattern = ("arn:aws:dynamodb:*:*:table/listings", Hole("rewritten by @stage_table"))
    assert not covers("arn:aws:dynamodb:*:*:table/listings", pattern)
    assert overlaps("arn:aws:dynamodb:*:*:table/listings", pattern)   # the hole may be empty
    assert not covers("arn:aws:dynamodb:*:*:table/listings-dev", pattern)
    assert covers("arn:aws:dynamodb:*:*:table/listings*", pattern)


def test_a_hole_may_hold_colons_and_slashes_in_the_resource_part() -> None:
    pattern = ("arn:aws:s3:::b/", Hole("key"))
    assert covers("arn:aws:s3:::b/*", pattern)
    assert not covers("arn:aws:s3:::b/*/x", pattern)
    assert overlaps("arn:aws:s3:::b/a:c/?", pattern)
