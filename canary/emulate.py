"""Rehearse a stage offline: the embedded AWS emulator with the stage's own policy, resources and role.

moto (the emulator) checks action names only: it counts a statement when its Resource is `"*"` and
ignores resource ARNs and Conditions. Handing it the API's real, resource-scoped policy would deny
everything. So `translate_policy` decides each probe's resources with the offline evaluator that
`check-policy` uses (canary.policy), and gives moto, per action, one statement on `"*"`:
Allow when the policy grants the probe's resource, Deny when it explicitly denies it, nothing when
it grants nothing. moto then still evaluates every signed request over real HTTP against the role's
assumed-role credentials, so the probes' action names, calls and classification are exercised for
real. When two probes with the same action get different verdicts (say, one table granted, another
not), no single `"*"` statement can say both; the probes then run in separate rounds, each with its
own policy. A CONDITIONAL verdict is run as granted and says so (moto evaluates no Condition).

`rehearse()` is what `permission-canary emulate` does: start the emulator, create the resources the
probe config names (tables with the probe key's schema, buckets, parameters, secrets, queues, SES
identities) and the sentinels (`provision_sentinels`), create the API's role with the translated
policy, assume it through STS and run the canary. Needs the `demo` extra (moto[server]).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from canary.errors import CanaryError

__all__ = ["translate_policy", "Translation", "Round", "create_resources", "rehearse", "Rehearsal", "LIMITS",
           "NO_ACTION", "EmulateError"]

LIMITS = ("the emulator checks action names only; resource scoping is pre-decided offline (as check-policy "
          "does), and Conditions, SCPs, permissions boundaries, session and resource policies are not evaluated")
# moto rejects a policy without statements; this one allows an action no probe calls.
NO_ACTION = {"Sid": "PermissionCanaryNothing", "Effect": "Allow", "Action": "permission-canary:Nothing",
             "Resource": "*"}
_ALLOWING = ("GRANTED", "CONDITIONAL")


class EmulateError(CanaryError):
    """The emulator cannot start, or refuses a resource the probe config names; the message says which."""


@dataclass(frozen=True)
class Round:
    """One policy for moto, and the probes whose verdicts it reproduces."""

    policy: dict[str, Any]
    probe_ids: tuple[str, ...]


@dataclass(frozen=True)
class Translation:
    """The stage policy made evaluable by moto: rounds, and each probe's offline verdict and reason."""

    rounds: tuple[Round, ...]
    verdicts: dict[str, str]
    reasons: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def expected_denied(self) -> set[str]:
        """The probes the offline evaluator says are not granted or explicitly denied (check-policy's gaps)."""
        return {pid for pid, v in self.verdicts.items() if v not in _ALLOWING}


def _statement(action: str, verdict: str) -> dict[str, Any] | None:
    if verdict in _ALLOWING:
        return {"Effect": "Allow", "Action": action, "Resource": "*"}
    if verdict == "EXPLICITLY_DENIED":
        return {"Effect": "Deny", "Action": action, "Resource": "*"}
    return None


def translate_policy(policy: Any, config: Any, target: Any = None) -> Translation:
    """Translate `policy` for moto, for the probes of `config`, with ARNs built for `target`.

    `target` defaults to any region and account, exactly like `check-policy` without --region/--account,
    so the DENIED set of a rehearsal equals check-policy's NOT_GRANTED + EXPLICITLY_DENIED set.
    """
    from canary.policy import check_config

    verdicts = check_config(config, policy, target)
    by_action: dict[str, list[Any]] = {}
    for v in verdicts:
        by_action.setdefault(v.action, []).append(v)
    # Round k holds, for each action, the probes with that action's k-th distinct verdict.
    rounds: list[dict[str, Any]] = []
    for action, vs in by_action.items():
        kinds: list[str] = []
        for v in vs:
            if v.decision.verdict not in kinds:
                kinds.append(v.decision.verdict)
        for k, kind in enumerate(kinds):
            while len(rounds) <= k:
                rounds.append({"statements": [], "ids": []})
            st = _statement(action, kind)
            if st is not None:
                rounds[k]["statements"].append(st)
            rounds[k]["ids"].extend(v.probe_id for v in vs if v.decision.verdict == kind)
    out = []
    for r in rounds:
        stmts = [{"Sid": f"Probe{i}", **s} for i, s in enumerate(r["statements"])] or [NO_ACTION]
        out.append(Round({"Version": "2012-10-17", "Statement": stmts}, tuple(r["ids"])))
    notes = tuple(f"{v.probe_id}: CONDITIONAL offline ({', '.join(v.decision.condition_keys) or 'condition'}); "
                  "the emulator runs it as granted" for v in verdicts if v.decision.verdict == "CONDITIONAL")
    return Translation(tuple(out), {v.probe_id: v.decision.verdict for v in verdicts},
                       {v.probe_id: v.decision.reason for v in verdicts}, notes)


