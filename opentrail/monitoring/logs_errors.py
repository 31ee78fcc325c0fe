"""CloudWatch Logs domain errors: no HTTP, each carrying the wire error ``code`` it is answered with
and AWS's message. The API layer turns them into the wire errors of the same code
(:func:`opentrail.api.errors.errors_by_code` over :data:`opentrail.api.logs_errors.WIRE_ERRORS`).

Messages confirmed against AWS (LocalStack's AWS-validated snapshots
``tests/aws/services/logs/*.snapshot.json``, 2026-02; issue reports quoting AWS answers):
"The specified log group does not exist.", "The specified log stream does not exist.", "The specified
log group already exists" and "The specified log stream already exists" (no final period), "Invalid
LogGroup or LogStream, both must have length less than or equal to 512.", "Log events in a single
PutLogEvents request must be in chronological order.", "The batch of log events in a single
PutLogEvents request cannot span more than 24 hours.", "Upload too large: N bytes exceeds limit of
1048576", "The specified nextToken is invalid.", "LogGroup name and LogGroup ARN are mutually
exclusive parameters." (ValidationException), "LogGroup name prefix and LogGroup name pattern are
mutually exclusive parameters.", "Cannot order by LastEventTime with a logStreamNamePrefix.",
"Invalid metric transformation: dimensions and default value are mutually exclusive properties",
"The specified filter pattern does not support dimensions". Where a text is opentrail's own (AWS's
is not known), the raising code says so.
"""

from __future__ import annotations

from ..domain_errors import DomainError


class LogsError(DomainError):
    """Base of the CloudWatch Logs domain errors; ``code`` is the wire error code."""

    code = "InvalidParameterException"  # type: ignore[assignment]


class InvalidParameter(LogsError):
    """A request AWS refuses with ``InvalidParameterException`` (the message says why)."""

    code = "InvalidParameterException"  # type: ignore[assignment]


class ValidationError(LogsError):
    """A request AWS refuses with ``ValidationException``."""

    code = "ValidationException"  # type: ignore[assignment]


class LogGroupNotFound(LogsError):
    """The log group does not exist in the caller's account and Region."""

    code = "ResourceNotFoundException"  # type: ignore[assignment]
    default_message = "The specified log group does not exist."


class LogStreamNotFound(LogsError):
    """The log stream does not exist in its log group."""

    code = "ResourceNotFoundException"  # type: ignore[assignment]
    default_message = "The specified log stream does not exist."


class MetricFilterNotFound(LogsError):
    """No metric filter of that name in the log group. The message is the one several emulators
    agree on; AWS's own answer was not found in a public capture."""

    code = "ResourceNotFoundException"  # type: ignore[assignment]
    default_message = "The specified metric filter does not exist."


class LogGroupExists(LogsError):
    """CreateLogGroup of a name already taken in the account and Region."""

    code = "ResourceAlreadyExistsException"  # type: ignore[assignment]
    default_message = "The specified log group already exists"


class LogStreamExists(LogsError):
    """CreateLogStream of a name already taken in the log group."""

    code = "ResourceAlreadyExistsException"  # type: ignore[assignment]
    default_message = "The specified log stream already exists"


class LimitExceeded(LogsError):
    """A quota is reached (100 metric filters per log group, 50 tags). The message is moto's;
    AWS's own text was not found in a public capture."""

    code = "LimitExceededException"  # type: ignore[assignment]
    default_message = "Resource limit exceeded."


class TooManyTags(LogsError):
    """TagResource beyond 50 tags (the message is opentrail's; AWS's is not known)."""

    code = "TooManyTagsException"  # type: ignore[assignment]
    default_message = "A resource can have no more than 50 tags."


class InvalidToken(LogsError):
    """A nextToken that this server did not issue for these parameters, or that expired."""

    code = "InvalidParameterException"  # type: ignore[assignment]
    default_message = "The specified nextToken is invalid."


#: The name-length refusal of every operation naming a log group or stream (AWS-validated).
NAME_TOO_LONG = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
