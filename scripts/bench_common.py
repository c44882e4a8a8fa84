"""What every figure of `make bench` shares: paths, the summary line, printing, and fresh-process helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent
PY = sys.executable
SLOW_FIGURE_S = 15.0  # a figure whose rounds take longer than this stops repeating (keeps make bench short)


@dataclass
class Figure:
    """One line of the final summary."""

    number: int
    name: str
    ratio: float | None = None
    target: str = ""
    verdict: str = "n/a"   # PASS / FAIL / n/a / not measured
    note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def header(n: int, title: str, what: str) -> None:
    print()
    print("=" * 100)
    print(f"Figure {n}: {title}")
    print(f"  {what}")
    print("-" * 100, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def clean_env() -> dict[str, str]:
    """The environment of a measured child: no import profiling, no Lambda or X-Ray variables."""
    env = dict(os.environ)
    for k in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "AWS_XRAY_DAEMON_ADDRESS",
              "AWS_LAMBDA_FUNCTION_NAME", "_X_AMZN_TRACE_ID"):
        env.pop(k, None)
    return env


def importable(stmt: str) -> str | None:
    """None when `stmt` runs in a fresh interpreter from the repo root, else the last line of its error."""
    out = subprocess.run([PY, "-c", stmt], cwd=ROOT, capture_output=True, text=True, timeout=60, env=clean_env())
    if out.returncode == 0:
        return None
    return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"


def import_canary_wall(n: int) -> list[float]:
    """Wall time of `python -c "import canary"`, n fresh processes: the reference of figures 5 and 6."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "import canary"], cwd=ROOT, check=True, env=clean_env())
        out.append(time.perf_counter() - t0)
    return out


def cli_wall(args: list[str], cwd: Path) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    res = subprocess.run([str(Path(PY).parent / "permission-canary"), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                         env=clean_env())
    if res.returncode not in (0, 1):
        last = (res.stderr or res.stdout).strip().splitlines()
        return time.perf_counter() - t0, res.returncode, last[-1] if last else ""
    return time.perf_counter() - t0, res.returncode, res.stdout
