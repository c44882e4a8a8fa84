"""`template`, `provision`, `invoke` and `deploy`: the canary's deploy-time commands.

`template` and `provision` render the one alarm definition in `canary.alarms` (CloudFormation for
`chalice package --merge-template`; API calls for `chalice deploy`). `invoke` is the post-deploy
gate: it runs the deployed `permission_canary_invoke` and exits like `run` (0 all allowed, 1 any
denied, 3 errors or an unreachable / failing function, 2 usage). `deploy` chains them around
`chalice deploy` for any Chalice project: the standalone app or an API that embeds the blueprint.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from canary.cli._common import fail_on_canary_error
from canary.errors import CanaryError, DeployConfigError

__all__ = ["template", "provision", "invoke", "deploy", "chalice_deploy", "deployed_function_arn", "invoke_function",
           "slack_policy_for"]

INVOKE_READ_TIMEOUT_S = 120  # above the function's own timeout (60 s in the shipped config)
# Total bounds (a read timeout alone never trips on an answer that drips one byte at a time).
INVOKE_TOTAL_S = 150.0
PROVISION_TOTAL_S = 180.0

_project = click.option("--project-dir", default=".", show_default=True, type=click.Path(file_okay=False),
                        help="The Chalice project (holds .chalice/config.json).")
_stage = click.option("--stage", "-s", required=True, metavar="STAGE", help="Chalice stage, e.g. dev or prod.")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def slack_policy_for(project_dir: Path, stage: str, region: str, account: str | None = None) -> dict[str, Any]:
    """The Slack function's policy for `stage`: the account from `account`, else from the stage's iam_role_arn."""
    from canary.deployconfig import read_chalice_config, slack_policy_document, stage_account

    cfg = read_chalice_config(project_dir)
    command = (f"permission-canary template --stage {stage} --project-dir {project_dir} "
               f"--write-slack-policy {region} --output /dev/null")
    return slack_policy_document(cfg, stage, region=region,
                                 account=stage_account(cfg, stage, account, command=command))


@click.command("template")
@_stage
@_project
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.option("--write-slack-policy", "slack_region", metavar="REGION", default=None,
              help="Also (re)write .chalice/policy-slack-<stage>.json for REGION (the Slack function's own role).")
@click.option("--account", default=None, metavar="ACCOUNT",
              help="The AWS account id for --write-slack-policy, when the stage has no iam_role_arn to tell it "
                   "(chalice's autogen role, or one role per function).")
@click.option("--name-prefix", default="", metavar="PREFIX",
              help="The name_prefix given to register_blueprint, if any (it prefixes the function names).")
@fail_on_canary_error
def template(stage: str, project_dir: str, output: str | None, slack_region: str | None, account: str | None,
             name_prefix: str) -> None:
    """Print the CloudFormation to merge into `chalice package --merge-template`."""
    from canary.alarms import merge_template
    from canary.deployconfig import check_stage

    root = Path(project_dir)
    if slack_region:
        from canary.deployconfig import read_chalice_config, slack_policy_name

        cfg = read_chalice_config(root)
        document = slack_policy_for(root, stage, slack_region, account)
        path = root / ".chalice" / slack_policy_name(cfg, stage)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote {path}", err=True)
    checked = check_stage(root, stage)
    text = json.dumps(merge_template(stage, checked.config.settings.namespace, function_prefix=name_prefix), indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _deployed(project_dir: Path, stage: str) -> dict[str, str]:
    """Map deployed function name -> ARN from `.chalice/deployed/<stage>.json` (empty if absent)."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployConfigError(f"{path}: cannot read: {exc}") from None
    return {str(r.get("name")): str(r.get("lambda_arn")) for r in data.get("resources", [])
            if r.get("resource_type") == "lambda_function" and r.get("lambda_arn")}


def deployed_function_arn(project_dir: Path, stage: str, name: str) -> str:
    """The ARN chalice recorded for function `name` in `stage`; a clear error when it is not deployed."""
    arns = _deployed(project_dir, stage)
    if name not in arns:
        path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
        known = ", ".join(sorted(arns)) or "none"
        raise DeployConfigError(f"{path}: no deployed function {name!r} for stage {stage!r} (deployed: {known}); "
                                f"run `chalice deploy --stage {stage}` first, or pass --function NAME_OR_ARN")
    return arns[name]


@click.command("provision")
@_stage
@_project
@click.option("--region", default=None, help="AWS region (default: the usual boto3 resolution).")
@click.option("--no-sentinels", is_flag=True, help="Only the topic and alarms; do not create probe sentinels.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=PROVISION_TOTAL_S, show_default=True,
              help="Total seconds for each part (alarms, sentinels), whatever the network does; then exit 3.")
