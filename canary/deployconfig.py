"""Refuse a stage whose Chalice settings would deploy a broken canary, before anything is packaged.

`chalice package` accepts `"manage_iam_role": false` with no `iam_role_arn` and silently writes
`"Role": null`; it also ships whatever probe config is (or is not) there. Each check here raises
`DeployConfigError` with a message naming the file, the stage and the key. `guard_chalice_cli()`
runs the checks when the blueprint is imported by `chalice package` / `chalice deploy`, so the
plain chalice commands are safe too; inside Lambda it returns at once.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canary.errors import ConfigError, DeployConfigError

__all__ = ["StageDeploy", "check_stage", "guard_chalice_cli", "config_path_for", "clean_pycache",
           "DEFAULT_LAMBDA_CONFIG", "stage_account", "slack_settings", "slack_policy_document", "slack_policy_name"]

ACCOUNT = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
DEFAULT_LAMBDA_CONFIG = "chalicelib/canary.json"
SLACK_FUNCTION = "permission_canary_alarm_to_slack"
CANARY_FUNCTIONS = ("permission_canary", "permission_canary_invoke")


@dataclass(frozen=True)
class StageDeploy:
    """What a checked stage deploys: its probe config path, role, and the loaded config."""

    stage: str
    config_path: Path
    role_arn: str | None
    config: Any


def _layer(cfg: dict[str, Any], stage: str, function: str | None, key: str) -> Any:
    """Look a key up as chalice does: function in stage, then stage, then top level."""
    st = (cfg.get("stages") or {}).get(stage) or {}
    if function:
        fn = (st.get("lambda_functions") or {}).get(function) or {}
        if key in fn:
            return fn[key]
    if key in st:
        return st[key]
    return cfg.get(key)


def _env(cfg: dict[str, Any], stage: str, function: str) -> dict[str, str]:
    st = (cfg.get("stages") or {}).get(stage) or {}
    env: dict[str, str] = {}
    for layer in (cfg.get("environment_variables"), st.get("environment_variables"),
                  ((st.get("lambda_functions") or {}).get(function) or {}).get("environment_variables")):
        env.update({str(k): str(v) for k, v in (layer or {}).items()})
    return env


def config_path_for(project_dir: Path, env: dict[str, str]) -> Path:
    """Where the Lambda finds its probe config: `CANARY_CONFIG`, relative to the project (= /var/task)."""
    rel = env.get("CANARY_CONFIG") or DEFAULT_LAMBDA_CONFIG
    return project_dir / rel


def _check_role(cfg: dict[str, Any], where: str, stage: str, function: str | None) -> str | None:
    manage = _layer(cfg, stage, function, "manage_iam_role")
    arn = _layer(cfg, stage, function, "iam_role_arn")
    label = f"stage {stage!r}" + (f", function {function!r}" if function else "")
    if manage is False:
        if not arn or not str(arn).strip():
            raise DeployConfigError(
                f"{where}: {label}: \"manage_iam_role\": false needs \"iam_role_arn\" (the API's role ARN); "
                "it is missing or empty, and chalice would deploy the function with \"Role\": null")
        if not ROLE_ARN.match(str(arn)):
            raise DeployConfigError(f"{where}: {label}: \"iam_role_arn\" {arn!r} is not an IAM role ARN "
                                    "(arn:aws:iam::<12-digit account>:role/<name>)")
        return str(arn)
    return None


def _init_command(cfg: dict[str, Any], stage: str, root: Path) -> str:
    """The `init` command that adds the canary's stage keys; --account only where the stage cannot tell it."""
    account = "" if ROLE_ARN.match(str(_layer(cfg, stage, None, "iam_role_arn") or "")) else " --account <ACCOUNT>"
    return f"permission-canary init --stage {stage} --project-dir {root} --region <REGION>{account} --write"


def read_chalice_config(root: Path) -> dict[str, Any]:
    """`.chalice/config.json` as a dict; DeployConfigError naming the file when it is missing or not an object."""
    path = root / ".chalice" / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployConfigError(f"{path}: not found; run from the Chalice project directory or pass --project-dir") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployConfigError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise DeployConfigError(f"{path}: must be a JSON object")
    return data


