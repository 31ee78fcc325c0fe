"""The metric store against GetMetricStatistics / GetMetricData / ListMetrics as the API reference
defines them, with exact values."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opentrail.monitoring.errors import InvalidParameterCombination, InvalidParameterValue
from opentrail.monitoring.metric_store import MetricDatum, SqliteMetricStore, StatisticSet

ACCOUNT, REGION = "123456789012", "us-east-1"
ALL = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


T0 = _ts("2026-03-01T12:00:00")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 3600)


@pytest.fixture
def store(tmp_path: Path, clock: Clock):
    s = SqliteMetricStore(tmp_path / "metrics.db", clock=clock)
    yield s
    s.close()


def put(store: SqliteMetricStore, at: float, value: float, **kw: object) -> None:
    store.put(ACCOUNT, REGION, kw.pop("namespace", "App"), kw.pop("metric", "Latency"),  # type: ignore[arg-type]
              kw.pop("dims", {"Host": "a"}), at, value=value, **kw)  # type: ignore[arg-type]


def stats(store: SqliteMetricStore, start: float, end: float, period: int, **kw: object) -> list[dict[str, object]]:
    statistics = kw.pop("statistics", ALL)
    extended = kw.pop("extended", ())
    points = store.statistics(ACCOUNT, REGION, kw.pop("namespace", "App"), kw.pop("metric", "Latency"),  # type: ignore[arg-type]
                              kw.pop("dims", {"Host": "a"}), start, end, period, statistics, extended, **kw)  # type: ignore[arg-type]
    return [p.wire(statistics, extended) for p in points]  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_statistics_per_period(store: SqliteMetricStore) -> None:
    for second, value in ((5, 1.0), (30, 3.0), (65, 10.0), (119, 2.0), (130, 7.5)):
        put(store, T0 + second, value, unit="Milliseconds")
    assert stats(store, T0, T0 + 180, 60) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "SampleCount": 2.0, "Average": 2.0, "Sum": 4.0, "Minimum": 1.0,
         "Maximum": 3.0, "Unit": "Milliseconds"},
        {"Timestamp": at("2026-03-01T12:01:00"), "SampleCount": 2.0, "Average": 6.0, "Sum": 12.0, "Minimum": 2.0,
         "Maximum": 10.0, "Unit": "Milliseconds"},
        {"Timestamp": at("2026-03-01T12:02:00"), "SampleCount": 1.0, "Average": 7.5, "Sum": 7.5, "Minimum": 7.5,
         "Maximum": 7.5, "Unit": "Milliseconds"},
    ]
    assert stats(store, T0, T0 + 180, 180, statistics=["Sum", "SampleCount"]) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "Sum": 23.5, "SampleCount": 5.0, "Unit": "Milliseconds"},
    ]


def test_start_inclusive_end_exclusive(store: SqliteMetricStore) -> None:
    put(store, T0, 1.0)
    put(store, T0 + 120, 5.0)
    assert [p["Sum"] for p in stats(store, T0, T0 + 120, 60)] == [1.0]
    assert [p["Sum"] for p in stats(store, T0 + 60, T0 + 121, 60)] == [5.0]


def test_start_time_rounding(store: SqliteMetricStore, clock: Clock) -> None:
    put(store, T0 + 95, 4.0)  # 12:01:35
    put(store, T0 + 95, 6.0, metric="HighRes", storage_resolution=1)
    # 12:01:40 is rounded down to the minute: the 12:01:35 datapoint is included.
    assert stats(store, T0 + 100, T0 + 300, 60, statistics=["Sum"]) == [
        {"Timestamp": at("2026-03-01T12:01:00"), "Sum": 4.0, "Unit": "None"},
    ]
    # A 10-second period rounds to even 10-second divisions: 12:01:37 -> 12:01:30 (high-resolution
    # data; standard-resolution data is kept per minute, so it is not in the 12:01:30 period).
    assert stats(store, T0 + 97, T0 + 300, 10, statistics=["Sum"], metric="HighRes") == [
        {"Timestamp": at("2026-03-01T12:01:30"), "Sum": 6.0, "Unit": "None"},
    ]
    assert stats(store, T0 + 97, T0 + 300, 10, statistics=["Sum"]) == []
    # A start 20 days old is rounded to 5 minutes: 12:03:00 -> 12:00:00.
    clock.now = T0 + 20 * 86400
    assert stats(store, T0 + 180, T0 + 600, 300, statistics=["Sum"]) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "Sum": 4.0, "Unit": "None"},
    ]


def test_units_apart_unless_one_is_asked_for(store: SqliteMetricStore) -> None:
    put(store, T0 + 1, 10.0)
    put(store, T0 + 2, 5.0, unit="Count")
    put(store, T0 + 3, 1.0, unit="Seconds")
    assert stats(store, T0, T0 + 60, 60, statistics=["Average"]) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "Average": 5.0, "Unit": "Count"},
        {"Timestamp": at("2026-03-01T12:00:00"), "Average": 10.0, "Unit": "None"},
        {"Timestamp": at("2026-03-01T12:00:00"), "Average": 1.0, "Unit": "Seconds"},
    ]
    assert stats(store, T0, T0 + 60, 60, statistics=["Average"], unit="Seconds") == [
        {"Timestamp": at("2026-03-01T12:00:00"), "Average": 1.0, "Unit": "Seconds"},
    ]
    assert stats(store, T0, T0 + 60, 60, statistics=["Average"], unit="Bytes") == []


def test_dimensions_must_match_exactly(store: SqliteMetricStore) -> None:
    put(store, T0, 1.0, dims={"Host": "a", "Az": "1a"})
    assert stats(store, T0, T0 + 60, 60, dims={"Host": "a"}) == []
    assert [p["Sum"] for p in stats(store, T0, T0 + 60, 60, dims={"Az": "1a", "Host": "a"})] == [1.0]


def test_values_counts_and_statistic_sets(store: SqliteMetricStore) -> None:
    store.put(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0, values=[1.0, 2.0, 10.0], counts=[1.0, 2.0, 3.0],
              unit="Count")
    store.put(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0 + 1,
              statistic_set=StatisticSet(sample_count=4.0, sum=20.0, minimum=2.0, maximum=8.0), unit="Count")
    assert stats(store, T0, T0 + 60, 60) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "SampleCount": 10.0, "Average": 5.5, "Sum": 55.0, "Minimum": 1.0,
         "Maximum": 10.0, "Unit": "Count"},
    ]
    # A statistic set with Min != Max and SampleCount > 1 leaves the period without percentiles.
    assert stats(store, T0, T0 + 60, 60, statistics=(), extended=["p50"]) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "ExtendedStatistics": {}, "Unit": "Count"},
    ]


def test_statistic_set_with_equal_min_max_keeps_percentiles(store: SqliteMetricStore) -> None:
    store.put(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0,
              statistic_set=StatisticSet(sample_count=3.0, sum=6.0, minimum=2.0, maximum=2.0))
    put(store, T0 + 1, 9.0)
    assert stats(store, T0, T0 + 60, 60, statistics=(), extended=["p50", "p100"]) == [
        {"Timestamp": at("2026-03-01T12:00:00"), "ExtendedStatistics": {"p50": 2.0, "p100": 9.0}, "Unit": "None"},
    ]


def test_extended_statistics(store: SqliteMetricStore) -> None:
    for i in range(1, 101):  # 1..100
        put(store, T0 + (i % 60), float(i))
    names = ["p50", "p99", "p99.5", "p0", "tm90", "IQM", "TM(10%:90%)", "TM(:20)", "wm90", "tc90", "ts10",
             "PR(:25)", "PR(90:)", "TC(10:20)", "WM(:50)"]
    (point,) = stats(store, T0, T0 + 60, 60, statistics=(), extended=names)
    assert point["ExtendedStatistics"] == {
        "p50": 50.0, "p99": 99.0, "p99.5": 100.0, "p0": 1.0,
        "tm90": 45.5,                 # mean of 1..90
        "IQM": 50.5,                  # mean of 26..75
        "TM(10%:90%)": 50.5,          # mean of 11..90
        "TM(:20)": 10.5,              # mean of values <= 20
        "wm90": 45.5 + (10 * 90 - 10 * 45.5) / 100 * 1,  # 1..90, and 91..100 counted as 90
        "tc90": 90.0, "ts10": 55.0,
        "PR(:25)": 25.0, "PR(90:)": 10.0,
        "TC(10:20)": 10.0,            # 11..20
        "WM(:50)": (sum(range(1, 51)) + 50 * 50) / 100,
    }


def test_no_percentiles_for_negative_values(store: SqliteMetricStore) -> None:
    put(store, T0, -1.0)
    put(store, T0 + 1, 3.0)
    assert stats(store, T0, T0 + 60, 60, statistics=(), extended=["p90"])[0]["ExtendedStatistics"] == {}


def test_request_errors(store: SqliteMetricStore) -> None:
    with pytest.raises(InvalidParameterCombination) as error:
        stats(store, T0, T0 + 1441 * 60, 60)
    assert error.value.message == (
        "You have requested up to 1441 datapoints, which exceeds the limit of 1440. "
        "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
    )
    assert stats(store, T0, T0 + 1440 * 60, 60) == []
    with pytest.raises(InvalidParameterValue) as error:
        stats(store, T0, T0 + 600, 45)
    assert (error.value.code, error.value.message) == ("InvalidParameterValue", "The parameter Period must be a multiple of 60.")
    with pytest.raises(InvalidParameterValue) as error:
        stats(store, T0 + 60, T0 + 60.5, 60)
    assert error.value.message == "The parameter StartTime must be less than the parameter EndTime."
    with pytest.raises(InvalidParameterValue) as error:
        stats(store, T0, T0 + 60, 60, statistics=(), extended=["p101"])
    assert error.value.message == "The value p101 for parameter ExtendedStatistics is not supported."
    with pytest.raises(InvalidParameterCombination):
        stats(store, T0, T0 + 60, 60, statistics=())


def test_put_errors_store_nothing(store: SqliteMetricStore) -> None:
    bad = [
        MetricDatum("App", "Latency", {}, T0, value=1.0),
        MetricDatum("App", "Latency", {}, T0, value=1.0, statistic_set=StatisticSet(1, 1, 1, 1)),
    ]
    with pytest.raises(InvalidParameterCombination) as error:
        store.put_many(ACCOUNT, REGION, bad)
    assert error.value.message == (
        "The parameters MetricData.member.2.Value and MetricData.member.2.StatisticValues are mutually exclusive "
        "and you have specified both."
    )
    with pytest.raises(InvalidParameterValue):
        store.put(ACCOUNT, REGION, "App", "Latency", {}, T0, value=float("nan"))
    assert store.list_metrics(ACCOUNT, REGION) == ([], None)


def test_metric_data_order_and_units(store: SqliteMetricStore) -> None:
    put(store, T0 + 10, 1.0, unit="Milliseconds")
    put(store, T0 + 70, 2000.0, unit="Seconds")
    put(store, T0 + 130, 3.0, unit="Milliseconds")
    series = store.metric_data(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0, T0 + 180, 60, "Sum")
    assert (series.timestamps_s, series.values) == ([T0 + 120, T0 + 60, T0], [3.0, 2000.0, 1.0])
    assert series.messages == [{"Code": "MultipleUnits", "Value": "Multiple units returned: '[Milliseconds, Seconds]'"}]
    ascending = store.metric_data(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0, T0 + 180, 60, "Maximum",
                                  unit="Milliseconds", scan_by="TimestampAscending")
    assert (ascending.timestamps_s, ascending.values, ascending.messages) == ([T0, T0 + 120], [1.0, 3.0], [])
    p90 = store.metric_data(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0, T0 + 180, 180, "p90")
    assert (p90.timestamps_s, p90.values) == ([T0], [2000.0])


def test_list_metrics_filters(store: SqliteMetricStore, clock: Clock) -> None:
    put(store, T0, 1.0, metric="A", dims={"Host": "a"})
    put(store, T0, 1.0, metric="A", dims={"Host": "b", "Az": "1a"})
    put(store, T0, 1.0, metric="B", dims={})
    put(store, T0, 1.0, metric="A", namespace="Other", dims={})
    names = lambda ms: [(m.namespace, m.metric_name, m.dimensions) for m in ms]  # noqa: E731
    assert names(store.list_metrics(ACCOUNT, REGION, namespace="App")[0]) == [
        ("App", "A", (("Host", "a"),)), ("App", "A", (("Az", "1a"), ("Host", "b"))), ("App", "B", ()),
    ]
    assert names(store.list_metrics(ACCOUNT, REGION, dimensions=[("Host", None)])[0]) == [
        ("App", "A", (("Host", "a"),)), ("App", "A", (("Az", "1a"), ("Host", "b"))),
    ]
    assert names(store.list_metrics(ACCOUNT, REGION, metric_name="A", dimensions=[("Host", "b")])[0]) == [
        ("App", "A", (("Az", "1a"), ("Host", "b"))),
    ]
    assert store.list_metrics(ACCOUNT, REGION, namespace="App")[0][0].wire() == {
        "Namespace": "App", "MetricName": "A", "Dimensions": [{"Name": "Host", "Value": "a"}],
    }
    assert store.list_metrics("111111111111", REGION) == ([], None)
    clock.now = T0 + 4 * 3600 + 1  # the first puts were made at T0 + 1 h
    put(store, T0 + 60, 1.0, metric="Recent", dims={})  # an old timestamp, published now
    assert names(store.list_metrics(ACCOUNT, REGION, recently_active="PT3H")[0]) == [("App", "Recent", ())]
    clock.now = T0 + 14 * 86400 + 3 * 3600  # two weeks after the first puts, not after "Recent"
    assert names(store.list_metrics(ACCOUNT, REGION)[0]) == [("App", "Recent", ())]


def test_list_metrics_pages_of_500(store: SqliteMetricStore) -> None:
    store.put_many(ACCOUNT, REGION, [MetricDatum("Paged", f"m{i:04d}", {}, T0, value=1.0) for i in range(1001)])
    first, token = store.list_metrics(ACCOUNT, REGION, namespace="Paged")
    assert (len(first), first[0].metric_name, first[-1].metric_name) == (500, "m0000", "m0499")
    second, token2 = store.list_metrics(ACCOUNT, REGION, namespace="Paged", next_token=token)
    assert (len(second), second[0].metric_name) == (500, "m0500")
    third, token3 = store.list_metrics(ACCOUNT, REGION, namespace="Paged", next_token=token2)
    assert ([m.metric_name for m in third], token3) == (["m1000"], None)
    for bad in (token, "garbage"):
        with pytest.raises(InvalidParameterValue) as error:
            store.list_metrics(ACCOUNT, REGION, namespace="Other", next_token=bad)
        assert error.value.message == "Request parameter NextToken is invalid"


def test_durable_across_reopen(tmp_path: Path, clock: Clock) -> None:
    first = SqliteMetricStore(tmp_path / "metrics.db", clock=clock)
    put(first, T0, 2.0)
    first.close()
    again = SqliteMetricStore(tmp_path / "metrics.db", clock=clock)
    put(again, T0 + 1, 3.0)
    assert [p["Sum"] for p in stats(again, T0, T0 + 60, 60)] == [5.0]
    again.close()


def test_retention_folds_high_resolution_into_minutes(store: SqliteMetricStore, clock: Clock) -> None:
    for second in range(0, 120, 7):
        put(store, T0 + second, float(second), storage_resolution=1)
    before = stats(store, T0, T0 + 120, 60, extended=(), statistics=ALL)
    per_second = stats(store, T0, T0 + 60, 1, statistics=["Sum"])
    assert [p["Sum"] for p in per_second][:3] == [0.0, 7.0, 14.0]
    clock.now = T0 + 3 * 3600 + 121
    assert store.compact() == 18
    assert stats(store, T0, T0 + 120, 60) == before
    # Per-second detail is gone after three hours: the folded minute rows fall in the first second.
    assert [p["Sum"] for p in stats(store, T0, T0 + 60, 1, statistics=["Sum"])] == [sum(range(0, 60, 7))]
    clock.now = T0 + 456 * 86400
    store.compact()
    assert stats(store, T0, T0 + 3600, 3600) == []


def test_extended_statistics_with_counts(store: SqliteMetricStore) -> None:
    """Ranks cut through repeated values: 1 x5, 2 x5, 3 x10 (20 samples)."""
    store.put(ACCOUNT, REGION, "App", "Latency", {"Host": "a"}, T0, values=[3.0, 1.0, 2.0], counts=[10.0, 5.0, 5.0])
    names = ["p25", "p26", "p50", "p51", "tm50", "IQM", "TC(25%:75%)", "TS(:2)", "PR(1:3)", "wm50", "TM(30%:40%)"]
    (point,) = stats(store, T0, T0 + 60, 60, statistics=(), extended=names)
    assert point["ExtendedStatistics"] == {
        "p25": 1.0, "p26": 2.0, "p50": 2.0, "p51": 3.0,
        "tm50": 1.5,                # ranks 1..10
        "IQM": 2.5,                 # ranks 6..15: 2 x5, 3 x5
        "TC(25%:75%)": 10.0,
        "TS(:2)": 15.0,             # 1 x5 + 2 x5
        "PR(1:3)": 75.0,            # 2 x5 and 3 x10 of 20
        "wm50": (5 * 1 + 5 * 2 + 10 * 2) / 20,
        "TM(30%:40%)": 2.0,         # ranks 7..8
    }


def test_get_metric_data_default_labels() -> None:
    from opentrail.monitoring.metric_data import default_labels

    assert default_labels([("metric1", "Sum", 60), ("metric1", "Minimum", 30)]) == ["metric1 Sum 60", "metric1 Minimum 30"]
    assert default_labels([("metric1", "Sum", 60), ("metric1", "Minimum", 60)]) == ["metric1 Sum", "metric1 Minimum"]
    assert default_labels([("metric1", "Sum", 60), ("metric1", "Sum", 30)]) == ["metric1 60", "metric1 30"]
    assert default_labels([("metric1", "Sum", 60), ("metric1", "Sum", 60)]) == ["metric1", "metric1"]
    assert default_labels([("m1", "Sum", 60), ("m2", "Sum", 60), ("m3", "Sum", 60)]) == ["m1", "m2", "m3"]


def test_a_batch_that_fails_part_way_stores_nothing_and_the_next_one_works(store: SqliteMetricStore) -> None:
    put(store, T0, 1.0, metric="Before")
    (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
    store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk fills a few metrics into the batch
    batch = [MetricDatum("App", f"M{i:04d}", {"Host": "a"}, T0, value=float(i)) for i in range(2000)]
    with pytest.raises(sqlite3.OperationalError, match="^database or disk is full$"):
        store.put_many(ACCOUNT, REGION, batch)
    store._conn.execute(f"PRAGMA max_page_count = {pages * 1000}")  # space again
    assert [m.metric_name for m in store.list_metrics(ACCOUNT, REGION)[0]] == ["Before"]
    store.put_many(ACCOUNT, REGION, batch[:3])
    assert sorted(m.metric_name for m in store.list_metrics(ACCOUNT, REGION)[0]) == ["Before", "M0000", "M0001",
                                                                                       "M0002"]
    assert [p["Sum"] for p in stats(store, T0, T0 + 60, 60, metric="M0002")] == [2.0]
