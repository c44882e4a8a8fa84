"""Show a report to a person (rich table) or a program (JSON). rich is imported only here."""

from __future__ import annotations

import json
import re
from typing import Any

from canary.classify import DENY_ADVICE

__all__ = ["to_json", "render_table", "render_explain", "summary_line", "OUTCOME_STYLE"]

OUTCOME_STYLE = {"ALLOWED": "bold green", "DENIED": "bold red", "ERROR": "bold yellow"}



def to_json(report: dict[str, Any], indent: int | None = 2) -> str:
    return json.dumps(report, indent=indent, sort_keys=False)


def summary_line(report: dict[str, Any]) -> str:
    s = report.get("summary", {})
    who = report.get("principal") or "unknown principal"
    return (f"{s.get('allowed', 0)} allowed, {s.get('denied', 0)} denied, {s.get('error', 0)} errors "
            f"in {report.get('duration_ms', 0)} ms — stage {report.get('stage')}, as {who}")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: Any) -> str:
    """Text from a config or AWS with control characters shown as `?`: an ESC in an S3 key must not drive the terminal."""
    return _CONTROL.sub("?", str(text))


def _detail(r: dict[str, Any]) -> str:
    if r["outcome"] == "DENIED":
        return f"{r.get('error_code')}: {r.get('deny_reason') or 'unknown'}"
    if r["outcome"] == "ERROR":
        t = " (transient)" if r.get("transient") else ""
        msg = (r.get("message") or "").splitlines()[0][:160] if r.get("message") else ""
        return f"{r.get('error_code')}{t}: {msg}"
    if r.get("error_code") == "ConditionalCheckFailedException":
        return "authorized; condition failed, nothing written"
    return f"authorized ({r['error_code']})" if r.get("error_code") else "authorized"


def advice(r: dict[str, Any], stage: str | None = None) -> str | None:
    """One plain sentence (plus the statement) on what to do about a non-ALLOWED row."""
    if r["outcome"] == "DENIED":
        reason = r.get("deny_reason")
        if r.get("remediation"):
            stmt = json.dumps(r["remediation"], indent=2)
            where = f".chalice/policy-{stage}.json" if stage else ".chalice/policy-<stage>.json"
            return f"No policy allows this. Add to the role's policy ({where}, or the stage's iam_policy_file):\n{stmt}"
        if reason in DENY_ADVICE and reason not in ("implicit", "unknown"):
            return DENY_ADVICE[reason][0].upper() + DENY_ADVICE[reason][1:] + "."
        stmt = json.dumps({"Effect": "Allow", "Action": r["action"], "Resource": r["resource"]}, indent=2)
        return ("AWS did not say which policy denied. Check for an explicit Deny (SCP, boundary, "
                f"resource policy); if there is none, grant:\n{stmt}")
    if r["outcome"] == "ERROR":
        if r.get("transient"):
            return "Transient (throttling, 5xx, timeout or network): not a permission problem; retried already."
        return "Not a permission verdict: fix the resource or config named above (missing table, unverified identity…)."
    return None


def render_table(report: dict[str, Any], console: Any | None = None) -> None:
    """One row per probe, outcome coloured; then, for each probe that is not ALLOWED, what to do."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = console or Console()
    # Every text from the config or AWS goes in as Text, never as a markup string: an id or an AWS
    # message holding "[/x]" or ":smile:" prints literally (and cannot crash rich's markup parser).
    table = Table(title=Text(f"Permission canary — stage {report.get('stage')}"), title_justify="left")
    table.add_column("outcome", no_wrap=True)
    table.add_column("probe", overflow="fold")
    table.add_column("action", no_wrap=True)
    table.add_column("detail", overflow="fold")
    results = report.get("results", [])
    for r in results:
        table.add_row(Text(str(r["outcome"]), style=OUTCOME_STYLE.get(r["outcome"], "")), Text(_plain(r["id"])),
                      Text(_plain(r["action"])), Text(_plain(_detail(r))))
    con.print(table)
    for r in results:
        tip = advice(r, report.get("stage"))
        if tip:
            con.print(Text(_plain(f"{r['outcome']} {r['id']}"), style=OUTCOME_STYLE.get(r["outcome"], "")),
                      Text(_plain(f"({r['action']} on {r.get('resource') or '?'})")))
            con.print(Text("  " + "\n  ".join(_plain(line) for line in tip.split("\n"))), soft_wrap=True)
    ok = report.get("ok")
    con.print(Text(("OK: " if ok else "NOT OK: ") + summary_line(report), style="green" if ok else "red"))


def render_explain(calls: list[dict[str, Any]], console: Any | None = None) -> None:
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.text import Text

    con = console or Console()
    for c in calls:
        con.print(Text.assemble((str(c["id"]), "bold"), f"  {c['action']}  →  {c['service']}.{c['operation']}"))
        con.print(Text(f"  resource: {c['resource']}"))
        con.print(Text(f"  harmless: {c['why_harmless']}"))
        if c.get("proof"):
            con.print(Text(f"  proof:    {c['proof']}"))
        con.print(Syntax(json.dumps(c["params"], indent=2, default=_bytes), "json", theme="ansi_dark"))


def _bytes(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace")
    raise TypeError(type(v).__name__)
