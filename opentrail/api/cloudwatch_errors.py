"""CloudWatch wire errors: one class per error shape of ``botocore/data/cloudwatch/2010-08-01``.

The class name is the shape name (``InvalidParameterValueException``, ``ResourceNotFound``,
``LimitExceededFault``, ``ValidationException``...), the ``__type`` of JSON answers; ``query_code``
is the model's Query code (``InvalidParameterValue``, ``ResourceNotFound``, ``LimitExceeded``,
``ValidationError``...), what the Query protocol answers and what ``x-amzn-query-error`` carries
for JSON and CBOR answers (the model is ``awsQueryCompatible``, so botocore and the Smithy SDKs
report that code). Request validation answers :data:`ValidationError` ("1 validation error
detected: ...", code ValidationError)."""

from __future__ import annotations

from .errors import AwsError
from .model_errors import model_errors

#: Shape name -> AwsError subclass, for every error shape of the cloudwatch model.
WIRE_ERRORS: dict[str, type[AwsError]] = model_errors("cloudwatch", __name__)
globals().update(WIRE_ERRORS)

#: The error of a constraint violation (shape ValidationException, Query code ValidationError).
ValidationError: type[AwsError] = WIRE_ERRORS["ValidationException"]
InvalidParameterValueException: type[AwsError] = WIRE_ERRORS["InvalidParameterValueException"]
InvalidParameterCombinationException: type[AwsError] = WIRE_ERRORS["InvalidParameterCombinationException"]
MissingRequiredParameterException: type[AwsError] = WIRE_ERRORS["MissingRequiredParameterException"]
ResourceNotFound: type[AwsError] = WIRE_ERRORS["ResourceNotFound"]
LimitExceededFault: type[AwsError] = WIRE_ERRORS["LimitExceededFault"]
InvalidFormatFault: type[AwsError] = WIRE_ERRORS["InvalidFormatFault"]
InvalidNextToken: type[AwsError] = WIRE_ERRORS["InvalidNextToken"]
ResourceNotFoundException: type[AwsError] = WIRE_ERRORS["ResourceNotFoundException"]
