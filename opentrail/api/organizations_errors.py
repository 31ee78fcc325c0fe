"""AWS Organizations wire errors: one class per error shape of
``botocore/data/organizations/2016-11-28`` (``AWSOrganizationsNotInUseException``,
``AccessDeniedException``, ``ConstraintViolationException``, ...). Their JSON body names the
message ``Message``, as the model's members do, and carries ``Reason`` for the shapes that have it
(ConstraintViolationException, InvalidInputException, ...); the domain's
:class:`opentrail.organizations.errors.OrganizationsError` becomes the class of its code at one edge
(:func:`domain_errors`)."""

from __future__ import annotations

import functools
from typing import Any

from ..organizations.errors import OrganizationsError
from .errors import AwsError
from .model_errors import model_errors
from .services import Handler


class OrganizationsWireError(AwsError):
    """An Organizations error: ``{"__type", "Message"[, "Reason"]}``."""

    reason: str | None = None

    def body(self) -> dict[str, str]:
        out = {"__type": self.code}
        if self.message is not None:
            out["Message"] = self.message
        if self.reason is not None:
            out["Reason"] = self.reason
        return out


def _wire_classes() -> dict[str, type[AwsError]]:
    out: dict[str, type[AwsError]] = {}
    for name, cls in model_errors("organizations", __name__).items():
        out[name] = type(name, (OrganizationsWireError, cls), {"__module__": __name__, "__doc__": cls.__doc__})
    return out


#: Error code -> AwsError subclass, for every error shape of the model.
WIRE_ERRORS: dict[str, type[AwsError]] = _wire_classes()
globals().update(WIRE_ERRORS)


def wire_error(exc: OrganizationsError) -> AwsError:
    """The wire error of a domain error (its code, message and reason)."""
    error = WIRE_ERRORS[exc.code](exc.message)
    error.reason = exc.reason  # type: ignore[attr-defined]
    return error


def domain_errors(handler: Handler) -> Handler:
    """``handler`` with Organizations domain errors answered as their wire errors."""

    @functools.wraps(handler)
    def run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return handler(ctx, params)
        except OrganizationsError as exc:
            raise wire_error(exc) from None

    return run
