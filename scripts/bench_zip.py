"""Figure 4 of `make bench`: deployment zip size, and what embedding the canary adds to an API's zip."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench_common import PY, ROOT, Figure, clean_env, header, verdict

_SKIP = {".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache",
         "build", "dist", "tests", "docs", "scripts", "node_modules"}


def _copy_project(dst: Path) -> None:
    """Copy what chalice packages (following the vendor/canary symlink), without caches or the venv."""
    def ignore(_: str, names: list[str]) -> list[str]:
        return [n for n in names if n in _SKIP or n.endswith((".egg-info", ".pyc")) or n == "deployed"]

    for entry in ROOT.iterdir():
        if entry.name in _SKIP or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dst / entry.name, symlinks=False, ignore=ignore)
        else:
            shutil.copy2(entry, dst / entry.name)


def wheelhouse(requirements: Path) -> Path | None:
    """Lambda-platform wheels for `requirements`, downloaded once per requirements file (build/ is git-ignored).

    chalice rebuilds its dependency zip whenever any app file changes, and its pip step then resolves
    against the index every time; pointing that step at these wheels keeps `make bench` short.
    """
    import hashlib

    if not requirements.exists():
        return None
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    base = ROOT / "build" / "bench-wheels"
    dest = base / digest
    if (dest / ".complete").exists():
        return dest
    for old in sorted(base.glob("*"), key=lambda d: d.stat().st_mtime)[:-4] if base.exists() else []:
        shutil.rmtree(old, ignore_errors=True)  # one wheelhouse per requirements file; keep the newest few
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    res = subprocess.run([PY, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "-r", str(requirements),
                          "--platform", "manylinux2014_x86_64", "--only-binary=:all:", "--python-version",
                          f"{sys.version_info.major}.{sys.version_info.minor}", "--implementation", "cp",
                          "-d", str(dest)], capture_output=True, text=True, timeout=150)
    if res.returncode != 0:
        print("  (could not prepare a local wheelhouse; chalice's pip step will use the index)")
        shutil.rmtree(dest, ignore_errors=True)
        return None
    (dest / ".complete").write_text("")
    return dest


def fig_zip() -> Figure:
    header(4, "Deployment zip size (issue 3): `chalice package --stage dev`",
           "Packages a copy of the project (no __pycache__, vendor/canary followed); chalice's pip step fetches "
           "the requirements unless its cache already holds them. Reports the Lambda zip's size and what "
           "each listed requirement brings into it.")
    fig = Figure(4, "deployment zip (MB)", target="<= 10 MB")
    chalice = Path(PY).parent / "chalice"
    missing = [p for p in ("app.py", ".chalice/config.json") if not (ROOT / p).exists()]
    if missing or not chalice.exists():
        why = f"missing {', '.join(missing)}" if missing else f"{chalice} not installed"
        print(f"  not measured: packaging is not possible yet ({why})")
        fig.verdict, fig.note = "not measured", why
        return fig
    with tempfile.TemporaryDirectory(prefix="canary-bench-") as tmp:
        proj = Path(tmp) / "project"
        proj.mkdir()
        _copy_project(proj)
        # chalice caches the built zip keyed by requirements + app files; keep the bench's cache out of
        # .chalice/deployments (build/ is git-ignored) and only its newest zip.
        cache = ROOT / "build" / "bench-chalice-deployments"
        cache.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(proj / ".chalice" / "deployments", ignore_errors=True)
        (proj / ".chalice" / "deployments").symlink_to(cache, target_is_directory=True)
        out = Path(tmp) / "out"
        env = {**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_TIMEOUT": "15", "PIP_RETRIES": "1"}
        wheels = wheelhouse(proj / "requirements.txt")
        if wheels is not None:  # chalice's pip step then resolves from local wheels, without the index
            env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)})
        cmd = [str(chalice), "package", "--stage", "dev", str(out)]
        t0 = time.perf_counter()
        try:
            res = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=150)
            if res.returncode != 0 and wheels is not None:  # the wheelhouse was not enough: let pip fetch
                print("  (the local wheelhouse did not satisfy chalice's pip step; packaging again with the index)")
                for k in ("PIP_NO_INDEX", "PIP_FIND_LINKS"):
                    env.pop(k)
                shutil.rmtree(out, ignore_errors=True)
                res = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired:
            print("  not measured: chalice package did not finish within 150 s")
            fig.verdict, fig.note = "not measured", "timeout"
            return fig
        took = time.perf_counter() - t0
        cached = sorted(cache.glob("*.zip"), key=lambda p: p.stat().st_mtime)
        for old in cached[:-1]:
            old.unlink()
        if res.returncode != 0:
            tail = "\n    ".join((res.stderr or res.stdout).strip().splitlines()[-6:])
            print(f"  not measured: chalice package exited {res.returncode}:\n    {tail}")
            fig.verdict, fig.note = "not measured", f"chalice package exit {res.returncode}"
            return fig
        zips = sorted(out.glob("*.zip"))
        if not zips:
            print(f"  not measured: no zip in the package output ({sorted(p.name for p in out.iterdir())})")
            fig.verdict, fig.note = "not measured", "no zip"
            return fig
        for z in zips:
            size = z.stat().st_size
            with zipfile.ZipFile(z) as zf:
                infos = zf.infolist()
            unzipped = sum(i.file_size for i in infos)
            pycache = sum(1 for i in infos if "__pycache__" in i.filename)
            mb = size / 1e6
            print(f"  {z.name}: {mb:.2f} MB compressed, {unzipped / 1e6:.2f} MB uncompressed, {len(infos)} files, "
                  f"{pycache} under __pycache__ (packaged in {took:.1f} s)")
            if z.name == "deployment.zip":
                dependency_breakdown(z, proj / "requirements.txt")
            if z.name == "deployment.zip" or fig.ratio is None:
                fig.ratio = mb
                fig.verdict = verdict(mb <= 10)
                fig.raw = {"zip_mb": mb, "unzipped_mb": unzipped / 1e6, "files": len(infos)}
        plain = fig.ratio
        slim = _slim_size(out / "deployment.zip")
        if slim is not None and plain is not None:
            print(f"  plain `chalice package`: {plain:.2f} MB\n  `scripts/package` (same chalice package, zip slimmed: "
                  f"no __pycache__, no library the Lambda runtime provides): {slim:.2f} MB")
            fig.ratio = slim
            fig.verdict = verdict(slim <= 10)
            fig.note = f"scripts/package; plain chalice package {plain:.1f} MB"
            fig.raw = {**(fig.raw or {}), "plain_zip_mb": plain, "slim_zip_mb": slim}
        print(f"  SIZE {fig.ratio:.2f} MB (scripts/package)   target <= 10 MB   {fig.verdict}")
    return fig


def _slim_size(zip_path: Path) -> float | None:
    """Apply scripts/package's slimming to a copy of the zip and return its size in MB."""
    import importlib.machinery
    import importlib.util

    if not zip_path.exists():
        return None
    loader = importlib.machinery.SourceFileLoader("canary_package_script", str(ROOT / "scripts" / "package"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    copy = zip_path.with_name("slim-copy.zip")
    shutil.copy(zip_path, copy)
    module.slim_zip(copy)
    return copy.stat().st_size / 1e6


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def dependency_breakdown(zip_path: Path, requirements: Path) -> None:
    """Print compressed MB per distribution in the zip, and what each listed requirement brings in."""
    import re

    with zipfile.ZipFile(zip_path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        owner: dict[str, str] = {}
        requires: dict[str, set[str]] = {}
        for name in infos:
            m = re.match(r"^([^/]+)\.dist-info/METADATA$", name)
            if not m:
                continue
            meta = zf.read(name).decode("utf-8", "replace")
            dist = _norm(next((ln.split(":", 1)[1] for ln in meta.splitlines() if ln.startswith("Name:")),
                              m.group(1).rsplit("-", 1)[0]))
            requires[dist] = {_norm(re.split(r"[\s<>=!~;\[(]", ln.split(":", 1)[1].strip())[0])
                              for ln in meta.splitlines()
                              if ln.startswith("Requires-Dist:") and "extra ==" not in ln}
            record = f"{m.group(1)}.dist-info/RECORD"
            if record in infos:
                for row in zf.read(record).decode("utf-8", "replace").splitlines():
                    path = row.split(",")[0]
                    if path:
                        owner[path] = dist
            owner.setdefault(f"{m.group(1)}.dist-info/", dist)
    size: dict[str, int] = {}
    for name, info in infos.items():
        dist = owner.get(name) or next((d for p, d in owner.items() if p.endswith("/") and name.startswith(p)),
                                       "(the app: app.py, chalicelib/, vendor/canary)")
        size[dist] = size.get(dist, 0) + info.compress_size
    print("    compressed MB per distribution:")
    for dist, n in sorted(size.items(), key=lambda kv: -kv[1])[:10]:
        print(f"      {n / 1e6:6.2f}  {dist}")
    listed = [_norm(re.split(r"[\s<>=!~;\[]", ln)[0]) for ln in requirements.read_text().splitlines()
              if ln.strip() and not ln.lstrip().startswith("#")] if requirements.exists() else []

    def closure(roots: list[str]) -> set[str]:
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            d = todo.pop()
            if d not in seen and d in requires:
                seen.add(d)
                todo += requires[d]
        return seen

    total = zip_path.stat().st_size
    for dep in listed:
        others = closure([d for d in listed if d != dep])
        only = closure([dep]) - others
        mb = sum(size.get(d, 0) for d in only) / 1e6
        print(f"    without {dep}: {(total / 1e6) - mb:.2f} MB  (it alone brings {mb:.2f} MB: "
              f"{', '.join(sorted(only)) or 'nothing'})")


# -- what embedding adds to an API's zip --------------------------------------------------------------

SAMPLE_APP = """from chalice import Chalice

from chalicelib import listings

app = Chalice(app_name="listings")


@app.route("/listings/{listing_id}")
def get_listing(listing_id):
    return listings.get(listing_id)
"""
SAMPLE_LIB = """import os

import boto3

_table = None


def table():
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
    return _table


def get(listing_id):
    return table().get_item(Key={"listingId": listing_id}).get("Item") or {}
"""
REGISTER = """
from canary.blueprint import canary_blueprint  # noqa: E402

app.register_blueprint(canary_blueprint)
"""
API_ROLE = "arn:aws:iam::123456789012:role/listings-dev"
SLACK_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:*:*:*"}]}


def runtime_requirements() -> list[str]:
    """The canary's runtime requirement lines (canary/data/runtime-requirements.txt, what `init` adds)."""
    text = (ROOT / "canary" / "data" / "runtime-requirements.txt").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def write_sample_api(path: Path) -> Path:
    """A small Chalice API as teams write them (a service module in chalicelib/), without the canary."""
    import json

    (path / ".chalice").mkdir(parents=True)
    (path / "chalicelib").mkdir()
    (path / "app.py").write_text(SAMPLE_APP)
    (path / "chalicelib" / "__init__.py").write_text("")
    (path / "chalicelib" / "listings.py").write_text(SAMPLE_LIB)
    (path / "requirements.txt").write_text("")
    (path / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "listings", "automatic_layer": False,
        "stages": {"dev": {"manage_iam_role": False, "iam_role_arn": API_ROLE,
                           "environment_variables": {"TABLE": "listings-dev"}}}}, indent=2))
    return path


def embed_canary(path: Path, requirements: list[str] | None = None) -> None:
    """Embed the canary in the sample API as the README says: vendor/canary, the runtime requirements,
    the blueprint's two lines, a probe config and the stage keys."""
    import json

    shutil.copytree(ROOT / "canary", path / "vendor" / "canary", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    reqs = runtime_requirements() if requirements is None else requirements
    (path / "requirements.txt").write_text("".join(f"{r}\n" for r in reqs))
    (path / "app.py").write_text((path / "app.py").read_text() + REGISTER)
    (path / "chalicelib" / "canary-dev.json").write_text(json.dumps({"version": 1, "probes": [
        {"id": "listings-get", "action": "dynamodb:GetItem", "table": "listings-${STAGE}",
         "key": {"listingId": "__permission_canary__"}}]}, indent=2))
    (path / ".chalice" / "policy-slack-dev.json").write_text(json.dumps(SLACK_POLICY, indent=2))
    cfg_path = path / ".chalice" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    stage = cfg["stages"]["dev"]
    stage["xray"] = True
    stage["environment_variables"].update({"STAGE": "dev", "CANARY_STAGE": "dev",
                                           "CANARY_CONFIG": "chalicelib/canary-dev.json"})
    stage["lambda_functions"] = {"permission_canary_alarm_to_slack": {
        "manage_iam_role": True, "autogen_policy": False, "iam_policy_file": "policy-slack-dev.json", "xray": False}}
    cfg_path.write_text(json.dumps(cfg, indent=2))


def package(project: Path, out: Path, *, wheels: Path | None = None, timeout: float = 240) -> Path:
    """Plain `chalice package --stage dev`; return the zip. Raises RuntimeError with chalice's last lines."""
    env = {**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_TIMEOUT": "15", "PIP_RETRIES": "1",
           "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    if wheels is not None:
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)})
    res = subprocess.run([str(Path(PY).parent / "chalice"), "--project-dir", str(project), "package", "--stage",
                          "dev", str(out)], env=env, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        tail = " | ".join((res.stderr or res.stdout).strip().splitlines()[-4:])
        raise RuntimeError(f"chalice package exited {res.returncode}: {tail}")
    return out / "deployment.zip"


def top_level_mb(zip_path: Path) -> dict[str, float]:
    """Compressed MB per top-level entry of a zip (a package, a module or a .dist-info)."""
    out: dict[str, float] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            top = info.filename.split("/", 1)[0]
            out[top] = out.get(top, 0.0) + info.compress_size / 1e6
    return out


def _import_ms(stmt: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        res = subprocess.run([PY, "-c", f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"],
                             capture_output=True, text=True, timeout=60, env=clean_env(), cwd=ROOT)
        if res.returncode != 0:
            return float("nan")
        best = min(best, float(res.stdout.strip().splitlines()[-1]))
    return best * 1000


def fig_embed(rounds: int = 5) -> Figure:
    header(7, "Embedding (issue 10): what the canary adds to an API's `chalice package` zip, and its imports",
           "A small sample API (app.py + chalicelib/) packaged with plain `chalice package --stage dev`, without "
           "and with the canary embedded (vendor/canary, canary/data/runtime-requirements.txt, the blueprint); "
           "then a variant: + aws-xray-sdk (X-Ray subsegments). Cold imports: best of "
           f"{rounds} fresh interpreters.")
    fig = Figure(7, "embedding adds to an API's zip (MB)", target="<= 3.5 MB")
    reqs = runtime_requirements()
    variants: list[tuple[str, list[str] | None]] = [
        ("without the canary", None), ("with the canary (default)", reqs),
        ("  + aws-xray-sdk (subsegments on)", reqs + ["aws-xray-sdk>=2.12,<3"])]
    sizes: dict[str, float] = {}
    tops: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="canary-bench-embed-") as tmp:
        for i, (label, req) in enumerate(variants):
            proj = write_sample_api(Path(tmp) / f"api{i}")
            if req is not None:
                embed_canary(proj, req)
            wheels = wheelhouse(proj / "requirements.txt") if req else None
            try:
                z = package(proj, Path(tmp) / f"out{i}", wheels=wheels)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                if wheels is None:
                    raise
                print(f"  (local wheels were not enough: {exc}; packaging again with the index)")
                z = package(proj, Path(tmp) / f"out{i}b")
            sizes[label] = z.stat().st_size / 1e6
            tops[label] = top_level_mb(z)
    base = sizes["without the canary"]
    print(f"  {'sample API zip':40} {'MB':>7} {'added':>8}")
    for label, mb in sizes.items():
        print(f"  {label:40} {mb:7.2f} {mb - base:+8.2f}")
    default = tops["with the canary (default)"]
    print("  what the default embedding adds (compressed MB per top-level entry, largest first):")
    for top, mb in sorted(((t, m) for t, m in default.items() if t not in tops["without the canary"]),
                          key=lambda kv: -kv[1])[:8]:
        print(f"    {mb:6.2f}  {top}")
    xray = tops["  + aws-xray-sdk (subsegments on)"]
    extra = {t: m for t, m in xray.items() if t not in default}
    print("  aws-xray-sdk brings: " + ", ".join(f"{t} {m:.2f}" for t, m in sorted(extra.items(), key=lambda kv: -kv[1])[:5]))
    own = sum(m for t, m in extra.items() if t.split("-")[0].split(".")[0] in ("aws_xray_sdk", "wrapt")
              or t.startswith(("aws_xray_sdk", "wrapt")))
    print(f"    of which aws_xray_sdk + wrapt: {own:.2f} MB; the rest is botocore and its dependencies, which the "
          "Lambda runtime already has (scripts/package drops them)")
    imports = [("pydantic (BaseModel)", "from pydantic import BaseModel"), ("canary.config (pydantic models)",
               "import canary.config"),
               ("urllib.request + json (stdlib)", "import urllib.request, json"),
               ("aws_xray_sdk.core", "import aws_xray_sdk.core")]
    print("  cold import, best of fresh interpreters:")
    for label, stmt in imports:
        print(f"    {label:34} {_import_ms(stmt, rounds):8.1f} ms")
    added = sizes["with the canary (default)"] - base
    fig.ratio, fig.verdict = added, verdict(added <= 3.5)
    fig.note = (f"+ aws-xray-sdk adds {sizes['  + aws-xray-sdk (subsegments on)'] - sizes['with the canary (default)']:.1f}"
                " MB more")
    fig.raw = {"sizes_mb": sizes}
    print(f"  ADDED {added:.2f} MB   target <= 3.5 MB   {fig.verdict}")
    return fig
