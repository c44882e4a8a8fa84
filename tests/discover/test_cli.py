"""`permission-canary discover` as a user runs it (click's CliRunner, real files, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from canary.cli import cli
from canary.config import parse_config, stage_environment
from canary.discover._emit import FILL_ME
from canary.probes import PROBES
from tests.discover.test_styles import EXPECTED

APPS = Path(__file__).parent / "apps"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["discover", *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_shows_action_resource_and_file_line() -> None:
    code, out, _ = run(str(APPS / "story"))
    assert code == 0
    assert "stage dev" in out  # chalice's default stage, used when the project has it
    for action, where in [("dynamodb:UpdateItem", "chalicelib/db.py:13"),
                          ("dynamodb:DeleteItem", "chalicelib/db.py:21"), ("ses:SendEmail", "chalicelib/mail.py:10")]:
        line = next(ln for ln in out.splitlines() if action in ln)
        assert where in line and "listings" in line


def test_json_lists_findings_files_and_probed_split() -> None:
    code, out, _ = run(str(APPS / "self_storage"), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data["actions"]) == EXPECTED["self_storage"]
    assert data["files"] == ["app.py", "chalicelib/__init__.py", "chalicelib/repo.py"]
    assert set(data["probed_actions"]) == EXPECTED["self_storage"] & set(PROBES)
    assert set(data["not_probed_actions"]) == EXPECTED["self_storage"] - set(PROBES)
    row = next(f for f in data["findings"] if f["action"] == "dynamodb:Query")
    assert row == {"action": "dynamodb:Query", "resource": "arn:aws:dynamodb:*:*:table/orders-dev", "resolved": True,
                   "unresolved": [], "file": "chalicelib/repo.py", "line": 17, "service": "dynamodb",
                   "operation": "Query", "via": "Table.query",
                   "candidates": ["arn:aws:dynamodb:*:*:table/orders-dev"], "not_in_stage": None, "note": None,
                   "own_credentials": None, "because": None, "advisory": None}


def test_region_and_account_fill_the_arns() -> None:
    code, out, _ = run(str(APPS / "story"), "--format", "json", "--region", "eu-west-1", "--account", "123456789012")
    assert code == 0
    resources = {f["resource"] for f in json.loads(out)["findings"]}
    assert "arn:aws:dynamodb:eu-west-1:123456789012:table/listings-dev" in resources


def test_emit_config_for_the_story_is_a_valid_probe_config_as_is(tmp_path: Path) -> None:
    target = tmp_path / "canary.json"
    code, out, _ = run(str(APPS / "story"), "--emit-config", str(target))
    assert code == 0
    assert f"to {target}" in out
    data = json.loads(target.read_text())
    assert FILL_ME not in target.read_text()  # the key name comes from Key={"listingId": ...}
    update = next(p for p in data["probes"] if p["action"] == "dynamodb:UpdateItem")
    assert update == {"action": "dynamodb:UpdateItem", "table": "${TABLE}",
                      "key": {"listingId": "__permission_canary__"}}
    env = stage_environment(APPS / "story", "dev")
    config = parse_config(data, source=str(target), env=env)
    assert {p.action for p in config.probes} == EXPECTED["story"] & set(PROBES)
    assert next(p for p in config.probes if p.action == "dynamodb:UpdateItem").table == "listings-dev"


def test_emit_config_leaves_out_what_the_source_cannot_say_and_lists_what_to_fill_in() -> None:
    code, out, err = run(str(APPS / "self_storage"), "--emit-config", "-")
    assert code == 0
    data = json.loads(out)  # stdout holds the config alone
    assert FILL_ME not in out and "${" not in out.replace("${ORDERS_TABLE}", "").replace("${ARCHIVE_BUCKET}", "")
    assert not any(p["action"] == "dynamodb:PutItem" for p in data["probes"])
    assert "left out dynamodb:PutItem at chalicelib/repo.py" in err
    assert "fill in key: the table's key attribute names" in err
    for missing in EXPECTED["self_storage"] - set(PROBES):
        assert f"{missing}: not probed (no harmless probe yet)" in err
    assert "left out dynamodb:Query at chalicelib/repo.py:17" in err
    config = parse_config(data, env={"ARCHIVE_BUCKET": "archive-dev"})  # runs as written
    assert {p.action for p in config.probes} == {"s3:PutObject"}


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_emitted_probes_follow_the_registry_models(app: str) -> None:
    """Whatever probes exist now (others are being added), each emitted probe fits its model's fields."""
    code, out, err = run(str(APPS / app), "--emit-config", "-")
    assert code == 0
    data = json.loads(out)
    emitted = {p["action"] for p in data["probes"]}
    left = {line.split()[2] for line in err.splitlines() if line.startswith("left out ")}
    own_keys = {"check_mixed": {"ses:SendEmail"}}.get(app, set())  # not signed by the role: never probed
    assert emitted | left == (EXPECTED[app] & set(PROBES)) - own_keys
    assert FILL_ME not in out
    for probe in data["probes"]:
        model = PROBES[probe["action"]].params
        names = {info.alias or name for name, info in model.model_fields.items()}
        assert set(probe) <= names
        required = {info.alias or name for name, info in model.model_fields.items() if info.is_required()}
        assert required <= set(probe)


def test_sesv2_calls_emit_a_v2_probe() -> None:
    code, out, _ = run(str(APPS / "module_globals"), "--emit-config", "-")
    assert code == 0
    probe = next(p for p in json.loads(out)["probes"] if p["action"] == "ses:SendEmail")
    assert probe == {"action": "ses:SendEmail", "from": "reports@example.com", "api": "v2"}


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "nope"))
    assert code == 2
    assert "no such directory" in err


def test_directory_without_app_py_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert "no app.py" in err


def test_a_file_that_does_not_parse_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import boto3\ndef broken(:\n", encoding="utf-8")
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert "app.py:2: cannot parse" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_emitted_probes_never_aim_sentinels_or_item_keys_at_the_apps_own_resources(app: str) -> None:
    code, out, _ = run(str(APPS / app), "--emit-config", "-")
    assert code == 0
    for probe in json.loads(out)["probes"]:
        for field, value in probe.items():
            assert not field.startswith("sentinel"), probe  # a sentinel is never the app's own: left out
            if field == "key" and isinstance(value, dict):
                assert set(value.values()) == {"__permission_canary__"}
            if field == "key" and isinstance(value, str):
                pytest.fail(f"an object key was taken from the code: {probe}")


def test_an_s3_probe_puts_its_sentinel_beside_the_objects_the_code_writes() -> None:
    assert "s3:PutObject" in PROBES
    code, out, _ = run(str(APPS / "self_storage"), "--emit-config", "-")
    probe = next(p for p in json.loads(out)["probes"] if p["action"] == "s3:PutObject")
    assert probe == {"action": "s3:PutObject", "bucket": "${ARCHIVE_BUCKET}", "prefix": "orders/"}


def test_importing_the_command_loads_no_heavy_module() -> None:
    """The CLI loads subcommands lazily; discover's own module must not pull rich, botocore or pydantic."""
    import subprocess
    import sys

    code = ("import sys, canary.cli.discover; "
            "print(sorted(m for m in ('rich', 'botocore', 'pydantic', 'boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_emit_config_to_an_unwritable_place_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(str(APPS / "story"), "--emit-config", str(tmp_path / "missing-dir" / "canary.json"))
    assert code == 2
    assert "cannot write" in err
