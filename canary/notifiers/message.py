"""Render an alarm (and the canary report behind it) as one Slack Block Kit message.

The on-call engineer should be able to fix an implicit deny from the message alone: each failing
probe gets its own section with the action, the resource, which policy layer denied it and, for an
implicit deny, the exact statement to add to `.chalice/policy-<stage>.json`. Slack rejects a
message over its limits (`invalid_blocks`) rather than trimming it, so the renderer enforces them:
at most 50 blocks, at most 3000 characters per section text, 150 per header, and about 12,000
characters of block text in all (Slack's undocumented `msg_blocks_too_long`); failing probes that
do not fit are summarised with a count. Pure functions on plain data: no I/O, no heavy imports.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import quote

from canary.classify import DENY_ADVICE
from canary.notifiers.alarm import KINDS, Alarm, partition_of

__all__ = ["render", "render_plain", "render_for_demo", "console_urls", "MAX_BLOCKS", "MAX_SECTION_TEXT", "MAX_HEADER_TEXT",
           "MAX_MESSAGE_TEXT"]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3000
# Undocumented but measured: Slack answers `msg_blocks_too_long` from roughly 13,200 characters of block
# text in one message, well before 50 full sections (slackapi/bolt-js#2509). Stay below it.
MAX_MESSAGE_TEXT = 12_000
_OVERFLOW_CHARS = 1_200
_AWS_MESSAGE_CHARS = 400

_STATE_EMOJI = {"ALARM": ":rotating_light:", "OK": ":white_check_mark:", "INSUFFICIENT_DATA": ":grey_question:"}
_ALARM_TITLE = {
    "denied": "the API's role is missing permissions",
    "errors": "canary probes keep failing",
    "heartbeat": "the permission canary stopped reporting",
    "undelivered": "alarm notifications could not be delivered to Slack",
    "unknown": "permission canary alarm",
}
_RECOVERED = {
    "denied": "no probe is denied any more: the API's role can do everything the canary probes",
    "errors": "the canary's probes no longer fail with errors",
    "heartbeat": "the permission canary is running and reporting again",
    "undelivered": "the undelivered-alerts queue is empty again",
    "unknown": "the alarm is back to OK",
}


# -- small helpers ---------------------------------------------------------------------------

def _esc(value: Any) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(value: Any) -> str:
    """Inline code that survives backticks in the value."""
    return "`" + _esc(value).replace("`", "'") + "`"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION_TEXT)}}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, MAX_HEADER_TEXT), "emoji": True}}


def _chars(blocks: list[dict[str, Any]]) -> int:
    """Characters of text in `blocks`, as Slack counts them against the message size."""
    n = 0
    for b in blocks:
        n += len(b.get("text", {}).get("text", "")) + sum(len(e.get("text", "")) for e in b.get("elements", []))
    return n


def _fit(probes: list[dict[str, Any]], *, blocks_left: int, chars_left: int) -> list[dict[str, Any]]:
    """The leading probe sections that fit, leaving room for the "…and N more" section when some do not."""
    shown: list[dict[str, Any]] = []
    used = 0
    for i, block in enumerate(probes):
        more = i < len(probes) - 1
        if (len(shown) + 1 + more > blocks_left
                or used + _chars([block]) + (_OVERFLOW_CHARS if more else 0) > chars_left):
            break
        shown.append(block)
        used += _chars([block])
    return shown


_CONSOLE = {"aws": "https://{region}.console.aws.amazon.com", "aws-cn": "https://console.amazonaws.cn",
            "aws-us-gov": "https://console.amazonaws-us-gov.com"}


def console_urls(alarm: Alarm, log_group: str | None) -> dict[str, str]:
    """Console links for the alarm and the canary's log group.

    Built only from a valid region name (`alarm.REGION_NAME`) in a partition with a public console;
    the host never comes from the message itself. No valid region, no links.
    """
    region = alarm.region
    host = _CONSOLE.get(partition_of(region) or "")
    if not region or not host:
        return {}
    base = f"{host.format(region=region)}/cloudwatch/home?region={region}"
    urls = {"alarm": f"{base}#alarmsV2:alarm/{quote(alarm.name, safe='')}"}
    if log_group:
        # The console's fragment encoding: percent-encode twice, then '%' becomes '$'.
        urls["logs"] = f"{base}#logsV2:log-groups/log-group/{quote(quote(log_group, safe=''), safe='').replace('%', '$')}"
    return urls


def _failing(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    results = [r for r in report.get("results") or [] if isinstance(r, Mapping)]
    denied = [r for r in results if r.get("outcome") == "DENIED"]
    errors = [r for r in results if r.get("outcome") == "ERROR"]
    return denied + errors


def _summary_counts(report: Mapping[str, Any]) -> tuple[int, int, int]:
    s = report.get("summary") if isinstance(report.get("summary"), Mapping) else {}
    results = [r for r in report.get("results") or [] if isinstance(r, Mapping)]

    def n(key: str, outcome: str) -> int:
        v = s.get(key)
        return v if isinstance(v, int) else sum(r.get("outcome") == outcome for r in results)

    return n("allowed", "ALLOWED"), n("denied", "DENIED"), n("error", "ERROR")


# -- one section per failing probe -----------------------------------------------------------

def _probe_section(r: Mapping[str, Any], stage: str) -> dict[str, Any]:
    outcome = str(r.get("outcome"))
    icon = ":no_entry:" if outcome == "DENIED" else ":warning:"
    lines = [f"{icon} *{outcome}* {_code(r.get('action', '?'))} on {_code(r.get('resource', '?'))}"]
    detail = [f"probe {_code(r.get('id', '?'))}"]
    if r.get("error_code"):
        detail.append(_esc(r["error_code"]))
    if outcome == "ERROR" and r.get("transient"):
        detail.append("transient (throttling, 5xx or timeout)")
    lines.append(" · ".join(detail))
    remediation = r.get("remediation")
    if outcome == "DENIED":
        reason = str(r.get("deny_reason") or "unknown")
        lines.append(_esc(DENY_ADVICE.get(reason, DENY_ADVICE["unknown"])))
    if r.get("message") and not (outcome == "DENIED" and remediation):
        lines.append("> " + _esc(_clip(" ".join(str(r["message"]).split()), _AWS_MESSAGE_CHARS)))
    head = "\n".join(lines)
    if outcome == "DENIED" and isinstance(remediation, Mapping):
        head += f"\nAdd this statement to {_code(f'.chalice/policy-{stage}.json')}:"
        fence = "\n```\n{}\n```"
        room = MAX_SECTION_TEXT - len(head) - len(fence.format(""))
        body = _esc(json.dumps(remediation, indent=2, sort_keys=False))
        return _section(head + fence.format(_clip(body, room)))
    return _section(head)


# -- the message -----------------------------------------------------------------------------

def render(alarm: Alarm, *, report: Mapping[str, Any] | None = None, details_unavailable: str | None = None,
           log_group: str | None = None, stage: str | None = None) -> dict[str, Any]:
    """Build the webhook payload (`text` fallback + `blocks`) for one alarm state change.

    `report` is the latest canary report (ALARM only); when it could not be fetched pass the reason
    in `details_unavailable` and the message carries the alarm's own facts and says so.
    """
    stage = stage or alarm.stage or (str(report.get("stage")) if report and report.get("stage") else None) or "unknown"
    kind = alarm.kind if alarm.kind in _ALARM_TITLE else "unknown"
    if alarm.state == "OK":
        title = f"recovered: {_RECOVERED[kind].split(':')[0]}"
    elif alarm.state == "INSUFFICIENT_DATA":
        title = "alarm has no data to evaluate"
    else:
        title = _ALARM_TITLE[kind]
    header = _header(f"{_STATE_EMOJI.get(alarm.state, '')} {alarm.state} · {stage} · {title}".strip())

    pre: list[dict[str, Any]] = [header]
    probes: list[dict[str, Any]] = []
    failing: list[Mapping[str, Any]] = []
    facts = _alarm_facts(alarm)

    if alarm.state == "OK":
        pre.append(_section(f":white_check_mark: *Recovered:* {_esc(_RECOVERED[kind])}.\n{facts}"))
    elif alarm.state == "INSUFFICIENT_DATA":
        pre.append(_section(_insufficient_text(alarm, kind, stage) + "\n" + facts))
    elif kind == "heartbeat":
        pre.append(_section(_heartbeat_text(alarm, stage, report, details_unavailable) + "\n" + facts))
    elif kind == "undelivered":
        pre.append(_section(_undelivered_text(alarm, stage) + "\n" + facts))
    else:
        failing = _failing(report) if report else []
        pre.append(_section(_alarm_summary(report, failing, details_unavailable, stage) + "\n" + facts))
        probes = [_probe_section(r, stage) for r in failing]

    post: list[dict[str, Any]] = []
    urls = console_urls(alarm, log_group)
    links = []
    if "alarm" in urls:
        links.append(f"<{urls['alarm']}|CloudWatch alarm>")
    if "logs" in urls:
        links.append(f"<{urls['logs']}|canary log group {_esc(log_group)}>")
    elif log_group:
        links.append(f"canary log group {_code(log_group)}")
    if links:
        post.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(" · ".join(links), 2000)}]})

    head = pre + ([{"type": "divider"}] if probes else [])
    shown = _fit(probes, blocks_left=MAX_BLOCKS - len(head) - len(post),
                 chars_left=MAX_MESSAGE_TEXT - _chars(head) - _chars(post))
    blocks = head + shown
    rest = failing[len(shown):]
    if rest:
        actions = ", ".join(_code(r.get("action", "?")) for r in rest)
        more = (f"…and *{len(rest)} more failing probes* not shown (a Slack message holds {MAX_BLOCKS} blocks "
                f"and about {MAX_MESSAGE_TEXT // 1000}k characters); see the full report in the log group or "
                f"with {_code(f'permission-canary invoke --stage {stage}')}. Not shown: {actions}")
        blocks.append(_section(_clip(more, _OVERFLOW_CHARS)))
    blocks += post
    return {"text": _clip(_fallback(alarm, stage, title, report, failing), MAX_FALLBACK_TEXT), "blocks": blocks}


def _alarm_facts(alarm: Alarm) -> str:
    parts = [f"Alarm {_code(alarm.name)}"]
    if alarm.metric:
        parts.append(f"on {_code(alarm.metric)}")
    if alarm.old_state:
        parts.append(f"went {_esc(alarm.old_state)} → {_esc(alarm.state)}")
    if alarm.changed_at:
        parts.append(f"at {_esc(alarm.changed_at)}")
    text = " ".join(parts) + "."
    if alarm.reason:
        text += "\n> " + _esc(_clip(alarm.reason, 600))
    return text


def _alarm_summary(report: Mapping[str, Any] | None, failing: list[Mapping[str, Any]],
                   details_unavailable: str | None, stage: str) -> str:
    invoke = _code(f"permission-canary invoke --stage {stage}")
    if report is None:
        why = details_unavailable or "no canary report was found"
        return (f":grey_question: *Details unavailable:* {_esc(why)}. The alarm's own facts follow; "
                f"run {invoke} for the full report.")
    allowed, denied, errored = _summary_counts(report)
    total = allowed + denied + errored
    when = _code(report.get("started_at", "?"))
    who = f" as {_code(report['principal'])}" if report.get("principal") else ""
    if not failing:
        return (f"The latest report ({when}) shows all {total} probes allowed: the alarm reflects an "
                f"earlier run and should return to OK after the next evaluation.")
    return (f"*{denied} of {total} probes denied, {errored} errored* in the run at {when}{who}. "
            f"Each failing probe follows, with the fix.")


def _heartbeat_text(alarm: Alarm, stage: str, report: Mapping[str, Any] | None,
                    details_unavailable: str | None) -> str:
    window = ""
    if alarm.periods and alarm.period_s:
        window = f" in the last {alarm.periods} × {alarm.period_s // 60} min"
    ns = _code(alarm.namespace or "PermissionCanary")
    lines = [
        f":skull: *The permission canary itself stopped reporting:* no {_code(KINDS['heartbeat'][0])} "
        f"datapoint for stage {_code(stage)}{window}. Until it reports again, a missing permission "
        f"goes unnoticed.",
        "*What to check:*",
        "• the canary's schedule rule is enabled and the function is deployed for this stage",
        "• the function's recent invocations: errors, timeouts, throttles (see the log group below)",
        f"• metric publishing: EMF lines in the log group with namespace {ns} and dimension "
        f"{_code('Stage=' + stage)}, or {_code('cloudwatch:PutMetricData')} if the config uses "
        f"{_code('put_metric_data')}",
        f"• run it now: {_code(f'permission-canary invoke --stage {stage}')}",
    ]
    if report is not None:
        lines.append(f"The log group does hold a report from {_code(report.get('started_at', '?'))}: the "
                     f"canary runs, so look at metric publishing first.")
    elif details_unavailable:
        lines.append(f"Latest report: {_esc(details_unavailable)}.")
    return "\n".join(lines)


def _undelivered_text(alarm: Alarm, stage: str) -> str:
    queue = dict(alarm.dimensions).get("QueueName") or "?"
    return (f":mailbox_with_mail: *Alarm notifications were lost on the way to Slack* and are kept in the SQS "
            f"queue {_code(queue)}: the Slack function failed on them after Lambda's retries (webhook "
            f"revoked or rotated, Slack down, or the function's own error). Each message holds the alarm "
            f"and the error. Read them in the SQS console (Poll for messages), fix the cause (the Slack "
            f"function's log group says which), then purge the queue.")


def _insufficient_text(alarm: Alarm, kind: str, stage: str) -> str:
    if kind == "heartbeat":
        return (":grey_question: The heartbeat alarm has no data to evaluate yet; this is normal right "
                "after it is created. It treats missing data as breaching, so it pages if the canary stays silent.")
    metric = _code(alarm.metric or KINDS.get(kind, ("its metric",))[0])
    return (f":grey_question: The alarm has no {metric} datapoints for stage {_code(stage)}: the canary may "
            f"have stopped running or publishing metrics. The heartbeat alarm pages if that persists; "
            f"check the log group below or run {_code(f'permission-canary invoke --stage {stage}')}.")


def _fallback(alarm: Alarm, stage: str, title: str, report: Mapping[str, Any] | None,
              failing: list[Mapping[str, Any]]) -> str:
    text = f"{alarm.state} · {stage} · {title} ({alarm.name})"
    if failing:
        _, denied, errored = _summary_counts(report or {})
        actions = ", ".join(sorted({str(r.get("action", "?")) for r in failing}))
        text += f": {denied} denied, {errored} errored: {actions}"
    return _esc(re.sub(r"\s+", " ", text))


def render_plain(alarm: Alarm, *, note: str = "not a permission canary alarm") -> dict[str, Any]:
    """A plain message for an alarm that is not the canary's: its own facts, escaped, no report, no advice."""
    title = f"{_STATE_EMOJI.get(alarm.state, '')} {alarm.state} · {alarm.name}".strip()
    lines = [f"_{_esc(note)}: shown as received, without the canary's report._", _alarm_facts(alarm)]
    if alarm.namespace or alarm.metric:
        lines.append(f"Metric {_code(alarm.metric or '(metric math or composite)')} in "
                     f"{_code(alarm.namespace or '?')}")
    if alarm.description:
        lines.append(_esc(_clip(alarm.description, 600)))
    blocks: list[dict[str, Any]] = [_header(title), _section("\n".join(lines))]
    urls = console_urls(alarm, None)
    if "alarm" in urls:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{urls['alarm']}|CloudWatch alarm>"}]})
    text = _esc(re.sub(r"\s+", " ", f"{alarm.state} · {alarm.name} ({note})"))
    return {"text": _clip(text, MAX_FALLBACK_TEXT), "blocks": blocks}


