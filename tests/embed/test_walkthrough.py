"""The Done-when walk: a sample API adopts the canary from its own directory with the documented commands.

`sample_api/` is written the way Chalice teams write APIs: services in `chalicelib/`, a decorator
that appends the stage to every table name, a Pipfile (requirements.txt generated from it), its
own pytest suite on `chalice.test.Client`, and `autogen_policy: false` with a `policy-dev.json`
that lacks `dynamodb:UpdateItem` and `dynamodb:DeleteItem` (the DESIGN.md story). The walk runs
the commands docs/embed.md gives, each as a subprocess in a copy of the API:
init (dry run, then --write, then again: nothing) -> the API's tests -> chalice package ->
check-policy and emulate agree on exactly the two missing actions -> the policy fixed with
check-policy's own remediation -> emulate: every probe ALLOWED.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import BIN, CACHE, subprocess_env

SAMPLE = Path(__file__).resolve().parent / "sample_api"
ACCOUNT = "123456789012"
INIT = ["init", "--stage", "dev", "--region", "us-east-1", "--account", ACCOUNT]

# Run the API's own suite as a fresh checkout of it would: `canary` importable only from inside the
# project (vendor/), never from this repository's installation in the test interpreter.
RUN_API_TESTS = r"""
import importlib.machinery, sys
from pathlib import Path

ROOT = Path.cwd().resolve()

class ProjectOnly:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "canary":
            return None
        inside = [p for p in sys.path if Path(p or ".").resolve().is_relative_to(ROOT)]
        spec = importlib.machinery.PathFinder.find_spec(name, inside)
        if spec is None:
            raise ModuleNotFoundError("No module named 'canary'", name="canary")
        return spec