def check_stage(project_dir: str | os.PathLike[str], stage: str) -> StageDeploy:
    """Check one stage of a Chalice project; raise DeployConfigError / ConfigError naming what is wrong."""
    root = Path(project_dir)
    where = str(root / ".chalice" / "config.json")
    cfg = read_chalice_config(root)
    if stage not in (cfg.get("stages") or {}):
        raise DeployConfigError(f"{where}: no stage {stage!r}; stages: {', '.join(sorted(cfg.get('stages') or {})) or '(none)'}")
    role = _check_role(cfg, where, stage, None)
    for fn in CANARY_FUNCTIONS:
        fn_role = _check_role(cfg, where, stage, fn)
        role = role or fn_role
    slack_role = _check_role(cfg, where, stage, SLACK_FUNCTION)
    own = ((cfg["stages"][stage].get("lambda_functions") or {}).get(SLACK_FUNCTION) or {})
    if role and slack_role == role:
        # init adds the Slack function's own settings only where the user has none; suggest it only then.
        hint = "" if own else f" (`{_init_command(cfg, stage, root)}` adds them)"
        raise DeployConfigError(f"{where}: stage {stage!r}, function {SLACK_FUNCTION!r}: uses the API's role; "
                                f"give it its own (\"manage_iam_role\": true with \"iam_policy_file\"){hint}")
    stage_policy = _layer(cfg, stage, None, "iam_policy_file")
    policy = own.get("iam_policy_file")
    has_own_role = slack_role is not None and own.get("iam_role_arn")
    has_own_policy = (policy and policy != stage_policy and own.get("autogen_policy") is False
                      and own.get("manage_iam_role") is not False)
    if not (has_own_role or has_own_policy):
        raise DeployConfigError(
            f"{where}: stage {stage!r}: the Slack function would share the API's role or policy; give it its own: "
            f"lambda_functions.{SLACK_FUNCTION} with \"manage_iam_role\": true, \"autogen_policy\": false and "
            f"\"iam_policy_file\": \"policy-slack-{stage}.json\" (`{_init_command(cfg, stage, root)}` adds them)")
    if has_own_policy and not (root / ".chalice" / str(policy)).is_file():
        account = "" if ROLE_ARN.match(str(_layer(cfg, stage, None, "iam_role_arn") or "")) else " --account <ACCOUNT>"
        raise DeployConfigError(f"{where}: stage {stage!r}, function {SLACK_FUNCTION!r}: "
                                f"iam_policy_file {policy!r} not found in .chalice/ (write it with "
                                f"`permission-canary template --stage {stage} --project-dir {root} "
                                f"--write-slack-policy <REGION>{account} --output /dev/null`)")
    env = _env(cfg, stage, "permission_canary")
    path = config_path_for(root, env)
    if not path.is_file():
        raise DeployConfigError(f"{path}: probe config for stage {stage!r} not found "
                                f"(CANARY_CONFIG={env.get('CANARY_CONFIG', DEFAULT_LAMBDA_CONFIG)!r}; "
                                "it must live under chalicelib/ so that chalice ships it)")
    if not path.resolve().is_relative_to((root / "chalicelib").resolve()):
        raise DeployConfigError(f"{where}: stage {stage!r}: CANARY_CONFIG={env.get('CANARY_CONFIG')!r} is outside "
                                "chalicelib/, so chalice would not ship it")
    from canary.config import load_config

    load_env = {"STAGE": stage, **env}
    try:
        config = load_config(path, env=load_env)
    except ConfigError as exc:
        raise DeployConfigError(f"probe config for stage {stage!r} does not validate: {exc}") from None
    return StageDeploy(stage=stage, config_path=path, role_arn=role, config=config)