@fail_on_canary_error
def provision(stage: str, project_dir: str, region: str | None, no_sentinels: bool, timeout_s: float) -> None:
    """Create or update the stage's alarm topic, alarms and probe sentinels (idempotent)."""
    import boto3

    from canary._deadline import DeadlineExceeded, within

    from canary.alarms import FUNCTION_CANARY, FUNCTION_SLACK
    from canary.alarms import provision as provision_alarms
    from canary.deployconfig import check_stage

    root = Path(project_dir)
    checked = check_stage(root, stage)
    session = boto3.Session(region_name=region) if region else boto3.Session()
    function = _deployed(root, stage).get(FUNCTION_CANARY)
    slack_function = _deployed(root, stage).get(FUNCTION_SLACK)
    try:
        done = within(lambda: provision_alarms(session, stage, checked.config.settings.namespace,
                                               function_name=function, slack_function_name=slack_function),
                      timeout_s, name="provision")
    except DeadlineExceeded:
        _fail(f"provision failed: AWS did not finish answering within {timeout_s:.0f} s (abandoned; run it again, "
              "it is idempotent)", 3)
    except Exception as exc:  # noqa: BLE001 - AWS said no: show it, exit 3
        _fail(f"provision failed: {_aws_error(exc)}", 3)
    click.echo(f"topic   {done['topic_arn']}")
    for name in done["alarms"]:
        click.echo(f"alarm   {name}")
    click.echo(f"retries {'0 on ' + function if function else 'not set yet (no deployed permission_canary; run provision again after chalice deploy)'}")
    click.echo(f"queue   {done['undelivered_queue']} (undelivered alerts; "
               f"{'on-failure destination of ' + slack_function if slack_function else 'not wired yet: run provision again after chalice deploy'})")
    if no_sentinels:
        return
    from canary.sentinels import SentinelError, provision_sentinels

    try:
        for line in within(lambda: list(provision_sentinels(checked.config, session)), timeout_s, name="sentinels"):
            click.echo(f"sentinel {line}")
    except DeadlineExceeded:
        _fail(f"sentinels: AWS did not finish answering within {timeout_s:.0f} s (abandoned; run provision again)", 3)
    except SentinelError as exc:  # AWS refused or failed: an error, not a usage problem
        _fail(f"sentinels: {exc}", 3)
    except CanaryError:
        raise
    except Exception as exc:  # noqa: BLE001
        _fail(f"sentinels: {_aws_error(exc)}", 3)


def _aws_error(exc: BaseException) -> str:
    err = (getattr(exc, "response", None) or {}).get("Error") or {}
    if err:
        return f"{err.get('Code')}: {err.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def invoke_function(session: Any, function: str, payload: dict[str, Any], *,
                    endpoint_url: str | None = None, total_s: float = INVOKE_TOTAL_S) -> dict[str, Any]:
    """Invoke the manual canary synchronously, once (no SDK retry: a retry would probe twice).

    The whole call, answer included, ends within `total_s` (canary._deadline.within cuts its socket).
    """
    from botocore.config import Config

    from canary._deadline import DeadlineExceeded, within

    region = function.split(":")[3] if function.startswith("arn:") else None
    client = session.client("lambda", region_name=region or session.region_name, endpoint_url=endpoint_url,
                            config=Config(read_timeout=min(INVOKE_READ_TIMEOUT_S, total_s), connect_timeout=10,
                                          retries={"total_max_attempts": 1}))

    def call() -> tuple[dict[str, Any], bytes]:
        resp = client.invoke(FunctionName=function, InvocationType="RequestResponse",
                             Payload=json.dumps(payload).encode())
        return resp, resp["Payload"].read()

    try:
        resp, body = within(call, total_s, name="invoke")
    except DeadlineExceeded:
        raise FunctionFailed(f"{function}: no complete answer within {total_s:.0f} s (the call was abandoned)") from None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if resp.get("FunctionError"):
        detail = data.get("errorMessage") if isinstance(data, dict) else body[:300].decode("utf-8", "replace")
        etype = data.get("errorType") if isinstance(data, dict) else None
        raise FunctionFailed(f"{function} failed ({resp['FunctionError']}"
                             f"{': ' + etype if etype else ''}): {detail}")
    if not isinstance(data, dict) or "summary" not in data or "results" not in data:
        raise FunctionFailed(f"{function} did not return a canary report (got {body[:200]!r})")
    return data


class FunctionFailed(Exception):
    """The function ran but raised, timed out, or returned something that is not a report."""


@click.command("invoke")
@_stage
@_project
@click.option("--function", "-f", "function", metavar="NAME_OR_ARN", default=None,
              help="The function to invoke. Default: permission_canary_invoke from .chalice/deployed/<stage>.json.")
@click.option("--payload", default="{}", show_default=True, metavar="JSON",
              help='{} runs every probe; {"probes": ["id"], "publish": false} runs some, publishes nothing.')
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--region", default=None, help="AWS region (default: from the ARN, else boto3's).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=INVOKE_TOTAL_S, show_default=True,
              help="Total seconds for the invocation and its answer, whatever the network does; then exit 3.")
