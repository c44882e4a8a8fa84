"""The `permission-canary` command line.

Subcommands load lazily (each lives in its own module), so `permission-canary run` does not pay for
the policy evaluator, the emulator or the Slack client. Every CanaryError becomes a one-line
message and exit code 2; nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from canary import __version__

__all__ = ["main", "COMMANDS"]

# name -> (module, attribute, one-line help). The only list of subcommands.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("canary.cli.run", "run", "Run the probes now with the ambient AWS credentials."),
    "validate": ("canary.cli.run", "validate", "Validate a probe config; print what it would probe."),
    "schema": ("canary.cli.run", "schema", "Print the JSON Schema of the probe config."),
    "check-policy": ("canary.cli.policy", "check_policy", "Offline: which probes a policy file grants."),
    "discover": ("canary.cli.discover", "discover", "Find the AWS calls an app makes; print a probe config."),
    "init": ("canary.cli.init", "init", "In an API's directory: embed the canary (a diff; --write applies it)."),
    "emulate": ("canary.cli.emulate", "emulate", "Rehearse offline: the AWS emulator with the stage's own policy and resources."),
    "deploy": ("canary.cli.deploy", "deploy", "Provision, chalice deploy, provision, then the invoke gate; any Chalice project."),
    "template": ("canary.cli.deploy", "template", "CloudFormation (topic, alarms, dashboard) to merge into chalice package."),
    "provision": ("canary.cli.deploy", "provision", "Create the topic and alarms through the API (chalice deploy users)."),
    "invoke": ("canary.cli.deploy", "invoke", "Run the deployed canary now: the post-deploy gate."),
    "notify": ("canary.cli.notify", "notify", "Render (and optionally post) the Slack message for an alarm."),
    "demo": ("canary.cli.demo", "demo", "The whole story on an embedded AWS emulator; no AWS account needed."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module, attr, _ = spec
        try:
            cmd = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise click.ClickException(f"command {name!r} is not available: {exc}") from None
        return cmd  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="permission-canary")
def cli() -> None:
    """Prove that a Chalice API's IAM role can do what its code needs.

    Exit codes: 0 all allowed / granted, 1 any denied / not granted, 3 errors but none denied,
    2 usage or config error.
    """


def main(argv: list[str] | None = None) -> Any:
    from canary.errors import CanaryError

    try:
        return cli.main(args=argv, prog_name="permission-canary", standalone_mode=True)
    except CanaryError as exc:  # pragma: no cover - commands convert these themselves
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
