"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from canary.errors import CanaryError

__all__ = ["config_options", "load_cli_config", "fail_on_canary_error", "is_tty", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "canary.json"
F = TypeVar("F", bound=Callable[..., Any])


def fail_on_canary_error(fn: F) -> F:
    """Turn a CanaryError into `error: <message>` on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CanaryError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def config_options(fn: F) -> F:
    """--config and --stage, as every command that reads a probe config takes them."""
    fn = click.option("--stage", "-s", metavar="STAGE",
                      help="Chalice stage: loads its environment_variables from .chalice/config.json for ${VAR}.")(fn)
    fn = click.option("--config", "-c", "config_path", metavar="FILE", default=None,
                      help=f"Probe config (JSON or YAML). Default: the stage's CANARY_CONFIG (with --stage), "
                           f"else $CANARY_CONFIG, else ./{DEFAULT_CONFIG}.")(fn)
    return fn


def resolve_config_path(config_path: str | None) -> Path:
    return Path(config_path or os.environ.get("CANARY_CONFIG") or DEFAULT_CONFIG)


def load_cli_config(config_path: str | None, stage: str | None, project_dir: str = ".") -> Any:
    """Load the config as the Lambda would see it: the stage's environment_variables win over the shell's.

    `${STAGE}` is the stage name unless the stage's own variables define STAGE.
    """
    from canary.config import load_config, stage_environment

    env: dict[str, str] = dict(os.environ)
    if stage:
        env["STAGE"] = stage
        env.update(stage_environment(project_dir, stage))
    if config_path is None and stage and env.get("CANARY_CONFIG"):
        # The stage names its config as the Lambda sees it (relative to the app's root).
        config_path = str(Path(project_dir) / env["CANARY_CONFIG"])
    return load_config(resolve_config_path(config_path), env=env)


def is_tty() -> bool:
    return sys.stdout.isatty()


