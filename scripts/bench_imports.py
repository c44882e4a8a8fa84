"""Figure 3 of `make bench`: cold import time of the CLI and the Lambda handler, in fresh interpreters."""

from __future__ import annotations

import statistics
import subprocess
import time

from bench_common import PY, ROOT, Figure, clean_env, header, importable, ms, verdict

IMPORT_SNIPPET = "import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"


def import_time(stmt: str) -> tuple[float, float]:
    """(import time measured inside a fresh interpreter, whole process wall time)."""
    t0 = time.perf_counter()
    out = subprocess.run([PY, "-c", IMPORT_SNIPPET.format(stmt=stmt)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=clean_env())
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return float(out.stdout.strip().splitlines()[-1]), wall


def handler_candidates() -> list[tuple[str, str, str]]:
    """(label, statement, note) for the Lambda handler module, best available first."""
    found: list[tuple[str, str, str]] = []
    if (ROOT / "app.py").exists():
        why = importable("import app")
        if why is None:
            found.append(("Lambda handler: import app", "import app",
                          "the standalone app's handler module (app.py, run from the repo root)"))
        else:
            print(f"  note: app.py exists but `import app` fails ({why}); not measured")
    why = importable("import canary.blueprint")
    if why is None:
        found.append(("canary.blueprint", "import canary.blueprint", "the blueprint an API registers"))
    else:
        print(f"  note: canary.blueprint is not importable yet ({why})")
    if not found:
        found.append(("runner+emf (stand-in)", "import canary.runner, canary.publishers.emf",
                      "STAND-IN: no handler module yet; the modules a run needs"))
    return found


def _importtime(stmt: str) -> list[tuple[int, int, str]]:
    """(indent, cumulative microseconds, module) per line of python -X importtime, in print order."""
    out = subprocess.run([PY, "-X", "importtime", "-c", stmt], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=clean_env())
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        try:
            cum = int(parts[1].strip())
        except ValueError:
            continue
        name = parts[2].rstrip()
        rows.append((len(name) - len(name.lstrip()), cum, name.strip()))
    return rows


def importtime_top(stmt: str, n: int = 8) -> list[tuple[int, str]]:
    """The slowest imports `stmt` triggers, two levels deep, without the interpreter's own start-up imports."""
    startup = {name for _, _, name in _importtime("pass")}
    rows = [(cum, ("  " if indent > 1 else "") + name) for indent, cum, name in _importtime(stmt)
            if indent <= 3 and name not in startup]
    return sorted(rows, key=lambda r: -r[0])[:n]


def fig_imports(rounds: int) -> list[Figure]:
    header(3, "Cold import (issues 2 and 3): fresh interpreters, best of N, interleaved; ratio to `import boto3`",
           f"{rounds} rounds; each round runs every statement once in a new `python -c` (order rotates). "
           "The figure is the import time measured inside the interpreter (startup excluded); the process "
           "wall time is shown too.")
    subjects = [("boto3 (reference)", "import boto3", "")]
    subjects.append(("CLI entry: canary.cli", "import canary.cli", "the permission-canary entry module"))
    handlers = handler_candidates()
    subjects += handlers
    first_run = [m for m in ("canary.handlers", "canary.config", "canary.runner", "canary.publishers.emf",
                             "canary.tracing") if importable(f"import {m}") is None]
    if first_run:
        subjects.append(("first run: handler + run imports", f"{handlers[0][1]}; import boto3, {', '.join(first_run)}",
                         "what a cold scheduled invocation loads before its first probe (boto3 included)"))
    for _, stmt, _ in subjects:  # warm the bytecode caches so no round pays for compiling
        importable(stmt)
    times: dict[str, list[float]] = {label: [] for label, _, _ in subjects}
    walls: dict[str, list[float]] = {label: [] for label, _, _ in subjects}
    for r in range(rounds):
        order = subjects[r % len(subjects):] + subjects[:r % len(subjects)]
        for label, stmt, _ in order:
            t, w = import_time(stmt)
            times[label].append(t)
            walls[label].append(w)
    ref = min(times[subjects[0][0]])
    figs: list[Figure] = []
    print(f"  {'module':34} {'best import':>12} {'median':>11} {'best wall':>11}   ratio to boto3")
    for label, stmt, note in subjects:
        best = min(times[label])
        ratio = best / ref
        print(f"  {label:34} {ms(best):>12} {ms(statistics.median(times[label])):>11} "
              f"{ms(min(walls[label])):>11}   {ratio:5.2f}" + (f"   ({note})" if note else ""))
        if label.startswith("boto3"):
            continue
        # Judged: what a cold invocation really loads (the handler module imports boto3 lazily, so its
        # own import is cheap; the first run is the honest cold-start figure). The rest are reported.
        is_handler = label.startswith("first run")
        fig = Figure(3, f"cold import {label} / boto3", ratio=ratio,
                     target="<= 1.5" if is_handler else "report", note=note,
                     raw={"best_ms": best * 1000, "boto3_best_ms": ref * 1000})
        if is_handler:
            fig.verdict = verdict(ratio <= 1.5)
            print(f"  RATIO {label} / boto3 = {ratio:.2f}   target <= 1.5   {fig.verdict}")
        figs.append(fig)
    for stmt in dict.fromkeys([handlers[0][1], subjects[-1][1]]):
        top = importtime_top(stmt)
        if top:
            print(f"  slowest imports under `{stmt}`\n    (python -X importtime, one run, cumulative; "
                  "indented = imported by the module above it):")
            for cum, name in top:
                print(f"    {cum / 1000:8.1f} ms  {name}")
    return figs
