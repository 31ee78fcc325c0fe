"""Metrics and alarms benchmark: the metric store's GetMetricStatistics over 1M data points, and the
alarm evaluator's cost.

    python3 bench/bench_metrics.py [--points 1000000] [--repeat 20] [--dir DIR]

Loads ``--points`` data points into a fresh :class:`SqliteMetricStore` twice:

- *standard*: one metric, 60-second storage resolution, timestamps spread evenly over 14 days,
  values like latencies in ms (lognormal, 0.1 ms steps, ~2,000 distinct values), put in batches of
  10,000 as PutMetricData / metric filters would (1,000 per call) -- the load rate is printed;
- *high-res*: one metric, 1-second storage resolution, over 3 hours (~93 points per second).

Then times ``statistics()`` (warm; ``--repeat`` runs each, p50 and max in ms) for the queries a
console or GetMetricStatistics makes: 5 simple statistics at 1-hour periods over 14 days, 15-minute
periods over 14 days (1,344 datapoints), 1-minute periods over a day (1,440), p99 at 1-hour periods
over 14 days (percentiles read the stored distributions), and 10-second periods over 3 hours of the
high-resolution metric. Then the evaluator: ``evaluate()`` alone for N = 3 and N = 30 (µs per call)
and a whole alarm cycle (``query_window`` + ``statistics`` + ``slots_from_datapoints`` +
``evaluate``) on the standard metric (ms).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics as stats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentrail.monitoring.alarm_eval import evaluate, query_window, slots_from_datapoints  # noqa: E402
from opentrail.monitoring.alarm_model import OK, AlarmConfig, Slot  # noqa: E402
from opentrail.monitoring.metric_store import MetricDatum, SqliteMetricStore  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
START = 1_767_571_200.0  # 2026-01-05T00:00:00Z
DAY = 86400
SIMPLE = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]


def load(store: SqliteMetricStore, metric: str, points: int, span_s: float, resolution: int) -> float:
    rng = random.Random(7)
    step = span_s / points
    batch: list[MetricDatum] = []
    began = time.perf_counter()
    for i in range(points):
        value = round(math.exp(rng.gauss(3.0, 0.6)), 1)
        batch.append(MetricDatum("Bench", metric, {"Service": "api"}, START + i * step, value=value,
                                 unit="Milliseconds", storage_resolution=resolution))
        if len(batch) == 10_000:
            store.put_many(ACCOUNT, REGION, batch)
            batch = []
    if batch:
        store.put_many(ACCOUNT, REGION, batch)
    return points / (time.perf_counter() - began)


def timed(repeat: int, fn) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return stats.median(times), max(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "metrics.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    now = START + 14 * DAY
    store = SqliteMetricStore(db, clock=lambda: now)

    rate = load(store, "Latency", args.points, 14 * DAY, 60)
    print(f"standard: loaded {args.points:,} points in batches of 10,000 at {rate:,.0f} points/s")
    rate_hr = load(store, "LatencyHR", args.points, 3 * 3600, 1)
    print(f"high-res: loaded {args.points:,} points at {rate_hr:,.0f} points/s")
    size = sum(Path(str(db) + s).stat().st_size for s in ("", "-wal") if Path(str(db) + s).exists())
    print(f"database: {size / 1e6:.1f} MB for {2 * args.points:,} points ({size / (2 * args.points):.1f} bytes/point)")

    def q(metric: str, start: float, end: float, period: int, simple=SIMPLE, extended=()):  # type: ignore[no-untyped-def]
        return lambda: store.statistics(ACCOUNT, REGION, "Bench", metric, {"Service": "api"}, start, end, period,
                                        simple, extended)

    queries = [
        ("5 statistics, 1 h periods, 14 days (336 datapoints)", q("Latency", START, START + 14 * DAY, 3600)),
        ("5 statistics, 15 min periods, 14 days (1,344)", q("Latency", START, START + 14 * DAY, 900)),
        ("5 statistics, 1 min periods, 1 day (1,440)", q("Latency", START + 13 * DAY, START + 14 * DAY, 60)),
        ("p99, 1 h periods, 14 days (336)", q("Latency", START, START + 14 * DAY, 3600, (), ("p99",))),
        ("p99, 1 min periods, 1 day (1,440)", q("Latency", START + 13 * DAY, START + 14 * DAY, 60, (), ("p99",))),
        ("5 statistics, 10 s periods, 3 h high-res (1,080)", q("LatencyHR", START, START + 3 * 3600, 10)),
        ("p99, 10 s periods, 3 h high-res (1,080)", q("LatencyHR", START, START + 3 * 3600, 10, (), ("p99",))),
    ]
    print(f"\nstatistics() warm, {args.repeat} runs each:")
    for label, fn in queries:
        p50, worst, result = timed(args.repeat, fn)
        points = sum(p.sample_count for p in result)  # type: ignore[union-attr]
        print(f"  {label:<52} p50 {p50:8.2f} ms  max {worst:8.2f} ms  ({len(result):,} datapoints, "  # type: ignore[arg-type]
              f"{points:,.0f} samples)")

    print("\nevaluator:")
    for n in (3, 30):
        cfg = AlarmConfig(period_s=60, evaluation_periods=n, datapoints_to_alarm=max(1, n - 1), threshold=50.0,
                          comparison_operator="GreaterThanThreshold", statistic="Average", treat_missing_data="missing")
        slots = [Slot(int(START + i * 60), None if i % 4 == 1 else 40.0 + i, 10.0) for i in range(n + 2)]
        calls = 20_000
        began = time.perf_counter()
        for _ in range(calls):
            evaluate(cfg, slots, OK, now)
        micro = (time.perf_counter() - began) / calls * 1e6
        print(f"  evaluate() N={n:<3} (range {n + 2} periods, state reason and data included): {micro:7.1f} µs")
    cfg = AlarmConfig(period_s=60, evaluation_periods=3, threshold=50.0, comparison_operator="GreaterThanThreshold",
                      statistic="Average")

    def cycle() -> object:
        start, end = query_window(cfg, now - 3600)
        points = store.statistics(ACCOUNT, REGION, "Bench", "Latency", {"Service": "api"}, start, end, 60,
                                  ["Average"], align_start=False, limit=None)
        return evaluate(cfg, slots_from_datapoints(cfg, start, points), OK, now)

    p50, worst, _ = timed(args.repeat * 10, cycle)
    print(f"  alarm cycle (window + statistics() + slots + evaluate), N=3 at 1 min: p50 {p50:.2f} ms, max {worst:.2f} ms")
    store.close()


if __name__ == "__main__":
    main()
