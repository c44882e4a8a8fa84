#!/usr/bin/env python
"""Print the project's performance figures, each a ratio of two things measured side by side now.

Why ratios: absolute times depend on the machine; a ratio of two measurements taken in the same run,
interleaved (A, B, A, B, ...), cancels most of that. Nothing here is compared with a number from
another run. Every figure prints a header, the raw numbers, the ratio, and PASS/FAIL against its
target where the issues set one. The script always exits 0 once it has printed: a figure that cannot
be measured yet says why instead of failing. `make bench` runs it; docs/bench.md explains each figure.

The AWS side (the embedded moto server, IAM checks on, and the latency shim) runs in a child process,
as AWS runs outside the Lambda: the canary's threads then do not share a GIL with the server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:  # the figure modules sit beside this script
    sys.path.insert(0, str(SCRIPTS))

from bench_cli import fig_check_policy, fig_discover, generate_project, policy_fixture  # noqa: E402
from bench_common import PY, ROOT, Figure, header, ms, verdict  # noqa: E402
from bench_imports import fig_imports  # noqa: E402
from bench_zip import fig_embed, fig_zip  # noqa: E402

__all__ = ["main", "bench_config", "policy_fixture", "generate_project", "Figure"]

TABLES = 4
SHIM_DELAY_S = 0.100


# -- the AWS side, in a child process ---------------------------------------------------------------

def serve_emulator() -> None:
    """Child mode: start moto with IAM checks on, build the fixtures, answer commands on stdin."""
    channel = sys.stdout  # the protocol's only writer; anything else printed goes to stderr
    sys.stdout = sys.stderr
    sys.path.insert(0, str(SCRIPTS))
    from canary.emulator import Emulator
    from latency_proxy import LatencyProxy

    emu = Emulator().start()
    # A role allowed all of DynamoDB except DeleteItem (explicit Deny), so runs have DENIED rows too.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:*", "ses:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["dynamodb:DeleteItem"], "Resource": "*"}]}
    creds = emu.assume(emu.create_role("bench-api", policy))
    for t in range(TABLES):
        emu.create_table(f"bench-{t}", "pk")
    proxies: list[Any] = []

    def say(obj: dict[str, Any]) -> None:
        channel.write(json.dumps(obj) + "\n")
        channel.flush()

    say({"url": emu.url, "region": emu.region, "access_key": creds.access_key,
         "secret_key": creds.secret_key, "token": creds.token})
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "proxy":
            p = LatencyProxy(emu.url, float(arg)).start()
            proxies.append(p)
            say({"url": p.url})
        elif cmd == "counters":
            say(vars(proxies[-1].counters) if proxies else {})
        elif cmd == "reset":
            for p in proxies:
                p.reset_counters()
            say({"ok": True})
        else:
            say({"error": f"unknown command {cmd!r}"})
    for p in proxies:
        p.stop()
    emu.stop()


class AwsSide:
    """The child process running the emulator (and the latency shim, when asked)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([PY, str(Path(__file__).resolve()), "--serve-emulator"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        info = self._read()
        self.url: str = info["url"]
        self.region: str = info["region"]
        self.creds = info

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited (code {self.proc.wait()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def session(self) -> Any:
        import boto3

        c = self.creds
        return boto3.Session(aws_access_key_id=c["access_key"], aws_secret_access_key=c["secret_key"],
                             aws_session_token=c["token"], region_name=self.region)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def bench_config(max_workers: int = 8) -> Any:
    """Twenty probes: five actions on each of four tables (16 ALLOWED, 4 DENIED by an explicit Deny)."""
    from canary.config import parse_config

    probes: list[dict[str, Any]] = []
    for t in range(TABLES):
        table = f"bench-{t}"
        key = {"pk": "__permission_canary__"}
        probes += [{"action": "dynamodb:GetItem", "table": table, "key": key},
                   {"action": "dynamodb:UpdateItem", "table": table, "key": key},
                   {"action": "dynamodb:PutItem", "table": table, "key": key},
                   {"action": "dynamodb:DeleteItem", "table": table, "key": key},
                   {"action": "dynamodb:DescribeTable", "table": table}]
    return parse_config({"max_workers": max_workers, "probes": probes}, source="<bench>", env={})


def raw_calls(config: Any, account: str, region: str) -> list[Any]:
    """The exact calls the canary makes, built by the same code (`canary.probes.build_call`)."""
    from canary.probes import Target, build_call

    target = Target(region=region, account=account)
    return [build_call(p, target) for p in config.probes]


def call_raw(client: Any, call: Any) -> str:
    try:
        getattr(client, call.operation)(**call.params)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - a raw script would catch too; the outcome is not the point
        return type(exc).__name__


# -- figure 1 ---------------------------------------------------------------------------------------

@dataclass
class Timing:
    """Wall-clock and the client process's CPU time (all its threads: the runner probes on a worker) for a whole run and for its probe (or call) phase."""

    wall: float
    wall_phase: float
    cpu: float
    cpu_phase: float


def fig_overhead(aws: AwsSide, reps: int) -> Figure:
    header(1, "Per-probe overhead (issue 2): canary run (sequential) vs the same 20 raw boto3 calls",
           f"{reps} interleaved pairs (A,B, B,A, A,B, ...); medians of the per-pair ratios. "
           "A = canary.runner.run(..., sequential=True) on 20 probes (includes client creation; "
           "sts:GetCallerIdentity is asked once per access key, so after the warm-up a run does not repeat it, "
           "as in a warm Lambda container). B = one boto3 client made from the same session, then the same 20 calls (built by "
           "canary.probes.build_call) in order. Wall-clock is the figure; the client process's CPU time (the "
           "server runs in another process) is a cross-check that machine load barely moves.")
    from canary.runner import run

    fig = Figure(1, "per-probe overhead (canary run / raw calls)", target="<= 1.10")
    session = aws.session()
    config = bench_config()
    account = session.client("sts", endpoint_url=aws.url).get_caller_identity()["Account"]
    calls = raw_calls(config, account, aws.region)
    phase: dict[str, tuple[float, float]] = {}

    def hook(probe: Any, body: Callable[[], Any]) -> Any:
        phase.setdefault("first", (time.perf_counter(), time.process_time()))
        try:
            return body()
        finally:
            phase["last"] = (time.perf_counter(), time.process_time())

    def canary_run() -> tuple[Timing, Any]:
        phase.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        report = run(config, session, endpoint_url=aws.url, sequential=True, hook=hook)
        t1, c1 = time.perf_counter(), time.process_time()
        (f_t, f_c), (l_t, l_c) = phase["first"], phase["last"]
        return Timing(t1 - t0, l_t - f_t, c1 - c0, l_c - f_c), report

    def raw_run() -> tuple[Timing, list[str]]:
        t0, c0 = time.perf_counter(), time.process_time()
        client = session.client("dynamodb", region_name=aws.region, endpoint_url=aws.url)
        t1, c1 = time.perf_counter(), time.process_time()
        outcomes = [call_raw(client, c) for c in calls]
        t2, c2 = time.perf_counter(), time.process_time()
        return Timing(t2 - t0, t2 - t1, c2 - c0, c2 - c1), outcomes

    for _ in range(2):  # warm-up: model loading, connection set-up, moto's first-request costs
        canary_run()
        raw_run()
    a: list[Timing] = []
    b: list[Timing] = []
    report = outcomes = None
    for i in range(reps):
        # Pairs alternate their order (A,B then B,A) so that neither side always runs second.
        for side in ("AB" if i % 2 == 0 else "BA"):
            if side == "A":
                ta, report = canary_run()
                a.append(ta)
            else:
                tb, outcomes = raw_run()
                b.append(tb)
    assert report is not None and outcomes is not None
    print(f"  canary outcomes: {report.to_dict()['summary']}; raw call outcomes: "
          f"{ {o: outcomes.count(o) for o in sorted(set(outcomes))} }")

    def med(xs: list[Timing], attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in xs)

    def paired(attr: str) -> float:
        return statistics.median(getattr(x, attr) / getattr(y, attr) for x, y in zip(a, b))

    print(f"  {'':34} {'wall median':>12} {'CPU median':>12}")
    for label, xs, attr in (("A canary run, whole", a, "wall"), ("B raw client + 20 calls", b, "wall"),
                            ("A probe phase only", a, "wall_phase"), ("B 20 calls only", b, "wall_phase")):
        cpu_attr = "cpu" if attr == "wall" else "cpu_phase"
        print(f"  {label:34} {ms(med(xs, attr)):>12} {ms(med(xs, cpu_attr)):>12}")
    outside = statistics.median(x.wall - x.wall_phase for x in a)
    print(f"  {'A outside its probes':34} {ms(outside):>12}   (sts:GetCallerIdentity, building calls, client "
          "creation, report)")
    print(f"  wall spread: A {ms(min(x.wall for x in a))} .. {ms(max(x.wall for x in a))}, "
          f"B {ms(min(x.wall for x in b))} .. {ms(max(x.wall for x in b))}")
    ratio, ratio_phase = paired("wall"), paired("wall_phase")
    cpu_ratio, cpu_phase = paired("cpu"), paired("cpu_phase")
    print(f"  RATIO whole run, wall    A/B = {ratio:.3f}   target <= 1.10   {verdict(ratio <= 1.10)}   "
          f"(ratio of the medians: {med(a, 'wall') / med(b, 'wall'):.3f})")
    print(f"  RATIO probe phase, wall  A/B = {ratio_phase:.3f}   (the per-probe machinery without the run's fixed cost)")
    print(f"  RATIO whole run, CPU     A/B = {cpu_ratio:.3f}   {verdict(cpu_ratio <= 1.10)} against the same target")
    print(f"  RATIO probe phase, CPU   A/B = {cpu_phase:.3f}")
    fig.ratio, fig.verdict = ratio, verdict(ratio <= 1.10)
    fig.note = f"client CPU {cpu_ratio:.3f}; probe phase wall {ratio_phase:.3f}, CPU {cpu_phase:.3f}"
    fig.raw = {"canary_run_ms": med(a, "wall") * 1000, "raw_ms": med(b, "wall") * 1000,
               "cpu_ratio": cpu_ratio, "probe_phase_ratio": ratio_phase, "probe_phase_cpu_ratio": cpu_phase}
    return fig


# -- figure 2 ---------------------------------------------------------------------------------------

def fig_parallel(aws: AwsSide, reps: int) -> Figure:
    header(2, f"Parallelism (issue 2): 20 probes through a +{SHIM_DELAY_S * 1000:.0f} ms latency shim vs one call",
           f"{reps} interleaved rounds; medians. The shim (scripts/latency_proxy.py) sleeps "
           f"{SHIM_DELAY_S * 1000:.0f} ms per request, then forwards to moto. A = canary run, default runner, "
           "default settings (sts:GetCallerIdentity runs beside the probes, and once per access key). B = one DescribeTable through the "
           "shim (warm client). C = the same 20 raw calls from 20 threads (what the emulator allows at best).")
    from canary.runner import run

    fig = Figure(2, "parallelism (20 probes: latencies more than one call, +100 ms shim)", target="<= 1.5")
    shim = aws.ask(f"proxy {SHIM_DELAY_S}")["url"]
    session = aws.session()
    from canary.config import Settings

    config = bench_config(max_workers=Settings().max_workers)  # the default settings (issue 11, item 10)
    account = session.client("sts", endpoint_url=shim).get_caller_identity()["Account"]
    calls = raw_calls(config, account, aws.region)
    from botocore.config import Config

    one_client = session.client("dynamodb", region_name=aws.region, endpoint_url=shim)
    par_client = session.client("dynamodb", region_name=aws.region, endpoint_url=shim,
                                config=Config(max_pool_connections=20))
    pool = ThreadPoolExecutor(max_workers=20)

    def one() -> float:
        t0 = time.perf_counter()
        call_raw(one_client, calls[4])  # DescribeTable on bench-0
        return time.perf_counter() - t0

    phase: dict[str, float] = {}
    lock = threading.Lock()

    def hook(probe: Any, body: Callable[[], Any]) -> Any:
        with lock:
            phase.setdefault("first", time.perf_counter())
        try:
            return body()
        finally:
            with lock:
                phase["last"] = time.perf_counter()

    def canary() -> tuple[float, float, Any]:
        phase.clear()
        t0 = time.perf_counter()
        report = run(config, session, endpoint_url=shim, hook=hook)
        t1 = time.perf_counter()
        return t1 - t0, phase["first"] - t0, report

    def raw_parallel() -> float:
        t0 = time.perf_counter()
        list(pool.map(lambda c: call_raw(par_client, c), calls))
        return time.perf_counter() - t0

    one(), canary(), raw_parallel()  # warm-up
    a, b, c, before = [], [], [], []
    counters: dict[str, Any] = {}
    report = None
    for _ in range(reps):
        b.append(one())
        aws.ask("reset")
        t, pre, report = canary()
        a.append(t)
        before.append(pre)
        counters = aws.ask("counters")
        c.append(raw_parallel())
    pool.shutdown()
    assert report is not None
    ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
    ratio = statistics.median(x / y for x, y in zip(a, b))  # each run against the one call measured just before
    print(f"  canary outcomes: {report.to_dict()['summary']}")
    print(f"  B one call through the shim           median {ms(mb)}")
    print(f"  A canary, 20 probes, default settings median {ms(ma)}   (min {ms(min(a))})")
    print(f"    of which before the first probe     median {ms(statistics.median(before))}   "
          "(building calls, client creation)")
    print(f"  C 20 raw calls from 20 threads        median {ms(mc)}")
    print(f"  shim counters for the last canary run: {counters.get('requests')} requests "
          f"(20 probes; the identity was cached by the warm-up), delay applied {counters.get('delay_applied_s', 0):.2f} s in total, "
          f"peak concurrent requests {counters.get('peak_in_flight')}")
    print(f"  if run one after another: 20 x B = {ms(20 * mb)}  -> speed-up {20 * mb / ma:.1f}x")
    print(f"  RATIO A/B = {ratio:.2f}   target <= 2.5   {verdict(ratio <= 2.5)}   "
          f"(median of the {reps} paired ratios; ratio of the medians: {ma / mb:.2f})")
    print(f"  RATIO (A minus its pre-probe phase)/C = {(ma - statistics.median(before)) / mc:.2f}   "
          "(the canary's probe phase vs bare concurrent boto3)")
    print(f"  RATIO C/B = {mc / mb:.2f}   (the floor this emulator allows: moto serves one request at a time)")
    print(f"  RATIO A/C = {ma / mc:.2f}   (the canary vs bare concurrent boto3)")
    extra = statistics.median((x - y) / SHIM_DELAY_S for x, y in zip(a, b))
    print(f"  EXTRA (A - B) / shim latency = {extra:.2f} latencies   target <= 1.5   {verdict(extra <= 1.5)}")
    fig.ratio, fig.verdict = extra, verdict(extra <= 1.5)
    fig.note = (f"A/B {ratio:.2f}; emulator floor C/B {mc / mb:.2f}; "
                f"peak concurrency {counters.get('peak_in_flight')}")
    fig.raw = {"canary_ms": ma * 1000, "one_call_ms": mb * 1000, "raw_parallel_ms": mc * 1000, "shim": counters}
    return fig


# -- main -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, not for figures)")
    ap.add_argument("--only", type=int, action="append", help="run only figure N (repeatable)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    ap.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_emulator:
        serve_emulator()
        return 0
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):  # never reach real AWS, whatever the shell has set
        os.environ.pop(k, None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    only = set(args.only or range(1, 8))
    q = args.quick
    started = time.perf_counter()
    print(f"permission-canary bench  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  "
          f"python {platform.python_version()}  {platform.machine()}  {os.cpu_count()} cores  "
          f"{platform.system()} {platform.release()}")
    print("Every ratio compares two things measured side by side in this run.")
    figs: list[Figure] = []

    def attempt(n: int, fn: Callable[[], Figure | list[Figure]]) -> None:
        if n not in only:
            return
        try:
            got = fn()
            figs.extend(got if isinstance(got, list) else [got])
        except Exception as exc:  # noqa: BLE001 - one figure failing must not hide the others
            print(f"  figure {n} could not be measured: {type(exc).__name__}: {exc}")
            figs.append(Figure(n, f"figure {n}", verdict="not measured", note=f"{type(exc).__name__}: {exc}"))

    aws: AwsSide | None = None
    if only & {1, 2}:
        try:
            aws = AwsSide()
        except Exception as exc:  # noqa: BLE001
            print(f"the emulator could not start ({exc}); figures 1 and 2 are not measured")
    try:
        if aws:
            attempt(1, lambda: fig_overhead(aws, 5 if q else 21))
            attempt(2, lambda: fig_parallel(aws, 3 if q else 7))
    finally:
        if aws:
            aws.close()
    attempt(3, lambda: fig_imports(3 if q else 7))
    attempt(4, fig_zip)
    attempt(7, lambda: fig_embed(3 if q else 5))
    attempt(5, lambda: fig_check_policy(3 if q else 7))
    attempt(6, lambda: fig_discover(3 if q else 7))

    print()
    print("=" * 100)
    print(f"Summary ({time.perf_counter() - started:.0f} s)")
    print("-" * 100)
    for f in figs:
        shown = "-" if f.ratio is None else (f"{f.ratio:.2f} MB" if f.number in (4, 7) else f"{f.ratio:.2f}")
        print(f"  {f.number}. {f.name:56} {shown:>9}  target {f.target:20} {f.verdict}"
              + (f"  [{f.note}]" if f.note else ""))
    if args.json:
        Path(args.json).write_text(json.dumps([vars(f) for f in figs], indent=2, default=str))
    print("Targets are reported, not enforced: this script exits 0.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
