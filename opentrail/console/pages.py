"""The base of the console's page handlers: session checks, CSRF-checked forms, flash messages, and
:class:`Permissions`: what the signed-in principal may do, for offering only usable actions."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .backend import ConsoleBackend
from .sessions import ConsoleSession, tokens_match
from .web import current_session, error_page, info, render, same_origin, signin_redirect

CSRF_FIELD = "csrf_token"
CSRF_MESSAGE = "The form did not carry a valid CSRF token (or came from another site). Reload the page and try again."


class Permissions:
    """What ``session`` may call, asked of the app's Authorizer (:meth:`ConsoleBackend.permits`) and
    kept for one request: ``can("CreateTrail", {"Name": arn})``, ``can("CreateUser", {"UserName": n},
    "iam")``. Nothing is called or recorded. Templates get one as ``can``."""

    def __init__(self, backend: ConsoleBackend, session: ConsoleSession, request: Request) -> None:
        self._backend, self._session, self._info = backend, session, info(request)
        self._known: dict[tuple[str, str, str], bool] = {}

    def __call__(self, operation: str, params: dict[str, Any] | None = None, service: str = "cloudtrail") -> bool:
        key = (service, operation, json.dumps(params, sort_keys=True, default=str))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self._backend.permits(self._session, self._info, operation, params,
                                                             service=service)
        return found


class Pages:
    """Handlers share the backend; subclasses define the endpoints."""

    def __init__(self, backend: ConsoleBackend) -> None:
        self.backend = backend

    def session(self, request: Request) -> ConsoleSession | None:
        return current_session(self.backend, request)

    async def checked_form(self, request: Request) -> tuple[ConsoleSession, FormData] | Response:
        """The signed-in session and the submitted form, or the response to send instead: the
        sign-in page when not signed in, 403 when the CSRF token is missing or wrong."""
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        form = await request.form()
        if not same_origin(request) or not tokens_match(session.csrf, form.get(CSRF_FIELD)):
            return error_page(request, 403, "Request refused", CSRF_MESSAGE, session)
        return session, form

    def page(self, request: Request, session: ConsoleSession, template: str, context: dict[str, Any],
             *, status: int = 200) -> HTMLResponse:
        """Render a signed-in page; a pending flash message is shown once; ``can`` is the request's
        :class:`Permissions` (one made here unless ``context`` has it)."""
        flash = session.flash
        if flash is not None:
            session = self.backend.sessions.update(session, flash=None)
        context.setdefault("can", Permissions(self.backend, session, request))
        return render(request, template, {"flash": flash, **context}, status=status, session=session)

    def redirect_with(self, session: ConsoleSession, url: str, kind: str, text: str) -> Response:
        """Post/redirect/get: remember a flash message and go to ``url``."""
        self.backend.sessions.update(session, flash=(kind, text))
        return RedirectResponse(url, status_code=303)