def render_for_demo(report_dict: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The payload an ALARM on this report would produce (the demo prints it; no alarm needed)."""
    _, denied, errored = _summary_counts(report_dict)
    kind = "denied" if denied or not errored else "errors"
    principal = str(report_dict.get("principal") or "")
    account = principal.split(":")[4] if principal.count(":") >= 5 else None
    region = next((str(r.get("resource", "")).split(":")[3] for r in report_dict.get("results") or []
                   if isinstance(r, Mapping) and str(r.get("resource", "")).count(":") >= 5
                   and str(r.get("resource", "")).split(":")[3]), "us-east-1")
    metric = KINDS[kind][0]
    from canary.alarms import ALARMS, alarm_name

    spec = next(a for a in ALARMS if a.key == kind)
    name = alarm_name(spec, stage, "PermissionCanary")  # the name `template`/`provision` give it
    alarm = Alarm(name=name, state="ALARM", old_state="OK", kind=kind, metric=metric, stage=stage,
                  namespace="PermissionCanary", region=region, account=account,
                  changed_at=str(report_dict.get("started_at") or "") or None,
                  reason=f"Threshold Crossed: 1 out of the last 1 datapoints [{float(denied or errored)}] was "
                         f"greater than or equal to the threshold (1.0).",
                  arn=f"arn:aws:cloudwatch:{region}:{account or '123456789012'}:alarm:{name}")
    return render(alarm, report=report_dict, stage=stage,
                  log_group=f"/aws/lambda/permission-canary-{stage}-permission_canary")
