"""`check-policy`: say, from files alone, which probes a stage's policy grants.

This is the before-deploy half of the story in DESIGN.md: the same probes the runtime canary sends,
checked against the policy document chalice will deploy, so a missing `dynamodb:UpdateItem` fails CI
instead of production. The remediation printed for a missing grant is built by the same function as
the runtime canary's, so both say exactly the same thing.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from canary.cli._common import DEFAULT_CONFIG, fail_on_canary_error, load_cli_config

__all__ = ["check_policy", "build_report"]

_ACCOUNT = re.compile(r"^(\d{12}|\*)$")
_REGION = re.compile(r"^([a-z]{2}(-[a-z]+)+-\d+|\*)$")
VERDICT_STYLE = {"GRANTED": "bold green", "NOT_GRANTED": "bold red", "EXPLICITLY_DENIED": "bold red",
                 "CONDITIONAL": "bold yellow", "UNRESOLVED": "bold yellow"}


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _check_region(_: click.Context, __: click.Parameter, value: str) -> str:
    if not _REGION.match(value):
        raise click.BadParameter(f"{value!r} is not an AWS region (e.g. us-east-1) or '*'")
    return value


def _check_account(_: click.Context, __: click.Parameter, value: str) -> str:
    if not _ACCOUNT.match(value):
        raise click.BadParameter(f"{value!r} is not a 12-digit AWS account ID or '*'")
    return value


def build_report(config: Any, policy: dict[str, Any], policy_source: str, *, region: str = "*",
                 account: str = "*", stage: str | None = None) -> dict[str, Any]:
    """Evaluate every probe and lint the policy; return the JSON report `check-policy` prints."""
    from canary.classify import remediation
    from canary.policy import check_config, lint
    from canary.probes import Target, grant_resources

    target = Target(region=region, account=account, partition=_partition(region))
    verdicts = check_config(config, policy, target)
    warnings = lint(policy, used_actions=[p.action for p in config.probes])
    results = []
    for params, v in zip(config.probes, verdicts):
        row = v.to_dict()
        row["remediation"] = (remediation(v.action, grant_resources(params, target))
                              if v.decision.verdict == "NOT_GRANTED" else None)
        results.append(row)
    counts = {k: sum(r["verdict"] == k for r in results)
              for k in ("GRANTED", "NOT_GRANTED", "EXPLICITLY_DENIED", "CONDITIONAL")}
    assumptions = []
    if region == "*":
        assumptions.append("region: any (no --region); a policy's region is assumed to be the probe's")
    if account == "*":
        assumptions.append("account: any (no --account); a policy's account is assumed to be the probe's")
    return {
        "ok": counts["NOT_GRANTED"] == 0 and counts["EXPLICITLY_DENIED"] == 0,
        "policy": policy_source, "stage": stage, "region": region, "account": account,
        "assumptions": assumptions,
        "summary": {k.lower(): n for k, n in counts.items()},
        "results": results,
        "warnings": [w.to_dict() for w in warnings],
        "limits": "identity policy only: SCPs, permissions boundaries, session and resource policies are not "
                  "considered, and conditions are not evaluated",
    }


def _advice(r: dict[str, Any], policy_source: str) -> str | None:
    if r["verdict"] == "NOT_GRANTED":
        return (f"{r['reason']}.\nAdd to {policy_source}:\n" + json.dumps(r["remediation"], indent=2))
    if r["verdict"] == "EXPLICITLY_DENIED":
        return (f"{r['reason']}. Remove or narrow that Deny; adding an Allow will not help.")
    if r["verdict"] == "CONDITIONAL":
        return (f"{r['reason']}. The runtime canary proves whether it holds for the deployed role.")
    return None


def render_table(report: dict[str, Any]) -> None:
    """Print the report for a person: one row per probe, then what to do, then the lint warnings."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console()
    where = f"{report['policy']}" + (f" (stage {report['stage']})" if report.get("stage") else "")
    region = "any (pass --region)" if report["region"] == "*" else report["region"]
    account = "any (pass --account)" if report["account"] == "*" else report["account"]
    con.print(Text(f"Policy {where} · region {region} · account {account}"), soft_wrap=True)
    table = Table(title="check-policy (offline, identity policy only)", title_justify="left")
    table.add_column("verdict", no_wrap=True)
    table.add_column("probe", overflow="fold")
    table.add_column("action", no_wrap=True)
    table.add_column("statement", overflow="fold")
    for r in report["results"]:
        table.add_row(Text(r["verdict"], style=VERDICT_STYLE[r["verdict"]]), Text(r["id"]), Text(r["action"]),
                      Text(r["statement"] or "-"))  # Text: a Sid like "[x]" is not rich markup
    con.print(table)
    for r in report["results"]:
        tip = _advice(r, report["policy"])
        if tip:
            label = "warning: " if r["verdict"] == "CONDITIONAL" else ""
            con.print(Text(f"{label}{r['verdict']} {r['id']}", style=VERDICT_STYLE[r["verdict"]]))
            con.print(Text("  " + tip.replace("\n", "\n  ")), soft_wrap=True)
    for w in report["warnings"]:
        con.print(Text(f"lint[{w['code']}] {w['statement'] or ''}: {w['message']}", style="yellow"), soft_wrap=True)
    s = report["summary"]
    line = (f"{s['granted']} granted, {s['not_granted']} not granted, {s['explicitly_denied']} explicitly denied, "
            f"{s['conditional']} conditional; {len(report['warnings'])} lint warning(s)")
    con.print(Text(("OK: " if report["ok"] else "NOT OK: ") + line, style="green" if report["ok"] else "red"),
              soft_wrap=True)


