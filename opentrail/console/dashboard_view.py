"""What the dashboard pages draw, from the API's answers (no I/O): each widget as a line chart,
a bar chart or a table (server-side SVG geometry; no script, no CDN).

A widget's ViewProperties choose the drawing: ``View`` ``LineChart`` | ``BarChart`` | anything else
(``Table``); ``XAxisColumn`` and ``YAxisColumn`` name the columns (default: the first and the last
column of the rows); ``Title`` heads it. A line chart needs times in its x column
(``2024-05-01 10:00:00.000``, as Lake renders timestamps) and numbers in its y column; rows that are
not are left out and, when none is left, the rows are shown as a table instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from .svg_chart import CHART_H, CHART_PAD, CHART_W, fit, polyline

#: Rows a widget shows at most (GetQueryResults MaxQueryResults).
WIDGET_ROWS = 100
#: Bars a bar chart draws at most.
MAX_BARS = 10
BAR_H, BAR_GAP, LABEL_W = 22.0, 6.0, 260.0
#: The time ranges the refresh form offers: label -> seconds before now (``all``: since 1970, for
#: imported history).
RANGES: dict[str, int | None] = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": None}


@dataclass
class WidgetView:
    """One widget as drawn: ``kind`` line | bar | table; ``status`` of its query in the last refresh
    (None: never refreshed); ``columns``/``rows`` its results; ``chart`` the SVG geometry."""

    title: str
    kind: str
    statement: str
    alias: str
    status: str | None = None
    error: str | None = None
    query_id: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    chart: dict[str, Any] | None = None


def _time(text: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _axes(props: Mapping[str, str], columns: list[str]) -> tuple[int, int]:
    x = columns.index(props["XAxisColumn"]) if props.get("XAxisColumn") in columns else 0
    y = columns.index(props["YAxisColumn"]) if props.get("YAxisColumn") in columns else len(columns) - 1
    return x, y


def line_chart(columns: list[str], rows: list[list[str]], props: Mapping[str, str]) -> dict[str, Any] | None:
    """A line chart of y over the times of x, or None when no row has a time and a number."""
    if not columns:
        return None
    xi, yi = _axes(props, columns)
    points = [(t, v) for t, v in ((_time(r[xi]), _number(r[yi])) for r in rows) if t is not None and v is not None]
    if not points:
        return None
    points.sort()
    start, end = points[0][0], points[-1][0]
    if end <= start:
        start, end = start - 1800, end + 1800
    scale = fit([v for _, v in points], start, end)
    return {"width": CHART_W, "height": CHART_H, "pad": CHART_PAD, "polyline": polyline(scale, points),
            "dots": [{"x": scale.x(t), "y": scale.y(v), "label": f"{dt.datetime.fromtimestamp(t, dt.timezone.utc):%Y-%m-%d %H:%M} UTC: {v:g}"}
                     for t, v in points],
            "ticks": scale.round_ticks(), "y_max": f"{scale.y_max:g}", "y_min": f"{scale.y_min:g}",
            "x_label": columns[xi], "y_label": columns[yi]}


def bar_chart(columns: list[str], rows: list[list[str]], props: Mapping[str, str]) -> dict[str, Any] | None:
    """Horizontal bars (label, value) for the first :data:`MAX_BARS` rows whose y is a number."""
    if not columns:
        return None
    xi, yi = _axes(props, columns)
    pairs = [(r[xi] or "(none)", v) for r, v in ((r, _number(r[yi])) for r in rows) if v is not None][:MAX_BARS]
    if not pairs:
        return None
    top = max(max(v for _, v in pairs), 1.0)
    room = CHART_W - LABEL_W - 70
    bars = []
    for i, (label, value) in enumerate(pairs):
        y = CHART_PAD / 2 + i * (BAR_H + BAR_GAP)
        bars.append({"label": label if len(label) <= 40 else "…" + label[-39:], "full_label": label,
                     "value": f"{value:g}", "x": LABEL_W, "y": round(y, 1),
                     "width": round(max(value, 0) / top * room, 1), "height": BAR_H,
                     "text_y": round(y + BAR_H * 0.7, 1)})
    height = CHART_PAD + len(bars) * (BAR_H + BAR_GAP)
    return {"width": CHART_W, "height": round(height, 1), "bars": bars, "x_label": columns[xi],
            "y_label": columns[yi]}


def widget_view(widget: Mapping[str, Any]) -> WidgetView:
    """A widget of GetDashboard before its results are known."""
    props = widget.get("ViewProperties") or {}
    view = str(props.get("View", "Table"))
    kind = {"LineChart": "line", "BarChart": "bar"}.get(view, "table")
    return WidgetView(title=str(props.get("Title") or widget.get("QueryAlias", "")), kind=kind,
                      statement=str(widget.get("QueryStatement", "")), alias=str(widget.get("QueryAlias", "")))


def with_results(view: WidgetView, props: Mapping[str, str], rows: list[list[Mapping[str, str]]]) -> WidgetView:
    """``view`` with its GetQueryResults rows and, for charts, the chart (a table when no chart can
    be drawn from them)."""
    from .lake_view import result_table

    view.columns, view.rows = result_table(rows)
    if view.kind == "line":
        view.chart = line_chart(view.columns, view.rows, props)
    elif view.kind == "bar":
        view.chart = bar_chart(view.columns, view.rows, props)
    if view.chart is None and view.kind != "table":
        view.kind = "table"
    return view


def refresh_values(range_key: str, now: float, store_id: str = "") -> dict[str, str]:
    """StartDashboardRefresh QueryParameterValues for the refresh form: the last ``range_key``
    (one of :data:`RANGES`, else 24h) up to ``now``, and the store for a managed dashboard."""
    seconds = RANGES.get(range_key, RANGES["24h"]) if range_key in RANGES else RANGES["24h"]
    end = dt.datetime.fromtimestamp(int(now), dt.timezone.utc)
    start = dt.datetime.fromtimestamp(0, dt.timezone.utc) if seconds is None else end - dt.timedelta(seconds=seconds)
    values = {"$StartTime$": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "$EndTime$": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if store_id:
        values["$EventDataStoreId$"] = store_id
    return values
