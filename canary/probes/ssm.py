"""SSM Parameter Store probe: read the API's own parameter, decrypting it exactly as the API does.

`ssm:GetParameter` has no side effect, so the probe reads the real parameter the API reads. With
`"with_decryption": true` (set it when the API's code does) a SecureString is decrypted by KMS, so a
missing `kms:Decrypt` on the parameter's key fails the probe too. The value comes back to the
runner, which discards the response unread: it is never logged, kept or reported, and `--explain`
shows only the name and the flag. botocore's DEBUG log of the answer (which holds the value) is
withheld while the call runs (`Call.secret_response`, canary.redact). A 2xx must name the parameter;
a truncated or garbled one is an ERROR.
"""

from __future__ import annotations

from pydantic import Field, StrictBool

from canary.probes import Call, ProbeParams, Target, need, register

__all__ = ["SsmParameterProbe", "parameter_arn"]


def parameter_arn(name: str, t: Target) -> str:
    """The parameter's ARN: `/app/x` -> `parameter/app/x`, `app` -> `parameter/app` (one slash, never two)."""
    if name.startswith("arn:"):
        return name
    bare = name.split(":", 1)[0]  # drop a ":version" or ":label" selector
    return t.arn("ssm", "parameter/" + bare.lstrip("/"))


class SsmParameterProbe(ProbeParams):
    """One parameter, by name (`/app/dev/db-url`) or ARN; `with_decryption` as the API's code calls it."""

    name: str = Field(min_length=1, max_length=2048)
    with_decryption: StrictBool = False

    def resource_name(self) -> str:
        return self.name


@register("ssm:GetParameter", SsmParameterProbe, services=("ssm",))
def get_parameter(p: SsmParameterProbe, t: Target) -> Call:
    return Call(action=p.action, service="ssm", operation="get_parameter",
                params={"Name": p.name, "WithDecryption": p.with_decryption},
                resource=parameter_arn(p.name, t), secret_response=True,
                expect=(need("Parameter.Name"), need("Parameter.Type")),
                why_harmless="a read with no side effect; the value is discarded unread by the runner and "
                             "never logged, kept or reported")
