"""Pure helpers of the Insights pages: Insights events (LookupEvents ``Event`` entries) paired into
one insight each, their table rows and attribution tables, and the call-rate chart of one insight.

An insight is written as two Insights events sharing ``sharedEventID`` (CloudTrail User Guide,
"CloudTrail Insights events record contents"): the **Start** event, whose eventTime is the first
unusual minute, and the **End** event, whose eventTime is the end of the unusual period and whose
``insightContext.statistics.insightDuration`` is its length in minutes. Averages are calls per
minute. An insight without its End event is still going on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..insights.model import ATTRIBUTES, SeriesKey
from .monitoring_view import when
from .svg_chart import fit, polyline

#: Minutes of calls drawn before an insight starts and after it ends.
CHART_BEFORE_MIN, CHART_AFTER_MIN = 180, 60
#: The chart's period: per minute up to this many minutes drawn, then 5-minute, then hourly periods.
PER_MINUTE_UP_TO, PER_5_MINUTES_UP_TO = 720, 3600


@dataclass(slots=True)
class Insight:
    """One insight: its Start and End events merged.

    - ``start_s`` / ``end_s``: epoch seconds of the first unusual minute and of the end (exclusive),
      ``end_s`` None while it goes on. Without the Start event (not read), ``start_s`` is the End's
      time less ``insightDuration`` minutes.
    - ``baseline_average`` / ``insight_average``: calls per minute (the End event's when there is
      one, which covers the whole period; the Start event's otherwise); None when the record has none.
    - ``attributions``: ``insightContext.attributions`` of the same event; ``records`` the events'
      records, Start first.
    """

    shared_event_id: str
    start_s: int | None = None
    end_s: int | None = None
    event_source: str = ""
    event_name: str = ""
    insight_type: str = ""
    error_code: str = ""
    baseline_average: float | None = None
    insight_average: float | None = None
    start_average: float | None = None
    insight_duration: int | None = None
    baseline_duration: int | None = None
    attributions: list[dict[str, Any]] = field(default_factory=list)
    attributions_from: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ongoing(self) -> bool:
        return self.end_s is None

    def series_key(self, account_id: str, region: str) -> SeriesKey:
        """The series whose counts this insight is about (management events)."""
        return SeriesKey(account_id, region, "Management", self.event_source, self.event_name, self.insight_type,
                         self.error_code)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def insights_of(events: Sequence[dict[str, Any]]) -> list[Insight]:
    """LookupEvents ``Event`` entries of Insights events (any order) as insights, newest start first
    (ties: shared event ID). Entries whose CloudTrailEvent is not an Insights record are skipped."""
    found: dict[str, Insight] = {}
    for event in events:
        try:
            record = json.loads(event.get("CloudTrailEvent") or "")
        except ValueError:
            continue
        details = record.get("insightDetails") if isinstance(record, dict) else None
        if not isinstance(details, dict):
            continue
        shared = _text(record.get("sharedEventID")) or _text(record.get("eventID"))
        insight = found.setdefault(shared, Insight(shared))
        state = details.get("state")
        context = details.get("insightContext") if isinstance(details.get("insightContext"), dict) else {}
        statistics = context.get("statistics") if isinstance(context.get("statistics"), dict) else {}
        at = event.get("EventTime")
        at = int(at) if isinstance(at, (int, float)) else None
        insight.event_source = insight.event_source or _text(details.get("eventSource"))
        insight.event_name = insight.event_name or _text(details.get("eventName"))
        insight.insight_type = insight.insight_type or _text(details.get("insightType"))
        insight.error_code = insight.error_code or _text(details.get("errorCode"))
        baseline = _number((statistics.get("baseline") or {}).get("average"))
        average = _number((statistics.get("insight") or {}).get("average"))
        duration = _number(statistics.get("insightDuration"))
        if _number(statistics.get("baselineDuration")) is not None:
            insight.baseline_duration = int(statistics["baselineDuration"])
        attributions = context.get("attributions")
        if state == "End":
            insight.end_s = at
            insight.insight_duration = int(duration) if duration is not None else None
            if baseline is not None:
                insight.baseline_average = baseline
            if average is not None:
                insight.insight_average = average
            if isinstance(attributions, list):
                insight.attributions, insight.attributions_from = attributions, "End"
            if insight.start_s is None and at is not None and duration is not None:
                insight.start_s = at - int(duration) * 60
            insight.records.append(record)
        else:
            insight.start_s = at
            insight.start_average = average
            if insight.baseline_average is None:  # the End event's, when read first, wins
                insight.baseline_average = baseline
            if insight.insight_average is None:
                insight.insight_average = average
            if isinstance(attributions, list) and insight.attributions_from != "End":
                insight.attributions, insight.attributions_from = attributions, "Start"
            insight.records.insert(0, record)
    return sorted(found.values(), key=lambda i: (-(i.start_s or i.end_s or 0), i.shared_event_id))


def rate(value: float | None) -> str:
    """Calls per minute for reading: four significant digits, never in exponent notation
    (``0.0000882145`` -> ``0.00008821``, ``85.4202380952`` -> ``85.42``, ``664`` -> ``664``);
    empty for None."""
    if value is None or not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    text = f"{round(value, digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def duration_text(minutes: int | None) -> str:
    """``90`` -> ``1 h 30 min``; empty for None."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{rest} min"] * bool(rest or not (days or hours))
    return " ".join(parts)


