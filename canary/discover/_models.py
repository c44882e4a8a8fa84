"""Read botocore's service models and boto3's resource models, lazily and once per service.

Discovery must name the IAM action of every call from the same data the SDK itself uses, so it
asks botocore which client methods exist (`xform_name` of each operation) and what the service
signs as. Each model is loaded only when the analysed code names its service, then cached.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from canary.discover._tables import ACTION_OVERRIDES, IAM_PREFIX

__all__ = ["known_services", "method_operation", "iam_prefix", "iam_actions", "resource_model",
           "input_members"]


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
    """The IAM action(s) that authorize `operation` of `service`."""
    prefix = iam_prefix(service)
    return ACTION_OVERRIDES.get((prefix, operation), (f"{prefix}:{operation}",))


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
