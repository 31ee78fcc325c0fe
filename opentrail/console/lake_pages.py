"""CloudTrail Lake pages.

- ``GET /console/lake``: the Region's event data stores (ListEventDataStores, then
  GetEventDataStore of each), the create form, the query editor (store picker, sample queries:
  ``?sample=<n>&store=<id>`` fills the editor, as does ``?statement=``; ``?find=<phrase>`` searches
  opentrail's sample queries with SearchSampleQueries, each result filling the editor) and the
  recent queries (ListQueries of each store). Dashboards are :mod:`.dashboard_pages`.
- ``POST /console/lake/stores``: CreateEventDataStore from the form (:func:`.lake_view.create_request`);
  an error re-renders the page with the values entered and HTTP 400.
- ``POST /console/lake/stores/action``: ``action`` start | stop | delete | restore | protect |
  unprotect of store ``store`` (its ARN; ``name`` for the message only): Start/StopEventDataStoreIngestion, Delete/
  RestoreEventDataStore, UpdateEventDataStore TerminationProtectionEnabled.
- ``POST /console/lake/queries``: StartQuery, then the query's page; an error re-renders the
  editor with the statement and HTTP 400.
- ``GET /console/lake/queries/{id}``: DescribeQuery; once the query ended, one page of
  GetQueryResults (``token``, ``prev`` for the pages before); while it is QUEUED or RUNNING the page
  reloads itself every second (``<meta http-equiv="refresh">``, no script needed).
- ``POST /console/lake/queries/{id}/cancel``: CancelQuery.
- ``GET /console/lake/queries/{id}/download``: every row as CSV (GetQueryResults, 1000 rows a call).

Every form is CSRF-checked; every call goes through the API handlers and is recorded (a download
records its first GetQueryResults call only).
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..api.errors import AwsError
from ..api.recording import CallInfo
from . import lake_view
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, SECURITY_HEADERS, error_page, info, signin_redirect

LAKE = BASE + "/lake"
_ACTIONS = {
    "start": ("StartEventDataStoreIngestion", {}, "Ingestion started for"),
    "stop": ("StopEventDataStoreIngestion", {}, "Ingestion stopped for"),
    "delete": ("DeleteEventDataStore", {}, "Deleted (pending deletion for 7 days)"),
    "restore": ("RestoreEventDataStore", {}, "Restored"),
    "protect": ("UpdateEventDataStore", {"TerminationProtectionEnabled": True}, "Termination protection on for"),
    "unprotect": ("UpdateEventDataStore", {"TerminationProtectionEnabled": False}, "Termination protection off for"),
}
#: What the console adds to an API error it can explain (the API's code and message come first).
_HINTS = {
    "EventDataStoreTerminationProtectedException": "Turn termination protection off first, then delete.",
}
MAX_PREVIOUS_PAGES = 50


def error_text(exc: AwsError) -> str:
    """``Code: message`` of an API error, plus the console's hint for that code, if any."""
    text = f"{exc.code}: {exc.message}" if exc.message else exc.code
    hint = _HINTS.get(exc.code)
    return f"{text} {hint}" if hint else text


