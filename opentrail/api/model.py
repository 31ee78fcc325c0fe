"""The CloudTrail API model, as botocore ships it (``botocore/data/cloudtrail/2013-11-01``).

The model is the API contract: operation names, input shapes (members, types, constraints) and
error shapes. Loaded once, on first use.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationNotFoundError, ServiceModel


@lru_cache(maxsize=None)
def service_description(service: str = "cloudtrail") -> dict[str, Any]:
    """The model file's JSON (``service-2.json`` of the newest API version) as a dict."""
    description: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return description


@lru_cache(maxsize=None)
def service_model(service: str = "cloudtrail") -> ServiceModel:
    """botocore's :class:`ServiceModel` of ``service`` (its newest API version)."""
    return ServiceModel(service_description(service), service_name=service)


@lru_cache(maxsize=None)
def input_shape(operation: str, service: str = "cloudtrail") -> Any:
    """The input :class:`botocore.model.StructureShape` of ``operation``, or None when the model has
    no such operation or it takes no input."""
    try:
        return service_model(service).operation_model(operation).input_shape
    except OperationNotFoundError:
        return None


@lru_cache(maxsize=None)
def output_shape(operation: str, service: str = "cloudtrail") -> Any:
    """The output :class:`botocore.model.StructureShape` of ``operation``, or None."""
    try:
        return service_model(service).operation_model(operation).output_shape
    except OperationNotFoundError:
        return None
