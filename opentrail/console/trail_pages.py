"""Trail pages.

- ``GET /console/trails``: DescribeTrails (shadow trails included) and GetTrailStatus of each
  trail: logging, last delivery, last error; the create-trail form; a footer line with the free
  space of the data directory (:func:`data_directory_text`).
- ``POST /console/trails``: CreateTrail, then PutEventSelectors when the form asks for other
  selectors than the default, then StartLogging when ticked (:mod:`.trail_forms`). An API error
  re-renders the form with the values entered and HTTP 400.
- ``POST /console/trails/action``: ``action`` start | stop | delete of trail ``name`` (its ARN).

Every form is CSRF-checked; every call goes through the API handlers and is recorded. Only the
actions the principal may use are offered (:class:`.pages.Permissions`: CreateTrail for a trail
named ``*``, StartLogging/StopLogging/DeleteTrail per trail ARN); GetTrailStatus is asked only for
trails whose status the principal may read. A forged form for an action it may not use is refused
by the Authorizer: HTTP 403 with AWS's message (:mod:`.denials`).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from ..api.recording import CallInfo
from ..store.space import DataDirectoryStatus, data_directory_status
from .pages import Pages, Permissions
from .sessions import ConsoleSession
from .trail_forms import MANAGEMENT_CHOICES, TrailFormError, trail_requests, trail_row
from .web import BASE, error_page, info, signin_redirect

TRAILS = BASE + "/trails"
_ACTIONS = {"start": "StartLogging", "stop": "StopLogging", "delete": "DeleteTrail"}
_DONE = {"start": "Logging started for", "stop": "Logging stopped for", "delete": "Deleted trail"}
#: Form defaults of a new trail (the CloudTrail console's: global events, validation, logging on).
FORM_DEFAULTS = {"name": "", "bucket": "", "prefix": "", "sns_topic": "", "multi_region": "on",
                 "validation": "on", "global_events": "on", "start_logging": "on", "management": "All",
                 "exclude_kms": "", "s3_data": "", "advanced_selectors": ""}


def data_directory_text(status: DataDirectoryStatus) -> str:
    """The footer line: ``Data directory: 12.3 GiB free on /srv.`` or, when full, ``Data directory
    full: 1.2 MiB free on /srv. Free space there: new events are refused until then.``"""
    size = float(status.free_bytes)
    unit = "bytes"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size /= 1024
        unit = next_unit
    amount = f"{status.free_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
    if status.full:
        return (f"Data directory full: {amount} free on {status.filesystem}. "
                "Free space there: new events are refused until then.")
    return f"Data directory: {amount} free on {status.filesystem}."


def _error_text(exc: AwsError) -> str:
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


class TrailPages(Pages):
    def _rows(self, session: ConsoleSession, call_info: CallInfo, can: Permissions) -> list[dict[str, Any]]:
        trails = self.backend.call(session, call_info, "DescribeTrails", {"includeShadowTrails": True})["trailList"]
        rows = []
        for trail in trails:
            status = None
            if can("GetTrailStatus", {"Name": trail["TrailARN"]}):
                try:
                    status = self.backend.call(session, call_info, "GetTrailStatus", {"Name": trail["TrailARN"]})
                except AwsError:
                    pass
            rows.append(trail_row(trail, status, session.region))
        return rows

    def _render(self, request: Request, session: ConsoleSession, form: dict[str, str], error: str | None,
                status: int = 200) -> Response:
        if self.backend.trails is None:
            return error_page(request, 404, "No trails", "This server runs without trails.", session)
        can = Permissions(self.backend, session, request)
        try:
            rows = self._rows(session, info(request), can)
        except AwsError as exc:
            rows, error = [], _error_text(exc)
        settings = self.backend.settings
        space = data_directory_status(settings.data_dir, settings.min_free_bytes, self.backend.store.is_full())
        return self.page(request, session, "trails.html", {
            "trails": rows, "form": form, "error": error, "management_choices": MANAGEMENT_CHOICES,
            "data_directory": space, "data_directory_text": data_directory_text(space), "can": can,
        }, status=status)

    def trails(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        return self._render(request, session, dict(FORM_DEFAULTS), None)

    def _create(self, session: ConsoleSession, call_info: CallInfo, form: FormData) -> str:
        """Run the form's requests; returns the flash text or raises AwsError / TrailFormError."""
        requests = trail_requests({k: str(v) for k, v in form.items()})
        trail = self.backend.call(session, call_info, "CreateTrail", requests.create)
        name = trail["Name"]
        notes = []
        if requests.selectors is not None:
            try:
                self.backend.call(session, call_info, "PutEventSelectors", requests.selectors)
            except AwsError as exc:
                return f"Created trail {name}, but its event selectors were refused ({_error_text(exc)})."
        if requests.start_logging:
            self.backend.call(session, call_info, "StartLogging", {"Name": name})
            notes.append("logging started")
        return f"Created trail {name}" + (f" ({', '.join(notes)})." if notes else ".")

    async def create(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        values = {k: str(form.get(k, "")) for k in FORM_DEFAULTS}
        try:
            text = await run_in_threadpool(self._create, session, info(request), form)
        except (AwsError, TrailFormError) as exc:
            message = _error_text(exc) if isinstance(exc, AwsError) else str(exc)
            return await run_in_threadpool(self._render, request, session, values, message, 400)
        return self.redirect_with(session, TRAILS, "ok", text)

    async def action(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        action, name = str(form.get("action", "")), str(form.get("name", ""))
        if action not in _ACTIONS:
            return error_page(request, 400, "Unknown action", f"{action!r} is not a trail action.", session)
        try:
            await run_in_threadpool(self.backend.call, session, info(request), _ACTIONS[action], {"Name": name})
        except AwsError as exc:
            return self.redirect_with(session, TRAILS, "error", _error_text(exc))
        return self.redirect_with(session, TRAILS, "ok", f"{_DONE[action]} {name.rsplit('/', 1)[-1]}.")
