"""The metric store: CloudWatch data points kept durably in one SQLite file (``metrics.db``).

What it keeps (the "rollups"): every data point put is folded, on arrival, into the row of its
metric, unit and time bucket: one row per second for high-resolution data (``StorageResolution``
1) and one per minute otherwise. A row holds SampleCount, Sum, Minimum, Maximum and, while
percentiles are possible, the exact distribution (distinct value -> count, packed doubles; see
:mod:`opentrail.monitoring.statistics` for when it is dropped). Storage is therefore bounded by the
number of distinct values per bucket, never by the number of puts, and a query over a day at one
metric reads at most 1,440 rows (86,400 for high resolution).

Retention, as CloudWatch's (``GetMetricStatistics`` documentation), applied by :meth:`compact`
with the injected clock: per-second rows older than 3 hours are folded into per-minute rows,
per-minute rows older than 15 days into 5-minute rows, 5-minute rows older than 63 days into
1-hour rows, and 1-hour rows older than 455 days are deleted. A query over older data sees the
coarser rows, as CloudWatch's does.

Queries follow the API reference of GetMetricStatistics / GetMetricData: StartTime inclusive
(rounded down as AWS rounds it: to the period below 60 s, else to the minute, 5 minutes or hour
by its age), EndTime exclusive, at most 1,440 datapoints (``InvalidParameterCombination``),
one datapoint per unit per period when no Unit is given (GetMetricStatistics) or one aggregated
over units with a ``MultipleUnits`` message (GetMetricData). ListMetrics pages 500 metrics and
hides metrics with no data in the past two weeks.

Errors raised are :mod:`opentrail.monitoring.errors` classes. All methods are thread-safe. The file
may be a schema of the shared PostgreSQL database (:mod:`opentrail.state_db`) written by several
nodes: each put reads and writes its rows in one ``BEGIN IMMEDIATE`` transaction (one writer at a
time across nodes), and the metric ids held in memory stay right (metrics are never deleted).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from ..state_db import immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from .errors import InvalidParameterCombination, InvalidParameterValue
from .metric_data import (  # noqa: F401  (re-exported: the store's API)
    Datapoint,
    Metric,
    MetricDataSeries,
    MetricDatum,
    StatisticSet,
    add_datum,
    canonical_dimensions,
    check_period,
    round_start,
)
from .statistics import SIMPLE_STATISTICS, Aggregate, parse_extended_statistic

#: File name of the store in the data directory.
FILE_NAME = "metrics.db"
#: GetMetricStatistics' limit of datapoints per call.
MAX_DATAPOINTS = 1440
#: ListMetrics page size.
LIST_PAGE_SIZE = 500

HOUR_S = 3600
DAY_S = 86400
#: (rows of this resolution, older than this age, fold into this resolution or None: delete).
RETENTION: tuple[tuple[int, int, int | None], ...] = (
    (1, 3 * HOUR_S, 60),
    (60, 15 * DAY_S, 300),
    (300, 63 * DAY_S, 3600),
    (3600, 455 * DAY_S, None),
)
#: ListMetrics shows metrics with data in the past two weeks; RecentlyActive=PT3H in 3 hours.
LIST_VISIBLE_S = 14 * DAY_S
RECENTLY_ACTIVE_S = {"PT3H": 3 * HOUR_S}


#: A metric's identity: (account, Region, namespace, metric name, canonical dimensions JSON).
MetricKey = tuple[str, str, str, str, str]


def _pack(agg: Aggregate) -> bytes | None:
    """The distribution as stored: interleaved (value, count) doubles, one pair per distinct value."""
    dist = agg.distribution()
    if dist is None:
        return None
    flat = array("d")
    for value, count in dist.items():
        flat.append(value)
        flat.append(count)
    return flat.tobytes()


def _row_aggregate(n: float, total: float, lo: float, hi: float, blob: bytes | None) -> Aggregate:
    if blob is None:
        return Aggregate(n, total, lo, hi, None)
    flat = array("d")
    flat.frombytes(blob)
    return Aggregate(n, total, lo, hi, [flat])


class SqliteMetricStore:
    """Metric data points in ``<data_dir>/metrics.db`` (see the module docstring).

    ``clock`` returns seconds since the epoch (injected; tests move it)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.monitoring", "metrics")
        self._lock = threading.Lock()
        self._clock = clock
        self._ids: dict[MetricKey, int] = {}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- writing ---------------------------------------------------------------------------

    def put(
        self,
        account: str,
        region: str,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        timestamp_s: float,
        *,
        value: float | None = None,
        values: Sequence[float] | None = None,
        counts: Sequence[float] | None = None,
        statistic_set: StatisticSet | None = None,
        unit: str | None = None,
        storage_resolution: int = 60,
    ) -> None:
        """Store one data point (committed when this returns). See :class:`MetricDatum`."""
        datum = MetricDatum(
            namespace, metric_name, dimensions, timestamp_s, value, values, counts, statistic_set, unit,
            storage_resolution,
        )
        self.put_many(account, region, [datum])

    def put_many(self, account: str, region: str, data: Iterable[MetricDatum]) -> None:
        """Store many data points in one transaction (one PutMetricData call, or a metric filter's
        batch). Raises InvalidParameterValue / InvalidParameterCombination for a malformed datum
        (nothing of the batch is stored then)."""
        buckets: dict[tuple[tuple[str, str, str, str, str], int, str, int], Aggregate] = {}
        keys: dict[tuple[str, str, str, str, str], None] = {}
        for index, datum in enumerate(data, 1):
            key = (account, region, datum.namespace, datum.metric_name, canonical_dimensions(datum.dimensions))
            res = 1 if datum.storage_resolution == 1 else 60
            ts = int(math.floor(datum.timestamp_s / res) * res)
            unit = datum.unit or "None"
            agg = buckets.setdefault((key, ts, unit, res), Aggregate())
            add_datum(agg, datum, index)
            keys[key] = None
        if not buckets:
            return
        now = self._clock()
        with self._lock:
            try:
                with immediate_transaction(self._conn):
                    ids = self._metric_ids(list(keys), now)
                    self._merge_rows([(ids[key], ts, unit, res, agg) for (key, ts, unit, res), agg in buckets.items()])
            except BaseException:
                self._ids.clear()  # ids of metrics inserted by the rolled-back transaction are gone
                raise

    def _metric_ids(self, keys: list[MetricKey], last_put_s: float) -> dict[MetricKey, int]:
        """The ids of the metrics ``keys`` (created when new; metrics are never deleted, so an id
        once known stays right), their ``last_put_s`` moved on; known ones in one batch."""
        known = {key: self._ids[key] for key in keys if key in self._ids}
        self._conn.executemany("UPDATE metrics SET last_put_s = MAX(last_put_s, ?) WHERE id = ?",
                               [(last_put_s, i) for i in known.values()])
        for key in keys:
            if key in known:
                continue
            self._conn.execute(
                "INSERT INTO metrics (account, region, namespace, name, dims, last_put_s) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, region, namespace, name, dims) DO UPDATE SET "
                "last_put_s = MAX(metrics.last_put_s, excluded.last_put_s)",
                (*key, last_put_s),
            )
            (metric_id,) = self._conn.execute(
                "SELECT id FROM metrics WHERE account = ? AND region = ? AND namespace = ? AND name = ? AND dims = ?",
                key,
            ).fetchone()
            known[key] = self._ids[key] = int(metric_id)
        return known

    def _merge_rows(self, rows: list[tuple[int, int, str, int, Aggregate]]) -> None:
        """Fold each aggregate into its stored row (metric id, ts, unit, res); the rows written in
        one batch (inside the caller's transaction)."""
        out = []
        for metric_id, ts, unit, res, agg in rows:
            row = self._conn.execute(
                "SELECT n, total, lo, hi, dist FROM points WHERE metric_id = ? AND ts = ? AND unit = ? AND res = ?",
                (metric_id, ts, unit, res),
            ).fetchone()
            if row is not None:
                stored = _row_aggregate(*row)
                stored.merge(agg)
                agg = stored
            out.append((metric_id, ts, unit, res, agg.count, agg.total, agg.minimum, agg.maximum, _pack(agg)))
        self._conn.executemany(
            "INSERT OR REPLACE INTO points (metric_id, ts, unit, res, n, total, lo, hi, dist) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            out,
        )

    # --- reading ---------------------------------------------------------------------------

    def _find_metric(self, account: str, region: str, namespace: str, metric_name: str,
                     dimensions: Mapping[str, str]) -> int | None:
        row = self._conn.execute(
            "SELECT id FROM metrics WHERE account = ? AND region = ? AND namespace = ? AND name = ? AND dims = ?",
            (account, region, namespace, metric_name, canonical_dimensions(dimensions)),
        ).fetchone()
        return row[0] if row else None

    def _window(self, start_s: float, end_s: float, period_s: int, align_start: bool = True,
                limit: int | None = MAX_DATAPOINTS) -> tuple[int, int, int]:
        """(rounded start, end, number of periods) after the API's checks."""
        check_period(period_s)
        if math.floor(start_s) >= math.floor(end_s):
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        start = round_start(start_s, period_s, self._clock()) if align_start else int(math.floor(start_s))
        end = int(math.ceil(end_s))
        periods = -(-(end - start) // period_s)
        if limit is not None and periods > limit:
            raise InvalidParameterCombination(
                f"You have requested up to {periods} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
                "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )
        return start, end, periods

    def _periods(self, metric_id: int, start: int, end_s: float, period_s: int, unit: str | None,
                 with_dist: bool) -> dict[tuple[int, str], Aggregate]:
        """Aggregates per (period start, unit) over rows with start <= ts < end_s."""
        unit_sql, params = ("AND unit = ?", [unit]) if unit else ("", [])
        out: dict[tuple[int, str], Aggregate] = {}
        if not with_dist:
            rows = self._conn.execute(
                f"SELECT (ts - ?) / ?, unit, SUM(n), SUM(total), MIN(lo), MAX(hi) FROM points "
                f"WHERE metric_id = ? AND ts >= ? AND ts < ? {unit_sql} GROUP BY 1, 2",
                [start, period_s, metric_id, start, end_s, *params],
            )
            for index, row_unit, n, total, lo, hi in rows:
                out[(start + index * period_s, row_unit)] = Aggregate(n, total, lo, hi, None)
            return out
        rows = self._conn.execute(
            f"SELECT ts, unit, n, total, lo, hi, dist FROM points "
            f"WHERE metric_id = ? AND ts >= ? AND ts < ? {unit_sql}",
            [metric_id, start, end_s, *params],
        )
        for ts, row_unit, n, total, lo, hi, blob in rows:
            bucket = start + (ts - start) // period_s * period_s
            agg = out.get((bucket, row_unit))
            row_agg = _row_aggregate(n, total, lo, hi, blob)
            if agg is None:
                out[(bucket, row_unit)] = row_agg
            else:
                agg.merge(row_agg)
        return out

    def statistics(
        self,
        account: str,
        region: str,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        start_s: float,
        end_s: float,
        period_s: int,
        statistics: Sequence[str] = (),
        extended: Sequence[str] = (),
        unit: str | None = None,
        *,
        align_start: bool = True,
        limit: int | None = MAX_DATAPOINTS,
    ) -> list[Datapoint]:
        """GetMetricStatistics: one :class:`Datapoint` per period (and per unit when ``unit`` is
        None) that has data, oldest first. The dimensions must be exactly the metric's.

        The alarm evaluator passes ``align_start=False`` (its periods slide with the evaluation
        time, they are not aligned as the API aligns StartTime) and ``limit=None`` (an alarm may
        span more than 1,440 periods: 8,640 ten-second periods in a day).

        Raises InvalidParameterValue (period, StartTime >= EndTime, an unknown statistic),
        InvalidParameterCombination (both or neither of statistics/extended; more than 1,440
        datapoints)."""
        if statistics and extended:
            raise InvalidParameterCombination(
                "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both."
            )
        if not statistics and not extended:
            raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics.")
        for name in statistics:
            if name not in SIMPLE_STATISTICS:
                raise InvalidParameterValue(f"The value {name} for parameter Statistics is not supported.")
        for name in extended:
            if parse_extended_statistic(name) is None:
                raise InvalidParameterValue(f"The value {name} for parameter ExtendedStatistics is not supported.")
        start, end, _ = self._window(start_s, end_s, period_s, align_start, limit)
        with self._lock:
            metric_id = self._find_metric(account, region, namespace, metric_name, dimensions)
            if metric_id is None:
                return []
            periods = self._periods(metric_id, start, end_s, period_s, unit, bool(extended))
        return [Datapoint(ts, u, agg) for (ts, u), agg in sorted(periods.items())]

    def metric_data(
        self,
        account: str,
        region: str,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        start_s: float,
        end_s: float,
        period_s: int,
        stat: str,
        unit: str | None = None,
        scan_by: str = "TimestampDescending",
    ) -> MetricDataSeries:
        """GetMetricData for one ``MetricStat`` query: the value of ``stat`` (simple or extended)
        per period with data, newest first unless ``scan_by`` is ``TimestampAscending``. Without
        ``unit`` the units are aggregated together and, when there are several, a
        ``MultipleUnits`` message lists them (``Multiple units returned: '[Milliseconds,
        Seconds]'``, as AWS answers).

        Raises InvalidParameterValue / InvalidParameterCombination as :meth:`statistics`."""
        if parse_extended_statistic(stat) is None and stat not in SIMPLE_STATISTICS:
            raise InvalidParameterValue(f"The value {stat} for parameter MetricStat.Stat is not supported.")
        start, _, _ = self._window(start_s, end_s, period_s)
        with self._lock:
            metric_id = self._find_metric(account, region, namespace, metric_name, dimensions)
            periods = {} if metric_id is None else self._periods(
                metric_id, start, end_s, period_s, unit, stat not in SIMPLE_STATISTICS
            )
        merged: dict[int, Aggregate] = {}
        units: set[str] = set()
        for (ts, row_unit), agg in periods.items():
            units.add(row_unit)
            if ts in merged:
                merged[ts].merge(agg)
            else:
                merged[ts] = agg
        ordered = sorted(merged, reverse=scan_by != "TimestampAscending")
        timestamps, values = [], []
        for ts in ordered:
            v = merged[ts].value(stat)
            if v is not None:
                timestamps.append(ts)
                values.append(v)
        messages = []
        if unit is None and len(units) > 1:
            messages.append({"Code": "MultipleUnits", "Value": f"Multiple units returned: '[{', '.join(sorted(units))}]'"})
        return MetricDataSeries(timestamps, values, messages)

    def list_metrics(
        self,
        account: str,
        region: str,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimensions: Sequence[tuple[str, str | None]] = (),
        recently_active: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Metric], str | None]:
        """ListMetrics: metrics with data in the past two weeks (3 hours with
        ``recently_active="PT3H"``) matching the filters (each dimension filter ``(name, value)``
        must be among the metric's dimensions; value None matches any value), 500 per page, and
        the NextToken of the next page (None on the last).

        Raises InvalidParameterValue "Request parameter NextToken is invalid" for a token this
        store did not issue for these filters."""
        now = self._clock()
        since = now - RECENTLY_ACTIVE_S.get(recently_active or "", LIST_VISIBLE_S)
        filters = [(n, v) for n, v in dimensions]
        digest = hashlib.sha256(
            json.dumps([account, region, namespace, metric_name, filters, recently_active]).encode()
        ).hexdigest()[:16]
        after = 0
        if next_token is not None:
            after = _decode_token(next_token, digest)
        clauses = ["account = ?", "region = ?", "last_put_s >= ?", "id > ?"]
        params: list[object] = [account, region, since, after]
        if namespace is not None:
            clauses.append("namespace = ?")
            params.append(namespace)
        if metric_name is not None:
            clauses.append("name = ?")
            params.append(metric_name)
        found: list[tuple[int, Metric]] = []
        with self._lock:
            rows = self._conn.execute(
                f"SELECT id, namespace, name, dims FROM metrics WHERE {' AND '.join(clauses)} ORDER BY id", params
            )
            for metric_id, ns, name, dims in rows:
                pairs = tuple((n, v) for n, v in json.loads(dims))
                if all(any(n == fn and (fv is None or v == fv) for n, v in pairs) for fn, fv in filters):
                    found.append((metric_id, Metric(ns, name, pairs)))
                    if len(found) > LIST_PAGE_SIZE:
                        break
        page = [m for _, m in found[:LIST_PAGE_SIZE]]
        token = _encode_token(found[LIST_PAGE_SIZE - 1][0], digest) if len(found) > LIST_PAGE_SIZE else None
        return page, token

    # --- retention -------------------------------------------------------------------------

    def compact(self) -> int:
        """Apply the retention (module docstring) at the clock's time; returns the rows folded or
        deleted. Run it periodically (hourly is enough)."""
        now = self._clock()
        changed = 0
        with self._lock, immediate_transaction(self._conn):
            for res, max_age, into in RETENTION:
                cutoff = now - max_age
                rows = self._conn.execute(
                    "SELECT metric_id, ts, unit, n, total, lo, hi, dist FROM points WHERE res = ? AND ts < ?",
                    (res, cutoff),
                ).fetchall()
                if not rows:
                    continue
                if into is not None:
                    folded: dict[tuple[int, int, str], Aggregate] = {}
                    for metric_id, ts, unit, n, total, lo, hi, blob in rows:
                        key = (metric_id, ts // into * into, unit)
                        agg = _row_aggregate(n, total, lo, hi, blob)
                        if key in folded:
                            folded[key].merge(agg)
                        else:
                            folded[key] = agg
                    self._merge_rows([(metric_id, ts, unit, into, agg) for (metric_id, ts, unit), agg in folded.items()])
                self._conn.execute("DELETE FROM points WHERE res = ? AND ts < ?", (res, cutoff))
                changed += len(rows)
        return changed


def _encode_token(after_id: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"a": after_id, "d": digest}).encode()).decode()


def _decode_token(token: str, digest: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["d"] != digest or not isinstance(data["a"], int):
            raise ValueError
        return int(data["a"])
    except (ValueError, KeyError, TypeError):
        raise InvalidParameterValue("Request parameter NextToken is invalid") from None
