"""The Insights counts: per-minute calls of every series, in ``<data-dir>/insights.db`` (SQLite).

Tables (all counts are calls; minutes are epoch minutes of eventTime):

- ``series (id, account_id, region, category, event_source, event_name, insight_type,
  error_code, newest, dirty_from, changed_at, analysed_until, open_start)``: one row per series.
  ``newest``: its newest counted minute (retention is measured from it, so imported history is
  kept whatever the wall clock says); ``dirty_from``: the earliest minute before
  ``analysed_until`` counted since the detector last looked (None when none); ``changed_at``: clock seconds of the last
  change to a closed minute (the settle time runs from it); ``analysed_until``: the detector has
  looked at the minutes before it (None: never); ``open_start``: start of the anomaly whose Start
  event is written and whose End is not yet.
- ``m1``, ``m5``, ``h1 (series, minute, n)``: totals per minute, per 5 minutes and per hour
  (``minute`` is the period's first minute; periods are aligned to the epoch), for ListInsightsMetricData periods 60/300/3600 s;
  kept :data:`RETENTION_MINUTES` (15 / 63 / 90 days) before the series' newest minute (minutes the
  detector still needs -- the baseline before its next analysis -- stay).
- ``attr (series, minute, attribute, value, n)``: per minute, calls per attribution value
  (``attribute`` 0/1/2 = :data:`.model.ATTRIBUTES`); kept :data:`ATTR_RETENTION_MINUTES`.
- ``regions (account_id, region, first_minute)``: the first counted minute of an account and
  Region (the detector's history start).
- ``anomalies (series, start, end_minute)``: the anomalies whose Start event was written, and the
  minute after their end once the End event was; an ended one is kept 90 days.
- ``outbox (event_id, account_id, region, event_time, event_name, event_source, record)``:
  Insights events decided but not yet known to be in the event store. The worker commits them
  with the anomaly they write (:meth:`record_events`), appends them, then deletes them
  (:meth:`appended`): a Start is never in the store without its anomaly being remembered, so its
  End follows even after a crash (an event appended twice is a duplicate the store skips).
- ``shard_cursors (shard, seq)``: one cursor per account shard (:mod:`opentrail.shards`: an
  account's shard is ``crc32(account ID) % 4``): every event of the shard's accounts with
  seq <= its cursor is counted. :meth:`apply` commits counts and cursors in one transaction:
  exactly once across kill -9. (``cursor``, the single cursor of earlier releases, is no longer
  written: script 0002 started every shard's cursor from it.)

Only the worker threads write (:meth:`apply`, :meth:`purge` and the analysis state methods), each
for the accounts of its shards;
reads (:class:`.model.InsightMetrics`) use one read-only connection per thread.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from ..shards import SHARDS
from ..state_db import ThreadReaders, immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from .model import SeriesKey
from .detector import LOOKBACK_MINUTES

#: File name under the data directory.
INSIGHTS_DB = "insights.db"
DAY = 1440
#: period seconds -> (table, minutes per period, retention in minutes before the series' newest minute)
PERIODS: dict[int, tuple[str, int, int]] = {60: ("m1", 1, 15 * DAY), 300: ("m5", 5, 63 * DAY), 3600: ("h1", 60, 90 * DAY)}
RETENTION_MINUTES = {table: keep for table, _, keep in PERIODS.values()}
ATTR_RETENTION_MINUTES = 8 * DAY

SeriesTuple = tuple[str, str, str, str, str, str, str]

_ADD = ("INSERT INTO {t} (series, minute, n) VALUES (?, ?, ?) "
        "ON CONFLICT (series, minute) DO UPDATE SET n = {t}.n + excluded.n")
_ADD_ATTR = ("INSERT INTO attr (series, minute, attribute, value, n) VALUES (?, ?, ?, ?, ?) "
             "ON CONFLICT (series, minute, attribute, value) DO UPDATE SET n = attr.n + excluded.n")
_SERIES_COLUMNS = "account_id, region, category, event_source, event_name, insight_type, error_code"
_INSERT_SERIES = (f"INSERT OR IGNORE INTO series ({_SERIES_COLUMNS}, newest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_SERIES_ID = ("SELECT id FROM series WHERE account_id = ? AND region = ? AND category = ? AND event_source = ? "
              "AND event_name = ? AND insight_type = ? AND error_code = ?")


@dataclass(frozen=True, slots=True)
class SeriesState:
    """What the detector needs of one series (module docstring, table ``series``)."""

    id: int
    key: SeriesKey
    newest: int
    dirty_from: int | None
    changed_at: float
    analysed_until: int | None
    open_start: int | None
    kept_from: int | None = None


class Outgoing(NamedTuple):
    """One Insights event in the outbox: ``record`` is its JSON bytes, ``event_time`` epoch seconds."""

    event_id: str
    account_id: str
    region: str
    event_time: int
    event_name: str
    event_source: str
    record: bytes


class SqliteInsightCounts:
    """The counts store (module docstring); implements :class:`.model.InsightMetrics`."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._conn = open_state_db(self._path)
        apply_schema(self._conn, "opentrail.insights", "counts")
        self._lock = threading.Lock()
        self._readers = ThreadReaders(self._path)
        self._ids: dict[SeriesTuple, int] = {}
        self._load_ids()

    def _load_ids(self) -> None:
        self._ids = {tuple(row[1:]): int(row[0]) for row in self._conn.execute(  # type: ignore[misc]
            "SELECT id, account_id, region, category, event_source, event_name, insight_type, error_code FROM series")}

    def close(self) -> None:
        with self._lock:
            self._readers.close()
            self._conn.close()

    # --- write side (the worker thread) ------------------------------------------------------
    def cursors(self) -> dict[int, int]:
        """Every account shard's cursor (0: nothing counted)."""
        with self._lock:
            found = {int(shard): int(seq) for shard, seq in self._conn.execute("SELECT shard, seq FROM shard_cursors")}
        return {shard: found.get(shard, 0) for shard in range(SHARDS)}

    def cursor(self) -> int:
        """Every event with seq <= this is counted (the lowest shard cursor; 0: none)."""
        return min(self.cursors().values())

    def apply(self, counts: Mapping[tuple[SeriesTuple, int], int],
              attributions: Mapping[tuple[SeriesTuple, int, int, str], int], cursor: int, now: float,
              closed_before: int, shards: Iterable[int] | None = None) -> None:
        """Add ``counts`` ((series, minute) -> calls) and ``attributions`` ((series, minute,
        attribute index, value) -> calls), and set the cursor of ``shards`` (None: every shard) to
        ``cursor``, in one transaction. A change to a minute before ``closed_before`` (a closed
        minute) sets the series' ``changed_at`` to ``now``. Raises the SQLite error (nothing
        applied) on failure."""
        moved = range(SHARDS) if shards is None else list(shards)
        with self._lock:
            try:
                with immediate_transaction(self._conn):
                    self._apply(counts, attributions, cursor, now, closed_before, moved)
            except BaseException:
                self._load_ids()  # ids of series inserted by the rolled-back transaction are gone
                raise

    def _apply(self, counts: Mapping[tuple[SeriesTuple, int], int],
               attributions: Mapping[tuple[SeriesTuple, int, int, str], int], cursor: int, now: float,
               closed_before: int, shards: Iterable[int]) -> None:
        c = self._conn
        per_series: dict[SeriesTuple, list[int]] = {}  # series -> [min minute, max minute, max closed or -1]
        m1: list[tuple[int, int, int]] = []
        m5: dict[tuple[int, int], int] = defaultdict(int)
        h1: dict[tuple[int, int], int] = defaultdict(int)
        firsts: dict[tuple[str, str], int] = {}
        for (series, minute), n in counts.items():
            sid = self._ids.get(series)
            if sid is None:  # new here; another node may have added it already (series are never deleted)
                c.execute(_INSERT_SERIES, (*series, minute))
                sid = self._ids[series] = int(c.execute(_SERIES_ID, series).fetchone()[0])
            m1.append((sid, minute, n))
            m5[sid, minute - minute % 5] += n
            h1[sid, minute - minute % 60] += n
            span = per_series.get(series)
            if span is None:
                per_series[series] = [minute, minute, minute < closed_before]
            else:
                span[0], span[1] = min(span[0], minute), max(span[1], minute)
                span[2] = span[2] or minute < closed_before
            region = (series[0], series[1])
            firsts[region] = min(firsts.get(region, minute), minute)
        c.executemany(_ADD.format(t="m1"), m1)
        c.executemany(_ADD.format(t="m5"), [(s, m, n) for (s, m), n in m5.items()])
        c.executemany(_ADD.format(t="h1"), [(s, m, n) for (s, m), n in h1.items()])
        c.executemany(_ADD_ATTR, [(self._ids[series], minute, a, value, n)
                                  for (series, minute, a, value), n in attributions.items()])
        c.executemany(
            "UPDATE series SET newest = max(newest, ?), dirty_from = CASE WHEN ? < analysed_until "
            "THEN min(coalesce(dirty_from, ?), ?) ELSE dirty_from END, "
            "changed_at = CASE WHEN ? = 1 THEN ? ELSE changed_at END WHERE id = ?",
            [(hi, lo, lo, lo, int(closed), now, self._ids[s]) for s, (lo, hi, closed) in per_series.items()])
        c.executemany("INSERT INTO regions (account_id, region, first_minute) VALUES (?, ?, ?) ON CONFLICT "
                      "(account_id, region) DO UPDATE SET first_minute = min(regions.first_minute, "
                      "excluded.first_minute)",
                      [(a, r, m) for (a, r), m in firsts.items()])
        c.executemany("INSERT INTO shard_cursors (shard, seq) VALUES (?, ?) ON CONFLICT (shard) DO UPDATE SET seq = excluded.seq",
                      [(shard, cursor) for shard in shards])

    def purge(self, now_minute: int, owns: Callable[[str], bool] | None = None) -> int:
        """Delete what is past retention (module docstring) in the series of the accounts ``owns``
        selects (None: every account), retention counted from the series' newest minute but never
        from after ``now_minute`` (one record dated in the future must not empty a series); returns
        the number of rows deleted. A series' ``kept_from`` becomes the first minute whose
        per-minute count is still kept (the detector reads nothing before it)."""
        deleted = 0
        cutoffs: dict[str, list[tuple[int, int]]] = defaultdict(list)  # table -> (series, cutoff)
        with self._lock, immediate_transaction(self._conn) as c:
            rows = c.execute("SELECT id, newest, dirty_from, analysed_until, open_start, account_id FROM series").fetchall()
            for sid, newest, dirty_from, analysed_until, open_start, account in rows:
                if owns is not None and not owns(account):
                    continue
                base = min(newest, now_minute)
                # the detector's next look starts at min(dirty_from, analysed_until) and reads LOOKBACK_MINUTES before it
                needed = min(x for x in (dirty_from, analysed_until, open_start, base) if x is not None) - LOOKBACK_MINUTES - 1
                for table, keep in RETENTION_MINUTES.items():
                    cutoffs[table].append((sid, base - keep if table != "m1" else min(base - keep, needed)))
                cutoffs["attr"].append((sid, min(base - ATTR_RETENTION_MINUTES, needed)))
                cutoffs["anomalies"].append((sid, min(base - RETENTION_MINUTES["h1"], needed)))
            # kept_from moves to the m1 cutoff of each series that loses per-minute counts now
            c.executemany("UPDATE series SET kept_from = ? WHERE id = ? AND (kept_from IS NULL OR kept_from < ?) "
                          "AND EXISTS (SELECT 1 FROM m1 WHERE series = ? AND minute < ?)",
                          [(cut, sid, cut, sid, cut) for sid, cut in cutoffs["m1"]])
            for table, pairs in cutoffs.items():
                column = "end_minute" if table == "anomalies" else "minute"
                deleted += max(0, c.executemany(f"DELETE FROM {table} WHERE series = ? AND {column} < ?", pairs).rowcount)
        return deleted

    # --- analysis state (the worker thread) --------------------------------------------------
    def states(self, accounts: Sequence[str] | None = None, horizon: int = 0) -> list[SeriesState]:
        """The series that may need analysis, with their analysis state: of ``accounts`` (None:
        every account), never analysed, with a changed past, or not analysed up to ``horizon``
        minutes past their newest minute; and every series with an open anomaly, of any account."""
        due = ("(analysed_until IS NULL OR dirty_from IS NOT NULL OR analysed_until < newest + ?)")
        sql = ("SELECT id, account_id, region, category, event_source, event_name, insight_type, error_code, newest, "
               "dirty_from, changed_at, analysed_until, open_start, kept_from FROM series WHERE open_start IS NOT NULL")
        args: list[object] = []
        if accounts is None:
            sql += f" OR {due}"
            args.append(horizon)
        elif accounts:
            sql += f" OR ({due} AND account_id IN ({','.join('?' * len(accounts))}))"
            args += [horizon, *accounts]
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [SeriesState(r[0], SeriesKey(*r[1:8]), r[8], r[9], r[10], r[11], r[12], r[13]) for r in rows]

    def first_minutes(self) -> dict[tuple[str, str], int]:
        """(account, Region) -> its first counted minute."""
        with self._lock:
            return {(a, r): m for a, r, m in self._conn.execute("SELECT account_id, region, first_minute FROM regions")}

    def minute_counts(self, series_id: int, start: int, end: int) -> tuple[list[int], list[int]]:
        """The series' non-zero per-minute counts in [start, end) as ascending (minutes, counts)."""
        with self._lock:
            rows = self._conn.execute("SELECT minute, n FROM m1 WHERE series = ? AND minute >= ? AND minute < ? "
                                      "ORDER BY minute", (series_id, start, end)).fetchall()
        return [m for m, _ in rows], [n for _, n in rows]

    def attribution_totals(self, series_id: int, start: int, end: int) -> dict[int, dict[str, int]]:
        """Attribute index -> value -> calls in [start, end)."""
        out: dict[int, dict[str, int]] = defaultdict(dict)
        with self._lock:
            for a, value, n in self._conn.execute(
                    "SELECT attribute, value, sum(n) FROM attr WHERE series = ? AND minute >= ? AND minute < ? "
                    "GROUP BY attribute, value", (series_id, start, end)):
                out[a][value] = n
        return out

    def anomalies(self, series_id: int) -> dict[int, int | None]:
        """Start minute -> end minute (None: no End written yet) of the series' written anomalies."""
        with self._lock:
            return dict(self._conn.execute("SELECT start, end_minute FROM anomalies WHERE series = ?", (series_id,)))

    def record_events(self, series_id: int, start: int, end: int | None, events: Sequence[Outgoing]) -> None:
        """In one transaction: the anomaly of the series at ``start`` has its Start written, and its
        End when ``end`` is given (``open_start`` follows), and ``events`` wait in the outbox."""
        with self._lock, immediate_transaction(self._conn) as c:
            c.execute("INSERT INTO anomalies (series, start, end_minute) VALUES (?, ?, ?) ON CONFLICT (series, start) "
                      "DO UPDATE SET end_minute = excluded.end_minute", (series_id, start, end))
            if end is None:
                c.execute("UPDATE series SET open_start = ? WHERE id = ?", (start, series_id))
            else:
                c.execute("UPDATE series SET open_start = NULL WHERE id = ? AND open_start = ?", (series_id, start))
            c.executemany("INSERT OR IGNORE INTO outbox (event_id, account_id, region, event_time, event_name, "
                          "event_source, record) VALUES (?, ?, ?, ?, ?, ?, ?)", events)

    def outbox(self) -> list[Outgoing]:
        """The Insights events waiting to be appended to the event store, oldest eventTime first."""
        with self._lock:
            return [Outgoing(*r) for r in self._conn.execute(
                "SELECT event_id, account_id, region, event_time, event_name, event_source, record FROM outbox "
                "ORDER BY event_time, event_id")]

    def appended(self, event_ids: Sequence[str]) -> None:
        """These outbox events are in the event store."""
        with self._lock, immediate_transaction(self._conn) as c:
            c.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in event_ids])

    def record_analysed(self, series_id: int, until: int, seen_dirty_from: int | None) -> None:
        """The detector looked at the series' minutes before ``until``; ``seen_dirty_from`` is the
        dirty_from it started from (cleared only if unchanged since)."""
        with self._lock, immediate_transaction(self._conn) as c:
            c.execute("UPDATE series SET analysed_until = ?, dirty_from = CASE WHEN dirty_from IS ? THEN NULL "
                      "ELSE dirty_from END WHERE id = ?", (until, seen_dirty_from, series_id))

    # --- read side (InsightMetrics) ----------------------------------------------------------
    def counts(self, key: SeriesKey, start_minute: int, end_minute: int, period_s: int) -> list[tuple[int, int]]:
        """:meth:`.model.InsightMetrics.counts`. ``period_s`` must be 60, 300 or 3600 (ValueError)."""
        if period_s not in PERIODS:
            raise ValueError(f"period_s must be one of 60, 300, 3600, got {period_s}")
        table = PERIODS[period_s][0]
        conn = self._readers.connection()
        row = conn.execute("SELECT id FROM series WHERE account_id = ? AND region = ? AND category = ? AND "
                           "event_source = ? AND event_name = ? AND insight_type = ? AND error_code = ?",
                           (key.account_id, key.region, key.category, key.event_source, key.event_name,
                            key.insight_type, key.error_code)).fetchone()
        if row is None:
            return []
        return [(m, n) for m, n in conn.execute(
            f"SELECT minute, n FROM {table} WHERE series = ? AND minute >= ? AND minute < ? AND n > 0 ORDER BY minute",
            (row[0], start_minute, end_minute))]

    def series(self, account_id: str, region: str) -> Sequence[SeriesKey]:
        """:meth:`.model.InsightMetrics.series`, sorted."""
        conn = self._readers.connection()
        return sorted(SeriesKey(*r) for r in conn.execute(
            "SELECT account_id, region, category, event_source, event_name, insight_type, error_code FROM series "
            "WHERE account_id = ? AND region = ?", (account_id, region)))