# --- resources -----------------------------------------------------------------------------------


def _key_schema(key: dict[str, Any]) -> list[tuple[str, str]]:
    """[(name, S|N|B), ...] from a probe's typed key: the first attribute is the hash key, a second the range key."""
    return [(name, next(iter(value))) for name, value in key.items()]


def _create_table(ddb: Any, name: str, key: list[tuple[str, str]], indexes: dict[str, list[tuple[str, str]]]) -> str:
    key = key or [("pk", "S")]
    attrs = dict(key)
    schema = [{"AttributeName": n, "KeyType": kt} for (n, _), kt in zip(key, ("HASH", "RANGE"))]
    gsis = []
    for index, ikey in indexes.items():
        attrs.update(dict(ikey))
        gsis.append({"IndexName": index, "Projection": {"ProjectionType": "KEYS_ONLY"},
                     "KeySchema": [{"AttributeName": n, "KeyType": kt} for (n, _), kt in zip(ikey, ("HASH", "RANGE"))]})
    args: dict[str, Any] = {"TableName": name, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST",
                            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()]}
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    ddb.create_table(**args)
    keys = ", ".join(f"{n} ({t})" for n, t in key)
    return f"created DynamoDB table {name} (key {keys}" + (f"; index {', '.join(indexes)}" if indexes else "") + ")"


def _name_from_arn(text: str, marker: str) -> str | None:
    return text.split(marker, 1)[1] if text.startswith("arn:") and marker in text else None


def create_resources(config: Any, session: Any, endpoint_url: str) -> list[str]:
    """Create, in the emulator, every resource the probes of `config` name; one line per resource.

    Values written (parameters, secrets) are fixed placeholders, never anything from the user's account.
    """
    from canary.probes.dynamodb import DynamoKeyProbe, DynamoTableProbe
    from canary.probes.s3 import S3ObjectProbe
    from canary.probes.secretsmanager import SecretProbe
    from canary.probes.ses import SesSendProbe
    from canary.probes.sqs import SqsQueueProbe
    from canary.probes.ssm import SsmParameterProbe

    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint_url)
        return clients[service]

    tables: dict[str, dict[str, Any]] = {}
    lines: list[str] = []
    done: set[tuple[str, str]] = set()
    for p in config.probes:
        if isinstance(p, DynamoTableProbe):
            t = tables.setdefault(p.table, {"key": [], "indexes": {}})
            if isinstance(p, DynamoKeyProbe):
                if p.index:
                    t["indexes"].setdefault(p.index, _key_schema(p.key))
                elif not t["key"]:
                    t["key"] = _key_schema(p.key)
            elif p.index:
                t["indexes"].setdefault(p.index, [])
            continue
        if isinstance(p, S3ObjectProbe):
            what = ("s3", p.bucket)
        elif isinstance(p, SsmParameterProbe):
            what = ("ssm", p.name)
        elif isinstance(p, SecretProbe):
            what = ("secretsmanager", p.secret)
        elif isinstance(p, SesSendProbe):
            what = ("ses", p.sender)
        elif isinstance(p, SqsQueueProbe):
            what = ("sqs", p.queue)
        else:
            continue  # sentinel queues and topics: provision_sentinels below
        if what in done:
            continue
        done.add(what)
        try:
            lines.append(_create(client, p, *what))
        except Exception as exc:  # noqa: BLE001 - one line naming the probe and the resource
            raise EmulateError(f"probe {p.probe_id}: the emulator refused to create {what[0]} {what[1]!r}: "
                               f"{_why(exc)}") from None
    for name, t in tables.items():
        try:
            lines.append(_create_table(client("dynamodb"), name, t["key"],
                                       {i: k or t["key"] or [("pk", "S")] for i, k in t["indexes"].items()}))
        except Exception as exc:  # noqa: BLE001
            raise EmulateError(f"the emulator refused to create DynamoDB table {name!r}: {_why(exc)}") from None
    from canary.sentinels import provision_sentinels

    lines.extend(provision_sentinels(config, session, endpoint_url=endpoint_url))
    return lines


