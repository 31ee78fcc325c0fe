"""The wire errors of a change refused when its staged write commits.

A service checks a limit or a name in the handler, then stages its write (:mod:`opentrail.staging`);
the write checks again inside its own write transaction, where another node's commit made since is
seen (issue 17: several nodes on one database). When that second check fails, the store raises the
service's domain error (EventDataStoreMaxLimitExceededException, LimitExceeded, ...) from the
staged commit, outside the handler and its error translation: :func:`commit_errors` translates it
the way the service's handlers do, so the call is answered with AWS's error instead of
InternalFailure."""

from __future__ import annotations

import contextlib
from typing import ContextManager, Iterator

from .errors import errors_by_code


def commit_errors(service: str) -> ContextManager[None]:
    """A block that re-raises the domain errors of ``service`` (its signing name: ``cloudtrail``,
    ``logs``, ``monitoring``, ``events``, ``organizations``) as their wire errors; other errors,
    and every error of other services (IAM raises wire errors already), pass unchanged."""
    if service == "cloudtrail":
        from . import lake_dashboards, lake_errors

        return errors_by_code({**lake_dashboards.WIRE_ERRORS, **lake_errors.WIRE_ERRORS})
    if service == "logs":
        from .logs_errors import WIRE_ERRORS as logs

        return errors_by_code(logs)
    if service == "events":
        from .events_errors import WIRE_ERRORS as events

        return errors_by_code(events)
    if service == "monitoring":
        from .monitoring_wire import monitoring_errors

        return monitoring_errors()
    if service == "organizations":
        return _organizations_errors()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _organizations_errors() -> Iterator[None]:
    from ..organizations.errors import OrganizationsError
    from .organizations_errors import wire_error

    try:
        yield
    except OrganizationsError as exc:
        raise wire_error(exc) from None
