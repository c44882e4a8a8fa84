"""Secrets Manager probe: read the API's own secret; the value is discarded unread.

`secretsmanager:GetSecretValue` has no side effect (a secret encrypted with a customer key also
needs `kms:Decrypt`, which the probe then proves too). The runner discards the response: the value
is never logged, kept or reported, and `--explain` shows only the secret's id. Secret ARNs end in a
random six-character suffix, so for a secret given by name the probe's resource is AWS's documented
pattern `secret:NAME-??????`; a full ARN is used as given. botocore's DEBUG log of the answer (which
holds the value) is withheld while the call runs (`Call.secret_response`, canary.redact); a 2xx must
carry the secret's ARN and name, so a truncated or garbled one is an ERROR.
"""

from __future__ import annotations

from pydantic import Field

from canary.probes import Call, ProbeParams, Target, need, register

__all__ = ["SecretProbe", "secret_arn"]


def secret_arn(secret: str, t: Target) -> str:
    """The secret's ARN, or `...:secret:NAME-??????` for a name (matches the suffix AWS adds)."""
    if secret.startswith("arn:"):
        return secret
    return t.arn("secretsmanager", f"secret:{secret}-??????")


class SecretProbe(ProbeParams):
    """One secret, by name (`app/dev/db`) or full ARN; `version_stage` as the API reads it."""

    secret: str = Field(min_length=1, max_length=2048)
    version_stage: str | None = Field(None, min_length=1, max_length=256)

    def resource_name(self) -> str:
        return self.secret


@register("secretsmanager:GetSecretValue", SecretProbe, services=("secretsmanager",))
def get_secret_value(p: SecretProbe, t: Target) -> Call:
    params: dict[str, object] = {"SecretId": p.secret}
    if p.version_stage:
        params["VersionStage"] = p.version_stage
    return Call(action=p.action, service="secretsmanager", operation="get_secret_value", params=params,
                resource=secret_arn(p.secret, t), secret_response=True, expect=(need("ARN"), need("Name")),
                why_harmless="a read with no side effect; the value is discarded unread by the runner and "
                             "never logged, kept or reported")