def stage_account(cfg: dict[str, Any], stage: str, account: str | None, *, command: str) -> str:
    """The stage's AWS account: `account` if given, else the one in its iam_role_arn.

    Without either (chalice's autogen role, or one role per function) nothing in the project tells
    the account; the error then shows `command` with `--account`, which is what would work.
    """
    if account:
        if not ACCOUNT.match(account):
            raise DeployConfigError(f"--account {account!r}: not a 12-digit AWS account id")
        return account
    arn = str(_layer(cfg, stage, None, "iam_role_arn") or "")
    if ROLE_ARN.match(arn):
        return arn.split(":")[4]
    why = f"its iam_role_arn {arn!r} is not a role ARN" if arn else "it has no iam_role_arn (chalice creates the roles)"
    raise DeployConfigError(f"stage {stage!r}: cannot tell the AWS account: {why}; "
                            f"pass it: `{command} --account <12-digit account id>`")


def slack_policy_name(cfg: dict[str, Any], stage: str) -> str:
    """The Slack function's policy file name under .chalice/ (its iam_policy_file, else the default)."""
    return str(_layer(cfg, stage, SLACK_FUNCTION, "iam_policy_file") or f"policy-slack-{stage}.json")


def slack_settings(app_name: str, stage: str) -> dict[str, Any]:
    """The Slack function's own per-function settings: its own role and policy file, never the API's."""
    return {"manage_iam_role": True, "autogen_policy": False, "iam_policy_file": f"policy-slack-{stage}.json",
            "xray": False, "lambda_timeout": 30, "lambda_memory_size": 128,
            "environment_variables": {
                "SLACK_WEBHOOK_SSM_PARAMETER": f"/permission-canary/{stage}/slack-webhook",
                "CANARY_LOG_GROUP": f"/aws/lambda/{app_name}-{stage}-permission_canary"}}


def slack_policy_document(cfg: dict[str, Any], stage: str, *, region: str, account: str) -> dict[str, Any]:
    """The Slack function's policy for `stage`, built by the notifier's own `slack_policy`."""
    from canary.alarms import undelivered_queue_name
    from canary.notifiers.policy import slack_policy

    env = _env(cfg, stage, SLACK_FUNCTION)
    app = cfg.get("app_name", "permission-canary")
    return slack_policy(region=region, account=account,
                        log_group=env.get("CANARY_LOG_GROUP") or f"/aws/lambda/{app}-{stage}-permission_canary",
                        parameter_name=env.get("SLACK_WEBHOOK_SSM_PARAMETER") or f"/permission-canary/{stage}/slack-webhook",
                        kms_key_arn=env.get("SLACK_WEBHOOK_KMS_KEY_ARN") or None,
                        function_name=f"{app}-{stage}-{SLACK_FUNCTION}",
                        undelivered_queue=undelivered_queue_name(stage))


def clean_pycache(root: Path) -> int:
    """Delete `__pycache__` under `root` (following the vendor symlink), so the zip carries none."""
    import shutil

    removed = 0
    for dirpath, dirnames, _ in os.walk(root, followlinks=True):
        if "__pycache__" in dirnames:
            shutil.rmtree(Path(dirpath) / "__pycache__", ignore_errors=True)
            dirnames.remove("__pycache__")
            removed += 1
    return removed


def guard_chalice_cli() -> None:
    """Check the stage being packaged or deployed; exit 2 with the message when it would be broken.

    Runs only inside the chalice CLI (`chalice package`, `chalice deploy`): it reads the stage and
    project directory from click's context, which chalice has when it imports app.py.
    """
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("CANARY_SKIP_DEPLOY_CHECK"):
        return
    click = sys.modules.get("click")
    ctx = click.get_current_context(silent=True) if click else None
    if ctx is None or ctx.info_name not in ("package", "deploy"):
        return
    obj = ctx.find_root().obj
    if not isinstance(obj, dict) or "project_dir" not in obj:  # not chalice's CLI
        return
    project_dir = Path(obj["project_dir"])
    stage = str(ctx.params.get("stage") or "dev")
    sys.dont_write_bytecode = True  # nothing imported from here on leaves a .pyc in vendor/
    try:
        check_stage(project_dir, stage)
    except (DeployConfigError, ConfigError) as exc:
        sys.stderr.write(f"permission-canary: refusing to {ctx.info_name} stage {stage!r}: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None
    clean_pycache(project_dir / "vendor")
