"""The shapes of metric data going in and out of the metric store, and the checks of a request that
do not need the stored data: PutMetricData members (:class:`MetricDatum`, :class:`StatisticSet`,
folded into an :class:`~.statistics.Aggregate` by :func:`add_datum`), GetMetricStatistics
datapoints (:class:`Datapoint`), GetMetricData series (:class:`MetricDataSeries`), ListMetrics
entries (:class:`Metric`), and the period and StartTime rules of the API reference
(:func:`check_period`, :func:`round_start`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import InvalidParameterCombination, InvalidParameterValue
from .statistics import Aggregate

#: Periods below a minute that GetMetricStatistics / GetMetricData accept.
SUB_MINUTE_PERIODS = (1, 5, 10, 20, 30)
DAY_S = 86400


@dataclass(frozen=True)
class StatisticSet:
    """PutMetricData's ``StatisticValues``."""

    sample_count: float
    sum: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class MetricDatum:
    """One ``MetricData`` member: exactly one of ``value``, ``values`` (with optional ``counts``)
    or ``statistic_set``. ``timestamp_s`` in seconds since the epoch; ``unit`` None is "None"."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    timestamp_s: float
    value: float | None = None
    values: Sequence[float] | None = None
    counts: Sequence[float] | None = None
    statistic_set: StatisticSet | None = None
    unit: str | None = None
    storage_resolution: int = 60


@dataclass
class Datapoint:
    """One GetMetricStatistics datapoint: the period starting at ``timestamp_s`` for one unit."""

    timestamp_s: int
    unit: str
    aggregate: Aggregate

    @property
    def sample_count(self) -> float:
        return self.aggregate.count

    def value(self, statistic: str) -> float | None:
        """A simple or extended statistic of this period (None when CloudWatch gives none)."""
        return self.aggregate.value(statistic)

    def wire(self, statistics: Sequence[str] = (), extended: Sequence[str] = ()) -> dict[str, object]:
        """The ``Datapoint`` member as botocore shapes it, with only the statistics asked for:
        ``{"Timestamp": datetime (UTC), "SampleCount": 1.0, ..., "ExtendedStatistics": {"p99":
        ...}, "Unit": "Count"}``."""
        out: dict[str, object] = {"Timestamp": datetime.fromtimestamp(self.timestamp_s, timezone.utc)}
        for name in statistics:
            out[name] = self.aggregate.simple(name)
        if extended:
            values = {name: self.value(name) for name in extended}
            out["ExtendedStatistics"] = {k: v for k, v in values.items() if v is not None}
        out["Unit"] = self.unit
        return out


@dataclass
class MetricDataSeries:
    """The result of one GetMetricData ``MetricStat`` query: parallel ``timestamps_s`` / ``values``
    in ``scan_by`` order, and ``messages`` as ``[{"Code": ..., "Value": ...}]``."""

    timestamps_s: list[int]
    values: list[float]
    messages: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    """A ListMetrics entry; ``dimensions`` sorted by name."""

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]

    def wire(self) -> dict[str, object]:
        """``{"Namespace", "MetricName", "Dimensions": [{"Name", "Value"}]}``."""
        return {
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
        }


def canonical_dimensions(dimensions: Mapping[str, str]) -> str:
    """The dimensions as stored: a JSON list of [name, value] pairs sorted by name."""
    return json.dumps(sorted(dimensions.items()), separators=(",", ":"), ensure_ascii=False)


def check_period(period_s: int) -> None:
    """GetMetricStatistics / GetMetricData periods: 1, 5, 10, 20, 30 or a multiple of 60.

    Raises InvalidParameterValue "The parameter Period must be a multiple of 60." (the message
    that emulators recorded from AWS for a period like 45)."""
    if period_s < 1 or (period_s not in SUB_MINUTE_PERIODS and period_s % 60):
        raise InvalidParameterValue("The parameter Period must be a multiple of 60.")


def round_start(start_s: float, period_s: int, now_s: float) -> int:
    """StartTime rounded down as the API reference says: to the period for 1-30 s periods, else to
    the minute (under 15 days old), 5 minutes (15-63 days) or hour (older)."""
    if period_s < 60:
        step = period_s
    else:
        age = now_s - start_s
        step = 60 if age < 15 * DAY_S else 300 if age < 63 * DAY_S else 3600
    return int(math.floor(start_s / step) * step)


def add_datum(agg: Aggregate, datum: MetricDatum, index: int) -> None:
    """Fold PutMetricData member number ``index`` (1-based, for messages) into ``agg``.

    Raises InvalidParameterCombination (Value, Values and StatisticValues are exclusive) and
    InvalidParameterValue (NaN, infinite or beyond +-2^360, negative Counts, Values and Counts of
    different lengths)."""
    given = [datum.value is not None, datum.values is not None, datum.statistic_set is not None]
    member = f"MetricData.member.{index}"
    if given[0] and given[2]:
        raise InvalidParameterCombination(
            f"The parameters {member}.Value and {member}.StatisticValues are mutually exclusive and you have specified both."
        )
    if given[1] and (given[0] or given[2]):
        other = "Value" if given[0] else "StatisticValues"
        raise InvalidParameterCombination(
            f"The parameters {member}.Values and {member}.{other} are mutually exclusive and you have specified both."
        )
    if datum.statistic_set is not None:
        s = datum.statistic_set
        for name, number in (("SampleCount", s.sample_count), ("Sum", s.sum), ("Minimum", s.minimum),
                             ("Maximum", s.maximum)):
            _check_number(number, f"{member}.StatisticValues.{name}")
        agg.add_statistic_set(s.sample_count, s.sum, s.minimum, s.maximum)
    elif datum.values is not None:
        counts = datum.counts if datum.counts is not None else [1.0] * len(datum.values)
        if len(counts) != len(datum.values):
            raise InvalidParameterValue(
                f"The parameters {member}.Values and {member}.Counts must be of the same size."
            )
        for value, count in zip(datum.values, counts):
            _check_number(value, f"{member}.Values")
            _check_number(count, f"{member}.Counts")
            if count < 0:
                raise InvalidParameterValue(f"The value {count} for parameter {member}.Counts is invalid.")
            agg.add_value(value, count)
    else:
        # A datum with no value counts as one sample of 0 (PutMetricData without Value is accepted).
        value = 0.0 if datum.value is None else datum.value
        _check_number(value, f"{member}.Value")
        agg.add_value(value)


#: PutMetricData: "Values must be in the range of -2^360 to 2^360"; NaN and infinities refused.
_LIMIT = 2.0**360


def _check_number(value: float, parameter: str) -> None:
    if math.isnan(value) or math.isinf(value) or abs(value) > _LIMIT:
        raise InvalidParameterValue(f"The value {value} for parameter {parameter} is invalid.")


def default_labels(queries: Sequence[tuple[str, str, int]]) -> list[str]:
    """GetMetricData's ``Label`` of each MetricStat query without one, from ``(metric name, stat,
    period)``: the metric name, followed by the stat when the request's queries use more than one
    stat and by the period when they use more than one period (``metric1 Sum 60`` / ``metric1
    Minimum 30``; ``metric1 60`` / ``metric1 30``; ``metric1`` alone otherwise), as LocalStack's
    AWS-recorded snapshots show. The unit never appears."""
    several_stats = len({stat for _, stat, _ in queries}) > 1
    several_periods = len({period for _, _, period in queries}) > 1
    labels = []
    for name, stat, period in queries:
        parts = [name]
        if several_stats:
            parts.append(stat)
        if several_periods:
            parts.append(str(period))
        labels.append(" ".join(parts))
    return labels
