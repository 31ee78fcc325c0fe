"""The activity chart: events per hour for the event history filter, drawn as inline SVG.

The store has no count-by-hour query, so the chart pages through LookupEvents (newest first, 50 a
call) and counts. Two caps keep a page fast at 10 million events:

- the window is at most :data:`MAX_WINDOW_HOURS` (7 days) ending at the filter's end time (or
  now); an earlier start is moved up to it;
- at most :data:`MAX_COUNTED_EVENTS` events are read. When the cap is reached, the hours older
  than the oldest event read are *not counted* and drawn as such; the hours after it are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from .history import HistoryQuery, time_text

MAX_WINDOW_HOURS = 7 * 24
MAX_COUNTED_EVENTS = 10_000
_HOUR = 3600

#: Drawing area of the chart, in SVG user units.
WIDTH, HEIGHT = 960, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 48


@dataclass(frozen=True, slots=True)
class Bar:
    """One hour: its start (epoch seconds), count, whether it was counted, and its geometry."""

    hour: int
    count: int
    counted: bool
    x: float
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        return time_text(self.hour)[:-7] + " UTC"


@dataclass(frozen=True, slots=True)
class Chart:
    """The counted window and what to draw: bars, y-axis ticks (value, y) and x labels (x, text)."""

    start: int
    end: int
    bars: list[Bar]
    total: int
    complete: bool
    counted_from: int
    y_ticks: list[tuple[int, float]]
    x_labels: list[tuple[float, str]]
    counted_from_text: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = _LEFT
    plot_bottom: int = HEIGHT - _BOTTOM


def window(query: HistoryQuery, now: float) -> HistoryQuery:
    """``query`` with its time range clipped to the chart window (at most 7 days to its end)."""
    end = query.end if query.end is not None else int(now)
    start = query.start if query.start is not None else end - MAX_WINDOW_HOURS * _HOUR + 1
    start = max(start, end - MAX_WINDOW_HOURS * _HOUR + 1)
    return replace(query, start=start, end=end, token=None, back=())


def count_per_hour(query: HistoryQuery, lookup: Callable[[dict[str, Any], bool], dict[str, Any]],
                   max_events: int = MAX_COUNTED_EVENTS) -> tuple[dict[int, int], bool, int]:
    """Events per hour start of ``query`` (its range must be set, see :func:`window`): (counts,
    complete, oldest counted time). ``complete`` is False when ``max_events`` was reached."""
    assert query.start is not None and query.end is not None
    counts: dict[int, int] = {}
    token = ""
    read = 0
    oldest = query.start
    first = True
    while True:
        response = lookup(query.lookup_params(max_results=50, token=token), first)
        first = False
        for event in response.get("Events", []):
            t = int(event["EventTime"])
            counts[t - t % _HOUR] = counts.get(t - t % _HOUR, 0) + 1
            read += 1
            oldest = t
        token = response.get("NextToken") or ""
        if not token:
            return counts, True, query.start
        if read >= max_events:
            return counts, False, oldest


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= step * m * 5:
                return step * m * 5
        step *= 10


def chart(query: HistoryQuery, counts: dict[int, int], complete: bool, counted_from: int) -> Chart:
    """Geometry of the bar chart for ``query``'s window. Hours before ``counted_from`` (when not
    ``complete``) are marked not counted."""
    assert query.start is not None and query.end is not None
    first = query.start - query.start % _HOUR
    hours = list(range(first, query.end + 1, _HOUR))
    top = _nice_max(max(counts.values(), default=0))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(1, len(hours))
    gap = 1.0 if slot > 3 else 0.0
    partial_before = counted_from - counted_from % _HOUR
    bars = []
    for i, hour in enumerate(hours):
        count = counts.get(hour, 0)
        counted = complete or hour >= partial_before
        h = plot_h * count / top if counted else plot_h
        bars.append(Bar(hour, count, counted, _LEFT + i * slot + gap / 2, _TOP + plot_h - h, max(slot - gap, 0.5), h))
    y_ticks = [(v, _TOP + plot_h - plot_h * v / top) for v in (0, top // 2, top)]
    every = max(1, len(hours) // 8)
    x_labels = [(_LEFT + i * slot + slot / 2, time_text(h)[5:16]) for i, h in enumerate(hours) if i % every == 0]
    return Chart(query.start, query.end, bars, sum(counts.values()), complete, counted_from, y_ticks, x_labels,
                 time_text(counted_from))
