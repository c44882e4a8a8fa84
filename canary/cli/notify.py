"""`permission-canary notify`: render (and optionally post) the Slack message for an alarm, locally.

The same renderer and delivery as the Slack function, fed from files, so a message can be checked
before any alarm fires: `--dry-run` prints the Block Kit JSON (paste it into Slack's Block Kit
Builder); without a webhook the command only renders a text preview. Exit 0 rendered or posted,
1 Slack did not take the message, 2 bad input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from canary.cli._common import fail_on_canary_error
from canary.errors import CanaryError

__all__ = ["notify"]


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CanaryError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CanaryError(f"{path}: the {what} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise CanaryError(f"{path}: the {what} nests too deeply to be read") from None
    except ValueError as exc:
        # A report file may also be the raw log line, with the Lambda runtime's prefix before the JSON.
        from canary.notifiers.report import parse_report_line

        if what == "report" and (found := parse_report_line(text)) is not None:
            return found
        raise CanaryError(f"{path}: the {what} is not JSON ({getattr(exc, 'msg', exc)})") from None


def _load_report(path: str) -> dict[str, Any]:
    data = _read_json(path, "report")
    if isinstance(data, dict) and isinstance(data.get("report"), dict):
        data = data["report"]  # the log line form: {"event": "permission_canary_report", "report": {...}}
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise CanaryError(f"{path}: not a canary report (expected an object with a 'results' list, "
                          f"as `permission-canary run --format json` prints)")
    return data


def _printable(text: str) -> str:
    """Text from an alarm or AWS, safe for a terminal: control characters (ANSI escapes) become '?'."""
    return "".join(c if c.isprintable() or c == "\n" else "?" for c in text)


def _preview(payload: dict[str, Any]) -> str:
    """A terminal rendition of the blocks: what the channel would read."""
    lines: list[str] = []
    for block in payload.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            text = block["text"]["text"]
            lines += [text, "=" * min(len(text), 80)]
        elif kind == "section":
            lines += [block["text"]["text"], ""]
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "context":
            lines += [e.get("text", "") for e in block.get("elements", [])]
    return _printable("\n".join(lines))


LOOKUP_S = 15.0  # the whole report lookup, whatever CloudWatch Logs does


def _lookup(log_group: str, region: str | None) -> Any:
    import time

    import boto3
    from botocore.config import Config

    from canary.notifiers.alarm import REGION_NAME
    from canary.notifiers.report import latest_report

    session = boto3.Session(region_name=region) if region else boto3.Session()
    if not session.region_name:
        raise CanaryError("no AWS region for the report lookup in $CANARY_LOG_GROUP: pass --region, or set "
                          "AWS_REGION (or AWS_DEFAULT_REGION)")
    if not REGION_NAME.match(session.region_name):
        raise CanaryError(f"{session.region_name[:60]!r} is not an AWS region name (e.g. us-east-1)")
    deadline = time.monotonic() + LOOKUP_S
    logs = session.client("logs", config=Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 2}))
    return latest_report(logs, log_group, deadline=deadline)


@click.command("notify")
@click.option("--alarm", "alarm_path", required=True, metavar="FILE",
              help="A CloudWatch alarm SNS message (JSON), e.g. canary/data/sample-alarm-denied.json.")
@click.option("--report", "report_path", metavar="FILE",
              help="The canary report to enrich an ALARM with (run --format json output, or the report log line). "
                   "Default: look it up in $CANARY_LOG_GROUP if set.")
@click.option("--webhook", metavar="URL",
              help="Post to this incoming webhook (default $SLACK_WEBHOOK_URL; prefer the variable: "
                   "a URL on the command line lands in shell history).")
@click.option("--region", default=None, metavar="REGION",
              help="AWS region of $CANARY_LOG_GROUP (default: the usual AWS_REGION / profile resolution).")
@click.option("--dry-run", is_flag=True, help="Print the Block Kit JSON; never post.")
@fail_on_canary_error
def notify(alarm_path: str, report_path: str | None, webhook: str | None, region: str | None, dry_run: bool) -> None:
    """Render (and optionally post) the Slack message an alarm would produce."""
    from canary.notifiers.alarm import AlarmMessageError, alarm_from_dict
    from canary.notifiers.message import render

    try:
        alarm = alarm_from_dict(_read_json(alarm_path, "alarm message"))
    except AlarmMessageError as exc:
        raise CanaryError(f"{alarm_path}: {exc}") from None

    # The Slack function's rule: only the canary's own alarms get the canary's message and report.
    import dataclasses

    from canary.notifiers.alarm import canary_kind
    from canary.notifiers.handler import canary_namespace
    from canary.notifiers.message import render_plain

    kind = canary_kind(alarm, namespace=canary_namespace(os.environ), stage=os.environ.get("CANARY_STAGE") or None)
    alarm = dataclasses.replace(alarm, kind=kind or "unknown")
    log_group = os.environ.get("CANARY_LOG_GROUP") or None
    report: dict[str, Any] | None = None
    unavailable: str | None = None
    if kind is None:
        pass  # not the canary's: no report
    elif report_path:
        report = _load_report(report_path)
    elif alarm.state == "ALARM" and log_group:
        lookup = _lookup(log_group, region)
        report, unavailable = lookup.report, lookup.unavailable
    elif alarm.state == "ALARM":
        unavailable = "no --report given and CANARY_LOG_GROUP is not set"

    if kind is None:
        click.echo(f"note: {alarm.name} is not one of the canary's alarms (name, namespace, metric and stage must "
                   f"be the ones `template` creates): rendered plainly, as the Slack function would", err=True)
        payload = render_plain(alarm)
    else:
        payload = render(alarm, report=report if alarm.state == "ALARM" else None, details_unavailable=unavailable,
                         log_group=log_group, stage=alarm.stage or os.environ.get("CANARY_STAGE") or None)
    if dry_run:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=True))
        return

    url = webhook or os.environ.get("SLACK_WEBHOOK_URL")
    if not url:
        click.echo(_preview(payload))
        click.echo("rendered only: pass --webhook URL or set SLACK_WEBHOOK_URL to post "
                   "(--dry-run prints the Block Kit JSON)", err=True)
        return

    from canary.notifiers.secrets import webhook_url
    from canary.notifiers.slack import SlackWebhook

    checked = webhook_url({"SLACK_WEBHOOK_URL": url})
    delivery = SlackWebhook(checked).send(payload)
    if delivery.posted:
        click.echo(f"posted to Slack ({delivery.attempts} attempt(s))")
        return
    click.echo(_printable(f"not posted: {delivery.status} {delivery.reason or ''} "
                          f"({delivery.attempts} attempt(s))").rstrip(), err=True)
    raise SystemExit(1)
