"""Denials on console pages: every console route answers a :class:`.backend.ConsoleDenied` (a call
the Authorizer refused) with HTTP 403 and AWS's message, shown as the API's errors are
(``AccessDeniedException: User: arn:aws:iam::111122223333:user/auditor is not authorized to perform:
cloudtrail:CreateTrail on resource: ... because no identity-based policy allows the
cloudtrail:CreateTrail action``). The call itself was already recorded by the backend, with that
error, as the API records a denied call."""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from .backend import ConsoleBackend, ConsoleDenied
from .web import current_session, error_page

Endpoint = Callable[[Request], Any]


def denial_text(error: AwsError) -> str:
    """``<code>: <message>``, as the console shows API errors (the Query code for IAM's)."""
    code = error.query_code or error.code
    return f"{code}: {error.message}" if error.message else code


def denied_page(backend: ConsoleBackend, request: Request, error: AwsError) -> Response:
    """The 403 page for ``error`` (an access-denied AwsError)."""
    return error_page(request, 403, "Access denied", denial_text(error), current_session(backend, request))


def answering_denials(backend: ConsoleBackend, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` (sync or async) whose ConsoleDenied becomes :func:`denied_page`."""
    is_async = inspect.iscoroutinefunction(endpoint)

    async def wrapped(request: Request) -> Response:
        try:
            if is_async:
                return await endpoint(request)  # type: ignore[no-any-return]
            return await run_in_threadpool(endpoint, request)  # type: ignore[no-any-return]
        except ConsoleDenied as exc:
            return denied_page(backend, request, exc.error)

    return wrapped
