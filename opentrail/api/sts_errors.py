"""STS wire errors: one class per error shape of ``botocore/data/sts/2011-06-15`` (class name = shape
name, ``query_code`` = the model's Query code, what STS answers), plus the errors STS answers that
its model does not list: ``ValidationError`` (constraint violations, "1 validation error detected:
..."; STS API reference, "Common Errors") and ``AccessDenied``."""

from __future__ import annotations

from .errors import AwsError
from .model_errors import model_errors

#: Shape name -> AwsError subclass, for every error shape of the sts model.
WIRE_ERRORS: dict[str, type[AwsError]] = model_errors("sts", __name__)
globals().update(WIRE_ERRORS)


class ValidationError(AwsError):
    """A parameter outside the model's constraints (Query code ValidationError)."""


class AccessDenied(AwsError):
    """The caller may not do this (e.g. GetSessionToken with session credentials, AssumeRole of a
    role whose trust policy does not allow the caller). HTTP 403, as STS answers it."""

    status = 403
