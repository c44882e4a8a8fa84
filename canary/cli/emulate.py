"""`emulate`: rehearse a stage offline on the embedded AWS emulator (a thin shell over canary.emulate)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from canary.cli._common import fail_on_canary_error, load_cli_config
from canary.cli.policy import _check_account, _check_region, _partition

__all__ = ["emulate"]


def _role_name(project_dir: Path, stage: str) -> str:
    """The stage's role name: from iam_role_arn, else chalice's default `<app_name>-<stage>`."""
    try:
        cfg = json.loads((project_dir / ".chalice" / "config.json").read_text(encoding="utf-8-sig"))
        st = (cfg.get("stages") or {}).get(stage) or {}
        arn = st.get("iam_role_arn") or cfg.get("iam_role_arn")
        if arn:
            return str(arn).rsplit("/", 1)[-1][:64]
        return f"{cfg.get('app_name') or 'api'}-{stage}"[:64]
    except (OSError, ValueError, AttributeError):
        return f"api-{stage}"


@click.command()
@click.option("--stage", "-s", metavar="STAGE", required=True,
              help="Chalice stage: its policy, its environment_variables (${VAR}) and its CANARY_CONFIG.")
@click.option("--project-dir", default=".", show_default=True, metavar="DIR", help="The Chalice project.")
@click.option("--config", "-c", "config_path", metavar="FILE", default=None,
              help="Probe config. Default: the stage's CANARY_CONFIG, else ./canary.json.")
@click.option("--policy", "-p", "policy_path", metavar="FILE", default=None,
              help="IAM policy to rehearse with. Default: what chalice deploys for the stage (as check-policy --stage).")
@click.option("--region", default="*", show_default=True, callback=_check_region,
              help="Region for the offline resource decisions (as check-policy); '*' means any.")
@click.option("--account", default="*", show_default=True, callback=_check_account,
              help="Account for the offline resource decisions (as check-policy); '*' means any.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default=None,
              help="Output format. Default: table on a terminal, json otherwise.")
@click.option("--show-policy", is_flag=True, help="Also print the translated policy moto receives.")
@fail_on_canary_error
def emulate(stage: str, project_dir: str, config_path: str | None, policy_path: str | None, region: str,
            account: str, fmt: str | None, show_policy: bool) -> None:
    """Rehearse offline: the AWS emulator with the stage's own policy, resources and role.

    Starts moto on 127.0.0.1 with IAM checks on, creates the resources and sentinels the probe config
    names, creates the API's role with the stage's policy (translated: moto checks action names only,
    so each probe's resource is decided offline first, exactly as check-policy does), assumes it
    through STS and runs the canary. Needs no AWS account.

    Exit: 0 all allowed, 1 any denied, 3 errors but none denied, 2 usage/config error.
    """
    from canary.emulate import LIMITS, policy_json, rehearse
    from canary.model import exit_code
    from canary.probes import Target

    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # the emulator is self-contained: no profile of the shell's
        os.environ.pop(k, None)
    root = Path(project_dir)
    if policy_path:
        from canary.policy import load_policy

        policy: Any = load_policy(policy_path)
        source = policy_path
    else:
        from canary.discover._check import stage_policy_document

        policy, source = stage_policy_document(root, stage)
        from canary.discover._check import ignored_policy_note

        note = ignored_policy_note(root, stage)
        if note:
            click.echo(note, err=True)
    config = load_cli_config(config_path, stage, project_dir)
    target = Target(region=region, account=account, partition=_partition(region))
    try:
        result = rehearse(config, policy, stage=stage, role_name=_role_name(root, stage), target=target,
                          region="us-east-1" if region == "*" else region)
    except ImportError as exc:
        click.echo(f"error: emulate needs the embedded AWS emulator (moto): install the CLI with its demo extra, "
                   f"e.g. pip install '/path/to/chalice-permission-canary[demo]' ({exc})", err=True)
        sys.exit(2)
    data = result.report.to_dict()
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        click.echo(json.dumps({**data, "emulator": {
            "policy": source, "role": result.role_arn, "resources": result.resources, "rounds": result.rounds,
            "offline_verdicts": result.translation.verdicts, "notes": list(result.translation.notes),
            "limits": LIMITS}}, indent=2))
    else:
        from canary.render import render_table

        click.echo(f"Emulator on 127.0.0.1 · policy {source} (stage {stage}) · role {result.role_arn}")
        for line in result.resources:
            click.echo(f"  {line}")
        click.echo(f"Limits: {LIMITS}.")
        for note in result.translation.notes:
            click.echo(f"note: {note}")
        if result.rounds > 1:
            click.echo(f"note: ran in {result.rounds} rounds, one policy each: an action is granted on some probes' "
                       "resources and not on others', which one \"*\" statement cannot say")
        render_table(data)
    if show_policy:
        click.echo(policy_json(result.translation), err=fmt == "json")
    sys.exit(exit_code(result.report))
