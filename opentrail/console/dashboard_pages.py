"""CloudTrail Lake dashboard pages.

- ``GET /console/lake/dashboards``: the Region's dashboards (ListDashboards), the built-in managed
  one first.
- ``GET /console/lake/dashboards/{name}``: GetDashboard, then each widget of its last refresh
  (DescribeQuery with QueryAlias + RefreshId, GetQueryResults of the first
  :data:`.dashboard_view.WIDGET_ROWS` rows) drawn as a line chart, bar chart or table
  (:mod:`.dashboard_view`); while a widget query is QUEUED or RUNNING the page reloads itself every
  second (``<meta http-equiv="refresh">``). The refresh form picks the time range and, for the
  managed dashboard, the event data store (``?store=``).
- ``POST /console/lake/dashboards/{name}/refresh``: StartDashboardRefresh with the form's range
  (and store), then the dashboard page.

Every form is CSRF-checked; every call goes through the API handlers and is recorded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from . import dashboard_view
from .lake_pages import LAKE, error_text
from .pages import Pages
from .sessions import ConsoleSession
from .web import error_page, info, signin_redirect

DASHBOARDS = LAKE + "/dashboards"
ACTIVE = ("QUEUED", "RUNNING")


class DashboardPages(Pages):
    def _available(self, request: Request) -> tuple[ConsoleSession | None, Response | None]:
        session = self.session(request)
        if session is None:
            return None, signin_redirect(request)
        if getattr(self.backend.lake, "dashboards", None) is None:
            return session, error_page(request, 404, "No dashboards", "This server runs without CloudTrail Lake "
                                       "dashboards.", session)
        return session, None

    def _list_page(self, request: Request, session: ConsoleSession) -> Response:
        call_info = info(request)
        listed = self.backend.call(session, call_info, "ListDashboards", {})["Dashboards"]
        rows = [{"name": d["DashboardArn"].rsplit("/", 1)[-1], "arn": d["DashboardArn"], "type": d["Type"]}
                for d in listed]
        rows.sort(key=lambda r: (r["type"] != "MANAGED", r["name"]))
        return self.page(request, session, "dashboards.html", {"dashboards": rows})

    async def dashboards(self, request: Request) -> Response:
        session, refused = self._available(request)
        if refused is not None:
            return refused
        assert session is not None
        return await run_in_threadpool(self._list_page, request, session)

    def _stores(self, session: ConsoleSession, call_info: Any) -> list[dict[str, str]]:
        listed = self.backend.call(session, call_info, "ListEventDataStores", {})["EventDataStores"]
        return [{"id": s["EventDataStoreArn"].rsplit("/", 1)[-1], "name": s.get("Name", "")} for s in listed]

    def _widget(self, session: ConsoleSession, call_info: Any, widget: dict[str, Any],
                refresh_id: str | None) -> dashboard_view.WidgetView:
        view = dashboard_view.widget_view(widget)
        if refresh_id is None:
            return view
        try:
            described = self.backend.call(session, call_info, "DescribeQuery",
                                          {"QueryAlias": view.alias, "RefreshId": refresh_id})
        except AwsError as exc:
            view.error = error_text(exc)
            return view
        view.status, view.query_id = described["QueryStatus"], described["QueryId"]
        view.error = described.get("ErrorMessage")
        if view.status in ACTIVE or view.status == "FAILED":
            return view
        results = self.backend.call(session, call_info, "GetQueryResults",
                                    {"QueryId": view.query_id, "MaxQueryResults": dashboard_view.WIDGET_ROWS})
        return dashboard_view.with_results(view, widget.get("ViewProperties") or {}, results.get("QueryResultRows", []))

    def _dashboard_page(self, request: Request, session: ConsoleSession, name: str) -> Response:
        call_info = info(request)
        try:
            got = self.backend.call(session, call_info, "GetDashboard", {"DashboardId": name})
        except AwsError as exc:
            status = 404 if exc.code == "ResourceNotFoundException" else 400
            return error_page(request, status, "Dashboard not found", error_text(exc), session)
        refresh_id = got.get("LastRefreshId")
        widgets = [self._widget(session, call_info, w, refresh_id) for w in got.get("Widgets", [])]
        stores = self._stores(session, call_info) if got["Type"] == "MANAGED" else []
        picked = request.query_params.get("store", "") or (stores[0]["id"] if stores else "")
        return self.page(request, session, "dashboard.html", {
            "name": name, "dashboard": got, "widgets": widgets, "refresh_id": refresh_id,
            "running": any(w.status in ACTIVE for w in widgets), "stores": stores, "picked": picked,
            "ranges": list(dashboard_view.RANGES), "range": request.query_params.get("range", "24h"),
            "failure": got.get("LastRefreshFailureReason"),
        })

    async def dashboard(self, request: Request) -> Response:
        session, refused = self._available(request)
        if refused is not None:
            return refused
        assert session is not None
        return await run_in_threadpool(self._dashboard_page, request, session, request.path_params["name"])

    async def refresh(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        name = request.path_params["name"]
        range_key, store = str(form.get("range", "24h")), str(form.get("store", ""))
        values = dashboard_view.refresh_values(range_key, self.backend.clock(), store)
        here = f"{DASHBOARDS}/{quote(name)}?{urlencode({'range': range_key, 'store': store})}"
        try:
            answer = await run_in_threadpool(self.backend.call, session, info(request), "StartDashboardRefresh",
                                             {"DashboardId": name, "QueryParameterValues": values})
        except AwsError as exc:
            return self.redirect_with(session, here, "error", error_text(exc))
        return self.redirect_with(session, here, "ok", f"Refresh {answer['RefreshId']} started.")
