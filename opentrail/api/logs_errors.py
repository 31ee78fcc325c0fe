"""CloudWatch Logs wire errors: one class per error shape of ``botocore/data/logs/2014-03-28``
(``ResourceNotFoundException``, ``ResourceAlreadyExistsException``, ``InvalidParameterException``,
``LimitExceededException``, ``DataAlreadyAcceptedException``, ...), all HTTP 400 as the model says.
Request validation answers :class:`InvalidParameterException` with Coral's text ("1 validation error
detected: Value '...' at 'filterPattern' failed to satisfy constraint: ...", reference
monitoring.md A3)."""

from __future__ import annotations

from .errors import AwsError
from .model_errors import model_errors

#: Error code -> AwsError subclass, for every error shape of the logs model.
WIRE_ERRORS: dict[str, type[AwsError]] = model_errors("logs", __name__)
globals().update(WIRE_ERRORS)

InvalidParameterException: type[AwsError] = WIRE_ERRORS["InvalidParameterException"]
ResourceNotFoundException: type[AwsError] = WIRE_ERRORS["ResourceNotFoundException"]
ResourceAlreadyExistsException: type[AwsError] = WIRE_ERRORS["ResourceAlreadyExistsException"]
LimitExceededException: type[AwsError] = WIRE_ERRORS["LimitExceededException"]
ValidationException: type[AwsError] = WIRE_ERRORS["ValidationException"]
