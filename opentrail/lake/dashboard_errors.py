"""Dashboard and sample query errors named after the wire (the class name is the AWS error code,
no HTTP here); :mod:`opentrail.api.lake_dashboards` turns them into API errors. AWS publishes no
exact message for these; the texts follow the botocore model's documentation of each shape."""

from __future__ import annotations

from ..domain_errors import DomainError
from .errors import EventDataStoreNotFoundException, InactiveEventDataStoreException
from .query_errors import InvalidQueryStatementException


class DashboardError(DomainError):
    """Base of the dashboard errors."""


class ResourceNotFoundException(DashboardError):
    """No dashboard of that name or ARN in the caller's account and Region."""

    @classmethod
    def for_dashboard(cls, ref: str) -> "ResourceNotFoundException":
        return cls(f"Resource not found: dashboard {ref[:300]} does not exist.")


class ConflictException(DashboardError):
    """The dashboard exists already, or cannot be changed now (termination protection)."""


class ServiceQuotaExceededException(DashboardError):
    """A quota is exceeded: 100 dashboards per Region, 10 widgets per dashboard, one refresh at a
    time per dashboard, 10 queued or running queries per account."""


class UnsupportedOperationException(DashboardError):
    """The requested operation is not supported (a managed dashboard cannot be changed; no query
    generator is configured)."""


class ValidationException(DashboardError):
    """A value breaks a documented rule and the model has no more specific error for it."""


class InvalidParameterException(DashboardError):
    """A request parameter is not valid (SearchSampleQueries)."""


__all__ = ["ConflictException", "DashboardError", "EventDataStoreNotFoundException", "InactiveEventDataStoreException",
           "InvalidParameterException", "InvalidQueryStatementException", "ResourceNotFoundException",
           "ServiceQuotaExceededException", "UnsupportedOperationException", "ValidationException"]
