"""EventBridge control-plane domain errors: no HTTP, each carrying the wire error ``code`` it is
answered with and AWS's message (the API layer maps them by code,
:func:`opentrail.api.errors.errors_by_code` over :data:`opentrail.api.events_errors.WIRE_ERRORS`).

Messages from AWS-validated LocalStack snapshots and its provider
(``localstack-core/localstack/services/events/``): "Rule x does not exist on EventBus default.",
"Event bus x does not exist.", "Rule can't be deleted since it has targets.", "Parameter(s)
EventPattern or ScheduleExpression must be specified.", "Parameter ScheduleExpression is not
valid.", "The requested resource exceeds the maximum number allowed.", "Connection x already
exists.", "Failed to describe the connection(s). Connection 'x' does not exist.", "An
api-destination 'x' already exists.", "Failed to describe the api-destination(s). An
api-destination 'x' does not exist.", "Parameter Event is not valid.", "Only one of Input,
InputPath, or InputTransformer must be provided for target x.". Where a text is opentrail's own,
the raising code says so.
"""

from __future__ import annotations

from ..domain_errors import DomainError


class EventBridgeError(DomainError):
    """Base of the EventBridge domain errors; ``code`` is the wire error code."""

    code = "ValidationException"  # type: ignore[assignment]


class ValidationError(EventBridgeError):
    """A request EventBridge refuses with ``ValidationException`` (the message says why)."""

    code = "ValidationException"  # type: ignore[assignment]


class NotFound(EventBridgeError):
    """A rule, event bus, connection or API destination that does not exist."""

    code = "ResourceNotFoundException"  # type: ignore[assignment]

    @classmethod
    def rule(cls, name: str, bus: str = "default") -> "NotFound":
        return cls(f"Rule {name} does not exist on EventBus {bus}.")

    @classmethod
    def event_bus(cls, name: str) -> "NotFound":
        return cls(f"Event bus {name} does not exist.")

    @classmethod
    def connection(cls, name: str) -> "NotFound":
        return cls(f"Failed to describe the connection(s). Connection '{name}' does not exist.")

    @classmethod
    def api_destination(cls, name: str) -> "NotFound":
        return cls(f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")


class AlreadyExists(EventBridgeError):
    """A connection or API destination whose name is taken."""

    code = "ResourceAlreadyExistsException"  # type: ignore[assignment]

    @classmethod
    def connection(cls, name: str) -> "AlreadyExists":
        return cls(f"Connection {name} already exists.")

    @classmethod
    def api_destination(cls, name: str) -> "AlreadyExists":
        return cls(f"An api-destination '{name}' already exists.")


class LimitExceeded(EventBridgeError):
    """Over a quota (5 targets per rule, 300 rules per event bus, ...)."""

    code = "LimitExceededException"  # type: ignore[assignment]
    default_message = "The requested resource exceeds the maximum number allowed."


class InvalidEventPattern(EventBridgeError):
    """An event pattern the pattern engine refuses ("Event pattern is not valid. Reason: ...")."""

    code = "InvalidEventPatternException"  # type: ignore[assignment]
