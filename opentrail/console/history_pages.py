"""Event history pages: the list, one event, downloads and the activity chart.

- ``GET /console/events``: one page of LookupEvents for the filter (see :mod:`.history` for the
  URL parameters), with links to the previous/next page, the chosen columns and downloads.
- ``GET /console/events/{event_id}``: LookupEvents by EventId; the record as indented JSON and the
  resources it names. 404 when the event is not in this account's and Region's history.
- ``GET /console/events/download?format=csv|json&<filter>``: every page, streamed (:mod:`.export`).
- ``GET /console/activity?<filter>``: events per hour (:mod:`.activity`).

Lookup errors (InvalidTimeRangeException...) are shown on the page with their code and message.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..api.errors import AwsError
from ..store.base import LOOKUP_ATTRIBUTE_KEYS
from . import activity, export
from .history import COLUMNS, PAGE_SIZES, RELATIVE_RANGES, FilterError, HistoryQuery, parse_columns, parse_query, row
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, SECURITY_HEADERS, error_page, info, safe_next, signin_redirect

EVENTS = BASE + "/events"


def _error_text(exc: AwsError) -> str:
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


class HistoryPages(Pages):
    def _lookup(self, request: Request, session: ConsoleSession) -> Callable[[dict[str, Any], bool], dict[str, Any]]:
        call_info = info(request)

        def lookup(params: dict[str, Any], record: bool) -> dict[str, Any]:
            return self.backend.call(session, call_info, "LookupEvents", params, record=record)

        return lookup

    def _query(self, request: Request) -> HistoryQuery:
        params = request.query_params
        return parse_query(params, params.getlist, self.backend.clock())

    def _filter_context(self, query: HistoryQuery, columns: tuple[str, ...]) -> dict[str, Any]:
        return {"q": query, "attribute_keys": LOOKUP_ATTRIBUTE_KEYS, "ranges": RELATIVE_RANGES,
                "page_sizes": PAGE_SIZES, "all_columns": COLUMNS, "columns": columns}

    def events(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        chosen = request.query_params.getlist("cols")
        columns = parse_columns(chosen, session.columns)
        if chosen and columns != session.columns:
            session = self.backend.sessions.update(session, columns=columns)
        context: dict[str, Any] = {"rows": [], "error": None, "next_url": None, "previous_url": None,
                                   "first_url": None, "downloads": {}, "activity_url": None}
        try:
            query = self._query(request)
        except FilterError as exc:
            query = HistoryQuery()
            context.update(self._filter_context(query, columns), error=str(exc))
            return self.page(request, session, "events.html", context, status=400)
        context.update(self._filter_context(query, columns))
        context["downloads"] = {fmt: query.url(EVENTS + "/download", extra=[("format", fmt)]) for fmt in ("csv", "json")}
        context["activity_url"] = query.url(BASE + "/activity", columns)
        context["here"] = query.url(EVENTS, columns, token=query.token, back=query.back)
        try:
            response = self._lookup(request, session)(query.lookup_params(), True)
        except AwsError as exc:
            context["error"] = _error_text(exc)
            return self.page(request, session, "events.html", context, status=400)
        context["rows"] = [row(e) for e in response.get("Events", [])]
        if response.get("NextToken"):
            context["next_url"] = query.next_url(EVENTS, columns, response["NextToken"])
        context["previous_url"] = query.previous_url(EVENTS, columns)
        if query.back:
            context["first_url"] = query.url(EVENTS, columns)
        return self.page(request, session, "events.html", context)

    def event(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        event_id = request.path_params["event_id"]
        back = safe_next(request.query_params.get("from"))
        params = {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": event_id}], "MaxResults": 1}
        try:
            events = self._lookup(request, session)(params, True).get("Events", [])
        except AwsError as exc:
            return error_page(request, 400, "Lookup failed", _error_text(exc), session)
        if not events:
            return error_page(request, 404, "Event not found",
                              f"No event {event_id} in the event history of account {session.account_id} "
                              f"in {session.region}.", session)
        event = events[0]
        # The stdlib keeps integers beyond 64 bits exact (orjson would turn them into floats).
        pretty = json.dumps(json.loads(event["CloudTrailEvent"]), indent=2, ensure_ascii=False)
        return self.page(request, session, "event.html", {
            "event": event, "row": row(event), "record_json": pretty, "back": back,
            "resources": event.get("Resources", []),
        })

    def download(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "json"):
            return error_page(request, 400, "Unknown format", "Downloads are CSV or JSON.", session)
        try:
            query = self._query(request)
        except FilterError as exc:
            return error_page(request, 400, "Invalid filter", str(exc), session)
        lookup = self._lookup(request, session)
        try:  # the first page before the response starts, so an error is still an error page
            first = lookup(query.lookup_params(max_results=export.PAGE, token=""), True)
        except AwsError as exc:
            return error_page(request, 400, "Download failed", _error_text(exc), session)

        def paged(params: dict[str, Any], is_first: bool) -> dict[str, Any]:
            return first if is_first else lookup(params, False)

        chunks = export.csv_chunks(query, paged) if fmt == "csv" else export.json_chunks(query, paged)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="event_history.{fmt}"'}
        return StreamingResponse(chunks, media_type=media, headers=headers)

    def activity(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        columns = parse_columns([], session.columns)
        try:
            query = self._query(request)
        except FilterError as exc:
            context = {**self._filter_context(HistoryQuery(), columns), "error": str(exc), "chart": None}
            return self.page(request, session, "activity.html", context, status=400)
        clipped = activity.window(query, self.backend.clock())
        context = {**self._filter_context(query, columns), "error": None, "chart": None, "window": clipped,
                   "events_url": query.url(EVENTS, columns), "max_events": activity.MAX_COUNTED_EVENTS,
                   "max_hours": activity.MAX_WINDOW_HOURS}
        try:
            counts, complete, counted_from = activity.count_per_hour(
                clipped, self._lookup(request, session), activity.MAX_COUNTED_EVENTS)
        except AwsError as exc:
            context["error"] = _error_text(exc)
            return self.page(request, session, "activity.html", context, status=400)
        context["chart"] = activity.chart(clipped, counts, complete, counted_from)
        return self.page(request, session, "activity.html", context)
