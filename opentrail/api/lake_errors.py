"""API errors for the event data store operations: one :class:`AwsError` class per error of
:mod:`opentrail.lake.errors`, same name (= AWS error code), same message; the errors trails answer
too are the classes of :mod:`.trail_errors`.

Handlers turn domain errors (lake and trail) into these with :func:`translate`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ..lake import errors as domain
from ..trails.errors import TrailError
from . import trail_errors
from .errors import AwsError, InvalidNextTokenException, UnknownOperationException
from .wire_common import cursor_of

#: Error code -> AwsError subclass, for every event data store error and every trail error.
WIRE_ERRORS: dict[str, type[AwsError]] = {
    **trail_errors.WIRE_ERRORS,
    **{cls.__name__: type(cls.__name__, (AwsError,), {"__doc__": cls.__doc__, "__module__": __name__})
       for cls in domain.LAKE_ERRORS},
}
globals().update({cls.__name__: WIRE_ERRORS[cls.__name__] for cls in domain.LAKE_ERRORS})


@contextlib.contextmanager
def translate() -> Iterator[None]:
    """Re-raise lake and trail domain errors raised inside the block as their API errors."""
    try:
        yield
    except (domain.LakeError, TrailError) as exc:
        raise WIRE_ERRORS[exc.code](exc.message) from None


def lake_part(ctx: Any, operation: str, part: str) -> Any:
    """``ctx.lake.<part>`` (``stores``, ``queries`` or ``imports``), or UnknownOperationException
    naming ``operation`` when the server runs without it."""
    value = getattr(getattr(ctx, "lake", None), part, None)
    if value is None:
        raise UnknownOperationException.not_implemented(operation)
    return value


def list_cursor(token: str) -> tuple[float, str]:
    """The cursor of a ListEventDataStores / ListChannels NextToken ((creation time, id), see
    :func:`opentrail.api.wire_common.cursor_token`), or InvalidNextTokenException."""
    value = cursor_of(token, (float, str))
    if value is None:
        raise InvalidNextTokenException()
    return float(value[0]), value[1]