def _why(exc: Exception) -> str:
    err = getattr(exc, "response", {}).get("Error", {}) if isinstance(getattr(exc, "response", None), dict) else {}
    return f"{err.get('Code')}: {err.get('Message')}" if err else f"{type(exc).__name__}: {exc}"


def _create(client: Any, p: Any, service: str, name: str) -> str:
    """Create one named resource in the emulator; return the line that says so."""
    if service == "s3":
        region = client("s3").meta.region_name
        args: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client("s3").create_bucket(**args)
        return f"created S3 bucket {name}"
    if service == "ssm":
        plain = _name_from_arn(name, ":parameter")
        pname = name if plain is None else plain
        client("ssm").put_parameter(Name=pname, Value="permission-canary emulator placeholder",
                                    Type="SecureString" if getattr(p, "with_decryption", False) else "String")
        return f"created SSM parameter {pname} (placeholder value)"
    if service == "secretsmanager":
        arn_name = _name_from_arn(name, ":secret:")
        sname = name if arn_name is None else arn_name.rsplit("-", 1)[0]
        client("secretsmanager").create_secret(Name=sname, SecretString="permission-canary emulator placeholder")
        return f"created secret {sname} (placeholder value)" + (
            "; the probe names a full ARN, whose random suffix the emulator cannot reproduce (expect ERROR)"
            if arn_name is not None else "")
    if service == "ses":
        client("ses").verify_email_identity(EmailAddress=name)
        return f"verified SES identity {name}"
    attrs = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    client("sqs").create_queue(QueueName=name, Attributes=attrs)
    return f"created SQS queue {name}"


# --- the rehearsal -------------------------------------------------------------------------------


@dataclass
class Rehearsal:
    """What `rehearse` did: the resources it made, the role, the translation and the merged report."""

    role_arn: str
    resources: list[str]
    translation: Translation
    report: Any
    url: str = ""
    rounds: int = 1
    lines: list[str] = field(default_factory=list)


def rehearse(config: Any, policy: Any, *, stage: str, role_name: str, target: Any = None,
             region: str = "us-east-1") -> Rehearsal:
    """Run the canary in the emulator with `policy` (translated), as role `role_name`; return everything."""
    from canary.emulator import Emulator
    from canary.model import Report
    from canary.runner import run

    translation = translate_policy(policy, config, target)
    try:
        emu = Emulator(region=region).start()
    except RuntimeError as exc:  # moto is not installed (the `demo` extra)
        raise EmulateError(str(exc)) from None
    try:
        admin = emu.session()
        resources = create_resources(config, admin, emu.url)
        role_arn = ""
        results: dict[str, Any] = {}
        principal = None
        started = ""
        duration = 0
        t0 = time.monotonic()
        for i, rnd in enumerate(translation.rounds):
            if i == 0:
                role_arn = emu.create_role(role_name, rnd.policy)
            else:
                emu.put_role_policy(role_name, rnd.policy)
            creds = emu.assume(role_arn, role_name[:64])
            report = run(config.select(list(rnd.probe_ids)), emu.session(creds), endpoint_url=emu.url, stage=stage)
            principal = principal or report.principal
            started = started or report.started_at
            for r in report.results:
                results[r.id] = r
        duration = int((time.monotonic() - t0) * 1000)
        merged = Report(stage=stage, started_at=started, principal=principal,
                        results=[results[p.probe_id] for p in config.probes if p.probe_id in results],
                        duration_ms=duration, namespace=config.settings.namespace)
        return Rehearsal(role_arn, resources, translation, merged, emu.url, len(translation.rounds))
    finally:
        emu.stop()


def policy_json(translation: Translation) -> str:
    """The translated policies, as moto receives them (for --show-policy)."""
    return json.dumps([{"probes": list(r.probe_ids), "policy": r.policy} for r in translation.rounds], indent=2)