def _config_path(config_path: str | None, project_dir: str) -> str | None:
    if config_path or os.environ.get("CANARY_CONFIG") or project_dir in ("", "."):
        return config_path
    return str(Path(project_dir) / DEFAULT_CONFIG)


@click.command("check-policy")
@click.option("--config", "-c", "config_path", metavar="FILE", default=None,
              help=f"Probe config (JSON or YAML). Default: the stage's CANARY_CONFIG (with --stage), "
                   f"else $CANARY_CONFIG, else ./{DEFAULT_CONFIG}.")
@click.option("--policy", "-p", "policy_path", metavar="FILE", default=None,
              help="IAM policy document to check (JSON).")
@click.option("--stage", "-s", metavar="STAGE", default=None,
              help="Chalice stage: checks the policy file chalice deploys for it, and fills ${VAR} from its "
                   "environment_variables.")
@click.option("--region", default="*", show_default=True, callback=_check_region,
              help="Region for the probe ARNs; '*' means any.")
@click.option("--account", default="*", show_default=True, callback=_check_account,
              help="Account ID for the probe ARNs; '*' means any.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 on lint warnings too.")
@click.option("--project-dir", default=".", show_default=True, metavar="DIR",
              help="The Chalice project (for --stage: .chalice/config.json).")
@fail_on_canary_error
def check_policy(config_path: str | None, policy_path: str | None, stage: str | None, region: str, account: str,
                 fmt: str, strict: bool, project_dir: str) -> None:
    """Offline: which probes a policy file grants (identity policy only, conditions not evaluated).

    Give --policy FILE, or --stage S to check what chalice deploys for that stage
    (.chalice/config.json: iam_policy_file, else .chalice/policy-S.json; with autogen_policy on,
    the policy chalice would generate from app.py, exactly as `discover --check` does).

    Exit: 0 all granted (CONDITIONAL included, with a warning), 1 any NOT_GRANTED or
    EXPLICITLY_DENIED (or, with --strict, any lint warning), 2 usage/config error or a policy document
    IAM would reject (a Principal in an identity policy, Action without Resource, ...).
    """
    from canary.policy import load_policy

    if not policy_path and not stage:
        raise click.UsageError("give --policy FILE, or --stage S to check the policy file chalice deploys for S")
    if policy_path:
        source = policy_path
        policy = load_policy(source)
    else:
        from pathlib import Path

        from canary.discover._check import stage_policy_document

        assert stage is not None
        policy, source = stage_policy_document(Path(project_dir), stage)
        from canary.discover._check import ignored_policy_note

        note = ignored_policy_note(Path(project_dir), stage)
        if note:
            click.echo(note, err=True)
    from canary.policy import require_attachable

    require_attachable(policy, source)  # a document IAM would reject grants nothing: exit 2, with the fix
    config = load_cli_config(_config_path(config_path, project_dir), stage, project_dir)
    report = build_report(config, policy, source, region=region, account=account, stage=stage)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        render_table(report)
    if not report["ok"] or (strict and report["warnings"]):
        sys.exit(1)