def row(insight: Insight) -> dict[str, Any]:
    """One line of the Insights table (texts as shown)."""
    return {"id": insight.shared_event_id, "start": when(insight.start_s),
            "end": "ongoing" if insight.ongoing else when(insight.end_s),
            "ongoing": insight.ongoing, "source": insight.event_source, "name": insight.event_name,
            "type": insight.insight_type, "error_code": insight.error_code,
            "baseline": rate(insight.baseline_average), "average": rate(insight.insight_average)}


def attribution_tables(insight: Insight) -> list[dict[str, Any]]:
    """One table per attribute (AWS's order: userIdentityArn, userAgent, errorCode) with rows
    ``{"value", "insight", "baseline"}``: every value of the insight list (in its order, average
    descending), then the values only the baseline list has; a missing side is empty."""
    tables = []
    by_attribute = {a.get("attribute"): a for a in insight.attributions if isinstance(a, dict)}
    for name in [*ATTRIBUTES, *sorted(k for k in by_attribute if k not in ATTRIBUTES and isinstance(k, str))]:
        entry = by_attribute.get(name)
        if entry is None:
            continue
        sides = {side: [(str(v.get("value")), _number(v.get("average"))) for v in entry.get(side) or []
                        if isinstance(v, dict)] for side in ("insight", "baseline")}
        baseline = dict(sides["baseline"])
        rows = [{"value": value, "insight": rate(average), "baseline": rate(baseline.get(value))}
                for value, average in sides["insight"]]
        seen = {value for value, _ in sides["insight"]}
        rows += [{"value": value, "insight": "", "baseline": rate(average)}
                 for value, average in sides["baseline"] if value not in seen]
        tables.append({"attribute": name, "rows": rows})
    return tables


def chart_period_s(minutes: int) -> int:
    """The period the chart draws a window of ``minutes`` with: 60, 300 or 3600 seconds."""
    if minutes <= PER_MINUTE_UP_TO:
        return 60
    return 300 if minutes <= PER_5_MINUTES_UP_TO else 3600


