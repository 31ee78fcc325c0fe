"""SqliteMetricStore (opentrail/monitoring/metric_store.py) on both backends (``state_dir``: SQLite
files or schemas of the real PostgreSQL): puts, statistics, metric data, ListMetrics and the
retention compaction with exact values, and two stores on one data directory (two nodes) adding
into the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from opentrail.monitoring.metric_store import FILE_NAME, Metric, MetricDatum, SqliteMetricStore, StatisticSet
from tests.state_backends import HandClock as Clock

A, R = "123456789012", "us-east-1"
T0 = 1_772_366_400.0  # 2026-03-01T12:00:00Z
ALL = ["SampleCount", "Sum", "Minimum", "Maximum", "Average"]




@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 3600)


@pytest.fixture
def store(state_dir: Path, clock: Clock) -> Iterator[SqliteMetricStore]:
    s = SqliteMetricStore(state_dir / FILE_NAME, clock)
    yield s
    s.close()


def _stats(store: SqliteMetricStore, period: int = 60, **kw: object) -> list[tuple[float, str, dict[str, object]]]:
    extended = kw.pop("extended", ())
    points = store.statistics(A, R, "App", "Latency", kw.pop("dims", {"Host": "a"}), T0, T0 + 600, period,  # type: ignore[arg-type]
                              () if extended else ALL, extended, **kw)  # type: ignore[arg-type]
    return [(p.timestamp_s - T0, p.unit, {k: v for k, v in p.wire(() if extended else ALL, extended).items()  # type: ignore[arg-type]
                                          if k not in ("Timestamp", "Unit")}) for p in points]


def test_put_and_statistics(store: SqliteMetricStore) -> None:
    store.put(A, R, "App", "Latency", {"Host": "a"}, T0 + 5, value=10.0, unit="Milliseconds")
    store.put_many(A, R, [MetricDatum("App", "Latency", {"Host": "a"}, T0 + 30, 30.0, unit="Milliseconds"),
                          MetricDatum("App", "Latency", {"Host": "a"}, T0 + 70, None, [1.0, 2.0], [3.0, 1.0],
                                      unit="Milliseconds"),
                          MetricDatum("App", "Latency", {"Host": "a"}, T0 + 61, None,
                                      statistic_set=StatisticSet(2.0, 8.0, 3.0, 5.0), unit="Seconds")])
    assert _stats(store) == [
        (0, "Milliseconds", {"SampleCount": 2.0, "Sum": 40.0, "Minimum": 10.0, "Maximum": 30.0, "Average": 20.0}),
        (60, "Milliseconds", {"SampleCount": 4.0, "Sum": 5.0, "Minimum": 1.0, "Maximum": 2.0, "Average": 1.25}),
        (60, "Seconds", {"SampleCount": 2.0, "Sum": 8.0, "Minimum": 3.0, "Maximum": 5.0, "Average": 4.0})]
    assert _stats(store, period=300, unit="Milliseconds") == [
        (0, "Milliseconds", {"SampleCount": 6.0, "Sum": 45.0, "Minimum": 1.0, "Maximum": 30.0, "Average": 7.5})]
    assert _stats(store, period=300, unit="Milliseconds", extended=["p50"]) == [
        (0, "Milliseconds", {"ExtendedStatistics": {"p50": 1.0}})]
    assert _stats(store, dims={"Host": "b"}) == []
    series = store.metric_data(A, R, "App", "Latency", {"Host": "a"}, T0, T0 + 600, 60, "Sum")
    assert (series.timestamps_s, series.values, series.messages) == (
        [T0 + 60, T0], [13.0, 40.0], [{"Code": "MultipleUnits", "Value": "Multiple units returned: '[Milliseconds, Seconds]'"}])


def test_list_metrics(store: SqliteMetricStore, clock: Clock) -> None:
    for host in ("b", "a"):
        store.put(A, R, "App", "Latency", {"Host": host}, T0, value=1.0)
    store.put(A, R, "Other", "Errors", {}, T0, value=1.0)
    store.put("999999999999", R, "App", "Latency", {"Host": "c"}, T0, value=1.0)
    page, token = store.list_metrics(A, R)
    assert (page, token) == ([Metric("App", "Latency", (("Host", "b"),)), Metric("App", "Latency", (("Host", "a"),)),
                              Metric("Other", "Errors", ())], None)
    assert store.list_metrics(A, R, namespace="App", dimensions=[("Host", "a")]) == (
        [Metric("App", "Latency", (("Host", "a"),))], None)
    clock.now += 4 * 3600
    assert store.list_metrics(A, R, recently_active="PT3H") == ([], None)


def test_compact_folds_per_second_rows_into_minutes(store: SqliteMetricStore, clock: Clock) -> None:
    for second, value in ((1, 1.0), (2, 3.0), (61, 5.0)):
        store.put(A, R, "App", "Latency", {"Host": "a"}, T0 + second, value=value, storage_resolution=1)
    store.put(A, R, "App", "Latency", {"Host": "a"}, T0 + 10, value=7.0)  # a per-minute row of the same minute
    clock.now = T0 + 4 * 3600
    assert store.compact() == 3
    assert store.compact() == 0
    assert _stats(store) == [
        (0, "None", {"SampleCount": 3.0, "Sum": 11.0, "Minimum": 1.0, "Maximum": 7.0, "Average": 11.0 / 3}),
        (60, "None", {"SampleCount": 1.0, "Sum": 5.0, "Minimum": 5.0, "Maximum": 5.0, "Average": 5.0})]


def test_two_stores_on_one_data_directory_add_into_the_same_rows(state_dir: Path, clock: Clock) -> None:
    one, two = SqliteMetricStore(state_dir / FILE_NAME, clock), SqliteMetricStore(state_dir / FILE_NAME, clock)
    try:
        one.put(A, R, "App", "Latency", {"Host": "a"}, T0, value=2.0)
        two.put(A, R, "App", "Latency", {"Host": "a"}, T0 + 1, value=4.0)
        two.put(A, R, "App", "Latency", {"Host": "z"}, T0 + 1, value=1.0)
        one.put(A, R, "App", "Latency", {"Host": "z"}, T0 + 2, value=3.0)
        for store in (one, two):
            assert _stats(store) == [
                (0, "None", {"SampleCount": 2.0, "Sum": 6.0, "Minimum": 2.0, "Maximum": 4.0, "Average": 3.0})]
            assert _stats(store, dims={"Host": "z"}) == [
                (0, "None", {"SampleCount": 2.0, "Sum": 4.0, "Minimum": 1.0, "Maximum": 3.0, "Average": 2.0})]
        assert [m.dimensions for m in one.list_metrics(A, R)[0]] == [(("Host", "a"),), (("Host", "z"),)]
    finally:
        one.close()
        two.close()
