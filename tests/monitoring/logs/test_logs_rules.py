"""The CloudWatch Logs rules that need no server, table-driven: which PutLogEvents events are
rejected, which data points metric filters make, which transformations PutMetricFilter refuses."""

from __future__ import annotations

import orjson
import pytest

from opentrail.monitoring.filter_pattern import compile_pattern
from opentrail.monitoring.logs import classify
from opentrail.monitoring.logs_errors import InvalidParameter
from opentrail.monitoring.logs_metrics import CompiledFilter, DataPoint, GroupFilters, check_transformation, data_points
from opentrail.monitoring.logs_model import MetricFilter, MetricTransformation, Rejected

NOW = 1_800_000_000_000
H = 3_600_000
D = 24 * H


@pytest.mark.parametrize(("offsets", "retention", "expected"), [
    ([0, 1], None, Rejected()),
    ([-15 * D, -14 * D + 1, 0], None, Rejected(too_old_end=1)),
    ([0, 2 * H, 2 * H + 1, 3 * H], None, Rejected(too_new_start=2)),
    ([-20 * D, -2 * D, -1 * D + 1, 3 * H], 1, Rejected(too_new_start=3, too_old_end=1, expired_end=2)),
    ([-2 * D, 0], 30, Rejected()),  # a retention longer than 14 days never expires what is accepted
])
def test_classify(offsets: list[int], retention: int | None, expected: Rejected) -> None:
    assert classify([(NOW + o, "m") for o in offsets], NOW, retention) == expected


def compiled(pattern: str, value: str = "1", **kw: object) -> CompiledFilter:
    t = MetricTransformation("M", "N", value, **kw)  # type: ignore[arg-type]
    return CompiledFilter(MetricFilter(1, "g", "f", pattern, t, 0), compile_pattern(pattern))


MINUTE = 1_800_000_000_000 - 1_800_000_000_000 % 60_000


@pytest.mark.parametrize(("filter_", "events", "expected"), [
    (compiled("ERROR"), [(MINUTE, "ERROR a"), (MINUTE + 1, "ok")],
     [DataPoint("N", "M", {}, MINUTE / 1000, 1.0, None)]),
    (compiled("{ $.ms > 10 }", "$.ms", unit="Milliseconds"), [(MINUTE, '{"ms": 12.5}'), (MINUTE, '{"ms": 3}')],
     [DataPoint("N", "M", {}, MINUTE / 1000, 12.5, "Milliseconds")]),
    (compiled("{ $.ms = * }", "$.ms"), [(MINUTE, '{"ms": "fast"}')], []),  # not a number: no data point
    (compiled("[ip, user, status=5*, size]", "$size", dimensions={"Status": "$status"}),
     [(MINUTE, "1.2.3.4 bob 503 120"), (MINUTE, "1.2.3.4 bob 200 99")],
     [DataPoint("N", "M", {"Status": "503"}, MINUTE / 1000, 120.0, None)]),
    (compiled("ERROR", default_value=0.0), [(MINUTE, "ok"), (MINUTE + 60_000, "ERROR"), (MINUTE + 125_000, "ok")],
     [DataPoint("N", "M", {}, (MINUTE + 60_000) / 1000, 1.0, None),
      DataPoint("N", "M", {}, MINUTE / 1000, 0.0, None),
      DataPoint("N", "M", {}, (MINUTE + 120_000) / 1000, 0.0, None)]),
])
def test_data_points(filter_: CompiledFilter, events: list[tuple[int, str]], expected: list[DataPoint]) -> None:
    assert data_points(GroupFilters([filter_]), events) == expected


@pytest.mark.parametrize(("pattern", "transformation", "message"), [
    ("ERROR", MetricTransformation("M", "N", "$.x"), "Invalid metric transformation: metric value $.x must be a valid number"),
    ("{ $.a = 1 }", MetricTransformation("M", "N", "$a"), "Invalid metric transformation: metric value $a must be a valid number"),
    ("[a, b]", MetricTransformation("M", "N", "$.a"), "Invalid metric transformation: metric value $.a must be a valid number"),
    ("{ $.a = 1 }", MetricTransformation("M", "N", "1", default_value=0.0, dimensions={"A": "$.a"}),
     "Invalid metric transformation: dimensions and default value are mutually exclusive properties"),
    ("ERROR", MetricTransformation("M", "N", "1", dimensions={"A": "$.a"}),
     "The specified filter pattern does not support dimensions"),
])
def test_refused_transformations(pattern: str, transformation: MetricTransformation, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        check_transformation(compile_pattern(pattern), transformation)
    assert info.value.message == message


@pytest.mark.parametrize(("pattern", "transformation"), [
    ("{ $.a = 1 }", MetricTransformation("M", "N", "$.a", dimensions={"B": "$.b"})),
    ("[a, b]", MetricTransformation("M", "N", "$2", dimensions={"A": "$a"})),
    ("", MetricTransformation("M", "N", "-1.5e3", default_value=0.0)),
])
def test_accepted_transformations(pattern: str, transformation: MetricTransformation) -> None:
    check_transformation(compile_pattern(pattern), transformation)  # raises nothing


def reference_points(filters: list[CompiledFilter], events: list[tuple[int, str]]) -> list[DataPoint]:
    """Every filter tried on every event, one by one (constant metric values, no dimensions)."""
    points = []
    minutes: list[set[int]] = [set() for _ in filters]
    for ts, message in events:
        for i, f in enumerate(filters):
            if f.pattern.matches(message):
                minutes[i].add(ts // 60_000)
                t = f.filter.transformation
                points.append(DataPoint(t.metric_namespace, t.metric_name, {}, ts / 1000, float(t.metric_value), None))
    for i, f in enumerate(filters):
        t = f.filter.transformation
        points += [DataPoint(t.metric_namespace, t.metric_name, {}, m * 60.0, 0.0, None)
                   for m in sorted({ts // 60_000 for ts, _ in events} - minutes[i])]
    return points


def test_filters_evaluated_together_make_the_same_data_points() -> None:
    """The 17 CIS filters over every real record of the datasets, in batches of 1,000: the data
    points of the filters evaluated together are those of trying each on each event."""
    from ..test_filter_pattern_cis import CIS, _dataset_records

    records = _dataset_records()
    if not records:
        pytest.skip("../shared/datasets/cloudtrail is not beside the checkout")
    events = [(MINUTE + i * 997, orjson.dumps(r).decode()) for i, r in enumerate(records)]
    filters = [compiled(p, default_value=0.0) for p in CIS.values()]
    group = GroupFilters(filters)
    total = 0
    for start in range(0, len(events), 1000):
        batch = events[start:start + 1000]
        points = data_points(group, batch)
        assert points == reference_points(filters, batch)
        total += sum(p.value == 1.0 for p in points)
    assert total > 100  # the datasets hold many CIS matches (tests/monitoring/test_filter_pattern_cis.py)
