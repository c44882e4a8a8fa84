"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from canary.errors import CanaryError

__all__ = ["config_options", "load_cli_config", "fail_on_canary_error", "aws_setup_error", "is_tty",
           "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "canary.json"
F = TypeVar("F", bound=Callable[..., Any])


def fail_on_canary_error(fn: F) -> F:
    """Turn a CanaryError into `error: <message>` on stderr and exit code 2 (no traceback).

    An AWS setup problem that boto raises before any probe runs (a missing profile, no region, no
    credentials) is the same kind of mistake and gets the same treatment; any other error from boto
    that escapes a command is one line and exit 3 (an error, never a verdict: exit 1 means DENIED).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CanaryError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except Exception as exc:
            found = aws_setup_error(exc)
            if found is None:
                raise
            code, message = found
            click.echo(f"error: {message}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


def _one_line(text: str) -> str:
    first = (text.strip().splitlines() or [""])[0]
    return "".join(c if c.isprintable() else "?" for c in first)[:300]


def aws_setup_error(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) for an exception from boto; None for anything else."""
    if not type(exc).__module__.startswith(("botocore", "boto3")):
        return None
    from botocore import exceptions as bex

    if isinstance(exc, bex.ProfileNotFound):
        profile = exc.kwargs.get("profile", "?")
        return 2, (f"AWS profile {_one_line(str(profile))!r} not found (AWS_PROFILE names it): "
                   "add it to ~/.aws/config, or unset AWS_PROFILE")
    if isinstance(exc, bex.NoRegionError):
        return 2, "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region"
    if isinstance(exc, (bex.InvalidRegionError, bex.InvalidConfigError, bex.NoCredentialsError,
                        bex.PartialCredentialsError, bex.CredentialRetrievalError, bex.UnknownServiceError)):
        return 2, f"AWS setup: {_one_line(str(exc))}"
    if isinstance(exc, (bex.BotoCoreError, bex.ClientError)):
        return 3, f"AWS: {_one_line(str(exc))}"
    return None


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


