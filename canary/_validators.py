"""Validate config values as AWS validates them: one plain function per rule, reusable by any model.

Each function takes the value and returns it (possibly normalised) or raises `ValueError` with a
message that says what is wrong and what is allowed, naming the value itself; the config loader
prefixes the file, probe and field. The `Annotated` types at the end wrap the same functions for
pydantic models (and put the rule into the JSON Schema), so a probe model can adopt a rule with
one annotation. Sources are AWS's own documentation and botocore's service models:

- DynamoDB naming rules and data types ("Supported data types and naming rules", "Constraints"):
  table and index names 3-255 of `a-z A-Z 0-9 _ - .`; key attribute names 1-255 (secondary-index
  key names are capped at 255, table key names in CreateTable's `KeySchemaAttributeName` too);
  a key value is 1-2048 bytes (a sort key at most 1024); numbers have at most 38 significant
  digits, magnitude 1E-130 to 9.99...E+125, or 0.
- CloudWatch: a namespace is 1-255 characters of `0-9 A-Z a-z . - _ / # :` and space, cannot start
  with `:` (PutMetricData's pattern) and cannot begin with `AWS/` (reserved for AWS services);
  a dimension value is 1-1024 ASCII characters, no control characters, not all whitespace.
- SES: recipients are RFC 5322 addresses; the canary's own rule is that every one of them is at
  the mailbox simulator unless the probe says otherwise.

No imports beyond the standard library and pydantic: this module is on the Lambda's path.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, Field

__all__ = [
    "dynamo_name", "dynamo_key_name", "dynamo_key_value", "cloudwatch_namespace", "dimension_value",
    "probe_id", "ses_recipients", "placeholder", "SIMULATOR_DOMAIN",
    "DynamoName", "DynamoIndexName", "CloudWatchNamespace", "DimensionValue", "ProbeId",
    "DYNAMO_NAME_SCHEMA", "PROBE_ID_SCHEMA",
    "MAX_PROBE_ID", "MAX_KEY_VALUE_BYTES",
]

SIMULATOR_DOMAIN = "simulator.amazonses.com"
MAX_PROBE_ID = 1024            # a CloudWatch dimension value
MAX_KEY_NAME = 255
MAX_KEY_VALUE_BYTES = 2048     # a partition key value; a sort key allows 1024
MAX_N_DIGITS = 38

_DYNAMO_NAME = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
_NAMESPACE = re.compile(r"[0-9A-Za-z._/#\-](?:[0-9A-Za-z ._/#:\-]{0,253}[0-9A-Za-z._/#:\-])?")
_ASCII_VISIBLE = re.compile(r"[\x20-\x7e]+")
_PROBE_ID = re.compile(r"[A-Za-z0-9_.:/@+=\-]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def dynamo_name(value: str, what: str = "table") -> str:
    """A DynamoDB table or index name: 3-255 of `a-z A-Z 0-9 _ - .` (a name, never an ARN)."""
    if _DYNAMO_NAME.fullmatch(value):
        return value
    hint = ""
    if value.startswith("arn:"):
        hint = f"; give the {what} name, not an ARN (the probe builds the ARN from the account and region)"
    elif 3 <= len(value) <= 255:
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9_.\-]", c)})
        hint = f"; {', '.join(repr(c) for c in bad)} not allowed"
    return _raise(f"{value!r} is not a DynamoDB {what} name: 3-255 letters, digits, '_', '-' or '.'{hint}")


def dynamo_key_name(name: str) -> str:
    """A key attribute name: 1-255 bytes of UTF-8."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_KEY_NAME:
        _raise(f"a key attribute name must be 1-{MAX_KEY_NAME} bytes, got {size}")
    return name


