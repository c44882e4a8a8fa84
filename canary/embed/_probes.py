"""The stage's probe config, from `discover`: resolved resources only, validated, no placeholders.

A call whose resource the code does not fully tell (a table name a decorator rewrites, a bucket
from a parameter) gets no probe: a probe on a guessed name would prove the wrong thing. Such calls
are listed for the user to add by hand, with where the code makes them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

__all__ = ["probe_config"]


def _has_placeholder(value: Any) -> bool:
    from canary.discover._emit import FILL_ME

    if isinstance(value, str):
        return FILL_ME in value or "?" in value
    if isinstance(value, dict):
        return any(_has_placeholder(k) or _has_placeholder(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return False


def probe_config(root: Path, stage: str, env: dict[str, str]) -> tuple[dict[str, Any] | None, list[str]]:
    """The config to write (None when discover resolved nothing probeable), and the calls left to add by hand."""
    from canary.config import parse_config
    from canary.discover import discover
    from canary.discover._emit import emit_config, not_probed

    found = discover(root, stage, env=env)
    resolved = dataclasses.replace(found, findings=[f for f in found.findings if f.resolved])
    data = emit_config(resolved)
    kept = [p for p in data["probes"] if not _has_placeholder(p)]
    left: list[str] = []
    emitted = {json.dumps(p, sort_keys=True) for p in kept}
    for f in found.probed()[0]:
        if not f.resolved:
            left.append(f"{f.action} on {f.resource} ({f.location}): the code does not tell the whole name "
                        f"({', '.join(f.unresolved)})")
    for p in data["probes"]:
        if json.dumps(p, sort_keys=True) not in emitted:
            left.append(f"{p['action']}: {json.dumps({k: v for k, v in p.items() if k != 'id'})} "
                        "(fill in what the code does not tell)")
    for entry in not_probed(found):
        left.append(f"{entry['action']} ({', '.join(entry['locations'])}): no harmless probe for it yet")
    from canary.errors import ConfigError

    fill = {"STAGE": stage, **env}
    valid = []
    for p in kept:  # e.g. a ${VAR} the stage does not set: that probe is left out, with the reason
        try:
            parse_config({"version": 1, "probes": [p]}, source="discover", env=fill)
        except ConfigError as exc:
            left.append(f"{p['action']}: {json.dumps(p)}: {str(exc).split(': ', 1)[-1]}")
            continue
        valid.append(p)
    if not valid:
        return None, left
    config = {"version": 1, "probes": valid}
    parse_config(config, source=f"chalicelib/canary-{stage}.json (from discover)", env=fill)
    return config, left