def chart_window(insight: Insight, now_s: float) -> tuple[int, int, int, int]:
    """(first minute drawn, minute after the last drawn, first unusual minute, minute after the
    unusual period), all epoch minutes: from :data:`CHART_BEFORE_MIN` before the start to
    :data:`CHART_AFTER_MIN` after the end, but not past the current minute. An ongoing insight's
    unusual period runs to the current minute (included)."""
    now_minute = int(now_s // 60) + 1
    start = (insight.start_s or 0) // 60
    end = insight.end_s // 60 if insight.end_s is not None else now_minute
    return start - CHART_BEFORE_MIN, max(min(end + CHART_AFTER_MIN, now_minute), end), start, end


def chart(insight: Insight, counts: Sequence[tuple[int, int]] | None, first: int, last: int, period_s: int,
          anomaly: tuple[int, int]) -> dict[str, Any]:
    """The SVG pieces of one insight's chart over epoch minutes [``first``, ``last``): ``counts`` are
    (epoch minute of the period start, calls) pairs of ``period_s`` periods (non-zero ones; missing
    periods count 0), or None when no counts are available; ``first`` is a multiple of the period. Values are drawn as calls per minute
    (calls / minutes of the period), so they compare with the baseline average.

    Returns {"width", "height", "pad", "polyline", "dots": [{"x","y","label"}] (non-zero periods),
    "window": {"x","y","width","height"} (the unusual period, shaded), "baseline_y", "average":
    {"x1","x2","y"} (the insight average over the window), "y_max", "y_min", "ticks", "period_s",
    "available", "summary"} (summary: texts for the page and the SVG's description)."""
    minutes_per = period_s // 60
    start_minute, end_minute = anomaly
    values: list[tuple[int, float]] = []
    if counts is not None:
        by_period = dict(counts)
        values = [(m * 60, by_period.get(m, 0) / minutes_per) for m in range(first, last, minutes_per)]
    scale = fit([v for _, v in values] + [insight.baseline_average, insight.insight_average], first * 60, last * 60)
    inner_h = scale.height - 2 * scale.pad
    x1, x2 = scale.x(start_minute * 60), scale.x(end_minute * 60)
    out: dict[str, Any] = {
        "width": scale.width, "height": scale.height, "pad": scale.pad, "period_s": period_s,
        "available": counts is not None, "polyline": polyline(scale, values),
        "dots": [{"x": scale.x(t), "y": scale.y(v), "label": f"{when(t)}: {rate(v)} calls/min"}
                 for t, v in values if v > 0],
        "window": {"x": x1, "y": scale.pad, "width": round(x2 - x1, 1), "height": inner_h},
        "baseline_y": scale.y(insight.baseline_average) if insight.baseline_average is not None else None,
        "average": ({"x1": x1, "x2": x2, "y": scale.y(insight.insight_average)}
                    if insight.insight_average is not None else None),
        "y_max": rate(scale.y_max), "y_min": rate(scale.y_min), "ticks": scale.round_ticks(),
    }
    out["summary"] = _summary(insight, counts, values, first, last, anomaly, period_s)
    return out


def _summary(insight: Insight, counts: Sequence[tuple[int, int]] | None, values: list[tuple[int, float]],
             first: int, last: int, anomaly: tuple[int, int], period_s: int) -> dict[str, str]:
    """The chart in words: the window, the peak, the calls counted inside the unusual period."""
    unit = {60: "minute", 300: "5 minutes", 3600: "hour"}[period_s]
    head = (f"{insight.event_name} calls per minute from {when(first * 60)} to {when(last * 60)}, one point per "
            f"{unit}; the unusual period ({when(anomaly[0] * 60)} to {when(anomaly[1] * 60)}) is shaded; "
            f"baseline average {rate(insight.baseline_average) or 'unknown'} calls/min, insight average "
            f"{rate(insight.insight_average) or 'unknown'} calls/min.")
    if counts is None:
        return {"head": head, "detail": "No call counts are available: this server runs without Insights counts."}
    inside = sum(c for m, c in counts if anomaly[0] <= m < anomaly[1])
    minutes = max(anomaly[1] - anomaly[0], 1)
    if not values or max(v for _, v in values) == 0:
        return {"head": head, "detail": "No calls were counted in this window."}
    peak_t, peak = max(values, key=lambda p: (p[1], -p[0]))
    return {"head": head, "detail": (f"Peak {rate(peak)} calls/min at {when(peak_t)}; {inside} calls in the unusual "
                                     f"period, {rate(inside / minutes)} calls/min on average.")}
