"""The evaluator against a table of cases, each citing the rule of AWS's policy evaluation it exercises.

The cases live in `cases/*.json` (one file per topic): policy, action, resources, the expected
verdict and, where it matters, the deciding statement and the condition keys named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from canary.policy import compile_policy, evaluate
from canary.policy.evaluate import VERDICTS

CASES_DIR = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            out.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return out


CASES = _load()


def test_corpus_has_at_least_sixty_cases_each_citing_a_rule() -> None:
    assert len(CASES) >= 60
    for p in CASES:
        case = p.values[0]
        assert case["rule"].strip(), case["name"]
        assert case["expected"] in VERDICTS, case["name"]


@pytest.mark.parametrize("case", CASES)
def test_policy_decision_matches_aws_rule(case: dict[str, Any]) -> None:
    decision = evaluate(case["policy"], case["action"], case["resources"])
    assert decision.verdict == case["expected"], f"{case['rule']}: {decision.reason}"
    if "statement" in case:
        assert decision.statement == case["statement"]
    if "condition_keys" in case:
        assert list(decision.condition_keys) == case["condition_keys"]
    assert decision.reason


@pytest.mark.parametrize("case", CASES)
def test_compiled_policy_decides_like_the_raw_document(case: dict[str, Any]) -> None:
    compiled = compile_policy(case["policy"])
    assert evaluate(compiled, case["action"], case["resources"]) == evaluate(
        case["policy"], case["action"], case["resources"])