def dynamo_key_value(typed: dict[str, str]) -> dict[str, str]:
    """A typed key value (`{"S"|"N"|"B": str}`) that DynamoDB would accept as a key attribute."""
    (kind, inner), = typed.items()
    if kind == "S":
        size = len(inner.encode("utf-8", "surrogatepass"))
        if size == 0:
            _raise("a string key value must not be empty (DynamoDB refuses an empty key attribute)")
        if size > MAX_KEY_VALUE_BYTES:
            _raise(f"a string key value is {size} bytes; a key attribute allows at most {MAX_KEY_VALUE_BYTES}")
    elif kind == "N":
        _dynamo_number(inner)
    elif kind == "B":
        try:
            raw = base64.b64decode(inner, validate=True)
        except (binascii.Error, ValueError):
            _raise("a binary key value {\"B\": ...} must be base64 (A-Z a-z 0-9 + / and = padding)")
        if not 1 <= len(raw) <= MAX_KEY_VALUE_BYTES:
            _raise(f"a binary key value must decode to 1-{MAX_KEY_VALUE_BYTES} bytes, got {len(raw)}")
    return typed


def _dynamo_number(text: str) -> None:
    why = "a number key value {\"N\": ...} must be a decimal number string such as \"42\" or \"-1.5e3\""
    if not _NUMBER.fullmatch(text):
        _raise(why)
    try:
        num = Decimal(text)
    except (InvalidOperation, ValueError):
        _raise(why)
    if num.is_zero():
        return
    _, digits, exponent = num.as_tuple()  # exact: no context rounding
    assert isinstance(exponent, int)
    text_digits = "".join(map(str, digits)).lstrip("0")
    significant = text_digits.rstrip("0")
    if len(significant) > MAX_N_DIGITS:
        _raise(f"a DynamoDB number has at most {MAX_N_DIGITS} significant digits; this one has {len(significant)}")
    magnitude = len(text_digits) + exponent - 1  # the exponent of the leading digit
    if not -130 <= magnitude <= 125:
        _raise("a DynamoDB number's magnitude must be between 1E-130 and 9.9999999999999999999999999999999999999E+125")


def cloudwatch_namespace(value: str) -> str:
    """A custom metric namespace CloudWatch accepts (and not one reserved for AWS)."""
    if value.startswith("AWS/"):
        _raise(f"{value!r} begins with 'AWS/', which CloudWatch reserves for AWS services; use your own, "
               "e.g. 'PermissionCanary'")
    if not _NAMESPACE.fullmatch(value):
        _raise(f"{value!r} is not a CloudWatch namespace: 1-255 of letters, digits, '.', '-', '_', '/', '#', "
               "':' and inner spaces, not starting with ':'")
    return value


def dimension_value(value: str, what: str = "value") -> str:
    """A CloudWatch dimension value: 1-1024 printable ASCII characters, not all spaces."""
    if not value.strip():
        _raise(f"the {what} must not be empty (it is a CloudWatch dimension value)")
    if len(value) > MAX_PROBE_ID:
        _raise(f"the {what} is {len(value)} characters; a CloudWatch dimension value allows at most {MAX_PROBE_ID}")
    if not _ASCII_VISIBLE.fullmatch(value):
        _raise(f"{value!r} is not a CloudWatch dimension value: printable ASCII only, no control characters")
    return value


def probe_id(value: str) -> str:
    """A probe id: a dimension value, and a word a shell, Slack and a terminal show as it is."""
    if len(value) > MAX_PROBE_ID:
        _raise(f"the id is {len(value)} characters; a CloudWatch dimension value (the 'Probe' dimension) allows at "
               f"most {MAX_PROBE_ID}: give the probe a shorter \"id\"")
    if not _PROBE_ID.fullmatch(value):
        _raise(f"{value!r} is not a probe id: 1-{MAX_PROBE_ID} letters, digits and '-', '_', '.', ':', '/', '@', "
               "'+', '='")
    return value


_ADDRESS_AT = re.compile(r"@([^\s<>,;\"'()\[\]]*)")


