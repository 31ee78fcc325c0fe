"""IAM wire errors: one class per error shape of ``botocore/data/iam/2010-05-08`` (class name = shape
name, ``query_code`` = the model's Query code: ``NoSuchEntity``, ``EntityAlreadyExists``,
``DeleteConflict``, ``LimitExceeded``, ``MalformedPolicyDocument``, ``InvalidInput``, ...), plus
``ValidationError`` (constraint violations, "1 validation error detected: ...", IAM API reference
"Common Errors") and ``AccessDenied``."""

from __future__ import annotations

from .errors import AwsError
from .model_errors import model_errors

#: Shape name -> AwsError subclass, for every error shape of the iam model.
WIRE_ERRORS: dict[str, type[AwsError]] = model_errors("iam", __name__)
globals().update(WIRE_ERRORS)


class ValidationError(AwsError):
    """A parameter outside the model's constraints (Query code ValidationError)."""


class AccessDenied(AwsError):
    """The caller may not do this."""

    status = 403
