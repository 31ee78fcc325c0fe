"""Geometry of the console's line charts, drawn as SVG on the server: values over a time window,
with horizontal reference lines (an alarm's threshold, an Insights baseline) and shaded time spans
(an Insights event's unusual period).

Everything is in SVG user units of a ``width`` x ``height`` box with ``pad`` units of margin on
every side for the labels; y grows downwards. The y axis starts at 0 (or below, for negative
values) and has 10 % headroom above the largest value drawn.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterable

#: Chart size in SVG units.
CHART_W, CHART_H, CHART_PAD = 720.0, 220.0, 36.0


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps epoch seconds in [``start_s``, ``end_s``] and values in [``y_min``, ``y_max``] onto the
    plot area (the box less ``pad`` on every side); coordinates are rounded to 0.1 unit."""

    start_s: float
    end_s: float
    y_min: float
    y_max: float
    width: float = CHART_W
    height: float = CHART_H
    pad: float = CHART_PAD

    @property
    def span_s(self) -> float:
        return max(self.end_s - self.start_s, 1.0)

    def x(self, t: float) -> float:
        """x of epoch second ``t``."""
        return round(self.pad + (t - self.start_s) / self.span_s * (self.width - 2 * self.pad), 1)

    def y(self, value: float) -> float:
        """y of ``value``."""
        return round(self.pad + (1 - (value - self.y_min) / (self.y_max - self.y_min)) * (self.height - 2 * self.pad), 1)

    def ticks(self, count: int = 4) -> list[dict[str, float | str]]:
        """``count + 1`` evenly spaced x-axis labels ``{"x", "label"}`` (``HH:MM`` UTC)."""
        moments = [self.start_s + self.span_s * i / count for i in range(count + 1)]
        return [{"x": self.x(t), "label": time.strftime("%H:%M", time.gmtime(t))} for t in moments]

    def round_ticks(self, max_count: int = 8) -> list[dict[str, float | str]]:
        """x-axis labels ``{"x", "label"}`` (``HH:MM`` UTC) at whole multiples of the smallest of
        15 min, 30 min, 1, 2, 3, 6, 12 h or 1 day that gives at most ``max_count`` of them."""
        step = next((m * 60 for m in _TICK_MINUTES if self.span_s / (m * 60) < max_count), 86400)
        first = math.ceil(self.start_s / step) * step
        moments = [first + i * step for i in range(int((self.end_s - first) // step) + 1)]
        return [{"x": self.x(t), "label": time.strftime("%H:%M", time.gmtime(t))} for t in moments]


_TICK_MINUTES = (15, 30, 60, 120, 180, 360, 720, 1440)


def fit(values: Iterable[float | None], start_s: float, end_s: float) -> Scale:
    """A scale whose y range holds every finite number of ``values`` (and 0), plus 10 % headroom;
    [0, 1.1] when there are none."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    y_min = min([0.0, *finite]) if finite else 0.0
    y_max = max(finite) if finite else 1.0
    if y_max <= y_min:
        y_max = y_min + 1.0
    y_max += (y_max - y_min) * 0.1
    return Scale(start_s, end_s, y_min, y_max)


def polyline(scale: Scale, points: Iterable[tuple[float, float]]) -> str:
    """The ``points`` attribute of an SVG polyline through (epoch seconds, value) ``points``."""
    return " ".join(f"{scale.x(t)},{scale.y(v)}" for t, v in points)
