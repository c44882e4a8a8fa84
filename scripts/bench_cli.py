"""Figures 5 and 6 of `make bench`: check-policy and discover at scale, against `import canary`."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench_common import (ROOT, SLOW_FIGURE_S, Figure, cli_wall, header, import_canary_wall, importable, ms,
                          verdict)

def policy_fixture(n_statements: int = 200, n_probes: int = 500) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 200-statement policy and a 500-probe config: wildcards, lists, Deny, NotResource, Conditions."""
    acts = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable", "BatchGetItem"]
    stmts: list[dict[str, Any]] = []
    for i in range(n_statements):
        t = i % 125
        kind = i % 10
        res = f"arn:aws:dynamodb:us-east-1:123456789012:table/app-{t}"
        if kind == 0:
            stmts.append({"Sid": f"Wild{i}", "Effect": "Allow", "Action": "dynamodb:Get*", "Resource": f"{res}*"})
        elif kind == 1:
            stmts.append({"Sid": f"Deny{i}", "Effect": "Deny", "Action": ["dynamodb:DeleteItem"], "Resource": res})
        elif kind == 2:
            stmts.append({"Sid": f"Cond{i}", "Effect": "Allow", "Action": "dynamodb:Query", "Resource": res,
                          "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}})
        elif kind == 3:
            stmts.append({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                          "Resource": f"arn:aws:s3:::bucket-{t}/*"})
        else:
            stmts.append({"Sid": f"S{i}", "Effect": "Allow",
                          "Action": [f"dynamodb:{acts[(i + k) % len(acts)]}" for k in range(3)],
                          "Resource": [res, f"{res}/index/*"]})
    policy = {"Version": "2012-10-17", "Statement": stmts}
    probes = []
    for j in range(n_probes):
        action = acts[j % len(acts)]
        p: dict[str, Any] = {"id": f"p{j}", "action": f"dynamodb:{action}", "table": f"app-{j % 150}"}
        if action not in ("Scan", "DescribeTable"):
            p["key"] = {"pk": "__permission_canary__"}
        probes.append(p)
    return policy, {"version": 1, "probes": probes}


def fig_check_policy(rounds: int) -> Figure:
    header(5, "check-policy (issue 5): 500 probes against a 200-statement policy",
           f"Best of {rounds}, interleaved with `python -c \"import canary\"` (a fresh process each time). "
           "In-process: validate the config, then decide every probe (canary.policy). CLI: the whole "
           "`permission-canary check-policy --format json` process.")
    fig = Figure(5, "check-policy 500x200 (in-process / import canary)", target="interactive (< 2 s)")
    try:
        import canary.policy as pol
        from canary.policy.evaluate import compile_policy, evaluate
    except ImportError as exc:
        print(f"  not available yet: canary.policy ({exc})")
        fig.verdict, fig.note = "not measured", "canary.policy not available yet"
        return fig
    import importlib

    from canary.config import parse_config
    from canary.probes import probe_resources

    ev_module = importlib.import_module("canary.policy.evaluate")
    policy, cfg_data = policy_fixture()
    check_config = getattr(pol, "check_config", None)
    how = "canary.policy.check_config" if check_config else "canary.policy.evaluate per probe"

    def in_process() -> tuple[float, dict[str, int]]:
        cache = getattr(ev_module, "_compiled_from_json", None)
        if cache is not None and hasattr(cache, "cache_clear"):
            cache.cache_clear()  # every round pays for compiling the policy, as one CLI run does
        t0 = time.perf_counter()
        cfg = parse_config(cfg_data, source="<bench>", env={})
        if check_config is not None:
            decisions = [v.decision if hasattr(v, "decision") else v for v in check_config(cfg, policy)]
        else:
            compiled = compile_policy(policy)
            decisions = [evaluate(compiled, p.action, probe_resources(p)) for p in cfg.probes]
        elapsed = time.perf_counter() - t0
        verdicts: dict[str, int] = {}
        for d in decisions:
            key = str(getattr(d, "verdict", d))
            verdicts[key] = verdicts.get(key, 0) + 1
        return elapsed, verdicts

    tmp = Path(tempfile.mkdtemp(prefix="canary-bench-policy-"))
    try:
        (tmp / "policy.json").write_text(json.dumps(policy))
        (tmp / "canary.json").write_text(json.dumps(cfg_data))
        cli_args = ["check-policy", "--config", str(tmp / "canary.json"), "--policy", str(tmp / "policy.json"),
                    "--format", "json"]
        cli_ok = importable("import canary.cli.policy") is None
        cli_problem = None if cli_ok else "canary.cli.policy not importable yet"
        in_times, cli_times, ref_times = [], [], []
        verdicts: dict[str, int] = {}
        in_process()  # warm-up (first evaluation compiles patterns; each round compiles again)
        started = time.perf_counter()
        for _ in range(rounds):
            if time.perf_counter() - started > SLOW_FIGURE_S:
                print(f"  (stopped after {len(in_times)} round(s): over the bench's {SLOW_FIGURE_S:.0f} s budget)")
                break
            t, verdicts = in_process()
            in_times.append(t)
            ref_times += import_canary_wall(1)
            if cli_ok and cli_problem is None:
                t, rc, out = cli_wall(cli_args, ROOT)
                if rc not in (0, 1):
                    cli_problem = f"exit {rc}: {out}"
                else:
                    cli_times.append(t)
        ref = min(ref_times)
        best = min(in_times)
        print(f"  verdicts: {verdicts}   (timed through {how})")
        print(f"  python -c 'import canary' (process)        best {ms(ref)}")
        print(f"  in-process: validate 500 probes + decide    best {ms(best)}   median {ms(statistics.median(in_times))}")
        print(f"    per probe                                  {best / 500 * 1e6:8.1f} us")
        print(f"  RATIO in-process / import canary = {best / ref:.2f}   interactive (< 2 s): {verdict(best < 2)}")
        if cli_times:
            cbest = min(cli_times)
            print(f"  CLI check-policy (whole process)            best {ms(cbest)}")
            print(f"  RATIO CLI / import canary = {cbest / ref:.2f}")
            fig.note = f"CLI process {cbest:.2f} s ({cbest / ref:.1f}x)"
        else:
            print(f"  CLI not measured: {cli_problem}")
            fig.note = f"CLI not measured: {cli_problem}"
        fig.ratio, fig.verdict = best / ref, verdict(best < 2)
        fig.raw = {"in_process_ms": best * 1000, "import_canary_ms": ref * 1000,
                   "cli_ms": min(cli_times) * 1000 if cli_times else None}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return fig


def generate_project(path: Path, lines: int) -> int:
    """Write a Chalice-like project of about `lines` lines (used when canary.discover._bench is missing)."""
    path.mkdir(parents=True, exist_ok=True)
    lib = path / "chalicelib"
    lib.mkdir(exist_ok=True)
    (lib / "__init__.py").write_text("")
    (path / ".chalice").mkdir(exist_ok=True)
    (path / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "bench", "stages": {"dev": {"environment_variables": {"TABLE": "t-dev"}}}}))
    per_module = 500
    n_modules = max(1, lines // per_module)
    imports = []
    written = 0
    for m in range(n_modules):
        body = ["import os", "import boto3", "", f"_ddb = boto3.resource('dynamodb')",
                f"TABLE = _ddb.Table(os.environ['TABLE'] + '-{m}')", "_sqs = boto3.client('sqs')", "", ""]
        f = 0
        while len(body) < per_module - 12:
            body += [f"class Repo{m}_{f}:", "    def __init__(self):",
                     "        self.client = boto3.client('dynamodb')", "",
                     "    def get(self, key):", f"        return TABLE.get_item(Key={{'pk': key}})",
                     "", "    def put(self, item):", "        return self.client.put_item(TableName='x', Item=item)",
                     "", "", f"def handler_{m}_{f}(event):",
                     "    total = 0", "    for i in range(10):", "        total += i * 2",
                     "    _sqs.send_message(QueueUrl='q', MessageBody=str(total))", "    return total", "", ""]
            f += 1
        (lib / f"mod{m}.py").write_text("\n".join(body) + "\n")
        written += len(body)
        imports.append(f"from chalicelib import mod{m}  # noqa")
    app = ["from chalice import Chalice", *imports, "", "app = Chalice(app_name='bench')", "",
           "@app.route('/')", "def index():", "    return {}", ""]
    (path / "app.py").write_text("\n".join(app) + "\n")
    return written + len(app)


def fig_discover(rounds: int) -> Figure:
    header(6, "discover (issue 5): over a generated 50,000-line project",
           f"Best of {rounds}, interleaved with `python -c \"import canary\"`. The whole "
           "`permission-canary discover DIR --format json` process.")
    fig = Figure(6, "discover 50k lines (CLI process / import canary)", target="interactive (< 5 s)")
    problem = importable("import canary.cli.discover")
    if problem:
        print(f"  not available yet: canary.cli.discover ({problem})")
        fig.verdict, fig.note = "not measured", "discover not available yet"
        return fig
    tmp = Path(tempfile.mkdtemp(prefix="canary-bench-discover-"))
    try:
        proj = tmp / "project"
        source = "bench.py's own generator"
        try:
            from canary.discover._bench import generate_project as gen  # type: ignore[import-not-found]

            gen(proj, 50_000)
            source = "canary.discover._bench.generate_project"
        except ImportError:
            generate_project(proj, 50_000)
        files = list(proj.rglob("*.py"))
        n_lines = sum(len(f.read_text().splitlines()) for f in files)
        print(f"  project: {n_lines} lines in {len(files)} .py files ({source})")
        api: Callable[..., Any] | None = None
        try:
            from canary.discover import discover as api
        except ImportError as exc:
            print(f"  in-process canary.discover.discover not measured: {exc}")
        times, ref_times, in_times = [], [], []
        started = time.perf_counter()
        found = ""
        n_findings = None
        for r in range(rounds):
            t, rc, out = cli_wall(["discover", str(proj), "--format", "json"], ROOT)
            if rc not in (0, 1):
                print(f"  not measured: discover exited {rc}: {out}")
                fig.verdict, fig.note = "not measured", f"discover exit {rc}"
                return fig
            times.append(t)
            found = out
            ref_times += import_canary_wall(1)
            if api is not None and min(times) < 5:  # in-process (warm from round 2 on) only when interactive
                t0 = time.perf_counter()
                n_findings = len(api(proj).findings)
                if r > 0:
                    in_times.append(time.perf_counter() - t0)
            if time.perf_counter() - started > SLOW_FIGURE_S and len(times) < rounds:
                print(f"  (stopped after {len(times)} round(s): slower than the bench's {SLOW_FIGURE_S:.0f} s budget "
                      "for one figure; repeating would not change the verdict)")
                break
        try:
            data = json.loads(found)
            items = data.get("findings", []) if isinstance(data, dict) else data
            print(f"  the CLI reported {len(items)} findings")
        except (ValueError, AttributeError):
            print("  (discover output is not JSON; not counted)")
        best, ref = min(times), min(ref_times)
        print(f"  python -c 'import canary' (process)   best {ms(ref)}")
        print(f"  discover (whole process)              best {ms(best)}   median {ms(statistics.median(times))}")
        if in_times:
            print(f"  in-process discover() (warm process)  best {ms(min(in_times))}   ({n_findings} findings; "
                  f"{n_lines / min(in_times):,.0f} lines/s)")
        print(f"  RATIO discover / import canary = {best / ref:.2f}   interactive (< 5 s): {verdict(best < 5)}")
        fig.ratio, fig.verdict = best / ref, verdict(best < 5)
        fig.raw = {"discover_ms": best * 1000, "import_canary_ms": ref * 1000, "lines": n_lines,
                   "in_process_ms": min(in_times) * 1000 if in_times else None}
        if in_times:
            fig.note = f"in-process {min(in_times):.2f} s"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return fig
