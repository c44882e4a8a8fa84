"""Find the policy file chalice deploys for a stage, and refuse when it deploys none.

Chalice (1.34, `deploy/appgraph.py`) uses `.chalice/<iam_policy_file>` (default
`.chalice/policy-<stage>.json`) only when `autogen_policy` is false and it manages the role. With
autogen on (the default) the file on disk is not what gets deployed, and with `manage_iam_role: false`
no policy is deployed at all; checking the file would then prove nothing, so both are errors that
say what to check instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canary.errors import CanaryError

__all__ = ["StagePolicy", "StagePolicyError", "stage_policy"]


class StagePolicyError(CanaryError):
    """The stage's Chalice settings name no policy file that chalice would deploy."""


@dataclass(frozen=True)
class StagePolicy:
    """The policy file a stage deploys, and the chalice settings that chose it."""

    stage: str
    path: Path
    setting: str  # e.g. "stages.dev.iam_policy_file" or "default policy-dev.json"


def _lookup(cfg: dict[str, Any], stage_cfg: dict[str, Any], key: str) -> tuple[Any, str | None]:
    """Chalice's chain for a stage-level setting: the stage's value, then the top level."""
    if key in stage_cfg:
        return stage_cfg[key], "stage"
    if key in cfg:
        return cfg[key], "top"
    return None, None


def stage_policy(project_dir: str | os.PathLike[str], stage: str) -> StagePolicy:
    """Return the policy file chalice deploys for `stage`; raise StagePolicyError when it deploys none."""
    cfg_path = Path(project_dir) / ".chalice" / "config.json"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StagePolicyError(f"{cfg_path}: not found; --stage needs a Chalice project "
                               "(run from its directory or pass --project-dir)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise StagePolicyError(f"{cfg_path}: cannot read: {exc}") from None
    if not isinstance(cfg, dict):
        raise StagePolicyError(f"{cfg_path}: must be a JSON object")
    stages = cfg.get("stages") or {}
    if stage not in stages:
        raise StagePolicyError(f"{cfg_path}: no stage {stage!r}; stages: {', '.join(sorted(stages)) or '(none)'}")
    st = stages[stage] or {}

    manage, _ = _lookup(cfg, st, "manage_iam_role")
    if manage is False:
        role, _ = _lookup(cfg, st, "iam_role_arn")
        raise StagePolicyError(
            f"{cfg_path}: stage {stage!r} has \"manage_iam_role\": false (role {role or '(no iam_role_arn)'}), "
            "so chalice deploys no policy file. Check the role's own policy instead: save it to a file "
            "(e.g. `aws iam get-role-policy ...`) and pass --policy FILE")
    autogen, where = _lookup(cfg, st, "autogen_policy")
    if autogen is None or bool(autogen):  # chalice tests truthiness too
        origin = ("the default when unset" if where is None else
                  f"set at {'stages.' + stage if where == 'stage' else 'the top level'}")
        raise StagePolicyError(
            f"{cfg_path}: stage {stage!r} has autogen_policy true ({origin}): chalice generates the role's "
            "policy from app.py at deploy time, so no policy file on disk is what it deploys. Check the "
            "generated one: `chalice gen-policy > policy.json` then "
            "`permission-canary check-policy --policy policy.json`; or set \"autogen_policy\": false for the "
            "stage so chalice deploys the policy file")
    name, where = _lookup(cfg, st, "iam_policy_file")
    if name:
        setting = f"{'stages.' + stage + '.' if where == 'stage' else ''}iam_policy_file"
        return StagePolicy(stage, Path(project_dir) / ".chalice" / str(name), setting)
    return StagePolicy(stage, Path(project_dir) / ".chalice" / f"policy-{stage}.json",
                       f"default policy-{stage}.json")
