"""Write a small project and read back what analyze() found, in a form tests can compare."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping

from canary.discover._analyzer import RawCall, analyze
from canary.discover._values import Env, Lit, StrV


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def shown(value: StrV) -> str:
    """`listings-${STAGE}` for literals and env vars, `?` for a hole."""
    return "".join(p.text if isinstance(p, Lit) else f"${{{p.name}}}" if isinstance(p, Env) else "?"
                   for p in value.parts)


def calls(root: Path, env: Mapping[str, str] | None = None) -> list[RawCall]:
    return analyze(root, env or {})[0]


def by_operation(root: Path, env: Mapping[str, str] | None = None) -> dict[str, dict[str, set[str]]]:
    """operation -> parameter -> the alternatives, shown; one call site per operation in these tests."""
    out: dict[str, dict[str, set[str]]] = {}
    for c in calls(root, env):
        assert c.operation not in out, f"two call sites for {c.operation}"
        out[c.operation] = {name: {shown(a) for a in alts} for name, alts in c.params}
    return out


def not_in_stage(root: Path, env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    return {c.operation: c.not_in_stage for c in calls(root, env)}