def ses_recipients(to: str, allow_real: bool) -> str:
    """`to` as SES reads it: one address, a comma-separated list, or `Name <address>` forms.

    Every `@` in the value must start `@simulator.amazonses.com` (whatever the case) unless
    `allow_real` is set: a display name holding an address is refused too, rather than trusting
    one parser's reading of the list over SES's.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in to):
        _raise(f"'to' is {to!r}: control characters (a line break could add a header) are not allowed")
    domains = [m.group(1) for m in _ADDRESS_AT.finditer(to)]
    if not domains:
        _raise(f"'to' must be an email address, got {to!r}")
    if allow_real:
        return to
    outside = [d for d in domains if d.lower() != SIMULATOR_DOMAIN]
    if outside:
        found = _address_with(to, outside[0])
        head = (f"'to' is {to!r}, outside {SIMULATOR_DOMAIN}" if found == to
                else f"'to' is {to!r}: {found!r} in it is outside {SIMULATOR_DOMAIN}")
        _raise(f"{head}: a probe would email a real mailbox. Use the simulator (default success@{SIMULATOR_DOMAIN}) "
               "or set \"allow_real_recipients\": true")
    return to


def _address_with(to: str, domain: str) -> str:
    for part in re.split(r"[,;]", to):
        inner = re.search(r"<([^<>]*)>", part)
        addr = (inner.group(1) if inner else part).strip()
        if addr.endswith("@" + domain):
            return addr
    return to


# -- placeholders ---------------------------------------------------------------------------------

_WORDS = r"(?:fill[ _-]?(?:me|in)|change[ _-]?me|replace[ _-]?me|to[ _-]?do|tbd|fix[ _-]?me|placeholder)"
_PLACEHOLDERS = (
    re.compile(rf"__{_WORDS}__", re.IGNORECASE),                        # __FILL_ME__, __TODO__table
    re.compile(rf"<\s*(?:{_WORDS}|your\b|your[ _-])[^<>]*>", re.IGNORECASE),   # <FILL ME>, <your-table>
    re.compile(r"\{\{[^{}]*\}\}"),                                      # an unrendered {{ template }}
)
_WHOLE = re.compile(r"(?:FILL[ _-]?(?:ME|IN)|CHANGE[ _-]?ME|REPLACE[ _-]?ME|TODO|TBD|FIXME|PLACEHOLDER|XXX+)")


def placeholder(text: str) -> str | None:
    """The placeholder in `text`, if it is one or holds one; None for an ordinary value.

    The rule, on the value after `${VAR}` substitution: `__W__` anywhere, `<W...>` or
    `<your...>` anywhere, `{{...}}` anywhere (case ignored), or the whole value being W in capitals
    (`TODO`, `CHANGEME`, `XXX`), where W is one of FILL ME, FILL IN, CHANGE ME, REPLACE ME, TODO, TBD,
    FIXME, PLACEHOLDER (words joined by nothing, a space, '_' or '-').
    """
    for rx in _PLACEHOLDERS:
        m = rx.search(text)
        if m:
            return m.group(0)
    stripped = text.strip()
    return stripped if _WHOLE.fullmatch(stripped) else None


def _raise(message: str) -> Any:
    raise ValueError(message)


# -- Annotated types for pydantic models ---------------------------------------------------------
# The schema describes the file as written, before `${VAR}` is filled: its patterns let a reference
# stand anywhere a character may, and the loader checks the filled value against the full rule.

_REF = "\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}"
DYNAMO_NAME_SCHEMA = f"^(?:[A-Za-z0-9_.\\-]|{_REF})+$"
PROBE_ID_SCHEMA = f"^(?:[A-Za-z0-9_.:/@+=\\-]|{_REF})+$"

DynamoName = Annotated[str, AfterValidator(dynamo_name), Field(json_schema_extra={"pattern": DYNAMO_NAME_SCHEMA})]
DynamoIndexName = Annotated[str, AfterValidator(lambda v: dynamo_name(v, "index")),
                            Field(json_schema_extra={"pattern": DYNAMO_NAME_SCHEMA})]
CloudWatchNamespace = Annotated[str, AfterValidator(cloudwatch_namespace), Field(json_schema_extra={
    "pattern": f"^(?:[0-9A-Za-z ._/#:\\-]|{_REF})+$",
    "not": {"pattern": "^AWS/|^[: ]| $|[\\x00-\\x1f]"}})]
DimensionValue = Annotated[str, AfterValidator(dimension_value),
                           Field(json_schema_extra={"pattern": "^[\\x20-\\x7e]+$"})]
ProbeId = Annotated[str, AfterValidator(probe_id), Field(json_schema_extra={"pattern": PROBE_ID_SCHEMA})]
