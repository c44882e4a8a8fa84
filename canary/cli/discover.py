"""Run `permission-canary discover`: the AWS calls an app makes, what to probe, and what the policy lacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from canary.cli._common import fail_on_canary_error

__all__ = ["discover"]


def _t(text: str, style: str = "") -> Any:
    """User data as plain text: no rich markup, no emoji codes (`:secret:` stays `:secret:`)."""
    from rich.text import Text

    return Text(text, style=style)


def _render_table(discovery: Any, console: Any) -> None:
    from rich.table import Table

    from canary.probes import PROBES

    where = f"stage {discovery.stage}" if discovery.stage else "no stage (environment variables unresolved)"
    table = Table(title=_t(f"AWS calls in {discovery.app_dir} — {where}"), title_justify="left")
    table.add_column("action", style="bold")
    table.add_column("resource", overflow="fold")
    table.add_column("where")
    table.add_column("probe")
    for f in discovery.findings:
        res = f.resource + (f"  ? = {', '.join(f.unresolved)}" if f.unresolved else "")
        if f.not_in_stage:
            res += f"  (not in this stage: {f.not_in_stage})"
        action = f.action or f"{f.service}.{f.operation} " + ("(no IAM grant needed)" if f.needs_no_grant
                                                               else "(no IAM action known)")
        table.add_row(_t(action), _t(res), _t(f.location), _t("yes" if f.action in PROBES else "-"))
    console.print(table)
    if not discovery.findings:
        console.print(_t("No AWS calls found."))
    for w in discovery.warnings:
        console.print(_t(f"warning: {w}", "yellow"), soft_wrap=True)


def _row_line(r: Any) -> str:
    line = f"  {r.finding.action} on {r.resource} ({r.finding.location}): {r.verdict} — {r.reason}"
    if len(r.candidates) > 1:
        line += "\n" + "\n".join(f"      candidate {c}: {v}" for c, v in r.candidates)
    return line


def _render_check(result: Any, console: Any, strict: bool) -> None:
    say = lambda text, style="": console.print(_t(text, style), soft_wrap=True)  # noqa: E731
    if result.gaps:
        say(f"GAP: {result.policy_source} does not grant what the code calls:", "bold red")
        for g in result.gaps:
            say(_row_line(g))
        stmts = result.statements()
        if stmts:
            say("Statements to add:")
            say(json.dumps(stmts, indent=2))
        if any(g.verdict == "EXPLICITLY_DENIED" for g in result.gaps):
            say("An explicit Deny cannot be overridden by an Allow: remove or narrow the Deny.")
    fill = result.to_fill()
    if fill:
        say("To fill in (the source tells only part of these resources, or names a placeholder; no statement is "
            "guessed for them):")
        for r in fill:
            say(f"  {r.finding.action} at {r.finding.location}: {r.resource} — fill in: {'; '.join(r.to_fill)}")
    if result.unresolved:
        say(f"UNRESOLVED ({'fails with --strict' if not strict else 'fails: --strict'}): the policy grants "
            "some but not all values these calls may touch:", "bold yellow")
        for r in result.unresolved:
            say(_row_line(r))
    for w in result.warnings:
        say(f"  warning: {w.finding.action} ({w.finding.location}): {w.verdict} — {w.reason}", "yellow")
    # The calls listed apart, never as gaps: (heading, style, findings, what names a call, why).
    apart: list[tuple[str, str, list[Any], Callable[[Any], str], Callable[[Any], Any]]] = [
        ("Not in this stage (never run with this stage's settings; not checked):", "", result.not_in_stage,
         lambda f: f.action or f.operation, lambda f: f.not_in_stage),
        ("Not under this stage's role (the client has its own credentials, or a non-AWS endpoint; not checked):",
         "", result.own_credentials, lambda f: f.action or f.operation, lambda f: f.own_credentials),
        ("No IAM permission needed:", "", result.no_grant_needed,
         lambda f: f"{f.service}.{f.operation}", lambda f: f.note),
        ("Not mapped to an IAM action (check by hand):", "yellow", result.unmapped,
         lambda f: f"{f.service}.{f.operation}", lambda f: f.note),
        ("Not mapped to an IAM action, but the policy allows every action of the service on every resource:", "",
         result.unmapped_granted, lambda f: f"{f.service}.{f.operation}", lambda f: f.note),
    ]
    for heading, style, findings, name, why in apart:
        if findings:
            say(heading, style)
            for f in findings:
                say(f"  {name(f)} at {f.location}: {why(f)}")
    n = len(result.gaps)
    cond = sum(1 for w in result.warnings if w.finding.advisory is None)
    advisories = len(result.warnings) - cond
    summary = (f"{result.checked} checked: {len(result.granted)} granted, {n} not granted, "
               f"{len(result.unresolved)} unresolved, {cond} conditional, "
               f"{len(result.not_in_stage)} not in this stage"
               + (f", {advisories} warning{'s' if advisories > 1 else ''}" if advisories else ""))
    if n:
        say(f"NOT OK: {summary}", "bold red")
    elif strict and result.unresolved:
        say(f"NOT OK (--strict): {summary}", "bold red")
    else:
        say(f"OK: {result.policy_source} grants every call it can be checked on; {summary}", "bold green")


@click.command("discover")
@click.argument("app_dir", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--stage", "-s", metavar="STAGE", default=None,
              help="Stage whose environment_variables resolve names (default: dev when the project has it).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "sarif"]), default="table", show_default=True,
              help="sarif (with --check): SARIF 2.1.0 for code scanning, each gap on the line of its call.")
@click.option("--emit-config", "emit", metavar="FILE", default=None,
              help="Write a probe config skeleton for every probed action found ('-' for stdout).")
@click.option("--check", "do_check", is_flag=True,
              help="Compare with the policy the stage deploys; exit 1 on a gap and print the statements to add.")
@click.option("--strict", is_flag=True, help="With --check: exit 1 on UNRESOLVED calls too.")
@click.option("--region", default="*", help="Region for the ARNs (default: any region, written *).")
@click.option("--account", default="*", help="Account id for the ARNs (default: any account, written *).")
@fail_on_canary_error
def discover(app_dir: Path, stage: str | None, fmt: str, emit: str | None, do_check: bool, strict: bool,
             region: str, account: str) -> None:
    """Find the AWS calls in APP_DIR's app.py, chalicelib/ and the modules they import.

    Reads the source with Python's ast (nothing is imported or run), names each call's IAM action
    from botocore's models, and resolves resource names from the stage's environment variables.
    With --check, each call is GRANTED, NOT_GRANTED (a gap) or UNRESOLVED (the source tells only part
    of the resource) against the policy the stage deploys; calls the stage never runs are listed apart.
    Exit codes: 0 found (and, with --check, no gap), 1 --check found a NOT_GRANTED or explicitly denied
    call (--strict: also an UNRESOLVED one), 2 usage error or a policy document IAM would reject.
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
    if fmt == "sarif" and not do_check:
        raise click.UsageError("--format sarif reports the --check verdicts; add --check")
    found = run_discover(app_dir, chosen, region=region, account=account)

    result = None
    if do_check:
        from canary.discover._check import check, stage_policy_document

        policy, source = stage_policy_document(app_dir, chosen)  # type: ignore[arg-type]
        from canary.discover._check import ignored_policy_note

        note = ignored_policy_note(app_dir, chosen)
        if note:
            click.echo(note, err=True)
        result = check(found, policy, source)

    config_text = None
    missing: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    if emit is not None:
        from canary.discover._emit import emit_config, left_out, not_probed

        config_text = json.dumps(emit_config(found), indent=2) + "\n"
        skipped = left_out(found)
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
        for k in skipped:
            click.echo(f"left out {k['action']} at {k['location']} ({k['resource']}): fill in "
                       f"{'; '.join(k['fill_in'])}", err=True)
    elif fmt == "sarif":
        from canary import __version__
        from canary.discover._sarif import sarif

        click.echo(json.dumps(sarif(result, app_dir, __version__, found.warnings), indent=2))
    elif fmt == "json":
        out = found.to_dict()
        if emit is not None:
            out["emitted_config"] = emit
            out["not_probed"] = missing
            out["left_out"] = skipped
        if result is not None:
            out["check"] = result.to_dict()
        click.echo(json.dumps(out, indent=2))
    else:
        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 160, emoji=False, highlight=False,
                          markup=False)
        _render_table(found, console)
        if emit is not None:
            n = config_text.count('"action"') if config_text else 0
            console.print(_t(f"Wrote {n} probe(s) to {emit}." + (" The config needs at least one probe to run: add "
                                                                   "the ones listed below by hand." if n == 0 else "")),
                          soft_wrap=True)
            for m in missing:
                console.print(_t(f"  {m['action']}: {m['reason']} ({', '.join(m['locations'])})"), soft_wrap=True)
            if skipped:
                console.print(_t("Left out (the source does not tell a required field; add these probes by hand):"))
            for k in skipped:
                console.print(_t(f"  {k['action']} at {k['location']} ({k['resource']}): fill in "
                                 f"{'; '.join(k['fill_in'])}"), soft_wrap=True)
        if result is not None:
            _render_check(result, console, strict)
    if result is not None and (not result.ok or (strict and not result.strict_ok())):
        sys.exit(1)