@fail_on_canary_error
def invoke(stage: str, project_dir: str, function: str | None, payload: str, fmt: str, region: str | None,
           timeout_s: float) -> None:
    """Run the deployed canary now and exit like `run`: the post-deploy gate."""
    import boto3

    from canary.alarms import FUNCTION_INVOKE
    from canary.model import exit_code

    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--payload") from None
    if not isinstance(body, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--payload")
    target = function or deployed_function_arn(Path(project_dir), stage, FUNCTION_INVOKE)
    session = boto3.Session(region_name=region) if region else boto3.Session()
    try:
        report = invoke_function(session, target, body, total_s=timeout_s)
    except FunctionFailed as exc:
        _fail(str(exc), 3)
    except Exception as exc:  # noqa: BLE001 - unreachable, not found, not allowed to invoke
        _fail(f"could not invoke {target}: {_aws_error(exc)}", 3)
    if fmt == "json":
        from canary.render import to_json

        click.echo(to_json(report))
    else:
        from canary.render import render_table

        render_table(report)
    sys.exit(exit_code(report))


CHALICE_DEPLOY_TIMEOUT_S = 1800
_GATE = {0: "gate: every probe ALLOWED on stage {stage}",
         1: "gate: a probe was DENIED on stage {stage}; fix the role's policy (see remediation above)",
         3: "gate: probes errored on stage {stage} (missing resource, identity, or the function failed)"}


def _step(cmd: click.Command, args: list[str], *, to_stderr: bool = True) -> int:
    """Run one of this module's commands in-process, as `permission-canary <cmd> <args>`; its exit code.

    Every step but the gate prints to stderr, so that stdout holds only the gate's report.
    """
    import contextlib

    click.echo(f"+ permission-canary {cmd.name} {' '.join(args)}", err=True)
    try:
        with contextlib.redirect_stdout(sys.stderr) if to_stderr else contextlib.nullcontext():
            cmd.main(args=args, prog_name=f"permission-canary {cmd.name}", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


def _chalice_bin(given: str | None) -> str:
    import shutil

    if given:
        return given
    beside = Path(sys.executable).parent / "chalice"
    if beside.is_file():
        return str(beside)
    found = shutil.which("chalice")
    if not found:
        raise DeployConfigError("chalice not found next to this Python or on PATH; install it, or pass --chalice PATH")
    return found


def chalice_deploy(root: Path, stage: str, *, chalice: str, region: str | None, timeout_s: float) -> int:
    """`chalice deploy --stage S` in the project, its output relayed to stderr; its exit code (3 when out of time)."""
    import os
    import subprocess

    import threading

    command = [chalice, "--project-dir", str(root), "deploy", "--stage", stage]
    click.echo(f"+ chalice deploy --stage {stage}", err=True)
    env = dict(os.environ)
    if region:
        env["AWS_DEFAULT_REGION"] = region
    try:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
    except OSError as exc:
        click.echo(f"error: cannot run {chalice}: {exc}", err=True)
        return 3

    def relay() -> None:  # chalice's output, as it comes, on stderr (stdout is the gate's)
        assert proc.stdout is not None
        for line in proc.stdout:
            click.echo(line, nl=False, err=True)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        click.echo(f"error: chalice deploy did not finish within {timeout_s:.0f} s", err=True)
        code = 3
    relay_thread.join(timeout=5)
    return code


@click.command("deploy")
@_stage
@_project
@click.option("--region", default=None, help="AWS region (default: the usual boto3 resolution).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="How the gate prints the report.")
@click.option("--chalice", "chalice_path", default=None, metavar="PATH",
              help="The chalice executable (default: the one beside this Python, else on PATH).")
@click.option("--chalice-timeout", default=CHALICE_DEPLOY_TIMEOUT_S, show_default=True, type=float, metavar="SECONDS",
              help="Give up on chalice deploy after this long (exit 3).")
@fail_on_canary_error
def deploy(stage: str, project_dir: str, region: str | None, fmt: str, chalice_path: str | None,
           chalice_timeout: float) -> None:
    """Deploy a Chalice project and gate it: provision, chalice deploy, provision, invoke.

    Works for this standalone canary app and for an API that embeds the blueprint alike (run it in
    the project's directory or pass --project-dir). Exits like `run`: 0 every probe ALLOWED, 1 any
    DENIED, 3 errors (or a step that failed with 3), 2 usage; a failing step stops the sequence.
    """
    root = Path(project_dir).resolve()
    chalice = _chalice_bin(chalice_path)
    common = ["--stage", stage, "--project-dir", str(root)] + (["--region", region] if region else [])
    # 1. Topic, alarms, sentinels first: chalice subscribes the Slack function to the topic by name,
    #    and SNS refuses a subscription to a topic that does not exist yet.
    code = _step(provision, common)
    # 2. chalice deploy (the blueprint refuses a broken stage itself).
    if code == 0:
        code = chalice_deploy(root, stage, chalice=chalice, region=region, timeout_s=chalice_timeout)
    # 3. Again, idempotent: the scheduled function now exists, so its async retries go to 0.
    if code == 0:
        code = _step(provision, common + ["--no-sentinels"])
    # 4. The gate.
    if code == 0:
        code = _step(invoke, common + ["--format", fmt], to_stderr=False)
        if code in _GATE:
            click.echo(_GATE[code].format(stage=stage), err=True)
    sys.exit(code)
