"""Sign-in, sign-out and the Region switch.

- ``GET /`` and ``GET /console``: to the event history (which asks to sign in first).
- ``GET /console/signin``: the forms (IAM user: account ID, user name, password; root/keys: access
  key id, secret access key; both with the Region); sets a signed cookie holding the forms' CSRF token.
- ``POST /console/signin``: CSRF check (403), then :func:`.signin.sign_in_user` when the form names
  an ``account_id``, else :func:`.signin.sign_in`; failure re-renders the form with HTTP 401 (429
  while the throttle refuses the user), success sets the session cookie and goes to ``next`` (a
  console path only).
- ``POST /console/signout`` and ``POST /console/region``: CSRF-checked forms.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .pages import CSRF_FIELD, CSRF_MESSAGE, Pages
from .sessions import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, tokens_match
from .backend import ConsoleBackend
from .signin import FAILED_MESSAGE, THROTTLED_MESSAGE, SignInThrottle, sign_in, sign_in_user, valid_region
from .web import BASE, error_page, info, render, safe_next, same_origin, set_cookie

DEFAULT_REGION = "us-east-1"


class AuthPages(Pages):
    def __init__(self, backend: ConsoleBackend) -> None:
        super().__init__(backend)
        self.throttle = SignInThrottle(backend.clock)

    async def root(self, request: Request) -> Response:
        return RedirectResponse(BASE + "/events", status_code=303)

    def _form(self, request: Request, *, next_url: str, error: str | None = None, access_key_id: str = "",
              region: str = DEFAULT_REGION, status: int = 200, account_id: str = "", user_name: str = "",
              method: str = "keys") -> Response:
        sessions = self.backend.sessions
        token = sessions.unsign(request.cookies.get(SIGNIN_CSRF_COOKIE)) or secrets.token_urlsafe(32)
        if self.backend.iam is None:
            method = "keys"
        response = render(request, "signin.html", {
            "csrf": token, "next": next_url, "error": error, "access_key_id": access_key_id,
            "region": region, "account_id": account_id, "user_name": user_name, "method": method,
            "iam_enabled": self.backend.iam is not None,
        }, status=status)
        set_cookie(request, response, SIGNIN_CSRF_COOKIE, sessions.sign(token))
        return response

    async def signin_form(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if self.session(request) is not None:
            return RedirectResponse(next_url, status_code=303)
        method = "iam" if request.query_params.get("method") == "iam" else "keys"
        return self._form(request, next_url=next_url, method=method)

    async def signin(self, request: Request) -> Response:
        form = await request.form()
        expected = self.backend.sessions.unsign(request.cookies.get(SIGNIN_CSRF_COOKIE))
        if not same_origin(request) or not tokens_match(expected, form.get(CSRF_FIELD)):
            return error_page(request, 403, "Request refused", CSRF_MESSAGE)
        next_url = safe_next(str(form.get("next", "")))
        region = str(form.get("region", DEFAULT_REGION))
        if not valid_region(region):
            region = DEFAULT_REGION
        login_to = str(request.base_url).rstrip("/") + next_url
        if "account_id" in form and self.backend.iam is not None:
            return await self._sign_in_user(request, form, next_url, region, login_to)
        key_id = str(form.get("access_key_id", "")).strip()
        secret = str(form.get("secret_access_key", ""))
        result = sign_in(self.backend.accounts, self.backend.store, access_key_id=key_id, secret_access_key=secret,
                         region=region, info=info(request), event_time=self.backend.clock(), login_to=login_to,
                         session_token=str(form.get("session_token", "")))
        if result.key is None:
            return self._form(request, next_url=next_url, error=FAILED_MESSAGE, access_key_id=key_id,
                              region=region, status=401, method="keys")
        key = result.key
        session = self.backend.sessions.create(account_id=key.account_id, access_key_id=key.access_key_id,
                                               user_name=key.user_name, is_admin=key.is_admin, region=region,
                                               user_id=key.user_id, user_path=key.user_path,
                                               credentials_created=result.created, credentials_expire=result.expires,
                                               role_session=result.role_session)
        return self._signed_in(request, session.sid, next_url)

    async def _sign_in_user(self, request: Request, form: Any, next_url: str, region: str,
                            login_to: str) -> Response:
        account_id = str(form.get("account_id", "")).strip()
        user_name = str(form.get("user_name", "")).strip()
        result = await run_in_threadpool(
            sign_in_user, self.backend.accounts, self.backend.iam, self.backend.store, self.throttle,
            account_id=account_id, user_name=user_name, password=str(form.get("password", "")), region=region,
            info=info(request), event_time=self.backend.clock(), login_to=login_to)
        user = result.user
        if user is None:
            return self._form(request, next_url=next_url, region=region, account_id=account_id,
                              user_name=user_name, error=THROTTLED_MESSAGE if result.throttled else FAILED_MESSAGE,
                              status=429 if result.throttled else 401, method="iam")
        admin = self.backend.accounts.admin_account_id() == user.account_id
        session = self.backend.sessions.create(account_id=user.account_id, access_key_id="", user_name=user.name,
                                               is_admin=admin, region=region, user_id=user.user_id,
                                               user_path=user.path)
        return self._signed_in(request, session.sid, next_url)

    def _signed_in(self, request: Request, sid: str, next_url: str) -> Response:
        response = RedirectResponse(next_url, status_code=303)
        set_cookie(request, response, SESSION_COOKIE, self.backend.sessions.sign(sid))
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
        return response

    async def signout(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        self.backend.sessions.delete(session.sid)
        response = RedirectResponse(BASE + "/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def switch_region(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        region = str(form.get("region", ""))
        if not valid_region(region):
            return error_page(request, 400, "Unknown Region", f"{region!r} is not a Region name.", session)
        self.backend.sessions.update(session, region=region)
        return RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
