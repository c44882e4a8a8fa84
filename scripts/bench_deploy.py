#!/usr/bin/env python3
"""Measure the deployable: zip size, and cold import time of the Lambda handler module vs boto3.

    python scripts/bench_deploy.py [--zip out/dev/deployment.zip] [--runs 7]

Cold imports run in fresh interpreters (`python -X importtime` is not used: it slows everything
equally but adds noise); each is timed inside the child with perf_counter around the import only,
alternating the two candidates, best of N. The handler module is `canary.blueprint` (the Handler
of every function in sam.json); "first invocation" adds what the first run imports (config,
runner, probes, pydantic, boto3), for context.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "boto3": "import boto3",
    "handler": "import canary.blueprint",
    "first_invocation": "import canary.blueprint, canary.handlers, canary.runner, canary.config, boto3",
}


def _time_import(stmt: str) -> float:
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_times(runs: int = 7) -> dict[str, float]:
    """Best-of-`runs` cold import seconds for each candidate (interleaved, fresh interpreter each)."""
    best = {k: float("inf") for k in CANDIDATES}
    for _ in range(runs):
        for name, stmt in CANDIDATES.items():
            best[name] = min(best[name], _time_import(stmt))
    return best


def zip_size_mb(path: str | os.PathLike[str]) -> float:
    return Path(path).stat().st_size / 1e6


def measure(zip_path: str | None = None, runs: int = 7) -> dict[str, Any]:
    t = import_times(runs)
    out: dict[str, Any] = {
        "import_boto3_ms": round(t["boto3"] * 1000, 1),
        "import_handler_ms": round(t["handler"] * 1000, 1),
        "import_first_invocation_ms": round(t["first_invocation"] * 1000, 1),
        "import_ratio_handler_vs_boto3": round(t["handler"] / t["boto3"], 2),
        "import_ratio_first_invocation_vs_boto3": round(t["first_invocation"] / t["boto3"], 2),
    }
    if zip_path:
        out["zip_mb"] = round(zip_size_mb(zip_path), 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", dest="zip_path", help="a deployment.zip (from scripts/package or chalice package)")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(json.dumps(measure(args.zip_path, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
