"""Monitoring pages: CloudWatch Logs log groups, streams, events with a filter pattern (and its
explain mode), metric filters; CloudWatch alarms with their state, history and a chart of the metric
against the threshold.

- ``GET /console/logs``: DescribeLogGroups (``prefix``).
- ``GET /console/logs/group?name=<group>&pattern=&stream=&explain=1``: DescribeLogStreams (latest
  first), DescribeMetricFilters and FilterLogEvents (100 events, the pattern and the stream name
  prefix). With ``explain``, the latest events are listed whether they match or not, each with the
  pattern's clauses and whether each held ("which clause failed",
  :meth:`opentrail.monitoring.filter_pattern.FilterPattern.explain`).
- ``GET /console/alarms``: DescribeAlarms (``state``, ``prefix``).
- ``GET /console/alarms/view?name=<alarm>``: the alarm, GetMetricStatistics of its metric over the
  last 60 periods (at most 1,440 points) drawn against the threshold, DescribeAlarmHistory.

Every call goes through the API handlers and is recorded as the API records it (FilterLogEvents is
not logged by CloudWatch Logs, so not here either).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from . import monitoring_view as view
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, error_page, info, signin_redirect

LOGS = BASE + "/logs"
ALARMS = BASE + "/alarms"
#: Events shown on a log group page; events explained.
SHOWN_EVENTS, EXPLAINED_EVENTS = 100, 20
#: Periods drawn on an alarm's chart.
CHART_PERIODS = 60


def error_text(exc: AwsError) -> str:
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


class MonitoringPages(Pages):
    def _logs_call(self, request: Request, session: ConsoleSession, operation: str, params: dict[str, Any]) -> Any:
        return self.backend.call(session, info(request), operation, params, service="logs")

    def _cw_call(self, request: Request, session: ConsoleSession, operation: str, params: dict[str, Any]) -> Any:
        return self.backend.call(session, info(request), operation, params, service="monitoring")

    # --- CloudWatch Logs ----------------------------------------------------------------------

    async def log_groups(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.logs is None:
            return error_page(request, 404, "No CloudWatch Logs", "This server runs without CloudWatch Logs.", session)
        prefix = request.query_params.get("prefix", "")

        def build() -> Response:
            error = None
            try:
                params: dict[str, Any] = {"limit": 50}
                if prefix:
                    params["logGroupNamePrefix"] = prefix
                groups = [view.log_group_row(g) for g in self._logs_call(request, session, "DescribeLogGroups",
                                                                          params).get("logGroups", [])]
            except AwsError as exc:
                groups, error = [], error_text(exc)
            return self.page(request, session, "logs.html", {"groups": groups, "prefix": prefix, "error": error},
                             status=400 if error else 200)

        return await run_in_threadpool(build)

    async def log_group(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.logs is None:
            return error_page(request, 404, "No CloudWatch Logs", "This server runs without CloudWatch Logs.", session)
        q = request.query_params
        name, pattern, stream = q.get("name", ""), q.get("pattern", ""), q.get("stream", "")
        explain = q.get("explain", "") in ("1", "on", "true")

        def build() -> Response:
            context: dict[str, Any] = {"name": name, "pattern": pattern, "stream": stream, "explain": explain,
                                       "streams": [], "filters": [], "events": [], "error": None,
                                       "pattern_error": None}
            try:
                context["streams"] = self._logs_call(request, session, "DescribeLogStreams", {
                    "logGroupName": name, "orderBy": "LastEventTime", "descending": True, "limit": 50,
                }).get("logStreams", [])
                context["filters"] = self._logs_call(request, session, "DescribeMetricFilters",
                                                     {"logGroupName": name}).get("metricFilters", [])
            except AwsError as exc:
                context["error"] = error_text(exc)
                return self.page(request, session, "log_group.html", context, status=404 if
                                 exc.code == "ResourceNotFoundException" else 400)
            params: dict[str, Any] = {"logGroupName": name, "limit": EXPLAINED_EVENTS if explain else SHOWN_EVENTS}
            if stream:
                params["logStreamNamePrefix"] = stream
            compiled = None
            if pattern:
                try:
                    from ..monitoring.filter_pattern import compile_pattern

                    compiled = compile_pattern(pattern)
                except Exception as exc:  # the pattern's own message, as the API words it
                    context["pattern_error"] = getattr(exc, "message", str(exc))
                if not explain:
                    params["filterPattern"] = pattern
            try:
                if context["pattern_error"] is None or explain:
                    answer = self._logs_call(request, session, "FilterLogEvents", params)
                    events = answer.get("events", [])
                else:
                    events = []
            except AwsError as exc:
                context["pattern_error"] = error_text(exc)
                events = []
            rows = []
            for event in events:
                row = {"time": view.when(event.get("timestamp")), "stream": event.get("logStreamName", ""),
                       "message": event.get("message", ""), "explained": None, "matched": None}
                if explain and compiled is not None:
                    row["matched"] = bool(compiled.matches(row["message"]))
                    row["explained"] = view.explain_rows(compiled.explain(row["message"]))
                rows.append(row)
            context["events"] = rows
            return self.page(request, session, "log_group.html", context,
                             status=400 if context["pattern_error"] else 200)

        return await run_in_threadpool(build)

    # --- CloudWatch alarms --------------------------------------------------------------------

    async def alarms(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.monitoring is None:
            return error_page(request, 404, "No CloudWatch", "This server runs without CloudWatch.", session)
        state, prefix = request.query_params.get("state", ""), request.query_params.get("prefix", "")

        def build() -> Response:
            error = None
            params: dict[str, Any] = {"MaxRecords": 100}
            if state:
                params["StateValue"] = state
            if prefix:
                params["AlarmNamePrefix"] = prefix
            try:
                alarms = [view.alarm_row(a) for a in self._cw_call(request, session, "DescribeAlarms",
                                                                    params).get("MetricAlarms", [])]
            except AwsError as exc:
                alarms, error = [], error_text(exc)
            return self.page(request, session, "alarms.html", {"alarms": alarms, "state": state, "prefix": prefix,
                                                               "error": error}, status=400 if error else 200)

        return await run_in_threadpool(build)

    async def alarm(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.monitoring is None:
            return error_page(request, 404, "No CloudWatch", "This server runs without CloudWatch.", session)
        name = request.query_params.get("name", "")

        def build() -> Response:
            try:
                found = self._cw_call(request, session, "DescribeAlarms", {"AlarmNames": [name]}).get("MetricAlarms", [])
            except AwsError as exc:
                return error_page(request, 400, "Alarm", error_text(exc), session)
            if not found:
                return error_page(request, 404, "No such alarm", f"There is no alarm named {name!r} in this Region.",
                                  session)
            alarm = found[0]
            period = int(alarm.get("Period") or 60)
            end = self.backend.clock()
            end -= end % period
            end += period
            start = end - period * CHART_PERIODS
            statistic = alarm.get("Statistic")
            params: dict[str, Any] = {"Namespace": alarm.get("Namespace"), "MetricName": alarm.get("MetricName"),
                                      "Dimensions": alarm.get("Dimensions") or [], "StartTime": start,
                                      "EndTime": end, "Period": period}
            if statistic:
                params["Statistics"] = [statistic]
            elif alarm.get("ExtendedStatistic"):
                params["ExtendedStatistics"] = [alarm["ExtendedStatistic"]]
            chart_error = None
            points: list[tuple[float, float]] = []
            try:
                stats = self._cw_call(request, session, "GetMetricStatistics", params)
                for point in stats.get("Datapoints", []):
                    t = view.epoch_s(point.get("Timestamp"))
                    value = point.get(statistic) if statistic else (point.get("ExtendedStatistics") or {}).get(
                        alarm.get("ExtendedStatistic"))
                    if t is not None and isinstance(value, (int, float)):
                        points.append((t, float(value)))
            except AwsError as exc:
                chart_error = error_text(exc)
            try:
                history = self._cw_call(request, session, "DescribeAlarmHistory",
                                        {"AlarmName": name, "MaxRecords": 20}).get("AlarmHistoryItems", [])
            except AwsError:
                history = []
            return self.page(request, session, "alarm.html", {
                "alarm": view.alarm_row(alarm), "raw": alarm, "chart_error": chart_error,
                "chart": view.chart(points, alarm.get("Threshold"), start, end, statistic or ""),
                "history": [{"time": view.when(h.get("Timestamp")), "type": h.get("HistoryItemType", ""),
                             "summary": h.get("HistorySummary", "")} for h in history],
            })

        return await run_in_threadpool(build)
