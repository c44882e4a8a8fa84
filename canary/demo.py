"""The whole story on an embedded AWS emulator: the incident, the canary catching it, the fix.

Runs a moto server on 127.0.0.1 with IAM checks on, creates the API's table, a verified SES
identity and the API's role with the policy that shipped in the story, assumes that role as the
Lambda would, and runs the real canary against it. Then it applies the fix and runs again.
Returns 0 only when the story played out as expected (the right probes DENIED, then all ALLOWED).
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["run_demo", "SHIPPED_POLICY", "STAGE"]

STAGE = "dev"
TABLE = "listings-dev"
SENDER = "noreply@example.com"
ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"

# The policy that shipped: reads and PutItem, but not UpdateItem/DeleteItem, and SendEmail granted
# on an identity the code does not send from.
SHIPPED_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ListingsReadWrite", "Effect": "Allow",
         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"],
         "Resource": TABLE_ARN},
        {"Sid": "Mail", "Effect": "Allow", "Action": "ses:SendEmail",
         "Resource": f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/noreply@old-domain.example"},
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:*"},
    ],
}
KEY = {"listingId": "__permission_canary__"}
CONFIG: dict[str, Any] = {
    "version": 1,
    "namespace": "PermissionCanary",
    "probes": [
        {"id": "listings-get", "action": "dynamodb:GetItem", "table": "listings-${STAGE}", "key": KEY},
        {"id": "listings-put", "action": "dynamodb:PutItem", "table": "listings-${STAGE}", "key": KEY},
        {"id": "listings-query", "action": "dynamodb:Query", "table": "listings-${STAGE}", "key": KEY},
        {"id": "listings-scan", "action": "dynamodb:Scan", "table": "listings-${STAGE}"},
        {"id": "listings-update", "action": "dynamodb:UpdateItem", "table": "listings-${STAGE}", "key": KEY},
        {"id": "listings-delete", "action": "dynamodb:DeleteItem", "table": "listings-${STAGE}", "key": KEY},
        {"id": "welcome-email", "action": "ses:SendEmail", "from": SENDER},
    ],
}
EXPECTED_DENIED = {"listings-update", "listings-delete", "welcome-email"}


class _Out:
    """A thin wrapper over rich's console so the story reads as sections."""

    def __init__(self, console: Any) -> None:
        self.c = console

    def section(self, n: int, title: str) -> None:
        self.c.print()
        self.c.rule(f"[bold]{n}. {title}[/bold]", align="left")

    def say(self, text: str) -> None:
        """Print prose; single newlines join (rich wraps to the terminal), bullet lines stay lines."""
        import re

        self.c.print(re.sub(r"(?<=[^\n])\n(?!\n|- )", " ", text), highlight=False)

    def command(self, text: str) -> None:
        """Print one shell command on one line, never wrapped by rich, so it can be copied and pasted."""
        from rich.text import Text

        self.c.print(Text("    " + text, style="bold"), soft_wrap=True, crop=False)

    def json(self, data: Any) -> None:
        from rich.syntax import Syntax

        self.c.print(Syntax(json.dumps(data, indent=2), "json", theme="ansi_dark", word_wrap=True))


def _emf_lines(report: Any, settings: Any) -> list[dict[str, Any]]:
    from canary.publishers import publish

    buf = io.StringIO()
    problem = publish(report, settings, stream=buf)
    if problem:
        raise RuntimeError(problem)
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def _fixed_policy(report: dict[str, Any]) -> dict[str, Any]:
    """The shipped policy plus the statements the canary printed, as a user would paste them."""
    fixed = json.loads(json.dumps(SHIPPED_POLICY))
    for r in report["results"]:
        if r.get("remediation"):
            fixed["Statement"].append({"Sid": "Canary" + "".join(w.title() for w in r["id"].split("-")),
                                       **r["remediation"]})
    return fixed


def _for_moto(policy: dict[str, Any], config: Any) -> dict[str, Any]:
    """The policy as moto can evaluate it (canary.emulate.translate_policy; moto checks action names only)."""
    from canary.emulate import translate_policy
    from canary.probes import Target

    rounds = translate_policy(policy, config, Target(region=REGION, account=ACCOUNT)).rounds
    if len(rounds) != 1:  # only when an action is granted on one probe's resource and not another's
        raise RuntimeError("the story's probes need one policy round")
    return rounds[0].policy


