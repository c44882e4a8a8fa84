"""`permission-canary init` on the project shapes teams use: each dependency tool, each pytest config, app.py styles."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from canary.cli.init import init
from canary.embed import apply, plan_init, runtime_requirements
from canary.embed._deps import dependency_edits
from canary.embed._project import app_edit, pytest_edit

SAMPLE = Path(__file__).resolve().parent / "sample_api"
# Two requirements, so the edits of several lines and name normalisation (slack-sdk is slack_sdk) are exercised;
# what the canary really ships is the one-line list checked in the first test.
REQS = [("pydantic", ">=2.7,<3"), ("slack_sdk", ">=3.19,<4")]


def _api(tmp_path: Path, *, keep: tuple[str, ...] = ()) -> Path:
    """The sample API without its dependency and pytest files (each test adds the ones it is about)."""
    api = tmp_path / "api"
    shutil.copytree(SAMPLE, api, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Pipfile", "requirements.txt", "pytest.ini"):
        if name not in keep:
            (api / name).unlink()
    return api


def test_the_runtime_requirements_are_ranges_read_from_one_file() -> None:
    assert dict(runtime_requirements()) == {"pydantic": ">=2.7,<3"}
    assert all("==" not in spec for _, spec in runtime_requirements())


def test_requirements_txt_gets_the_ranges_once_and_keeps_the_users_lines(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-i https://pypi.org/simple\nrequests==2.32.0\nslack-sdk==3.30.0\n")
    edits, notes = dependency_edits(tmp_path, REQS)
    text = edits[tmp_path / "requirements.txt"]
    assert text.startswith("-i https://pypi.org/simple\nrequests==2.32.0\nslack-sdk==3.30.0\n")
    assert "pydantic>=2.7,<3" in text and "slack_sdk>=" not in text  # slack-sdk is the same project
    assert notes == []


def test_an_exact_pin_outside_the_range_is_named(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pydantic==1.10.13\n")
    _, notes = dependency_edits(tmp_path, REQS)
    assert notes == ["requirements.txt: pydantic==1.10.13 is outside the canary's range pydantic>=2.7,<3; "
                     "move the pin into that range"]


def test_a_project_with_no_dependency_file_gets_a_requirements_txt(tmp_path: Path) -> None:
    edits, _ = dependency_edits(tmp_path, REQS)
    assert edits[tmp_path / "requirements.txt"].splitlines()[1:] == ["pydantic>=2.7,<3", "slack_sdk>=3.19,<4"]


def test_pipfile_packages_get_the_ranges_so_regenerated_requirements_keep_them(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n'
                                      '[packages]\nchalice = "*"\n\n[dev-packages]\npytest = "*"\n')
    edits, notes = dependency_edits(tmp_path, REQS)
    data = tomllib.loads(edits[tmp_path / "Pipfile"])
    assert data["packages"] == {"chalice": "*", "pydantic": ">=2.7,<3", "slack_sdk": ">=3.19,<4"}
    assert data["dev-packages"] == {"pytest": "*"}
    assert any("pipenv lock" in n for n in notes)
    # no requirements.txt yet: chalice ships only what it lists, so it is created (else no pydantic in the zip)
    assert edits[tmp_path / "requirements.txt"].splitlines()[1:] == ["pydantic>=2.7,<3", "slack_sdk>=3.19,<4"]
    assert any(n.startswith("requirements.txt created") for n in notes)


def test_an_old_botocore_the_api_ships_is_named_because_the_s3_probe_needs_a_newer_one(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("boto3~=1.26.13\nbotocore==1.29.165\nrequests==2.32.0\n")
    _, notes = dependency_edits(tmp_path, REQS)
    assert len(notes) == 2 and all("older than 1.35.69" in n and "IfMatch" in n for n in notes)
    (tmp_path / "requirements.txt").write_text("boto3==1.35.69\n")
    assert dependency_edits(tmp_path, REQS)[1] == []


@pytest.mark.parametrize("deps", ['dependencies = ["chalice>=1.30"]',
                                  'dependencies = [\n  "chalice>=1.30",  # the framework\n  "boto3"\n]',
                                  "dependencies = []"])
def test_pep621_dependencies_get_the_ranges(tmp_path: Path, deps: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "api"\nversion = "1"\n{deps}\n\n[tool.ruff]\nline-length = 100\n')
    edits, _ = dependency_edits(tmp_path, REQS)
    data = tomllib.loads(edits[tmp_path / "pyproject.toml"])
    assert data["project"]["dependencies"][-2:] == ["pydantic>=2.7,<3", "slack_sdk>=3.19,<4"]
    assert data["tool"]["ruff"] == {"line-length": 100}


def test_poetry_dependencies_get_the_ranges(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "api"\n\n[tool.poetry.dependencies]\n'
                                             'python = "^3.11"\nchalice = "^1.30"\n\n[build-system]\nrequires = []\n')
    edits, _ = dependency_edits(tmp_path, REQS)
    deps = tomllib.loads(edits[tmp_path / "pyproject.toml"])["tool"]["poetry"]["dependencies"]
    assert deps == {"python": "^3.11", "chalice": "^1.30", "pydantic": ">=2.7,<3", "slack_sdk": ">=3.19,<4"}


def test_a_dependency_list_it_cannot_edit_safely_is_left_alone_with_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "api"\ndependencies = [\n  "chalice"\n')  # broken TOML
    (tmp_path / "requirements.txt").write_text("chalice\n")
    edits, notes = dependency_edits(tmp_path, REQS)
    assert tmp_path / "pyproject.toml" not in edits
    assert notes == ["pyproject.toml: does not parse as TOML; left alone (add to its dependencies: "
                     "pydantic>=2.7,<3, slack_sdk>=3.19,<4)"]
    assert tmp_path / "requirements.txt" in edits


@pytest.mark.parametrize("name, text, section", [
    ("pytest.ini", "[pytest]\ntestpaths = tests\n", "pytest"),
    ("pytest.ini", "[pytest]\npythonpath = .\n", "pytest"),
    ("setup.cfg", "[metadata]\nname = api\n\n[tool:pytest]\naddopts = -q\n", "tool:pytest"),
    ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\npythonpath = src\n", "pytest"),
])
def test_vendor_goes_on_pytests_path_in_the_apis_own_ini_config(tmp_path: Path, name: str, text: str,
                                                                section: str) -> None:
    import configparser

    (tmp_path / name).write_text(text)
    path, new, notes = pytest_edit(tmp_path)
    assert path == tmp_path / name and notes == []
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(new or "")
    assert parser.get(section, "pythonpath").split()[-1] == "vendor"
    (tmp_path / name).write_text(new or "")
    assert pytest_edit(tmp_path) == (None, None, [])


@pytest.mark.parametrize("text", ['[project]\nname = "api"\n',
                                  '[tool.pytest.ini_options]\naddopts = "-q"\n',
                                  '[tool.pytest.ini_options]\npythonpath = ["."]\n'])
def test_vendor_goes_on_pytests_path_in_pyproject(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    path, new, _ = pytest_edit(tmp_path)
    assert path == tmp_path / "pyproject.toml"
    assert tomllib.loads(new or "")["tool"]["pytest"]["ini_options"]["pythonpath"][-1] == "vendor"


def test_a_project_without_pytest_config_gets_a_pytest_ini(tmp_path: Path) -> None:
    path, new, _ = pytest_edit(tmp_path)
    assert path == tmp_path / "pytest.ini" and "pythonpath = vendor" in (new or "")


def test_the_blueprint_lines_go_after_the_imports_and_the_app(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('"""API."""\nimport os\n\nfrom chalice import Chalice\n\n'
                                     'api = Chalice(\n    app_name="x",\n)\napi.debug = True\n')
    new, manual = app_edit(tmp_path)
    assert manual == []
    assert new == ('"""API."""\nimport os\n\nfrom chalice import Chalice\nfrom canary.blueprint import canary_blueprint\n\n'
                   'api = Chalice(\n    app_name="x",\n)\napi.register_blueprint(canary_blueprint)\napi.debug = True\n')


@pytest.mark.parametrize("source", [
    "from chalice import Chalice\nif True:\n    app = Chalice(app_name='x')\n",          # not at module level
    "from chalice import Chalice\napp = Chalice(app_name='x')\napp = Chalice(app_name='y')\n",  # two apps
    "from factory import make_app\napp = make_app()\n",                                   # no Chalice(...) call
])
def test_app_py_is_not_rewritten_unless_trivially_safe(tmp_path: Path, source: str) -> None:
    (tmp_path / "app.py").write_text(source)
    new, manual = app_edit(tmp_path)
    assert new is None
    assert manual[0] == "add to app.py: from canary.blueprint import canary_blueprint"


def test_init_cli_refuses_a_directory_that_is_not_a_chalice_project_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(init, ["--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {tmp_path}: no app.py here; run init in the Chalice project's "
                                     "directory (or pass --project-dir)")


def test_init_cli_refuses_an_unknown_stage(tmp_path: Path) -> None:
    api = _api(tmp_path)
    result = CliRunner().invoke(init, ["--project-dir", str(api), "--stage", "qa", "--region", "us-east-1"])
    assert result.exit_code == 2
    assert "no stage 'qa'; stages: dev, prod" in result.output


def test_a_probe_config_the_user_already_has_is_kept(tmp_path: Path) -> None:
    api = _api(tmp_path, keep=("requirements.txt",))
    mine = {"version": 1, "probes": [{"action": "dynamodb:GetItem", "table": "mine", "key": {"k": "x"}}]}
    (api / "chalicelib" / "canary-dev.json").write_text(json.dumps(mine))
    plan = plan_init(api, "dev", region="us-east-1", account="123456789012")
    assert api / "chalicelib" / "canary-dev.json" not in plan.files
    assert any("canary-dev.json exists; kept" in n for n in plan.notes)


def test_a_vendor_symlink_is_kept_and_a_stale_copy_is_refreshed(tmp_path: Path) -> None:
    api = _api(tmp_path, keep=("requirements.txt",))
    plan = plan_init(api, "dev", region="us-east-1", account="123456789012")
    apply(plan)
    stale = api / "vendor" / "canary" / "runner.py"
    stale.write_text("# old\n")
    (api / "vendor" / "canary" / "gone.py").write_text("")
    again = plan_init(api, "dev", region="us-east-1", account="123456789012")
    assert again.vendor == {"added": [], "changed": ["runner.py"], "removed": ["gone.py"]}
    assert again.files == {}
    apply(again)
    assert plan_init(api, "dev", region="us-east-1", account="123456789012").empty
    shutil.rmtree(api / "vendor" / "canary")
    (api / "vendor" / "canary").symlink_to(plan.source)
    linked = plan_init(api, "dev", region="us-east-1", account="123456789012")
    assert linked.empty and any("kept as it is" in n for n in linked.notes)


def test_the_stage_keys_never_change_what_the_user_set(tmp_path: Path) -> None:
    api = _api(tmp_path, keep=("requirements.txt",))
    cfg_path = api / ".chalice" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["stages"]["dev"]["environment_variables"]["CANARY_CONFIG"] = "chalicelib/probes.json"
    cfg["stages"]["dev"]["lambda_functions"] = {"permission_canary": {"lambda_memory_size": 512}}
    cfg_path.write_text(json.dumps(cfg, indent=4))
    plan = plan_init(api, "dev", region="us-east-1", account="123456789012")
    new = json.loads(plan.files[cfg_path][1])
    assert new["stages"]["dev"]["environment_variables"]["CANARY_CONFIG"] == "chalicelib/probes.json"
    assert new["stages"]["dev"]["lambda_functions"]["permission_canary"] == {"lambda_memory_size": 512}
    assert plan.files[cfg_path][1].splitlines()[1].startswith("    \"")  # the user's indent
    assert api / "chalicelib" / "probes.json" in plan.files


def test_a_probe_whose_variable_the_stage_does_not_set_is_left_out_and_named(tmp_path: Path) -> None:
    api = _api(tmp_path, keep=("requirements.txt",))
    cfg_path = api / ".chalice" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    del cfg["stages"]["dev"]["environment_variables"]["FAVORITES_TABLE"]
    cfg_path.write_text(json.dumps(cfg, indent=2))
    plan = plan_init(api, "dev", region="us-east-1", account="123456789012")
    written = json.loads(plan.files[api / "chalicelib" / "canary-dev.json"][1])
    assert "FAVORITES_TABLE" not in json.dumps(written)
    assert any("FAVORITES_TABLE" in line for line in plan.left)


def test_an_exact_pipfile_pin_outside_the_range_is_named(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\npydantic = "==1.10.13"\nslack-sdk = "*"\n')
    edits, notes = dependency_edits(tmp_path, REQS)
    assert tmp_path / "Pipfile" not in edits  # both are there already; the user decides the pin
    assert ("Pipfile [packages]: pydantic==1.10.13 is outside the canary's range pydantic>=2.7,<3; "
            "move the pin into that range") in notes


@pytest.mark.parametrize("name, text", [
    ("Pipfile", '[packages]\nchalice = "*"\n\n[requires]\npython_version = "3.8"\n'),
    ("pyproject.toml", '[project]\nname = "api"\nversion = "1"\nrequires-python = ">=3.9"\n'),
    (".python-version", "3.10.14\n"),
    ("runtime.txt", "python-3.9.18\n"),
])
def test_init_refuses_an_api_that_targets_a_python_the_canary_cannot_import_on(
        tmp_path: Path, name: str, text: str) -> None:
    # Embedded in a python3.8 Lambda, `import app` would fail and take the whole API down.
    api = _api(tmp_path, keep=("requirements.txt",))
    (api / name).write_text(text)
    result = CliRunner().invoke(init, ["--stage", "dev", "--project-dir", str(api), "--region", "us-east-1",
                                       "--account", "123456789012"])
    assert result.exit_code == 2
    assert "targets Python 3." in result.output and "3.11 or newer" in result.output


def test_init_accepts_an_api_on_a_current_lambda_python(tmp_path: Path) -> None:
    api = _api(tmp_path, keep=("requirements.txt",))
    (api / ".python-version").write_text("3.12\n")
    result = CliRunner().invoke(init, ["--stage", "dev", "--project-dir", str(api), "--region", "us-east-1",
                                       "--account", "123456789012"])
    assert result.exit_code == 0, result.output
