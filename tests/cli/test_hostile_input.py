"""Hostile input at the command line: one line on stderr and exit 2, never a traceback, never exit 1.

Exit 1 means DENIED, so a crash that exits 1 is a wrong verdict. These run the real CLI in a
subprocess with no AWS at all: each case fails before any request (the profile, the region, the
config), which is the point.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore import exceptions as bex

from canary.cli._common import aws_setup_error
from canary.render import render_explain, render_table

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bad_configs"
GOOD = {"probes": [{"id": "get", "action": "dynamodb:GetItem", "table": "listings-dev",
                    "key": {"pk": "__permission_canary__"}}]}


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    empty = cwd / "empty-aws-config"
    empty.write_text("")
    isolated = {"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty),
                "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], env={**base, **isolated, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_line_exit_2(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "canary.json").write_text(json.dumps(GOOD))
    return tmp_path


def test_run_with_a_missing_aws_profile_is_one_line_and_exit_2(project: Path) -> None:
    p = cli(["run", "--no-publish", "--format", "json"],
            {"AWS_PROFILE": "no-such-profile", "AWS_REGION": "eu-west-1"}, project)
    assert one_line_exit_2(p) == ("error: AWS profile 'no-such-profile' not found (AWS_PROFILE names it): "
                                  "add it to ~/.aws/config, or unset AWS_PROFILE")
    assert p.stdout == ""


def test_run_without_a_region_is_one_line_naming_aws_region(project: Path) -> None:
    p = cli(["run", "--no-publish", "--format", "json"],
            {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}, project)
    assert one_line_exit_2(p) == "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region"


def test_run_with_a_malformed_region_option_is_a_usage_error(project: Path) -> None:
    p = cli(["run", "--no-publish", "--region", "[bold]eu west"], {}, project)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "'[bold]eu west' is not an AWS region name (e.g. eu-west-1)" in p.stderr


@pytest.mark.parametrize("name", ["yaml-alias-bomb.yaml", "yaml-recursive-alias.yaml", "long-integer.json",
                                  "yaml-long-integer.yaml", "yaml-duplicate-key.yaml", "id-markup.json",
                                  "placeholder-fill-me.json"])
def test_run_refuses_hostile_configs_with_one_line(project: Path, name: str) -> None:
    p = cli(["run", "--config", str(FIXTURES / name), "--no-publish"], {"AWS_REGION": "eu-west-1"}, project)
    assert one_line_exit_2(p).startswith(f"error: {FIXTURES / name}: ")


def test_validate_refuses_a_file_over_the_size_limit(project: Path) -> None:
    big = project / "big.json"
    big.write_text('{"probes": [], "pad": "' + "x" * (1 << 20) + '"}')
    p = cli(["validate", "--config", str(big)], {}, project)
    assert one_line_exit_2(p) == (f"error: {big}: larger than 1024 KiB; a probe config is a few KiB "
                                  "(is it the right file?)")


# -- rich output: text from the config or AWS prints literally --------------------------------------

MARKUP = "[/x] [bold]x[/bold] :smile: [link=http://evil]y[/link]"


def _report(**result: object) -> dict[str, object]:
    row = {"id": "get", "action": "dynamodb:GetItem", "resource": "arn:aws:dynamodb:eu-west-1:1:table/t-1",
           "outcome": "ERROR", "deny_reason": None, "error_code": "InternalError", "message": MARKUP,
           "transient": False, "duration_ms": 1, "attempts": 1, "remediation": None}
    row.update(result)
    return {"ok": False, "stage": "[/stage]", "started_at": "2026-01-01T00:00:00Z", "duration_ms": 1,
            "principal": "[red]arn[/red]", "summary": {"allowed": 0, "denied": 0, "error": 1}, "results": [row]}


def _console() -> tuple[object, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    return Console(file=out, width=400, color_system=None), out


@pytest.mark.parametrize("field", ["id", "action", "message", "resource", "error_code"])
def test_table_prints_markup_from_any_field_literally(field: str) -> None:
    console, out = _console()
    render_table(_report(**{field: MARKUP}), console)
    text = out.getvalue()
    assert MARKUP in text, text
    assert "[/stage]" in text and "[red]arn[/red]" in text


def test_explain_prints_markup_literally() -> None:
    console, out = _console()
    render_explain([{"id": "[/x]", "action": "[bold]", "service": "dynamodb", "operation": "get_item",
                     "params": {"Key": MARKUP}, "resource": MARKUP, "why_harmless": ":smile: [/y]"}], console)
    text = out.getvalue()
    assert "[/x]" in text and "[bold]" in text and f"resource: {MARKUP}" in text and ":smile: [/y]" in text


# -- which boto errors are setup mistakes ------------------------------------------------------------

@pytest.mark.parametrize(("exc", "code"), [
    (bex.ProfileNotFound(profile="p"), 2),
    (bex.NoRegionError(), 2),
    (bex.NoCredentialsError(), 2),
    (bex.InvalidRegionError(region_name="x y"), 2),
    (bex.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), 3),
    (bex.ClientError({"Error": {"Code": "AccessDenied", "Message": "line1\nline2"}}, "GetCallerIdentity"), 3),
])
def test_boto_errors_map_to_one_line_and_never_exit_1(exc: Exception, code: int) -> None:
    found = aws_setup_error(exc)
    assert found is not None
    assert found[0] == code and "\n" not in found[1]


def test_other_errors_are_not_swallowed() -> None:
    assert aws_setup_error(ValueError("x")) is None


def test_validate_shows_control_characters_in_a_resource_escaped(project: Path) -> None:
    (project / "c.json").write_text(json.dumps({"probes": [
        {"id": "get", "action": "s3:GetObject", "bucket": "uploads-dev", "key": "a\x1b[31mred\x07"}]}))
    p = cli(["validate", "--config", "c.json"], {}, project)
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    assert "uploads-dev/a\\x1b[31mred\\x07" in p.stdout


def test_control_characters_from_aws_or_config_never_reach_the_terminal() -> None:
    import io

    from rich.console import Console

    report = {"stage": "dev", "results": [{"id": "s3-\x1b[2Jwipe", "action": "s3:GetObject", "outcome": "ERROR",
                                           "resource": "arn:aws:s3:::b/\x1b]0;title\x07k", "error_code": "X",
                                           "message": "bad\x1b[31m red", "transient": False}]}
    out = io.StringIO()
    render_table(report, console=Console(file=out, width=200, color_system=None))
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "s3-?[2Jwipe" in out.getvalue()


def test_a_region_from_the_environment_that_is_not_a_region_is_one_line_and_exit_2(tmp_path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "c.json").write_text('{"probes": [{"action": "dynamodb:GetItem", "table": "abc", "key": {"pk": "x"}}]}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1.evil.com", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    p = subprocess.run([sys.executable, "-m", "canary.cli", "run", "--config", str(tmp_path / "c.json")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2 and "not an AWS region name" in p.stderr and "Traceback" not in p.stderr
