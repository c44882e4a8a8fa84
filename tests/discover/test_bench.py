"""The synthetic project the benchmark runs discover on: its size, and that discover loses nothing in it."""

from __future__ import annotations

from pathlib import Path

from canary.discover import discover
from canary.discover._bench import CALLS_PER_MODULE, generate_project


def _lines(root: Path) -> int:
    return sum(p.read_text().count("\n") for p in root.rglob("*.py"))


def test_generate_project_writes_about_the_requested_number_of_lines(tmp_path: Path) -> None:
    root = generate_project(tmp_path / "p", 3000)
    assert (root / "app.py").is_file() and (root / ".chalice" / "config.json").is_file()
    assert 3000 <= _lines(root) <= 3000 + 600


def test_discover_finds_every_call_site_of_every_generated_module(tmp_path: Path) -> None:
    root = generate_project(tmp_path / "p", 2500)
    modules = sorted((root / "chalicelib").glob("mod*.py"))
    found = discover(root, "dev")
    sites = {(f.file, f.line) for f in found.findings}
    assert len(sites) == CALLS_PER_MODULE * len(modules)
    assert found.actions == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "s3:PutObject",
                             "sns:Publish", "sqs:SendMessage"]
    assert "arn:aws:dynamodb:*:*:table/table-0-dev" in {f.resource for f in found.findings}
