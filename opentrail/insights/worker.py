"""The Insights worker: a consumer of the durable event log that counts and detects.

One thread follows ``EventStore.read_columns(cursor, n)``:

1. **Count.** Each record's series and minute (:func:`.extract.extract`; most records are
   skipped from their bytes) are added up in memory; every ``interval_s`` (or ``max_batched``
   events) the sums and the new cursor are committed in one transaction
   (:meth:`.counts.SqliteInsightCounts.apply`): exactly once across kill -9.
2. **Detect**, on eventTime, for the series the :class:`InsightsScope` watches. A minute is
   *closed* once its end is ``grace_s`` in the past; a series is analysed once its closed minutes
   have not changed for ``settle_s`` (an import writes old minutes continuously: the detector
   waits until it stops), or ``max_wait_s`` after its last analysis when late events keep coming. It is analysed from ``analysed_until`` -- or from earlier: the
   earliest minute changed since (``dirty_from``), the start of its open anomaly, backed up to the
   start of a written anomaly that minute falls in -- up to the last closed minute, with
   :func:`.detector.detect`; past the series' newest counted minute only the quiet minutes that
   end an anomaly still open are analysed, the others once newer counts arrive.
3. **Emit.** A new anomaly's Start (and End once it ended) are built by :mod:`.records`, committed
   to the counts store's outbox together with the anomaly (:meth:`~.counts.SqliteInsightCounts.record_events`),
   then appended to the event store at the end of the round (or every :data:`OUTBOX_BATCH` events;
   category ``Insight``; LookupEvents attributes EventId,
   EventName, EventSource) and removed from the outbox. Event IDs are deterministic
   (:func:`.records.event_ids`), so an event appended again after a crash is a duplicate the
   store skips; an anomaly whose Start was written always gets its End, also when re-analysis no
   longer finds it (it then ends at the minute analysis had reached).

**Shards.** An account belongs to the shard ``crc32(account ID) % 4`` (:mod:`opentrail.shards`).
A worker counts, analyses and emits for the accounts of its ``shards`` (all by default, as the
server runs it, on several nodes too: :mod:`opentrail.cluster` says why). Each shard has its own
cursor (:mod:`.counts`); a worker reads the log from the lowest cursor of its shards and counts an
event only above its account's shard cursor, so a worker of several shards takes over from shard
workers at different cursors without counting an event twice.

Latency: a Start is in the store about ``grace_s`` + ``analyse_every_s`` after the end of the
first anomalous minute (AWS: up to 30 minutes).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import orjson

from ..shards import every_unit, shard_of, shard_set
from ..state_pg import fence_lost
from ..store.base import EventStore, NewEvent
from ..store.errors import is_disk_full
from ..trails.organization import covered
from . import detector, records
from .counts import INSIGHTS_DB, Outgoing, SeriesState, SqliteInsightCounts
from .extract import parse_counted, skippable
from .model import ATTRIBUTES, CALL_RATE, DATA, MANAGEMENT, MAX_ATTRIBUTION_VALUES, Anomaly, SeriesKey

log = logging.getLogger(__name__)

#: Events read from the log per round.
READ_LIMIT = 20_000
#: At most this many counted (series, minute) cells in memory before a flush.
MAX_BATCHED = 200_000
#: Insights events committed to the outbox before they are appended together (else at the end of
#: the analysis round).
OUTBOX_BATCH = 200
#: Seconds after its end before a minute is analysed (late events of a live minute still arrive).
GRACE_S = 10.0
#: Seconds a series' closed minutes must stay unchanged before it is analysed.
SETTLE_S = 5.0
#: ...unless it was last analysed this many seconds ago: a series that keeps receiving late events
#: is analysed all the same (a Start then waits at most this plus ``GRACE_S``).
MAX_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class Watch:
    """Insights of ``insight_type`` on ``category`` (MANAGEMENT or DATA) events of ``account_id``
    in ``region`` (None: every Region)."""

    account_id: str
    region: str | None
    insight_type: str
    category: str


class InsightsScope(Protocol):
    """Where Insights is enabled (trails now; event data stores may add theirs)."""

    def watches(self) -> Sequence[Watch]: ...


class TrailInsightsScope:
    """The watches of the trails' InsightSelectors (CloudTrail User Guide, "Logging Insights
    events"): a logging trail watches its account in its home Region, or in every Region when it
    is multi-Region (an organization trail: every account of the organization); a selector without
    EventCategories watches management events. ``trails``:
    anything with ``trails() -> list[Trail]`` (:class:`opentrail.trails.service.TrailService`)."""

    def __init__(self, trails: Any) -> None:
        self._trails = trails

    def watches(self) -> list[Watch]:
        out: set[Watch] = set()
        orgs = getattr(self._trails, "organizations", None)
        for trail in self._trails.trails():
            if not trail.status.is_logging:
                continue
            region = None if trail.is_multi_region_trail else trail.home_region
            # an organization trail watches every account it covers now, each account's series on
            # its own (its Insights events go to AWSLogs/<o-id>/<account>/CloudTrail-Insight/)
            _, accounts = covered(orgs, trail.account_id, trail.is_organization_trail)
            for selector in trail.insight_selectors:
                for category in selector.event_categories or (MANAGEMENT,):
                    out.update(Watch(a, region, selector.insight_type, category) for a in accounts)
        return sorted(out, key=lambda w: (w.account_id, w.region or "", w.insight_type, w.category))


def _watched(key: SeriesKey, watches: Sequence[Watch]) -> bool:
    return any(w.account_id == key.account_id and (w.region is None or w.region == key.region) and
               w.insight_type == key.insight_type and w.category == key.category for w in watches)


def top_values(totals: dict[str, int], minutes: int) -> tuple[tuple[str, float], ...]:
    """The :data:`.model.MAX_ATTRIBUTION_VALUES` values with the most calls, as (value, calls per
    minute over ``minutes``), average descending then value ascending."""
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_ATTRIBUTION_VALUES]
    return tuple((value, n / minutes) for value, n in ranked)


class InsightsWorker(threading.Thread):
    """Counts the event log and writes Insights events (module docstring). ``clock`` gives epoch
    seconds. :meth:`run_once` does one round (tests call it); :meth:`start`/:meth:`stop` run rounds
    on a thread every ``poll_s``. ``counts``: the store, or the data directory to open
    ``insights.db`` in."""

    def __init__(self, event_store: EventStore, scope: InsightsScope, counts: SqliteInsightCounts | Path,
                 clock: Callable[[], float], *, interval_s: float = 1.0, read_limit: int = READ_LIMIT,
                 max_batched: int = MAX_BATCHED, grace_s: float = GRACE_S, settle_s: float = SETTLE_S,
                 max_wait_s: float = MAX_WAIT_S, analyse_every_s: float = 1.0, poll_s: float = 0.2, purge_interval_s: float = 3600.0,
                 params: detector.DetectorParams = detector.DEFAULT_PARAMS, shards: Sequence[int] | None = None) -> None:
        super().__init__(name="opentrail-insights", daemon=True)
        self._owned = not isinstance(counts, SqliteInsightCounts)
        self.counts = counts if isinstance(counts, SqliteInsightCounts) else SqliteInsightCounts(Path(counts) / INSIGHTS_DB)
        self._events, self._scope, self._clock = event_store, scope, clock
        self._interval_s, self._read_limit, self._max_batched = interval_s, read_limit, max_batched
        self._grace_s, self._settle_s, self._analyse_every_s = grace_s, settle_s, analyse_every_s
        self._max_wait_s = max_wait_s
        #: series id -> clock seconds of its last analysis (or of when this worker first saw it)
        self._seen: dict[int, float] = {}
        #: events put in the outbox since it was last sent
        self._pending = 0
        self._poll_s, self._purge_interval_s, self._params = poll_s, purge_interval_s, params
        self._stop_event = threading.Event()
        #: the account shards (:mod:`opentrail.shards`) this worker counts and analyses
        self._shards, self._mine = shard_set(shards)
        self._all = self._mine is every_unit
        self._cursors: dict[int, int] = {}
        self._load_cursors()
        self._cells: dict[tuple[Any, int], int] = defaultdict(int)
        self._attrs: dict[tuple[Any, int, int, str], int] = defaultdict(int)
        self._last_flush = float("-inf")
        self._next_analyse = float("-inf")
        self._next_purge = clock() + purge_interval_s  # a first import is analysed before its old minutes go
        self._read = 0
        #: series analysed by the last round
        self.analysed = 0
        self._failing = False
        self._lease_lost = False  # a write found the lease (several nodes) lost: the thread ended

    # --- thread ------------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.run_once()
            except Exception as exc:  # the round is redone from the committed cursor
                if fence_lost(exc):  # several nodes: another node counts these accounts now
                    log.warning("insights: the lease was lost (%s); stopping", exc)
                    self._lease_lost = True
                    break
                if not self._failing:
                    if is_disk_full(exc):
                        log.warning("insights waits for space on the data directory: %s", exc)
                    else:
                        log.exception("insights round failed")
                self._failing = True
                self._drop()
                self._stop_event.wait(1.0)
                continue
            self._failing = False
            if self._read < self._read_limit:
                self._stop_event.wait(self._poll_s)
        try:
            if not self._lease_lost:
                self.flush(self._clock())
        except Exception:
            log.exception("insights: final flush failed (the events are counted again on the next start)")
        if self._owned:
            self.counts.close()

    def stop(self) -> None:
        """Ask the thread to stop (join it afterwards); it commits its counts first."""
        self._stop_event.set()

    def close(self) -> None:
        """Release the counts store (for a worker never started)."""
        if not self.is_alive() and self._owned:
            self.counts.close()

    def caught_up_seq(self) -> int:
        """Every event of this worker's accounts with seq <= this is counted and committed."""
        return self._committed

    def _load_cursors(self) -> None:
        self._cursors = {s: seq for s, seq in self.counts.cursors().items() if s in self._shards}
        self._pos = self._committed = min(self._cursors.values())

    # --- one round ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Count up to ``read_limit`` new events, commit when due, analyse when due, purge when
        due. Returns the number of events read."""
        now = self._clock()
        self._read = self.count_new()
        if len(self._cells) >= self._max_batched or now - self._last_flush >= self._interval_s:
            self.flush(now)
        self.analysed = 0
        if now >= self._next_analyse:
            self.flush(now)
            self.send_outbox()
            self.analysed = self.analyse(now)
            self._next_analyse = now + self._analyse_every_s
        if now >= self._next_purge:
            self.counts.purge(int(now // 60), None if self._all else self._mine)
            self._next_purge = now + self._purge_interval_s
        return self._read

    def count_new(self) -> int:
        """Read and count up to ``read_limit`` events after the position; returns how many."""
        cols = self._events.read_columns(self._pos, self._read_limit)
        if not len(cols):
            return 0
        names = cols.partition_names
        cells, attrs = self._cells, self._attrs
        counted = {p: n for p, n in names.items() if n[2] in (MANAGEMENT, DATA) and self._mine(n[0])}
        # a shard whose cursor is above the position (a worker taking over shards at different
        # cursors) has its events up to that cursor counted already
        floors = {p: self._cursors[shard_of(n[0])] for p, n in counted.items()
                  if self._cursors[shard_of(n[0])] > self._pos}
        seqs = cols.seqs
        # when some partitions are not counted, the records of the counted ones are read each on
        # its own (LazyRecords.one): the others, such as the events of PutAuditEvents beside its
        # call's record, are not decompressed; else all at once
        records = cols.records
        record = records.__getitem__ if len(counted) == len(names) else getattr(records, "one", records.__getitem__)
        for i, part in enumerate(cols.partitions if counted else ()):
            name = counted.get(part)
            if name is None or (floors and seqs[i] <= floors.get(part, 0)):
                continue
            raw = record(i)
            if skippable(raw, name[2]):
                continue
            for c in parse_counted(raw, *name):
                cells[c.series, c.minute] += 1
                for i, value in enumerate(c.attributions):
                    attrs[c.series, c.minute, i, value] += 1
        self._pos = cols.seqs[-1]
        return len(cols)

    def _drop(self) -> None:
        self._cells.clear()
        self._attrs.clear()
        self._load_cursors()

    def flush(self, now: float) -> None:
        """Commit the counts in memory and the position as the cursor of each of the worker's
        shards whose cursor was lower (one transaction)."""
        self._last_flush = now
        moved = [s for s, seq in self._cursors.items() if self._pos > seq]
        if not moved and not self._cells:
            return
        self.counts.apply(self._cells, self._attrs, self._pos, now, int((now - self._grace_s) // 60), moved)
        self._cells.clear()
        self._attrs.clear()
        self._cursors.update((s, self._pos) for s in moved)
        self._committed = min(self._cursors.values())

    # --- detection ---------------------------------------------------------------------------
    def analyse(self, now: float) -> int:
        """Analyse every watched series that is due (module docstring); returns how many were."""
        watches = [w for w in self._scope.watches() if self._mine(w.account_id)]
        closed_end = int((now - self._grace_s) // 60)
        firsts = self.counts.first_minutes()
        done = 0
        horizon = self._params.quiet_minutes + 1
        for state in self.counts.states(sorted({w.account_id for w in watches}), horizon):
            if not self._mine(state.key.account_id):  # an open anomaly of another shard's account
                continue
            if not _watched(state.key, watches):
                if state.open_start is not None:  # Insights turned off: the open anomaly ends where analysis was
                    until = max(state.open_start + 1, state.analysed_until or 0)
                    minutes, counts = self.counts.minute_counts(state.id, state.open_start - detector.LOOKBACK_MINUTES, until)
                    self._emit(state, self._ended(state, state.open_start, until, minutes, counts),
                               self.counts.anomalies(state.id))
                continue
            waited = now - self._seen.setdefault(state.id, now)
            if now - state.changed_at < self._settle_s and waited < self._max_wait_s:
                continue
            # past its newest minute a series counts zeros: analysed up to the quiet minutes that end
            # an anomaly still open there, the rest when newer counts come
            end = min(closed_end, state.newest + horizon)
            if state.analysed_until is not None and state.analysed_until >= end and state.dirty_from is None:
                continue
            self._analyse_series(state, firsts[state.key.account_id, state.key.region], end)
            self._seen[state.id] = now
            done += 1
        self.send_outbox()
        return done

    def _analyse_series(self, state: SeriesState, history_start: int, closed_end: int) -> None:
        if state.kept_from is not None:  # counts before kept_from were purged: they are not zeros
            history_start = max(history_start, state.kept_from + detector.LOOKBACK_MINUTES - detector.BASELINE_MINUTES)
        base = history_start + detector.BASELINE_MINUTES
        if state.analysed_until is None:
            start = base
        else:
            start = min(x for x in (state.analysed_until, state.dirty_from, state.open_start) if x is not None)
        written = self.counts.anomalies(state.id)
        for s, e in written.items():  # from inside (or just after) a written anomaly: from its start
            if s <= start and (e is None or start <= e):
                start = s
        start = max(start, min(base, closed_end))
        if start < closed_end:
            minutes, counts = self.counts.minute_counts(state.id, start - detector.LOOKBACK_MINUTES, closed_end)
            found = self._detect(minutes, counts, history_start, start, closed_end)
            found_starts = {a.start for a in found}
            if state.open_start is not None and state.open_start not in found_starts:
                # the anomaly whose Start is written is no longer found (its counts changed): end it
                until = max(state.open_start + 1, state.analysed_until or 0)
                self._emit(state, self._ended(state, state.open_start, until, minutes, counts), written)
            for anomaly in found:
                self._emit(state, anomaly, written)
        self.counts.record_analysed(state.id, max(closed_end, state.analysed_until or closed_end), state.dirty_from)

    def _detect(self, minutes: list[int], counts: list[int], history_start: int, start: int, end: int) -> list[Anomaly]:
        """:func:`.detector.detect` over [start, end), one stretch of counts at a time: where two
        counted minutes are more than the lookback and the quiet minutes apart, no anomaly can start
        in between (only zeros) and one before has ended, so each stretch is analysed alone (a
        single record dated long ago does not make the detector walk every minute since)."""
        gap = detector.LOOKBACK_MINUTES + self._params.quiet_minutes + 1
        found: list[Anomaly] = []
        first = 0
        for i in range(1, len(minutes) + 1):
            if i < len(minutes) and minutes[i] - minutes[i - 1] <= gap:
                continue
            lo, hi = max(start, minutes[first]), min(end, minutes[i - 1] + self._params.quiet_minutes + 1)
            if lo < hi:
                found += detector.detect(minutes[first:i], counts[first:i],
                                         max(history_start, lo - detector.LOOKBACK_MINUTES), lo, hi, self._params)
            first = i
        return found

    def _ended(self, state: SeriesState, start: int, end: int, minutes: list[int], counts: list[int]) -> Anomaly:
        by_minute = dict(zip(minutes, counts))
        window = detector.BASELINE_MINUTES
        baseline = sum(n for m, n in by_minute.items() if start - window <= m < start) / window
        total = sum(n for m, n in by_minute.items() if start <= m < end)
        return Anomaly(start, end, baseline, window, by_minute.get(start, 0), 1, total / (end - start))

    def _emit(self, state: SeriesState, anomaly: Anomaly, written: dict[int, int | None]) -> None:
        key = state.key
        has_start = anomaly.start in written
        if has_start and (written[anomaly.start] is not None or anomaly.end is None):
            return
        start_id, end_id, _ = records.event_ids(key, anomaly.start)
        events: list[Outgoing] = []
        if not has_start:
            attributions = self._attributions(state, anomaly.start, anomaly.start + anomaly.start_duration,
                                              anomaly.baseline_duration)
            events.append(self._outgoing(key, start_id, anomaly.start, records.start_record(key, anomaly, attributions)))
        if anomaly.end is not None:
            attributions = self._attributions(state, anomaly.start, anomaly.end, anomaly.baseline_duration)
            events.append(self._outgoing(key, end_id, anomaly.end, records.end_record(key, anomaly, attributions)))
        self.counts.record_events(state.id, anomaly.start, anomaly.end, events)
        written[anomaly.start] = anomaly.end
        self._pending += len(events)
        if self._pending >= OUTBOX_BATCH:
            self.send_outbox()

    @staticmethod
    def _outgoing(key: SeriesKey, event_id: str, minute: int, record: dict[str, Any]) -> Outgoing:
        return Outgoing(event_id, key.account_id, key.region, minute * 60, key.event_name, key.event_source,
                        orjson.dumps(record))

    def _attributions(self, state: SeriesState, start: int, end: int, baseline_minutes: int) -> list[records.Attribution]:
        insight = self.counts.attribution_totals(state.id, start, end)
        baseline = self.counts.attribution_totals(state.id, start - baseline_minutes, start)
        names = ATTRIBUTES if state.key.insight_type == CALL_RATE else ATTRIBUTES[:2]
        return [records.Attribution(name, top_values(insight.get(i, {}), end - start),
                                    top_values(baseline.get(i, {}), baseline_minutes)) for i, name in enumerate(names)]

    def send_outbox(self) -> int:
        """Append the outbox's events to the event store, then forget them; returns how many."""
        self._pending = 0
        waiting = [o for o in self.counts.outbox() if self._mine(o.account_id)]
        if not waiting:
            return 0
        self._events.append([NewEvent(o.event_id, o.event_time, o.account_id, o.region, "Insight", o.record,
                                      (("EventId", o.event_id), ("EventName", o.event_name), ("EventSource", o.event_source)))
                             for o in waiting])
        self.counts.appended([o.event_id for o in waiting])
        return len(waiting)
