"""`demo`: the whole story on an embedded AWS emulator."""

from __future__ import annotations

import sys

import click

__all__ = ["demo"]


@click.command()
@click.option("--workdir", metavar="DIR", default=None,
              help="Where to write the demo's config and policy files (default: a new temp directory).")
def demo(workdir: str | None) -> None:
    """Show the incident, the canary catching it, and the fix, on a local moto server.

    Needs no AWS account: everything runs on 127.0.0.1. Exit 0 when the story played out as
    expected (the missing permissions DENIED, then all ALLOWED after the fix).
    """
    try:
        from canary.demo import run_demo
    except ImportError as exc:
        raise click.ClickException(f"the demo needs moto: pip install 'chalice-permission-canary[demo]' ({exc})")
    sys.exit(run_demo(workdir=workdir))
