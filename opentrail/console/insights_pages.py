"""Insights pages: the Insights events of the signed-in account and Region, one insight with the
call rate around it and its attributions.

- ``GET /console/insights``: LookupEvents with ``EventCategory=insight`` (the newest
  :data:`MAX_EVENTS` Insights events, 50 a call), Start and End events paired by sharedEventID into
  one row per insight, newest start first (:func:`.insights_view.insights_of`).
- ``GET /console/insights/{shared_event_id}``: the same events, searched for that sharedEventID
  (404 when it is not among them); the per-minute call counts of its series from
  :meth:`opentrail.insights.model.InsightMetrics.counts` (the backend's ``insights``; None: the
  chart says no counts are available) from 3 hours before the start to 1 hour after the end, drawn
  against the baseline average with the unusual period shaded; the attributions as tables.

Like the event history, the lookups go through the LookupEvents handler as the signed-in user and
only the first call of a page is recorded.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from . import insights_view as view
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, error_page, info, signin_redirect

INSIGHTS = BASE + "/insights"
#: Insights events read for a page (LookupEvents answers at most 50 a call).
MAX_EVENTS = 500


def _error_text(exc: AwsError) -> str:
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


class InsightsPages(Pages):
    def _events(self, request: Request, session: ConsoleSession) -> tuple[list[dict[str, Any]], bool]:
        """The newest Insights events (at most :data:`MAX_EVENTS`) and whether that was all of them.
        Raises the lookup's AwsError."""
        call_info = info(request)
        events: list[dict[str, Any]] = []
        token = ""
        while True:
            params: dict[str, Any] = {"EventCategory": "insight", "MaxResults": 50}
            if token:
                params["NextToken"] = token
            answer = self.backend.call(session, call_info, "LookupEvents", params, record=not events and not token)
            events += answer.get("Events", [])
            token = answer.get("NextToken") or ""
            if not token:
                return events, True
            if len(events) >= MAX_EVENTS:
                return events, False

    async def insights(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)

        def build() -> Response:
            try:
                events, complete = self._events(request, session)
            except AwsError as exc:
                return self.page(request, session, "insights.html", {"rows": [], "complete": True,
                                                                     "error": _error_text(exc), "max_events": MAX_EVENTS},
                                 status=400)
            rows = [view.row(i) for i in view.insights_of(events)]
            return self.page(request, session, "insights.html", {"rows": rows, "complete": complete, "error": None,
                                                                 "max_events": MAX_EVENTS})

        return await run_in_threadpool(build)

    async def insight(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        shared_id = request.path_params["shared_event_id"]

        def build() -> Response:
            try:
                events, _ = self._events(request, session)
            except AwsError as exc:
                return error_page(request, 400, "Lookup failed", _error_text(exc), session)
            found = [i for i in view.insights_of(events) if i.shared_event_id == shared_id]
            if not found:
                return error_page(request, 404, "Insight not found",
                                  f"No insight {shared_id} among the {MAX_EVENTS} newest Insights events of account "
                                  f"{session.account_id} in {session.region}.", session)
            insight = found[0]
            first, last, start, end = view.chart_window(insight, self.backend.clock())
            period_s = view.chart_period_s(last - first)
            first -= first % (period_s // 60)  # the first point is a whole period
            metrics = self.backend.insights
            counts = None
            if metrics is not None and insight.start_s is not None:
                key = insight.series_key(session.account_id, session.region)
                counts = metrics.counts(key, first, last, period_s)
            return self.page(request, session, "insight.html", {
                "insight": insight, "row": view.row(insight), "rate": view.rate,
                "duration": view.duration_text(insight.insight_duration),
                "baseline_duration": view.duration_text(insight.baseline_duration),
                "chart": view.chart(insight, counts, first, last, period_s, (start, end)),
                "attributions": view.attribution_tables(insight),
                "records_json": json.dumps(insight.records, indent=2, ensure_ascii=False),
            })

        return await run_in_threadpool(build)
