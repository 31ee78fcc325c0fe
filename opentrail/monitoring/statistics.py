"""CloudWatch statistics: the names a caller may ask for and how each is computed from an aggregate.

Source: the CloudWatch User Guide "CloudWatch statistics definitions" and the botocore model
(``GetMetricStatistics`` ``Statistics``/``ExtendedStatistics``, ``PutMetricAlarm``
``ExtendedStatistic``, ``MetricStat.Stat``):

- ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum``;
- percentiles ``p0``..``p100`` (up to 10 decimals: ``p99.9``);
- trimmed mean ``tmNN`` / ``TM(a:b)``, winsorized mean ``wmNN`` / ``WM(a:b)``, trimmed count
  ``tcNN`` / ``TC(a:b)``, trimmed sum ``tsNN`` / ``TS(a:b)``, where each bound is a number 0-100 with
  ``%`` (a percentage of the samples) or without (an absolute value), and either may be omitted;
  ``tm90`` is ``TM(:90%)``; ``IQM`` is ``TM(25%:75%)``;
- percentile rank ``PR(a:b)``: the percentage of samples with ``a < value <= b`` (absolute bounds;
  the lower bound is exclusive, the upper inclusive, as the guide states).

An :class:`Aggregate` is what the metric store keeps per rollup: count, sum, min, max and, while
percentiles are possible, the exact distribution (value -> count). Percentiles are not available
(the value is left out, as CloudWatch leaves it out) when the data came as a statistic set whose
SampleCount is not 1 and whose Minimum differs from its Maximum, or when any value is negative
(both rules from the ``GetMetricStatistics`` documentation).

Percentile method: nearest rank (the smallest value with at least p % of the samples at or below
it); percentage bounds select the samples whose rank ``i`` (1-based, ascending) satisfies
``a% * n < i <= b% * n``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

#: The five simple statistics, in the order the model's enum lists them.
SIMPLE_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

_NUMBER = r"(?:100(?:\.0{1,10})?|\d{1,2}(?:\.\d{1,10})?)"
_SHORT = re.compile(rf"^(p|tm|wm|tc|ts)({_NUMBER})$")
_BOUND = r"(-?\d+(?:\.\d+)?%?)?"
_LONG = re.compile(rf"^(TM|WM|TC|TS|PR)\({_BOUND}:{_BOUND}\)$", re.IGNORECASE)


@dataclass(frozen=True)
class ExtendedStatistic:
    """A parsed extended statistic. ``kind`` is ``p``, ``tm``, ``wm``, ``tc``, ``ts`` or ``pr``;
    ``lower``/``upper`` are the bounds (None: open), ``percent`` whether they are percentages."""

    name: str
    kind: str
    lower: float | None
    upper: float | None
    percent: bool


def parse_extended_statistic(name: str) -> ExtendedStatistic | None:
    """The :class:`ExtendedStatistic` that ``name`` spells, or None when it is not one CloudWatch
    accepts (callers raise the operation's own error)."""
    if name == "IQM":
        return ExtendedStatistic(name, "tm", 25.0, 75.0, True)
    match = _SHORT.match(name)
    if match:
        kind, number = match.group(1), float(match.group(2))
        if kind == "p":
            return ExtendedStatistic(name, "p", None, number, True)
        return ExtendedStatistic(name, kind, None, number, True)
    match = _LONG.match(name)
    if not match:
        return None
    kind, low, high = match.group(1).lower(), match.group(2), match.group(3)
    if low is None and high is None:
        return None
    marks = {b.endswith("%") for b in (low, high) if b is not None}
    if len(marks) != 1:
        return None
    percent = marks.pop()
    if kind == "pr" and percent:
        return None
    lower = float(low.rstrip("%")) if low is not None else None
    upper = float(high.rstrip("%")) if high is not None else None
    if percent and any(b is not None and not 0 <= b <= 100 for b in (lower, upper)):
        return None
    if lower is not None and upper is not None and lower > upper:
        return None
    return ExtendedStatistic(name, kind, lower, upper, percent)


def is_statistic(name: str) -> bool:
    """Whether ``name`` is a simple or an extended statistic (``MetricStat.Stat`` accepts both)."""
    return name in SIMPLE_STATISTICS or parse_extended_statistic(name) is not None


@dataclass
class Aggregate:
    """Count, sum, minimum, maximum and (None when unavailable) the distribution value -> count of
    a set of samples. ``percentiles`` is False once any part came without a usable distribution."""

    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    dist: dict[float, float] | None = field(default_factory=dict)

    def add_value(self, value: float, count: float = 1.0) -> None:
        """Add ``count`` samples of ``value``."""
        self.count += count
        self.total += value * count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self.dist is not None:
            self.dist[value] = self.dist.get(value, 0.0) + count

    def add_statistic_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        """Add a statistic set; it keeps percentiles only when SampleCount is 1 or Min == Max."""
        self.count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)
        if self.dist is not None:
            if count == 1 or minimum == maximum:
                self.dist[minimum] = self.dist.get(minimum, 0.0) + count
            else:
                self.dist = None

    def merge(self, other: "Aggregate") -> None:
        """Add ``other`` into this aggregate."""
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        if self.dist is not None:
            if other.dist is None:
                self.dist = None
            else:
                for value, count in other.dist.items():
                    self.dist[value] = self.dist.get(value, 0.0) + count

    def simple(self, statistic: str) -> float:
        """The value of one of :data:`SIMPLE_STATISTICS`."""
        if statistic == "SampleCount":
            return self.count
        if statistic == "Sum":
            return self.total
        if statistic == "Average":
            return self.total / self.count
        if statistic == "Minimum":
            return self.minimum
        if statistic == "Maximum":
            return self.maximum
        raise KeyError(statistic)

    def extended(self, stat: ExtendedStatistic) -> float | None:
        """The value of ``stat``, or None when CloudWatch gives none (no distribution, a negative
        value, or no sample inside the bounds)."""
        if self.dist is None or not self.dist or self.minimum < 0 or self.count <= 0:
            return None
        pairs = sorted(self.dist.items())
        if stat.kind == "p":
            return _percentile(pairs, self.count, stat.upper or 0.0)
        if stat.kind == "pr":
            inside = sum(c for v, c in pairs if _inside_absolute(v, stat.lower, stat.upper))
            return 100.0 * inside / self.count
        kept = _kept(pairs, self.count, stat)
        if stat.kind == "tc":
            return sum(c for _, c in kept)
        if stat.kind == "ts":
            return sum(v * c for v, c in kept)
        if stat.kind == "tm":
            n = sum(c for _, c in kept)
            return sum(v * c for v, c in kept) / n if n else None
        return _winsorized_mean(pairs, self.count, stat)

    def value(self, statistic: str) -> float | None:
        """The value of a simple or extended statistic named ``statistic``."""
        if statistic in SIMPLE_STATISTICS:
            return self.simple(statistic)
        parsed = parse_extended_statistic(statistic)
        return self.extended(parsed) if parsed else None


