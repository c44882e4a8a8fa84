"""Fixtures for the deploy tests: a copy of the standalone project, packaged once per stage.

Packaging runs in a copy of the project (app.py, .chalice, chalicelib, requirements.txt and the
canary package as a plain directory under vendor/), so other work in the tree cannot race it;
chalice's deployment cache is shared across runs through a symlink, so wheels are downloaded
again only when the requirements or the canary sources change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Not the project's own .chalice/deployments: a zip cached there may hold .pyc files that a
# concurrent import wrote into canary/ while chalice was zipping.
CACHE = Path(tempfile.gettempdir()) / "permission-canary-test-deployments"


def copy_project(dest: Path, *, share_cache: bool = True) -> Path:
    """Copy the standalone canary project to `dest` (vendor/canary as a real directory, no caches)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "app.py", dest / "app.py")
    shutil.copy(ROOT / "requirements.txt", dest / "requirements.txt")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib")
    (dest / ".chalice").mkdir()
    for f in (ROOT / ".chalice").glob("*.json"):
        shutil.copy(f, dest / ".chalice" / f.name)
    (dest / "vendor").mkdir()
    shutil.copytree(ROOT / "canary", dest / "vendor" / "canary",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if share_cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in sorted(CACHE.glob("*.zip"), key=lambda p: p.stat().st_mtime)[:-3]:
            old.unlink(missing_ok=True)  # each change to canary/ makes a new ~20 MB zip; keep the newest 3
        os.symlink(CACHE, dest / ".chalice" / "deployments")
    return dest


def edit_config(project: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = project / ".chalice" / "config.json"
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg, indent=2))


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "PYTHONDONTWRITEBYTECODE": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    env.update(extra)
    return env


def chalice_package(project: Path, stage: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "chalice"), "--project-dir", str(project), "package", "--stage", stage,
                           *extra, str(out)], capture_output=True, text=True, env=subprocess_env(), timeout=240)


class Packaged:
    """One stage packaged with the merge template: the zip, sam.json and the merge file."""

    def __init__(self, project: Path, stage: str, out: Path) -> None:
        self.project, self.stage, self.out = project, stage, out
        merge = out.parent / f"merge-{stage}.json"
        t = subprocess.run([str(BIN / "permission-canary"), "template", "--stage", stage, "--project-dir",
                            str(project), "--output", str(merge)], capture_output=True, text=True,
                           env=subprocess_env())
        assert t.returncode == 0, t.stderr
        self.merge = merge
        self.result = chalice_package(project, stage, out, "--merge-template", str(merge))
        assert self.result.returncode == 0, self.result.stdout + self.result.stderr

    @property
    def template(self) -> dict[str, Any]:
        return json.loads((self.out / "sam.json").read_text())

    @property
    def zip_path(self) -> Path:
        return self.out / "deployment.zip"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Packaged]:
    """Both stages packaged; one after the other, so the second reuses the first's dependency zip."""
    base = tmp_path_factory.mktemp("pkg")
    project = copy_project(base / "project")
    return {s: Packaged(project, s, base / f"out-{s}") for s in ("dev", "prod")}
