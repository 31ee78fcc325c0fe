"""API errors for the trail operations: one :class:`AwsError` class per trail error of
:mod:`opentrail.trails.errors`, same name (= AWS error code), same message.

The domain raises :class:`opentrail.trails.errors.TrailError` subclasses (no HTTP); handlers turn
them into these with :func:`translate` (a context manager) at the one edge between the two.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..objectstore.base import StorageUnavailable
from ..trails import errors as domain
from .errors import AwsError, ServiceUnavailable

#: Error code -> AwsError subclass, for every trail error.
WIRE_ERRORS: dict[str, type[AwsError]] = {
    cls.__name__: type(cls.__name__, (AwsError,), {"__doc__": cls.__doc__, "__module__": __name__})
    for cls in domain.TRAIL_ERRORS
}
globals().update(WIRE_ERRORS)


def to_aws_error(exc: domain.TrailError) -> AwsError:
    """The API error for ``exc`` (same code and message)."""
    return WIRE_ERRORS[exc.code](exc.message)


@contextlib.contextmanager
def translate() -> Iterator[None]:
    """Re-raise trail errors raised inside the block as their API errors, and storage that could
    not be asked (CreateTrail/UpdateTrail check the bucket) as ServiceUnavailable (HTTP 503: not
    the caller's mistake, and SDKs retry it)."""
    try:
        yield
    except domain.TrailError as exc:
        raise to_aws_error(exc) from None
    except StorageUnavailable as exc:
        raise ServiceUnavailable.storage_unreachable(exc.code) from None
