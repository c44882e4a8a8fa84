"""Run `permission-canary discover`: the AWS calls an app makes, what to probe, and what the policy lacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from canary.cli._common import fail_on_canary_error

__all__ = ["discover"]


def _render_table(discovery: Any, console: Any) -> None:
    from rich.table import Table

    from canary.probes import PROBES

    where = f"stage {discovery.stage}" if discovery.stage else "no stage (environment variables unresolved)"
    table = Table(title=f"AWS calls in {discovery.app_dir} — {where}", title_justify="left")
    table.add_column("action", style="bold")
    table.add_column("resource", overflow="fold")
    table.add_column("where")
    table.add_column("probe")
    for f in discovery.findings:
        res = f.resource + (f"  ? = {', '.join(f.unresolved)}" if f.unresolved else "")
        table.add_row(f.action, res, f.location, "yes" if f.action in PROBES else "-")
    console.print(table)
    if not discovery.findings:
        console.print("No AWS calls found.")


def _render_check(result: Any, console: Any) -> None:
    if result.ok:
        console.print(f"[bold green]OK[/]: {result.policy_source} grants all {result.checked} action/resource "
                      "pairs the code calls.", soft_wrap=True)
    else:
        console.print(f"[bold red]GAP[/]: {result.policy_source} does not grant what the code calls:",
                      soft_wrap=True)
        for g in result.gaps:
            console.print(f"  [bold]{g.finding.action}[/] on {g.finding.resource} ({g.finding.location}): "
                          f"{g.verdict} — {g.reason}", soft_wrap=True)
        stmts = result.statements()
        if stmts:
            console.print("Statements to add:")
            console.print(json.dumps(stmts, indent=2), markup=False, highlight=False)
        if any(g.verdict == "EXPLICITLY_DENIED" for g in result.gaps):
            console.print("An explicit Deny cannot be overridden by an Allow: remove or narrow the Deny.")
    for w in result.warnings:
        console.print(f"  [yellow]warning[/]: {w.finding.action} ({w.finding.location}): {w.verdict} — {w.reason}",
                      soft_wrap=True)


@click.command("discover")
@click.argument("app_dir", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--stage", "-s", metavar="STAGE", default=None,
              help="Stage whose environment_variables resolve names (default: dev when the project has it).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--emit-config", "emit", metavar="FILE", default=None,
              help="Write a probe config skeleton for every probed action found ('-' for stdout).")
@click.option("--check", "do_check", is_flag=True,
              help="Compare with the policy the stage deploys; exit 1 on a gap and print the statements to add.")
@click.option("--region", default="*", show_default=True, help="Region for the ARNs (default: any).")
@click.option("--account", default="*", show_default=True, help="Account id for the ARNs (default: any).")
@fail_on_canary_error
def discover(app_dir: Path, stage: str | None, fmt: str, emit: str | None, do_check: bool, region: str,
             account: str) -> None:
    """Find the AWS calls in APP_DIR's app.py, chalicelib/ and the modules they import.

    Reads the source with Python's ast (nothing is imported or run), names each call's IAM action
    from botocore's models, and resolves resource names from the stage's environment variables.
    Exit codes: 0 found (and, with --check, all granted), 1 --check found a gap, 2 usage error.
    """
    from canary.discover import default_stage
    from canary.discover import discover as run_discover

    if not app_dir.is_dir():
        raise click.UsageError(f"{app_dir}: no such directory; pass the Chalice project directory")
    if not (app_dir / "app.py").is_file():
        raise click.UsageError(f"{app_dir}: no app.py here; pass the Chalice project directory (the one with app.py)")
    chosen = stage or default_stage(app_dir)
    if do_check and chosen is None:
        raise click.UsageError("--check needs --stage S (the stage whose policy to compare with)")
    found = run_discover(app_dir, chosen, region=region, account=account)

    result = None
    if do_check:
        from canary.discover._check import check, stage_policy_document

        policy, source = stage_policy_document(app_dir, chosen)  # type: ignore[arg-type]
        result = check(found, policy, source)

    config_text = None
    missing: list[dict[str, Any]] = []
    if emit is not None:
        from canary.discover._emit import emit_config, not_probed

        config_text = json.dumps(emit_config(found), indent=2) + "\n"
        missing = not_probed(found)
        if emit != "-":
            try:
                Path(emit).write_text(config_text, encoding="utf-8")
            except OSError as exc:
                raise click.UsageError(f"--emit-config {emit}: cannot write: {exc.strerror or exc}") from None

    if emit == "-":
        click.echo(config_text, nl=False)
        for m in missing:
            click.echo(f"{m['action']}: {m['reason']} ({', '.join(m['locations'])})", err=True)
    elif fmt == "json":
        out = found.to_dict()
        if emit is not None:
            out["emitted_config"] = emit
            out["not_probed"] = missing
        if result is not None:
            out["check"] = result.to_dict()
        click.echo(json.dumps(out, indent=2))
    else:
        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 160)
        _render_table(found, console)
        if emit is not None:
            n = config_text.count('"action"') if config_text else 0
            console.print(f"Wrote {n} probe(s) to {emit}; fill every \"__FILL_ME__...\" value before use.")
            for m in missing:
                console.print(f"  {m['action']}: {m['reason']} ({', '.join(m['locations'])})", markup=False)
        if result is not None:
            _render_check(result, console)
    if result is not None and not result.ok:
        sys.exit(1)
