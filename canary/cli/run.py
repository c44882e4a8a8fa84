"""`run`, `validate` and `schema`: the engine's own commands."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import click

from canary.cli._common import config_options, fail_on_canary_error, load_cli_config, resolve_config_path

__all__ = ["run", "validate", "schema", "explain_calls"]


def explain_calls(config: Any, region: str | None) -> list[dict[str, Any]]:
    """The exact calls the probes would make, built without any network access."""
    from canary.probes import Target, build_call

    target = Target(region=region or "<region>", account="<account>")
    out = []
    for p in config.probes:
        c = build_call(p, target)
        out.append({"id": p.probe_id, "action": c.action, "service": c.service, "operation": c.operation,
                    "params": c.params, "resource": c.resource, "also_authorized_on": list(c.alt_resources),
                    "harmless_errors": sorted(c.harmless_errors), "why_harmless": c.why_harmless,
                    "proof": _proof(c)})
    return out


def _proof(c: Any) -> str:
    """What answer counts as ALLOWED for this call (the rule classify applies), in one sentence."""
    refused = ", ".join(sorted(c.harmless_errors))
    if c.must_fail:
        return (f"ALLOWED only on {refused}; a 2xx is an ERROR (the request is built to be refused, so a success "
                "would mean something changed)")
    fields = ", ".join(p if v is None else f"{p}={v}" for p, v in c.expect)
    ok = f"a 2xx carrying {fields}" if fields else "a 2xx"
    return f"ALLOWED on {ok}" + (f" or on {refused}" if refused else "") + "; a cut or garbled answer is an ERROR"


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)*-[0-9]+")


def _check_account(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{12}", value):
        raise click.BadParameter(f"{value!r} is not a 12-digit AWS account ID")
    return value


def _partition_of(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _check_region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A region name as AWS spells them (`eu-west-1`, `us-gov-west-1`), or a usage error (exit 2)."""
    if value is not None and not _REGION.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not an AWS region name (e.g. eu-west-1)")
    return value


@click.command()
@config_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default=None,
              help="Output format. Default: table on a terminal, json otherwise.")
@click.option("--no-publish", is_flag=True, help="Do not publish metrics.")
@click.option("--explain", is_flag=True, help="Print each probe's exact request and why it is harmless; send nothing.")
@click.option("--probe", "probe_ids", multiple=True, metavar="ID", help="Run only this probe (repeatable).")
@click.option("--region", default=None, callback=_check_region,
              help="AWS region. Default: standard boto3 resolution (AWS_REGION, profile).")
@click.option("--account", default=None, callback=_check_account, metavar="ACCOUNT",
              help="The 12-digit account the probed resources live in. Default: asked of STS, beside the probes; "
                   "giving it lets SQS and SNS probes build their URLs even when STS is slow or down.")
@fail_on_canary_error
def run(config_path: str | None, stage: str | None, fmt: str | None, no_publish: bool, explain: bool,
        probe_ids: tuple[str, ...], region: str | None, account: str | None) -> None:
    """Run the probes now with the ambient AWS credentials.

    Credentials and endpoint come from the standard boto3 chain (AWS_PROFILE, env vars, SSO,
    instance role); AWS_ENDPOINT_URL is honoured. Metrics go to the config's publisher: with
    "emf" the records are printed to stderr (CloudWatch extracts EMF only from Lambda logs).

    Exit: 0 all allowed, 1 any denied, 3 errors but none denied, 2 usage/config error.
    """
    env_region = _region()
    if region is None and env_region and not _REGION.fullmatch(env_region):
        raise click.BadParameter(f"{env_region!r} (from AWS_REGION / AWS_DEFAULT_REGION) is not an AWS region name "
                                 "(e.g. eu-west-1)", param_hint="--region")
    config = load_cli_config(config_path, stage).select(list(probe_ids) or None)
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if explain:
        calls = explain_calls(config, region or _region())
        if fmt == "json":
            from canary.render import _bytes

            click.echo(json.dumps(calls, indent=2, default=_bytes))
        else:
            from canary.render import render_explain

            render_explain(calls)
        return
    from canary.model import exit_code
    from canary.runner import run as run_probes

    progress = _progress(len(config.probes))
    try:
        report = run_probes(config, region=region, stage=stage or config.settings.stage,
                            on_result=progress.tick if progress else None,
                            account_arn=f"arn:{_partition_of(region or _region())}:iam::{account}:root"
                            if account else None)
    finally:
        if progress:
            progress.close()
    data = report.to_dict()
    if not no_publish:
        from canary.publishers import publish

        problem = publish(report, config.settings, stream=sys.stderr, region=region)
        if problem:
            click.echo(f"warning: {problem}", err=True)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        from canary.render import render_table

        render_table(data)
    sys.exit(exit_code(report))


class _Progress:
    """A one-line count on stderr while probes run (only on a terminal)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._write(f"probing {total} permission(s)…")

    def _write(self, text: str) -> None:
        sys.stderr.write("\r\x1b[2K" + text)
        sys.stderr.flush()

    def tick(self, result: Any) -> None:
        self.done += 1
        self._write(f"probing: {self.done}/{self.total} done (last: {result.id} {result.outcome.value})")

    def close(self) -> None:
        self._write("")


def _progress(total: int) -> _Progress | None:
    return _Progress(total) if sys.stderr.isatty() else None


@click.command()
@config_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@fail_on_canary_error
def validate(config_path: str | None, stage: str | None, fmt: str) -> None:
    """Validate a probe config and list what it would probe (no AWS calls).

    Exit: 0 valid, 2 invalid (the message names file, probe and field).
    """
    config = load_cli_config(config_path, stage)
    calls = explain_calls(config, _region())
    if fmt == "json":
        click.echo(json.dumps({"valid": True, "source": config.source,
                               "probes": [{k: c[k] for k in ("id", "action", "resource")} for c in calls]},
                              indent=2))
        return
    click.echo(f"{config.source}: valid, {len(calls)} probe(s)")
    for c in calls:
        # A resource holds config text (an S3 key may hold anything): no control character reaches the terminal.
        click.echo(f"  {c['id']:<32} {c['action']:<26} {_printable(c['resource'])}")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the probe config (for editors and CI validation)."""
    from canary.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