def _percentile(pairs: list[tuple[float, float]], n: float, p: float) -> float:
    if p <= 0:
        return pairs[0][0]
    rank = max(1.0, math.ceil(p / 100.0 * n - 1e-9))
    seen = 0.0
    for value, count in pairs:
        seen += count
        if seen >= rank - 1e-9:
            return value
    return pairs[-1][0]


def _inside_absolute(value: float, lower: float | None, upper: float | None) -> bool:
    return (lower is None or value > lower) and (upper is None or value <= upper)


def _kept(pairs: list[tuple[float, float]], n: float, stat: ExtendedStatistic) -> list[tuple[float, float]]:
    if not stat.percent:
        return [(v, c) for v, c in pairs if _inside_absolute(v, stat.lower, stat.upper)]
    low = math.floor((stat.lower or 0.0) / 100.0 * n + 1e-9)
    high = math.floor((100.0 if stat.upper is None else stat.upper) / 100.0 * n + 1e-9)
    kept: list[tuple[float, float]] = []
    before = 0.0
    for value, count in pairs:
        after = before + count
        share = min(after, high) - max(before, low)
        if share > 0:
            kept.append((value, share))
        before = after
    return kept


def _winsorized_mean(pairs: list[tuple[float, float]], n: float, stat: ExtendedStatistic) -> float:
    if stat.percent:
        low = _percentile(pairs, n, stat.lower) if stat.lower else -math.inf
        high = _percentile(pairs, n, stat.upper) if stat.upper is not None else math.inf
    else:
        low = -math.inf if stat.lower is None else stat.lower
        high = math.inf if stat.upper is None else stat.upper
    return sum(min(max(v, low), high) * c for v, c in pairs) / n
