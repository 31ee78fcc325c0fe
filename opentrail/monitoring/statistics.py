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
import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

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
    """Count, sum, minimum, maximum and (``parts`` None when unavailable) the distribution of a set
    of samples: packed ``array('d')`` chunks of interleaved (value, count) pairs, merged by
    concatenation and sorted once when an extended statistic is asked for."""

    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    parts: list[array] | None = field(default_factory=list)
    _sorted: tuple[list[float], list[float], list[float]] | None = field(default=None, repr=False, compare=False)

    def add_value(self, value: float, count: float = 1.0) -> None:
        """Add ``count`` samples of ``value``."""
        self.count += count
        self.total += value * count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self.parts is not None:
            if not self.parts:
                self.parts.append(array("d"))
            self.parts[-1].append(value)
            self.parts[-1].append(count)
            self._sorted = None

    def add_statistic_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        """Add a statistic set; it keeps percentiles only when SampleCount is 1 or Min == Max."""
        self.count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)
        if self.parts is not None:
            if count == 1 or minimum == maximum:
                self.parts.append(array("d", (minimum, count)))
            else:
                self.parts = None
            self._sorted = None

    def merge(self, other: "Aggregate") -> None:
        """Add ``other`` into this aggregate."""
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        if self.parts is not None:
            if other.parts is None:
                self.parts = None
            else:
                self.parts.extend(other.parts)
            self._sorted = None

    def distribution(self) -> dict[float, float] | None:
        """The distribution as distinct value -> count (None when unavailable)."""
        if self.parts is None:
            return None
        out: dict[float, float] = {}
        for part in self.parts:
            for value, count in zip(part[0::2], part[1::2]):
                out[value] = out.get(value, 0.0) + count
        return out

    def _distribution_sorted(self) -> tuple[list[float], list[float], list[float]]:
        """(values ascending, their counts, cumulative counts); values may repeat."""
        if self._sorted is None:
            flat = array("d")
            for part in self.parts or ():
                flat.extend(part)
            pairs = sorted(zip(flat[0::2], flat[1::2]))
            values = [v for v, _ in pairs]
            counts = [c for _, c in pairs]
            self._sorted = (values, counts, list(accumulate(counts)))
        return self._sorted

    def simple(self, statistic: str) -> float:
        """The value of one of :data:`SIMPLE_STATISTICS`."""
        if statistic == "SampleCount":
            return self.count
        if statistic == "Sum":
            return self.total
        if statistic == "Average":
            return self.total / self.count if self.count else 0.0
        if statistic == "Minimum":
            return self.minimum
        if statistic == "Maximum":
            return self.maximum
        raise KeyError(statistic)

    def extended(self, stat: ExtendedStatistic) -> float | None:
        """The value of ``stat``, or None when CloudWatch gives none (no distribution, a negative
        value, or no sample inside the bounds)."""
        if not self.parts or self.minimum < 0 or self.count <= 0:
            return None
        values, counts, cum = self._distribution_sorted()
        n = cum[-1]
        if stat.kind == "p":
            return _percentile(values, cum, n, stat.upper or 0.0)
        if stat.kind == "pr":
            return 100.0 * _count_inside(values, cum, stat.lower, stat.upper) / n
        if stat.kind == "wm":
            return _winsorized_mean(values, counts, cum, n, stat)
        kept_values, kept_counts = _kept(values, counts, cum, n, stat)
        kept = sum(kept_counts)
        if stat.kind == "tc":
            return kept
        weighted = sum(map(operator.mul, kept_values, kept_counts))
        if stat.kind == "ts":
            return weighted
        return weighted / kept if kept else None

    def value(self, statistic: str) -> float | None:
        """The value of a simple or extended statistic named ``statistic``."""
        if statistic in SIMPLE_STATISTICS:
            return self.simple(statistic)
        parsed = parse_extended_statistic(statistic)
        return self.extended(parsed) if parsed else None


_EPS = 1e-9


def _percentile(values: list[float], cum: list[float], n: float, p: float) -> float:
    """Nearest rank: the first value whose cumulative count reaches ceil(p% of n)."""
    if p <= 0:
        return values[0]
    rank = max(1.0, math.ceil(p / 100.0 * n - _EPS))
    return values[min(bisect_left(cum, rank - _EPS), len(values) - 1)]


def _count_inside(values: list[float], cum: list[float], lower: float | None, upper: float | None) -> float:
    """Samples with lower < value <= upper (a bound None is open)."""

    def at_or_below(bound: float) -> float:
        index = bisect_right(values, bound)
        return cum[index - 1] if index else 0.0

    high = cum[-1] if upper is None else at_or_below(upper)
    low = 0.0 if lower is None else at_or_below(lower)
    return max(0.0, high - low)


def _kept(values: list[float], counts: list[float], cum: list[float], n: float,
          stat: ExtendedStatistic) -> tuple[list[float], list[float]]:
    """The samples inside the bounds: by value (absolute bounds) or by rank (percentages)."""
    if not stat.percent:
        first = bisect_right(values, stat.lower) if stat.lower is not None else 0
        last = bisect_right(values, stat.upper) if stat.upper is not None else len(values)
        return values[first:last], counts[first:last]
    low = math.floor((stat.lower or 0.0) / 100.0 * n + _EPS)
    high = math.floor((100.0 if stat.upper is None else stat.upper) / 100.0 * n + _EPS)
    if high <= low:
        return [], []
    first = bisect_right(cum, low + _EPS)           # first pair whose cumulative count exceeds low
    last = min(bisect_left(cum, high - _EPS), len(values) - 1)  # first pair reaching high
    kept_values = values[first:last + 1]
    kept_counts = counts[first:last + 1]
    if kept_counts:
        before_first = cum[first - 1] if first else 0.0
        kept_counts[0] = min(cum[first], high) - max(before_first, low)
        if last > first:
            kept_counts[-1] = min(cum[last], high) - cum[last - 1]
    return kept_values, kept_counts


def _winsorized_mean(values: list[float], counts: list[float], cum: list[float], n: float,
                     stat: ExtendedStatistic) -> float:
    if stat.percent:
        low = _percentile(values, cum, n, stat.lower) if stat.lower else -math.inf
        high = _percentile(values, cum, n, stat.upper) if stat.upper is not None else math.inf
    else:
        low = -math.inf if stat.lower is None else stat.lower
        high = math.inf if stat.upper is None else stat.upper
    return sum(min(max(v, low), high) * c for v, c in zip(values, counts)) / n