def run_demo(console: Any | None = None, workdir: str | None = None) -> int:
    from rich.console import Console

    from canary.config import parse_config
    from canary.emulator import Emulator
    from canary.render import render_table

    con = console or Console()
    out = _Out(con)
    work = Path(workdir or tempfile.mkdtemp(prefix="permission-canary-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    out.section(1, "The incident")
    out.say("A Chalice API worked on a laptop (developer credentials) and failed after deploy. Its\n"
            "[bold].chalice/policy-dev.json[/bold] granted Get/Put/Query/Scan on the listings table but not\n"
            "[bold]UpdateItem[/bold] or [bold]DeleteItem[/bold], and granted [bold]ses:SendEmail[/bold] on an identity the code "
            "does not send from.\nThe API swallowed the AccessDenied and answered 200. Nobody knew until users did.\n"
            "The permission canary runs [italic]with the API's own role[/italic] and makes harmless probe calls, "
            "so this shows up within one run.")

    out.section(2, "Setting up an AWS emulator (no AWS account needed)")
    with con.status("starting moto server on 127.0.0.1 with IAM checks on…"):
        emu = Emulator(region=REGION).start()
    try:
        out.say(f"moto server at {emu.url}: every call is signed (SigV4) and checked against IAM policies.")
        emu.create_table(TABLE, "listingId")
        emu.client("dynamodb").put_item(TableName=TABLE, Item={"listingId": {"S": "l-1"}, "title": {"S": "A flat"}})
        emu.verify_email(SENDER)
        config = parse_config(CONFIG, source=str(work / "canary.json"), env={"STAGE": STAGE})
        role_arn = emu.create_role("api-dev", _for_moto(SHIPPED_POLICY, config))
        creds = emu.assume(role_arn, "api-dev")
        (work / "canary.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
        (work / "policy-dev.json").write_text(json.dumps(SHIPPED_POLICY, indent=2) + "\n")
        out.say(f"Created table [bold]{TABLE}[/bold] (one real listing), verified SES identity [bold]{SENDER}[/bold],\n"
                f"and the API's role [bold]api-dev[/bold] with the policy that shipped ({work / 'policy-dev.json'}).\n"
                "The canary assumes that role through STS, exactly as the Lambda runs with it.")

        out.section(3, "The canary runs with the API's role (policy as shipped)")
        before = _scan(emu)
        report = _run(emu, config, creds)
        data = report.to_dict()
        render_table(data, con)
        denied = {r["id"] for r in data["results"] if r["outcome"] == "DENIED"}
        out.say("\nRead it like this: [green]ALLOWED[/green] means the role is authorized (the write probes prove it "
                "through a\ncondition that can never hold, so DynamoDB answers ConditionalCheckFailed and writes "
                "nothing).\n[red]DENIED[/red] means AWS refused the permission: [bold]implicit[/bold] = no policy "
                "allows it, so adding the\nstatement printed under the row fixes it. The exit code would be 1; in a "
                "deploy pipeline that fails the build.")
        if denied != EXPECTED_DENIED:
            failures.append(f"first run denied {sorted(denied)}, expected {sorted(EXPECTED_DENIED)}")

        out.section(4, "What CloudWatch receives (EMF lines in the Lambda's log)")
        for rec in _emf_lines(report, config.settings):
            con.print(json.dumps(rec, separators=(",", ":")), soft_wrap=True, highlight=False)
        out.say(f"ProbesDenied = {report.denied}: the [bold]denied[/bold] alarm (ProbesDenied Maximum >= 1 over one "
                "15-minute period)\ngoes to ALARM after this single run and notifies the SNS topic → Slack.")
        _slack_preview(out, data)

        out.section(5, "The fix: add the statements the canary printed")
        fixed = _fixed_policy(data)
        (work / "policy-dev.fixed.json").write_text(json.dumps(fixed, indent=2) + "\n")
        added = fixed["Statement"][len(SHIPPED_POLICY["Statement"]):]
        out.json(added)
        out.say(f"Written to {work / 'policy-dev.fixed.json'}. The role gets the fixed policy; the canary runs again.")
        emu.put_role_policy("api-dev", _for_moto(fixed, config))
        creds = emu.assume(role_arn, "api-dev")
        report2 = _run(emu, config, creds)
        data2 = report2.to_dict()
        render_table(data2, con)
        if not report2.ok:
            failures.append("second run was not all ALLOWED")
        after = _scan(emu)
        if after != before:
            failures.append("the table changed during the demo")
        out.say(f"All {report2.allowed} probes ALLOWED; ProbesDenied = {report2.denied}, so the alarm returns to OK.\n"
                f"The listings table is byte-identical before and after both runs: {'yes' if after == before else 'NO'}.")
        _offline_check(out, work, failures)
    finally:
        emu.stop()

    out.section(7, "Next steps")
    out.say("Try it yourself (`source .venv/bin/activate` first puts permission-canary on your PATH):\n"
            "- the same offline check on the demo's files:")
    out.command(f"STAGE=dev permission-canary check-policy --config {work / 'canary.json'} "
                f"--policy {work / 'policy-dev.json'} --region {REGION} --account {ACCOUNT}")
    out.say("- in your API's directory: what the code calls that the stage's policy does not grant, then embed "
            "the canary (a diff; --write applies it) and rehearse it on this emulator:")
    out.command("permission-canary discover . --check --stage dev")
    out.command(f"permission-canary init --stage dev --region {REGION} --account <your account id>")
    out.command("permission-canary emulate --stage dev")
    out.say("- deploy with the gate (provision, chalice deploy, provision, invoke; exit 1 on any DENIED):")
    out.command("permission-canary deploy --stage dev")
    out.say("The README's \"Add it to your API\" walks through each step.")
    if failures:
        con.print("[bold red]The demo did not play out as expected:[/bold red]")
        for f in failures:
            con.print(f"  - {f}")
        return 1
    con.print("[bold green]Demo complete: the canary caught the missing permissions, and the fix cleared them.[/bold green]")
    return 0


def _run(emu: Any, config: Any, creds: Any) -> Any:
    from canary.runner import run

    return run(config, emu.session(creds), endpoint_url=emu.url, stage=STAGE)


def _scan(emu: Any) -> str:
    items = emu.client("dynamodb").scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return json.dumps(sorted(items, key=lambda i: json.dumps(i, sort_keys=True)), sort_keys=True)


def _slack_preview(out: _Out, report: dict[str, Any]) -> None:
    try:
        from canary.notifiers.handler import render_for_demo  # type: ignore[attr-defined]
    except ImportError:
        try:
            from canary.notifiers import render_for_demo  # type: ignore[attr-defined,no-redef]
        except ImportError:
            return
    payload = render_for_demo(report, STAGE)
    out.say("\nThe Slack message this alarm produces (Block Kit, shown as text; "
            "`permission-canary notify --dry-run` prints the JSON):")
    from rich.panel import Panel
    from rich.text import Text

    parts = [block["text"]["text"] for block in payload.get("blocks", [])
             if isinstance(block.get("text"), dict) and block["text"].get("text")]
    # Text(): the message holds AWS text; `[/x]` in it is content, never rich markup.
    out.c.print(Panel(Text("\n\n".join(parts)), title="#oncall", title_align="left", expand=False), highlight=False)


def _offline_check(out: _Out, work: Path, failures: list[str]) -> None:
    try:
        from canary.policy import check_config, load_policy  # noqa: F401
    except ImportError:
        return
    from canary.config import parse_config
    from canary.probes import Target

    out.section(6, "The same gap, caught before deploy (check-policy, from files alone)")
    config = parse_config(CONFIG, source=str(work / "canary.json"), env={"STAGE": STAGE})
    target = Target(region=REGION, account=ACCOUNT)
    for name in ("policy-dev.json", "policy-dev.fixed.json"):
        verdicts = check_config(config, load_policy(work / name), target)
        bad = [v for v in verdicts if _verdict(v) in ("NOT_GRANTED", "EXPLICITLY_DENIED")]
        out.say(f"{name}: " + (", ".join(f"{_pid(v)} {_verdict(v)}" for v in bad) if bad else "every probe GRANTED"))
        if name == "policy-dev.json" and {_pid(v) for v in bad} != EXPECTED_DENIED:
            failures.append("check-policy did not flag exactly the denied probes on the shipped policy")
        if name == "policy-dev.fixed.json" and bad:
            failures.append("check-policy still flags probes on the fixed policy")
    out.say("In CI, on a project whose stage deploys a policy file (exit 1 on a gap):")
    out.command("permission-canary check-policy --stage dev")


def _verdict(v: Any) -> str:
    d = getattr(v, "decision", None)
    return str(getattr(d, "verdict", None) or getattr(v, "verdict", ""))


def _pid(v: Any) -> str:
    return str(getattr(v, "probe_id", None) or getattr(v, "id", ""))
