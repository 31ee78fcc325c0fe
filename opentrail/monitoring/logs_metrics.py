"""Metric filters: checking a metric transformation against its filter pattern (PutMetricFilter) and
turning an ingested batch of log events into CloudWatch data points (no I/O).

Rules (PutMetricFilter reference, "Filter pattern syntax for metric filters", "Creating metric
filters" concepts page):

- ``metricValue`` is a number, or for a JSON pattern a selector (``$.latency``, no wildcard), or
  for a space-delimited pattern a field (``$size``, ``$7``). Otherwise AWS answers "Invalid metric
  transformation: metric value <value> must be a valid number" (its answer for
  ``$.items[*].value``).
- ``dimensions`` (at most 3) take field references the same way; only JSON and space-delimited
  patterns support them ("The specified filter pattern does not support dimensions"), and not
  together with ``defaultValue`` ("Invalid metric transformation: dimensions and default value are
  mutually exclusive properties"). Both texts are AWS's, quoted in issue reports.
- Each matching event adds one data point: the metric value at the event's timestamp, with the
  dimensions' values and the unit (None when not given). A field reference that does not resolve
  to a number (metric value) or to a value (dimension) makes no data point -- AWS publishes nothing
  for such an event either, as far as its documentation says.
- ``defaultValue`` is "the value reported to the metric filter during a period when logs are
  ingested but no matching logs are found": opentrail emits it once per minute (by event timestamp)
  of a batch that has events but no match for that filter, at the start of that minute. A minute
  split across batches may get both the default and matches: Sum stays right, SampleCount counts
  the default too.

A log group's filters are evaluated together (:class:`GroupFilters` over
:class:`~opentrail.monitoring.filter_pattern_set.FilterPatternSet`): each message is parsed once and
JSON patterns are looked up by the field values they require.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .filter_pattern import FilterPattern, is_json_selector
from .filter_pattern_base import ParsedMessage
from .filter_pattern_set import FilterPatternSet
from .logs_errors import InvalidParameter
from .logs_model import MAX_DIMENSIONS, MetricFilter, MetricTransformation
from .metric_data import MetricDatum

#: Receives one data point: (account_id, region, namespace, metric_name, dimensions, timestamp_s,
#: value, unit).
MetricSink = Callable[[str, str, str, str, dict[str, str], float, float, "str | None"], None]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE_FIELD = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\d+)")


def _is_reference(pattern: FilterPattern, value: str) -> bool:
    if pattern.kind == "json":
        return is_json_selector(value)
    if pattern.kind == "space":
        return _SPACE_FIELD.fullmatch(value) is not None
    return False


def check_transformation(pattern: FilterPattern, t: MetricTransformation) -> None:
    """Raise :class:`InvalidParameter` with AWS's message when ``t`` does not fit ``pattern`` (see
    the module docstring). The dimension-count message is opentrail's (AWS's is not known)."""
    value = t.metric_value.strip()
    if not _NUMBER.fullmatch(value):
        if not _is_reference(pattern, value):
            raise InvalidParameter(f"Invalid metric transformation: metric value {t.metric_value} must be a valid number")
    if t.dimensions:
        if t.default_value is not None:
            raise InvalidParameter(
                "Invalid metric transformation: dimensions and default value are mutually exclusive properties")
        if pattern.kind not in ("json", "space"):
            raise InvalidParameter("The specified filter pattern does not support dimensions")
        if len(t.dimensions) > MAX_DIMENSIONS:
            raise InvalidParameter(f"Invalid metric transformation: a metric filter can have at most {MAX_DIMENSIONS}"
                                   " dimensions")
        for reference in t.dimensions.values():
            if not _is_reference(pattern, reference):
                raise InvalidParameter(f"Invalid metric transformation: dimension value {reference} must be a field"
                                       " of the filter pattern")


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One value for CloudWatch: ``timestamp_s`` in epoch seconds."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    timestamp_s: float
    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A metric filter with its compiled pattern."""

    filter: MetricFilter
    pattern: FilterPattern

    def _constant(self) -> float | None:
        value = self.filter.transformation.metric_value.strip()
        return float(value) if _NUMBER.fullmatch(value) else None


class GroupFilters:
    """A log group's metric filters, evaluated together
    (:class:`opentrail.monitoring.filter_pattern_set.FilterPatternSet`: one JSON parse per message,
    JSON patterns looked up by the field values they require)."""

    def __init__(self, filters: Sequence[CompiledFilter]) -> None:
        self.filters = list(filters)
        self.pattern_set = FilterPatternSet([f.pattern for f in self.filters])
        self.constants = [f._constant() for f in self.filters]

    def __len__(self) -> int:
        return len(self.filters)


#: Receives the data points of one ingested batch at once: (account_id, region, points).
MetricBatchSink = Callable[[str, str, list[DataPoint]], None]


def metric_store_sink(store: Any) -> MetricBatchSink:
    """A batch sink writing each batch's data points to ``store`` (a
    :class:`opentrail.monitoring.metric_store.SqliteMetricStore`) in one transaction
    (``put_many``), as one PutMetricData call would."""

    def sink(account_id: str, region: str, points: list[DataPoint]) -> None:
        store.put_many(account_id, region, [MetricDatum(p.namespace, p.metric_name, p.dimensions, p.timestamp_s,
                                                        value=p.value, unit=p.unit) for p in points])

    return sink


def _number(text: str | None) -> float | None:
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    return float(text)


def data_points(group: GroupFilters, events: Sequence[tuple[int, str]]) -> list[DataPoint]:
    """The data points a group's filters make from one ingested batch of ``events`` ((timestamp
    ms, message)), in event order then filter order, default values last (see the module
    docstring)."""
    filters = group.filters
    if not filters or not events:
        return []
    points: list[DataPoint] = []
    matched_minutes: list[set[int]] = [set() for _ in filters]
    matching = group.pattern_set.matching
    for ts, message in events:
        parsed = ParsedMessage(message)
        for i in matching(parsed):
            compiled = filters[i]
            t = compiled.filter.transformation
            matched_minutes[i].add(ts // 60_000)
            value = group.constants[i]
            match = None
            if value is None or t.dimensions:
                match = compiled.pattern.match_parsed(parsed)
                if match is None:  # cannot happen: the set said it matches
                    continue
            if value is None:
                assert match is not None
                value = _number(match.value(t.metric_value.strip()))
                if value is None:
                    continue
            dimensions: dict[str, str] = {}
            for name, reference in t.dimensions.items():
                assert match is not None
                resolved = match.value(reference)
                if resolved is None:
                    break
                dimensions[name] = resolved
            else:
                points.append(DataPoint(t.metric_namespace, t.metric_name, dimensions, ts / 1000, value, t.unit))
    minutes = sorted({ts // 60_000 for ts, _ in events})
    for i, compiled in enumerate(filters):
        t = compiled.filter.transformation
        if t.default_value is None:
            continue
        for minute in minutes:
            if minute not in matched_minutes[i]:
                points.append(DataPoint(t.metric_namespace, t.metric_name, {}, minute * 60.0, t.default_value, t.unit))
    return points
