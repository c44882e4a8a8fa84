"""The supported Python range (3.11+, the current AWS Lambda runtimes) and the one-line refusal below it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import canary

ROOT = Path(__file__).resolve().parents[1]
PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
OLD = sorted(PYENV.glob("3.[0-9].*/bin/python")) + sorted(PYENV.glob("3.10.*/bin/python"))


@pytest.mark.parametrize("version", [(3, 11), (3, 12, 1), (3, 14), (4, 0)])
def test_supported_versions_have_no_problem(version):
    assert canary.python_problem(version) is None


@pytest.mark.parametrize("version", [(3, 10, 13), (3, 9), (3, 8), (2, 7)])
def test_older_versions_get_one_line_naming_the_range(version):
    problem = canary.python_problem(version)
    assert problem is not None and "\n" not in problem
    assert "needs Python 3.11 or newer" in problem and f"this is Python {version[0]}.{version[1]}" in problem
    assert "python3.11 to python3.14" in problem


def test_requires_python_matches_the_check():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">={}.{}".format(*canary.MIN_PYTHON)


@pytest.mark.skipif(not OLD, reason="no Python older than 3.11 on this machine (pyenv)")
@pytest.mark.parametrize("python", OLD[-2:], ids=lambda p: p.parent.parent.name)
def test_a_real_older_interpreter_is_refused_in_one_line(python: Path, tmp_path: Path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, "PYTHONPATH": str(ROOT),
           "PYTHONDONTWRITEBYTECODE": "1"}
    # Importing the package (e.g. a vendored copy in an API's tests): an ImportError with the line.
    imp = subprocess.run([str(python), "-c", "import canary.config"], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert imp.returncode == 1
    assert imp.stderr.strip().splitlines()[-1].startswith("ImportError: chalice-permission-canary needs Python 3.11")
    # The CLI, as its console script runs it: one line on stderr, exit 2, no traceback.
    script = tmp_path / "permission-canary"
    script.write_text("import sys\nfrom canary.cli import main\nsys.exit(main())\n")
    cli = subprocess.run([str(python), str(script), "--help"], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert cli.returncode == 2
    assert cli.stderr.strip().splitlines() == [f"error: {canary.python_problem(_version(python))}"]
    assert cli.stdout == ""
    mod = subprocess.run([str(python), "-m", "canary.cli", "--help"], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert mod.returncode == 2 and len(mod.stderr.strip().splitlines()) == 1 and "Traceback" not in mod.stderr


def _version(python: Path) -> tuple[int, int]:
    major, minor = python.parent.parent.name.split(".")[:2]
    return int(major), int(minor)


def test_this_interpreter_is_supported():
    assert sys.version_info[:2] >= canary.MIN_PYTHON and canary.python_problem() is None
