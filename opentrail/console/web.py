"""Shared pieces of the console's HTTP layer: templates, security headers, sessions, CSRF.

Every console page is rendered here with Jinja2 (autoescaping on) and answered with
``Cache-Control: no-store`` and a Content-Security-Policy that allows only opentrail's own
scripts, styles and images (nothing is fetched from elsewhere), ``X-Frame-Options: DENY``,
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..api.app import call_info
from ..api.recording import CallInfo
from .backend import ConsoleBackend
from .sessions import SESSION_COOKIE, ConsoleSession

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
BASE = "/console"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(PACKAGE_DIR / "templates")),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@functools.lru_cache(maxsize=1)
def regions() -> tuple[str, ...]:
    """The commercial AWS Regions CloudTrail runs in (botocore's endpoint data)."""
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_available_regions("cloudtrail")))


def current_session(backend: ConsoleBackend, request: Request) -> ConsoleSession | None:
    """The signed-in session of this request, or None."""
    return backend.sessions.from_cookie(request.cookies.get(SESSION_COOKIE))


def info(request: Request) -> CallInfo:
    return call_info(request)


def safe_next(value: str | None) -> str:
    """A console path to go to after sign-in; anything else (another site) -> the event history."""
    if value and value.startswith(BASE + "/") and "\\" not in value and "/.." not in value:
        return value
    return BASE + "/events"


def signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{BASE}/signin?next={quote(target, safe='')}", status_code=303)


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
           session: ConsoleSession | None = None) -> HTMLResponse:
    """Render ``template`` with ``context`` plus ``session``, ``regions``, ``base``, ``path``."""
    html = _env.get_template(template).render(
        session=session, regions=regions(), base=BASE, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, title: str, message: str,
               session: ConsoleSession | None = None) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status, session=session)


def same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site: an ``Origin`` header whose
    host differs from the ``Host`` header (the scheme is not compared, so a TLS-terminating proxy
    in front works), or ``Origin: null``. No Origin header: True (the CSRF token decides)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower() != ""


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A console cookie: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