sys.meta_path.insert(0, ProjectOnly)
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider"]))
"""


def copy_sample(dest: Path) -> Path:
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    return dest


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "deployments" not in p.parts}


def pc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "permission-canary"), *args], cwd=project, capture_output=True, text=True,
                          env=subprocess_env(), timeout=300)


def api_tests(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN_API_TESTS], cwd=project, capture_output=True, text=True,
                          env=subprocess_env(), timeout=300)


def package(project: Path, out: Path) -> subprocess.CompletedProcess[str]:
    deployments = project / ".chalice" / "deployments"
    if not deployments.exists():  # chalice's dependency cache, shared across runs (see tests/deploy/conftest.py)
        CACHE.mkdir(parents=True, exist_ok=True)
        os.symlink(CACHE, deployments)
    return subprocess.run([str(BIN / "chalice"), "package", "--stage", "dev", str(out)], cwd=project,
                          capture_output=True, text=True, env=subprocess_env(), timeout=600)


def by_id(report: dict[str, Any], key: str) -> dict[str, str]:
    return {r["id"]: r[key] for r in report["results"]}


def test_a_sample_api_adopts_the_canary_and_the_rehearsal_finds_exactly_its_missing_permissions(
        tmp_path: Path) -> None:
    api = copy_sample(tmp_path / "listings-api")
    assert api_tests(api).returncode == 0
    before_pkg = package(api, tmp_path / "out-before")
    assert before_pkg.returncode == 0, before_pkg.stderr
    pristine = tree_digest(api)

    # 1. Dry run: a unified diff of everything, nothing written.
    dry = pc(api, *INIT)
    assert dry.returncode == 0, dry.stderr
    for header in ("+++ b/app.py", "+++ b/requirements.txt", "+++ b/Pipfile", "+++ b/pytest.ini",
                   "+++ b/.chalice/config.json", "+++ b/.chalice/policy-slack-dev.json",
                   "+++ b/chalicelib/canary-dev.json"):
        assert header in dry.stdout, header
    assert "+app.register_blueprint(canary_blueprint)" in dry.stdout
    assert "vendor/canary/:" in dry.stdout and "no __pycache__" in dry.stdout
    assert "dry run: nothing written" in dry.stderr
    assert tree_digest(api) == pristine

    # 2. --write applies exactly that; a second --write changes nothing and says so.
    wrote = pc(api, *INIT, "--write")
    assert wrote.returncode == 0, wrote.stderr
    # The calls whose probe needs what the code does not show (the index's key) are listed; PutItem's probe
    # borrows the table's key from the get/update/delete calls that show it whole.
    todo = wrote.stderr.split("No probe written", 1)[1]
    assert "dynamodb:Query on arn:aws:dynamodb:*:*:table/listings-dev/index/city-index (chalicelib/listings.py:" in todo
    assert "the index's key attribute names" in todo and "dynamodb:PutItem" not in todo
    after = tree_digest(api)
    again = pc(api, *INIT, "--write")
    assert again.returncode == 0, again.stderr
    assert "nothing to change: the canary is already embedded for stage 'dev'" in again.stdout
    assert tree_digest(api) == after

    vendored = api / "vendor" / "canary"
    assert (vendored / "blueprint.py").is_file() and not vendored.is_symlink()
    assert not list(vendored.rglob("__pycache__"))
    req = (api / "requirements.txt").read_text()
    assert "pydantic>=2.7,<3" in req and "slack_sdk" not in req and "==" not in req
    assert 'pydantic = ">=2.7,<3"' in (api / "Pipfile").read_text()
    cfg = json.loads((api / ".chalice" / "config.json").read_text())
    dev = cfg["stages"]["dev"]
    assert dev["environment_variables"]["CANARY_CONFIG"] == "chalicelib/canary-dev.json"
    assert dev["lambda_functions"]["permission_canary_alarm_to_slack"]["iam_policy_file"] == "policy-slack-dev.json"
    assert "lambda_functions" not in cfg["stages"]["prod"]  # only the stage asked for
    slack_policy = (api / ".chalice" / "policy-slack-dev.json").read_text()
    assert f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/permission-canary/dev/slack-webhook" in slack_policy

    # The probe config: every probe on a resource the code names for this stage, no placeholder.
    probes = json.loads((api / "chalicelib" / "canary-dev.json").read_text())["probes"]
    assert {(p["action"], p["table"]) for p in probes} >= {
        ("dynamodb:GetItem", "listings-${STAGE}"), ("dynamodb:UpdateItem", "listings-${STAGE}"),
        ("dynamodb:DeleteItem", "listings-${STAGE}"), ("dynamodb:GetItem", "${FAVORITES_TABLE}")}
    assert "__FILL_ME__" not in json.dumps(probes) and all(p["table"] != "listings" for p in probes)

    # 3. The API's own tests pass with the canary embedded.
    tests = api_tests(api)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout

    # 4. chalice package ships the canary and its runtime requirements.
    out = tmp_path / "out-after"
    pkg = package(api, out)
    assert pkg.returncode == 0, pkg.stdout + pkg.stderr
    names = zipfile.ZipFile(out / "deployment.zip").namelist()
    assert "canary/blueprint.py" in names and "chalicelib/canary-dev.json" in names
    assert any(n.startswith("pydantic/") for n in names) and not any(n.startswith("slack_sdk/") for n in names)
    assert not any("__pycache__" in n for n in names)
    functions = {k for k, v in json.loads((out / "sam.json").read_text())["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function"}
    assert {"PermissionCanary", "PermissionCanaryInvoke", "PermissionCanaryAlarmToSlack"} <= functions
    delta = (out / "deployment.zip").stat().st_size - (tmp_path / "out-before" / "deployment.zip").stat().st_size
    print(f"\nchalice package zip: +{delta / 1e6:.2f} MB with the canary embedded")

    # 5. Offline: check-policy and the rehearsal on moto agree, on exactly the two missing actions.
    check = pc(api, "check-policy", "--stage", "dev", "--format", "json")
    assert check.returncode == 1, check.stderr
    verdicts = by_id(json.loads(check.stdout), "verdict")
    emu = pc(api, "emulate", "--stage", "dev", "--format", "json")
    assert emu.returncode == 1, emu.stderr
    report = json.loads(emu.stdout)
    outcomes = by_id(report, "outcome")
    denied = {i for i, o in outcomes.items() if o == "DENIED"}
    assert denied == {i for i, v in verdicts.items() if v == "NOT_GRANTED"}
    assert {r["action"] for r in report["results"] if r["outcome"] == "DENIED"} == {
        "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert all(r["resource"].endswith(":table/listings-dev") for r in report["results"] if r["outcome"] == "DENIED")
    assert set(outcomes.values()) == {"ALLOWED", "DENIED"}

    # 6. Fix the policy with check-policy's own remediation; then every probe is ALLOWED.
    policy_path = api / ".chalice" / "policy-dev.json"
    policy = json.loads(policy_path.read_text())
    policy["Statement"] += [r["remediation"] for r in json.loads(check.stdout)["results"] if r["verdict"] == "NOT_GRANTED"]
    policy_path.write_text(json.dumps(policy, indent=2))
    assert pc(api, "check-policy", "--stage", "dev").returncode == 0
    fixed = pc(api, "emulate", "--stage", "dev", "--format", "json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert set(by_id(json.loads(fixed.stdout), "outcome").values()) == {"ALLOWED"}


def test_without_vendor_on_pytests_path_the_apis_tests_cannot_import_the_canary(tmp_path: Path) -> None:
    """The control for step 3: the failure init's pytest setting prevents is real."""
    api = copy_sample(tmp_path / "listings-api")
    assert pc(api, *INIT, "--write").returncode == 0
    (api / "pytest.ini").write_text((SAMPLE / "pytest.ini").read_text())  # undo only init's pythonpath line
    result = api_tests(api)
    assert result.returncode != 0
    assert "No module named 'canary'" in result.stdout + result.stderr


@pytest.mark.parametrize("args, message", [
    (["init", "--stage", "dev", "--region", "us-east-1"],
     "stage 'dev': cannot tell the AWS account: it has no iam_role_arn (chalice creates the roles)"),
    (["init", "--stage", "dev", "--account", ACCOUNT], "needs the AWS region"),
])
def test_init_without_what_the_slack_policy_needs_names_a_command_that_works(
        tmp_path: Path, args: list[str], message: str) -> None:
    api = copy_sample(tmp_path / "listings-api")
    env = {k: v for k, v in subprocess_env().items() if k not in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    refused = subprocess.run([str(BIN / "permission-canary"), *args], cwd=api, capture_output=True, text=True, env=env)
    assert refused.returncode == 2
    assert message in refused.stderr and "Traceback" not in refused.stderr
    suggested = refused.stderr.split("`")[1]
    fixed = suggested.replace("<12-digit account id>", ACCOUNT).replace("<REGION>", "us-east-1").split()
    assert fixed[0] == "permission-canary"
    ok = subprocess.run([str(BIN / fixed[0]), *fixed[1:], "--write"], cwd=api, capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (api / ".chalice" / "policy-slack-dev.json").is_file()
