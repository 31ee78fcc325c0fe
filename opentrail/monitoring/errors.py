"""CloudWatch (``monitoring``) errors named after the wire.

These are domain errors (:class:`opentrail.domain_errors.DomainError`: no HTTP, no starlette), so
the metric store, the alarm evaluator and the validation stay below the API layer. Each class
carries what the three CloudWatch protocols need to render it:

- ``code``: the class name, the Query error code that botocore reports as ``Error.Code`` in every
  protocol (``awsQueryCompatible``): ``InvalidParameterValue``, ``ValidationError`` ...;
- ``shape``: the botocore model's error shape name, which JSON 1.0 and CBOR put in ``__type``
  (``InvalidParameterValueException``) next to the ``x-amzn-query-error: <code>;Sender`` header;
- ``http_status``: the model's ``httpStatusCode``.

``tests/monitoring/test_errors.py`` checks every class against the ``cloudwatch/2010-08-01``
botocore model. The API layer maps them to its own error classes at one edge (as
:func:`opentrail.api.errors.errors_by_code` does for trails and Lake), keyed by ``code``.
"""

from __future__ import annotations

from ..domain_errors import DomainError


class MonitoringError(DomainError):
    """Base of every CloudWatch error; ``code`` is the class name, ``message`` AWS's text."""

    shape: str = ""
    http_status: int = 400
    sender_fault: bool = True


class InvalidParameterValue(MonitoringError):
    """A parameter value that is bad or out of range (GetMetricStatistics, PutMetricData, ...)."""

    shape = "InvalidParameterValueException"


class InvalidParameterCombination(MonitoringError):
    """Parameters that cannot be used together, or a request for more than 1,440 datapoints."""

    shape = "InvalidParameterCombinationException"


class MissingParameter(MonitoringError):
    """A required parameter is missing."""

    shape = "MissingRequiredParameterException"


class ValidationError(MonitoringError):
    """A request that fails validation (PutMetricAlarm's checks, model constraints)."""

    shape = "ValidationException"


class LimitExceeded(MonitoringError):
    """The quota of alarms for this account was reached (PutMetricAlarm)."""

    shape = "LimitExceededFault"


class InvalidNextToken(MonitoringError):
    """A NextToken that this server did not issue, or issued for another request."""

    shape = "InvalidNextToken"


class ResourceNotFound(MonitoringError):
    """No alarm of that name (SetAlarmState)."""

    shape = "ResourceNotFound"
    http_status = 404


class InvalidFormat(MonitoringError):
    """StateReasonData that is not JSON (SetAlarmState)."""

    shape = "InvalidFormatFault"


#: Every CloudWatch error class, by code.
MONITORING_ERRORS: dict[str, type[MonitoringError]] = {
    cls.__name__: cls
    for cls in (
        InvalidParameterValue,
        InvalidParameterCombination,
        MissingParameter,
        ValidationError,
        LimitExceeded,
        InvalidNextToken,
        ResourceNotFound,
        InvalidFormat,
    )
}
