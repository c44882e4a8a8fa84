"""The probe registry: one module per AWS service, each registering probes under the IAM action they prove.

A probe is *data*: its build function turns validated params plus the account/region into the exact
`Call` the runner will make. Nothing here sends anything, which is what makes `--explain` exact and
the harmlessness argument reviewable. The one list of what exists is `PROBES`; config validation
reads its keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Call", "Target", "need", "ProbeParams", "ProbeType", "PROBES", "register", "build_call", "probe_resources", "sentinel_only"]


@dataclass(frozen=True)
class Target:
    """Where the probes run: the account and region the ARNs are built for."""

    region: str
    account: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        reg = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{reg}:{self.account}:{resource}"


# Used by check-policy when the account/region are unknown: the ARN then matches any of them.
ANY_TARGET = Target(region="*", account="*")


@dataclass(frozen=True)
class Call:
    """One AWS API call, exactly as it will be sent (`service` is the boto3 client name)."""

    action: str
    service: str
    operation: str
    params: dict[str, Any]
    resource: str
    # Other ARNs the same action may be authorized on (e.g. an SES domain identity).
    alt_resources: tuple[str, ...] = ()
    # Error codes that prove the call was authorized and did nothing (e.g. ConditionalCheckFailed).
    harmless_errors: frozenset[str] = frozenset()
    # One sentence on why this call cannot change anything; shown by --explain.
    why_harmless: str = ""
    # True when the request is built to be refused (a condition that never holds): a 2xx answer then
    # proves nothing and may mean something was written, so it is an ERROR, never ALLOWED.
    must_fail: bool = False
    # What a 2xx answer must carry to prove the call was authorized and answered in full: (dotted path,
    # exact value or None for "present"). A truncated or garbled body parses to {} in botocore.
    expect: tuple[tuple[str, str | None], ...] = ()
    # True when the answer holds a secret (a parameter or secret value, object bytes): botocore's DEBUG
    # logs of that answer are withheld while the call runs (canary.redact).
    secret_response: bool = False
    # What a remediation grants when it is wider than the probed resource: the S3 probe proves one
    # sentinel object, but the API writes the whole folder it lies in, so granting only the sentinel
    # would turn the canary green while the API's own writes stay denied. Empty: `resources`.
    grant: tuple[str, ...] = ()

    @property
    def resources(self) -> tuple[str, ...]:
        return (self.resource, *self.alt_resources)

    @property
    def grant_resources(self) -> tuple[str, ...]:
        return self.grant or self.resources


def need(path: str, value: str | None = None) -> tuple[str, str | None]:
    """One field a 2xx answer must carry (`value`: the exact value it must have), for `Call.expect`."""
    return (path, value)


class ProbeParams(BaseModel):
    """Fields every probe has; each probe type adds its own and forbids unknown ones."""

    # defer_build: a model builds its validator when first used, so a Lambda pays only for the probe
    # types its config uses (measured in `make bench`).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    action: str
    id: str | None = None

    def resource_name(self) -> str:
        """Name the probed resource for the default id (e.g. the table name)."""
        return ""

    @property
    def probe_id(self) -> str:
        return self.id or slug(f"{self.action}-{self.resource_name()}")


P = TypeVar("P", bound=ProbeParams)
ProbeFn = Callable[[P, Target], Call]


@dataclass(frozen=True)
class ProbeType(Generic[P]):
    """A registered probe: the IAM action it proves, its params model, and its build function."""

    action: str
    params: type[P]
    build: ProbeFn[P]
    services: tuple[str, ...] = field(default=())


PROBES: dict[str, ProbeType[Any]] = {}


def register(action: str, params: type[P], *, services: tuple[str, ...]) -> Callable[[ProbeFn[P]], ProbeFn[P]]:
    """Register `fn` as the probe proving `action`; one action has exactly one probe."""

    def deco(fn: ProbeFn[P]) -> ProbeFn[P]:
        if action in PROBES:
            raise RuntimeError(f"probe for {action} registered twice")
        PROBES[action] = ProbeType(action=action, params=params, build=fn, services=services)
        return fn

    return deco


def sentinel_only(data: Any, real: str, sentinel: str, why: str) -> Any:
    """Refuse a probe config naming the API's own resource (`real`) where only a sentinel is harmless."""
    if isinstance(data, dict) and real in data and sentinel not in data:
        raise ValueError(why)
    return data


def build_call(params: ProbeParams, target: Target) -> Call:
    """Build the exact call for a validated probe."""
    return PROBES[params.action].build(params, target)


def probe_resources(params: ProbeParams, target: Target = ANY_TARGET) -> tuple[str, ...]:
    """The ARNs the probe's action is authorized against (for check-policy)."""
    return build_call(params, target).resources


def grant_resources(params: ProbeParams, target: Target = ANY_TARGET) -> tuple[str, ...]:
    """The ARNs a statement that fixes the probe should name (the probed ones, or the scope they stand for)."""
    return build_call(params, target).grant_resources


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


# Registration happens on import; keep this list the only place that names the modules.
from canary.probes import dynamodb, s3, secretsmanager, ses, sns, sqs, ssm  # noqa: E402,F401
