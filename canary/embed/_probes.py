"""The stage's probe config, from `discover`: resolved resources only, validated, no placeholders.

A call whose resource the code does not fully tell (a table name a decorator rewrites, a bucket
from a parameter) gets no probe: a probe on a guessed name would prove the wrong thing. Such calls
are listed for the user to add by hand, with where the code makes them.
"""

from __future__ import annotations

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
    """The config to write (None when discover named nothing probeable), and the calls left to add by hand."""
    from canary.config import parse_config
    from canary.discover import discover
    from canary.discover._emit import emit_config, left_out, not_probed
    from canary.errors import ConfigError

    found = discover(root, stage, env=env)
    left = [f"{e['action']} on {e['resource']} ({e['location']}): {'; '.join(e['fill_in'])}"
            for e in left_out(found)]
    fill = {"STAGE": stage, **env}
    valid = []
    for p in emit_config(found)["probes"]:
        if _has_placeholder(p):  # emit_config leaves these out itself; never let one through
            left.append(f"{p['action']}: {json.dumps(p)}: a value the source does not tell")
            continue
        try:  # e.g. a ${VAR} the stage does not set: that probe is left out, with the reason
            parse_config({"version": 1, "probes": [p]}, source="discover", env=fill)
        except ConfigError as exc:
            left.append(f"{p['action']}: {json.dumps(p)}: {str(exc).split(': ', 1)[-1]}")
            continue
        valid.append(p)
    for entry in not_probed(found):
        left.append(f"{entry['action']} ({', '.join(entry['locations'])}): no harmless probe for it yet")
    if not valid:
        return None, left
    config = {"version": 1, "probes": valid}
    parse_config(config, source=f"chalicelib/canary-{stage}.json (from discover)", env=fill)
    return config, left
