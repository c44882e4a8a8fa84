"""Embed the canary in an existing Chalice API, from that API's directory: `permission-canary init`.

`plan_init` reads the project and returns every change as data (the new text of each file, the
vendored files, the lines to tell the user); nothing is written until `apply`. The plan is empty
when the canary is already embedded, which is what makes `init --write` idempotent. The pieces:
`_deps` (runtime requirements as ranges, in the API's own dependency tool), `_project` (vendor/,
app.py, pytest's path, `.chalice/config.json`), `_probes` (the stage's probe config from discover).
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from canary.errors import CanaryError

__all__ = ["InitPlan", "InitError", "plan_init", "apply", "render", "canary_source", "runtime_requirements"]

from canary.embed._deps import runtime_requirements


class InitError(CanaryError):
    """The directory is not a Chalice project init can embed into (the message names what is missing)."""


@dataclass
class InitPlan:
    """Everything `init` would change in one project for one stage."""

    root: Path
    stage: str
    source: Path                                           # the canary package being vendored
    files: dict[Path, tuple[str | None, str]] = field(default_factory=dict)   # path -> (old text, new text)
    vendor: dict[str, list[str]] = field(default_factory=dict)               # added / changed / removed
    vendor_bytes: int = 0
    notes: list[str] = field(default_factory=list)          # what init did not do: the user's part
    left: list[str] = field(default_factory=list)           # calls with no probe written (add by hand)

    @property
    def empty(self) -> bool:
        return not self.files and not any(self.vendor.values())


def canary_source() -> Path:
    """The installed canary package: what gets vendored."""
    import canary

    return Path(canary.__file__).resolve().parent


def _region(region: str | None) -> str | None:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def plan_init(project_dir: str | os.PathLike[str], stage: str, *, account: str | None = None,
              region: str | None = None, source: Path | None = None) -> InitPlan:
    """Work out every change that embeds the canary in the project at `project_dir` for `stage`."""
    from canary.config import stage_environment
    from canary.deployconfig import slack_policy_document, slack_policy_name, stage_account
    from canary.embed._deps import dependency_edits
    from canary.embed._probes import probe_config
    from canary.embed._project import app_edit, pytest_edit, stage_edit, vendor_changes

    root = Path(project_dir)
    if not (root / "app.py").is_file():
        raise InitError(f"{root}: no app.py here; run init in the Chalice project's directory (or pass --project-dir)")
    cfg_path = root / ".chalice" / "config.json"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InitError(f"{cfg_path}: not found; run init in the Chalice project's directory") from None
    except (OSError, ValueError) as exc:
        raise InitError(f"{cfg_path}: cannot read: {exc}") from None
    if not isinstance(cfg, dict) or stage not in (cfg.get("stages") or {}):
        stages = ", ".join(sorted((cfg.get("stages") or {}) if isinstance(cfg, dict) else {})) or "(none)"
        raise InitError(f"{cfg_path}: no stage {stage!r}; stages: {stages}")
    from canary.embed._python import target_python

    found = target_python(root)
    if found is not None and found[0] < (3, 11):
        (major, minor), where = found
        raise InitError(f"{where} targets Python {major}.{minor}; the canary runs on Python 3.11 or newer (the Lambda "
                        "runtimes python3.11 to python3.14), and embedded in an older runtime its import would fail "
                        "in every function of your API; move the API to python3.11+ first")
    plan = InitPlan(root=root, stage=stage, source=source or canary_source())

    def change(path: Path, new: str | None) -> None:
        if new is None:
            return
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old != new:
            plan.files[path] = (old, new)

    plan.vendor, plan.vendor_bytes, notes = vendor_changes(root, plan.source)
    plan.notes += notes

    edits, notes = dependency_edits(root, runtime_requirements())
    for path, text in edits.items():
        change(path, text)
    plan.notes += notes

    # The probe config: where the stage already says, else chalicelib/canary-<stage>.json; a file that
    # exists is the user's and is kept.
    env = stage_environment(root, stage)
    config_rel = env.get("CANARY_CONFIG") or f"chalicelib/canary-{stage}.json"
    config_file = root / config_rel
    if config_file.is_file():
        plan.notes.append(f"{config_rel} exists; kept (delete it to write a new one from discover)")
    else:
        data, plan.left = probe_config(root, stage, env)
        if data is None:
            plan.notes.append(f"discover found no call it could name a resource for; write {config_rel} "
                              "by hand (see docs/config.md)")
        else:
            change(config_file, json.dumps(data, indent=2) + "\n")

    new_app, manual = app_edit(root)
    change(root / "app.py", new_app)
    plan.notes += manual

    path, text, manual = pytest_edit(root)
    if path is not None:
        change(path, text)
    plan.notes += manual

    new_cfg, merged = stage_edit(root, stage, config_rel)
    change(cfg_path, new_cfg)

    policy = root / ".chalice" / slack_policy_name(merged, stage)
    if not policy.is_file():
        command = f"permission-canary init --stage {stage} --project-dir {root}"
        if account:
            command += f" --account {account}"
        reg = _region(region)
        if reg is None:
            raise InitError(f"the Slack function's policy ({policy}) needs the AWS region: "
                            f"`{command} --region <REGION>` (or set AWS_DEFAULT_REGION)")
        acct = stage_account(merged, stage, account, command=f"permission-canary init --stage {stage} "
                                                             f"--project-dir {root} --region {reg}")
        document = slack_policy_document(merged, stage, region=reg, account=acct)
        change(policy, json.dumps(document, indent=2) + "\n")
    return plan


def render(plan: InitPlan) -> str:
    """The plan as text: a unified diff of every file, a summary of vendor/, then the user's part."""
    out: list[str] = []
    for path, (old, new) in sorted(plan.files.items()):
        rel = path.relative_to(plan.root).as_posix()
        diff = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                    fromfile="/dev/null" if old is None else f"a/{rel}", tofile=f"b/{rel}")
        text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
        out.append(text)
    v = plan.vendor
    if any(v.values()):
        out.append(f"vendor/canary/: {len(v['added'])} file(s) added, {len(v['changed'])} changed, "
                   f"{len(v['removed'])} removed (the canary package from {plan.source}, "
                   f"{plan.vendor_bytes / 1024:.0f} KB, no __pycache__)\n")
    return "".join(out)


def apply(plan: InitPlan) -> list[str]:
    """Write the plan; return one line per path written."""
    done: list[str] = []
    dest = plan.root / "vendor" / "canary"
    for rel in plan.vendor.get("added", []) + plan.vendor.get("changed", []):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plan.source / rel, target)
    for rel in plan.vendor.get("removed", []):
        (dest / rel).unlink(missing_ok=True)
    if any(plan.vendor.values()):
        done.append("vendor/canary/")
    for path, (_, new) in sorted(plan.files.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new, encoding="utf-8")
        done.append(path.relative_to(plan.root).as_posix())
    return done
