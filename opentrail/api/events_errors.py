"""Amazon EventBridge wire errors: one class per error shape of ``botocore/data/events/2015-10-07``
(``ResourceNotFoundException``, ``ResourceAlreadyExistsException``, ``InvalidEventPatternException``,
``LimitExceededException``, ``ManagedRuleException``, ``InternalException`` (HTTP 500), ...), and
the common ``ValidationException`` EventBridge answers for refused parameters ("Rule can't be
deleted since it has targets.", "Parameter Event is not valid.", Coral's "1 validation error
detected: ..." for the model's constraints)."""

from __future__ import annotations

from . import errors
from .errors import AwsError
from .model_errors import model_errors

#: Error code -> AwsError subclass: every error shape of the events model, and ValidationException.
WIRE_ERRORS: dict[str, type[AwsError]] = {**model_errors("events", __name__),
                                          "ValidationException": errors.ValidationException}
globals().update(WIRE_ERRORS)

ResourceNotFoundException: type[AwsError] = WIRE_ERRORS["ResourceNotFoundException"]
ResourceAlreadyExistsException: type[AwsError] = WIRE_ERRORS["ResourceAlreadyExistsException"]
InvalidEventPatternException: type[AwsError] = WIRE_ERRORS["InvalidEventPatternException"]
LimitExceededException: type[AwsError] = WIRE_ERRORS["LimitExceededException"]
ValidationException: type[AwsError] = errors.ValidationException
