"""SES probes: a send to the mailbox simulator, from the API's own identity.

A message to `*@simulator.amazonses.com` is billed like one email but touches neither the sending
quota nor the reputation metrics. A failed send is not billed. Recipients outside the simulator are
refused at config time unless the probe sets `allow_real_recipients: true`.
`ses:SendEmail` covers both the v1 `SendEmail` and the v2 `SendEmail` APIs (`"api": "v1" | "v2"`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from canary.probes import Call, ProbeParams, Target, need, register

__all__ = ["SesSendProbe", "SesRawProbe", "SIMULATOR_DOMAIN", "DEFAULT_RECIPIENT"]

SIMULATOR_DOMAIN = "simulator.amazonses.com"
DEFAULT_RECIPIENT = f"success@{SIMULATOR_DOMAIN}"
SUBJECT = "permission canary probe"
BODY = "Sent by chalice-permission-canary to the SES mailbox simulator to prove ses:SendEmail. No action needed."
_WHY = ("a send to the SES mailbox simulator: billed as one email, counts against neither quota nor "
        "reputation, and reaches no real mailbox")


_SENT = (need("MessageId"),)  # a 2xx without a message id proves nothing


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


class SesSendProbe(ProbeParams):
    """Send one message from `from` (a verified identity of the API) to a simulator address."""

    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    to: str = DEFAULT_RECIPIENT
    api: Literal["v1", "v2"] = "v1"
    configuration_set: str | None = None
    allow_real_recipients: bool = False

    model_config = ProbeParams.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _simulator_only(self) -> "SesSendProbe":
        if "@" not in self.to:
            raise ValueError(f"'to' must be an email address, got {self.to!r}")
        if _domain(self.to) != SIMULATOR_DOMAIN and not self.allow_real_recipients:
            raise ValueError(
                f"'to' is {self.to!r}, outside {SIMULATOR_DOMAIN}: a probe would email a real mailbox. "
                f"Use the simulator (default {DEFAULT_RECIPIENT}) or set \"allow_real_recipients\": true")
        return self

    def resource_name(self) -> str:
        return self.sender

    def identity_arns(self, t: Target) -> tuple[str, tuple[str, ...]]:
        """The address identity, plus its domain identity (SES authorizes on whichever is verified)."""
        return (t.arn("ses", f"identity/{self.sender}"), (t.arn("ses", f"identity/{_domain(self.sender)}"),))


def _send_v1(p: SesSendProbe, t: Target) -> Call:
    params: dict[str, object] = {
        "Source": p.sender,
        "Destination": {"ToAddresses": [p.to]},
        "Message": {"Subject": {"Data": SUBJECT}, "Body": {"Text": {"Data": BODY}}},
    }
    if p.configuration_set:
        params["ConfigurationSetName"] = p.configuration_set
    arn, alt = p.identity_arns(t)
    return Call(action=p.action, service="ses", operation="send_email", params=params,
                resource=arn, alt_resources=alt, why_harmless=_WHY, expect=_SENT)


def _send_v2(p: SesSendProbe, t: Target) -> Call:
    params: dict[str, object] = {
        "FromEmailAddress": p.sender,
        "Destination": {"ToAddresses": [p.to]},
        "Content": {"Simple": {"Subject": {"Data": SUBJECT}, "Body": {"Text": {"Data": BODY}}}},
    }
    if p.configuration_set:
        params["ConfigurationSetName"] = p.configuration_set
    arn, alt = p.identity_arns(t)
    return Call(action=p.action, service="sesv2", operation="send_email", params=params,
                resource=arn, alt_resources=alt, why_harmless=_WHY, expect=_SENT)


@register("ses:SendEmail", SesSendProbe, services=("ses", "sesv2"))
def send_email(p: SesSendProbe, t: Target) -> Call:
    return _send_v2(p, t) if p.api == "v2" else _send_v1(p, t)


def _raw_message(p: SesSendProbe) -> bytes:
    return (f"From: {p.sender}\r\nTo: {p.to}\r\nSubject: {SUBJECT}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{BODY}\r\n").encode()


class SesRawProbe(SesSendProbe):
    """SendRawEmail exists in the v1 API only (v2 sends raw MIME through SendEmail's `Content.Raw`)."""

    api: Literal["v1"] = "v1"


@register("ses:SendRawEmail", SesRawProbe, services=("ses",))
def send_raw_email(p: SesSendProbe, t: Target) -> Call:
    params: dict[str, object] = {"Source": p.sender, "Destinations": [p.to],
                                 "RawMessage": {"Data": _raw_message(p)}}
    if p.configuration_set:
        params["ConfigurationSetName"] = p.configuration_set
    arn, alt = p.identity_arns(t)
    return Call(action=p.action, service="ses", operation="send_raw_email", params=params,
                resource=arn, alt_resources=alt, why_harmless=_WHY, expect=_SENT)
