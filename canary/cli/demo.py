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
    import importlib.util

    try:
        missing = importlib.util.find_spec("moto") is None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        missing = True
    if missing:  # one line and exit 2 (usage), never a traceback or exit 1 (which means DENIED)
        click.echo("error: the demo needs the embedded AWS emulator (moto): install the CLI with its demo extra, "
                   "e.g. pip install '/path/to/chalice-permission-canary[demo]' (or `make demo` in a checkout)",
                   err=True)
        sys.exit(2)
    from canary.demo import run_demo

    sys.exit(run_demo(workdir=workdir))