class LakePages(Pages):
    # --- the Lake page ------------------------------------------------------------------------

    def _stores(self, session: ConsoleSession, call_info: CallInfo) -> list[dict[str, Any]]:
        listed = self.backend.call(session, call_info, "ListEventDataStores", {})["EventDataStores"]
        rows = []
        for item in listed:
            try:
                eds = self.backend.call(session, call_info, "GetEventDataStore",
                                        {"EventDataStore": item["EventDataStoreArn"]})
            except AwsError:
                continue
            rows.append(lake_view.store_row(eds))
        return rows

    def _recent(self, session: ConsoleSession, call_info: CallInfo, stores: list[dict[str, Any]]) -> list[dict[str, Any]]:
        per_store = []
        for store in stores:
            try:
                answer = self.backend.call(session, call_info, "ListQueries", {"EventDataStore": store["arn"]})
            except AwsError:
                continue
            per_store.append((store, answer.get("Queries", [])))
        return lake_view.recent_queries(per_store)

    def _found_samples(self, session: ConsoleSession, call_info: CallInfo, phrase: str) -> tuple[list[dict[str, Any]], str | None]:
        """SearchSampleQueries' answer for ``phrase`` (each SQL with ``$EDS`` for the store), or its error."""
        if not phrase:
            return [], None
        try:
            found = self.backend.call(session, call_info, "SearchSampleQueries",
                                      {"SearchPhrase": phrase[:1000], "MaxResults": 10})["SearchResults"]
        except AwsError as exc:
            return [], error_text(exc)
        return [{**r, "template": r["SQL"].replace("<event_data_store_id>", "$EDS")} for r in found], None

    def _render(self, request: Request, session: ConsoleSession, *, form: dict[str, str] | None = None,
                statement: str = "", picked: str = "", store_error: str | None = None,
                query_error: str | None = None, status: int = 200) -> Response:
        call_info = info(request)
        phrase = request.query_params.get("find", "").strip() if request.method == "GET" else ""
        found, find_error = self._found_samples(session, call_info, phrase)
        try:
            stores = self._stores(session, call_info)
            recent = self._recent(session, call_info, stores)
        except AwsError as exc:
            stores, recent, store_error = [], [], error_text(exc)
        queryable = [s for s in stores if s["status"] != "PENDING_DELETION"]
        picked = picked if any(s["id"] == picked for s in queryable) else (queryable[0]["id"] if queryable else "")
        return self.page(request, session, "lake.html", {
            "stores": stores, "queryable": queryable, "picked": picked, "recent": recent,
            "form": form or dict(lake_view.STORE_FORM_DEFAULTS), "statement": statement,
            "samples": [title for title, _ in lake_view.SAMPLE_QUERIES],
            "sample_statements": [lake_view.sample_statement(i, "$EDS") for i in range(len(lake_view.SAMPLE_QUERIES))],
            "store_error": store_error, "query_error": query_error,
            "find": phrase, "found": found, "find_error": find_error,
        }, status=status)

    def _unavailable(self, request: Request, session: ConsoleSession) -> Response:
        return error_page(request, 404, "No CloudTrail Lake", "This server runs without CloudTrail Lake.", session)

    async def lake(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.lake is None:
            return self._unavailable(request, session)
        picked = request.query_params.get("store", "")
        statement = request.query_params.get("statement", "")
        sample = request.query_params.get("sample", "")
        if sample.isdigit():
            statement = lake_view.sample_statement(int(sample), picked)
        return await run_in_threadpool(self._render, request, session, statement=statement, picked=picked)

    # --- event data stores --------------------------------------------------------------------

    async def create_store(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        if self.backend.lake is None:
            return self._unavailable(request, session)
        values = {k: str(form.get(k, "")) for k in lake_view.STORE_FORM_DEFAULTS}
        try:
            params = lake_view.create_request(values)
            created = await run_in_threadpool(self.backend.call, session, info(request), "CreateEventDataStore", params)
        except (AwsError, lake_view.StoreFormError) as exc:
            message = error_text(exc) if isinstance(exc, AwsError) else str(exc)
            return await run_in_threadpool(self._render, request, session, form=values, store_error=message,
                                           status=400)
        return self.redirect_with(session, LAKE, "ok", f"Created event data store {created['Name']}.")

    async def store_action(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        action, arn = str(form.get("action", "")), str(form.get("store", ""))
        if action not in _ACTIONS:
            return error_page(request, 400, "Unknown action", f"{action!r} is not an event data store action.", session)
        operation, extra, done = _ACTIONS[action]
        try:
            answer = await run_in_threadpool(self.backend.call, session, info(request), operation,
                                             {"EventDataStore": arn, **extra})
        except AwsError as exc:
            return self.redirect_with(session, LAKE, "error", error_text(exc))
        name = answer.get("Name") or str(form.get("name", "")) or arn.rsplit("/", 1)[-1]
        return self.redirect_with(session, LAKE, "ok", f"{done} {name}.")

    # --- queries ------------------------------------------------------------------------------

    async def start_query(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        statement, picked = str(form.get("statement", "")), str(form.get("store", ""))
        try:
            started = await run_in_threadpool(self.backend.call, session, info(request), "StartQuery",
                                              {"QueryStatement": statement})
        except AwsError as exc:
            return await run_in_threadpool(self._render, request, session, statement=statement, picked=picked,
                                           query_error=error_text(exc), status=400)
        return self.redirect_with(session, f"{LAKE}/queries/{started['QueryId']}", "ok", "Query started.")

    def _query_page(self, request: Request, session: ConsoleSession, query_id: str) -> Response:
        call_info = info(request)
        token = request.query_params.get("token", "")
        previous = request.query_params.getlist("prev")[-MAX_PREVIOUS_PAGES:]
        try:
            described = self.backend.call(session, call_info, "DescribeQuery", {"QueryId": query_id})
        except AwsError as exc:
            status = 404 if exc.code == "QueryIdNotFoundException" else 400
            return error_page(request, status, "Query not found", error_text(exc), session)
        context: dict[str, Any] = {"query": described, "columns": [], "rows": [], "results": None,
                                   "results_error": None, "next_url": None, "previous_url": None, "first_url": None,
                                   "running": described["QueryStatus"] not in lake_view.TERMINAL,
                                   "edit_url": f"{LAKE}?{urlencode({'statement': described.get('QueryString', '')})}",
                                   "first_row": 1}
        here = f"{LAKE}/queries/{query_id}"
        if not context["running"]:
            params: dict[str, Any] = {"QueryId": query_id, "MaxQueryResults": lake_view.RESULTS_PAGE}
            if token:
                params["NextToken"] = token
            try:
                results = self.backend.call(session, call_info, "GetQueryResults", params)
            except AwsError as exc:
                context["results_error"] = error_text(exc)
            else:
                context["results"] = results
                context["columns"], context["rows"] = lake_view.result_table(results.get("QueryResultRows", []))
                context["first_row"] = len(previous) * lake_view.RESULTS_PAGE + 1
                if results.get("NextToken"):
                    context["next_url"] = _url(here, results["NextToken"], [*previous, token])
                if previous:
                    context["previous_url"] = _url(here, previous[-1], previous[:-1]) if previous[-1] else here
                    context["first_url"] = here
        return self.page(request, session, "lake_query.html", context)

    async def query(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.lake is None:
            return self._unavailable(request, session)
        return await run_in_threadpool(self._query_page, request, session, request.path_params["query_id"])

    async def cancel_query(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        query_id = request.path_params["query_id"]
        here = f"{LAKE}/queries/{query_id}"
        try:
            answer = await run_in_threadpool(self.backend.call, session, info(request), "CancelQuery",
                                             {"QueryId": query_id})
        except AwsError as exc:
            return self.redirect_with(session, here, "error", error_text(exc))
        return self.redirect_with(session, here, "ok", f"Query {answer['QueryStatus'].lower()}.")

    async def download(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        query_id = request.path_params["query_id"]
        call_info = info(request)
        params = {"QueryId": query_id, "MaxQueryResults": lake_view.DOWNLOAD_PAGE}
        try:  # the first page before the response starts, so an error is still an error page
            first = await run_in_threadpool(self.backend.call, session, call_info, "GetQueryResults", params)
        except AwsError as exc:
            return error_page(request, 400, "Download failed", error_text(exc), session)
        if first["QueryStatus"] not in lake_view.TERMINAL:
            return error_page(request, 409, "Query still running",
                              f"Query {query_id} is {first['QueryStatus']}: download its results once it ends.",
                              session)

        def pages() -> Iterator[list[list[dict[str, str]]]]:
            answer = first
            while True:
                yield answer.get("QueryResultRows", [])
                token = answer.get("NextToken")
                if not token:
                    return
                answer = self.backend.call(session, call_info, "GetQueryResults", {**params, "NextToken": token},
                                           record=False)

        headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="query-{query_id}.csv"'}
        return StreamingResponse(lake_view.csv_chunks(pages()), media_type="text/csv; charset=utf-8", headers=headers)


def _url(here: str, token: str, previous: list[str]) -> str:
    """The query page at ``token``, with the tokens of the pages before it ("" is the first)."""
    pairs = [("token", token)] + [("prev", p) for p in previous[-MAX_PREVIOUS_PAGES:]]
    return f"{here}?{urlencode(pairs)}"
