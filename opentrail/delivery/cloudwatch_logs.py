"""Trail -> CloudWatch Logs: a consumer of the durable event log that appends each selected event of
a trail with CloudWatchLogsLogGroupArn to that log group, as one log event, exactly once.

What AWS does (CloudTrail User Guide, "Sending events to CloudWatch Logs", "CloudWatch log group
and log stream naming for CloudTrail"), and opentrail with it:

- The events the trail's selectors take (:mod:`.routing`, exactly as trail delivery decides,
  global service events included only with IncludeGlobalServiceEvents) go to the trail's log
  group, each as one log event whose message is the record's JSON (its stored bytes).
- Insights events go to the log group of the trails whose InsightSelectors have their
  insightType (as to the trail's bucket: :func:`.routing.insight_route`; CloudTrail sends a trail's Insights
  events to its log group too: shared/reference/insights.md, C.3).
- Log stream ``<account>_CloudTrail_<region>`` (``region`` = the record's awsRegion): a
  multi-Region trail sends every Region's events to its one log group, one stream per Region.
  The stream is created on first use. An organization trail sends every member account's events
  (:func:`opentrail.trails.organization.covered`, when routed) to its log group, in streams
  ``<o-id>_<account>_CloudTrail_<region>`` (the User Guide's role policy for organization trails
  allows ``log-stream:o-exampleorgid_*``).
- The log event's timestamp is the delivery time (milliseconds), not eventTime.
- Events over 256 KB are not sent (:data:`MAX_EVENT_BYTES`; opentrail's ingest refuses them
  already, so this only guards events stored some other way).
- Only while the trail is logging, and only to the log group in force when the event was
  appended: StartLogging/StopLogging and changes of CloudWatchLogsLogGroupArn are marks in the
  event log's order (:mod:`.marks`), as for trail delivery.

**Batches.** Per (trail, Region) events are batched in memory; a batch is closed when it holds
:data:`MAX_BATCH_EVENTS` events or :data:`MAX_BATCH_BYTES` (UTF-8 bytes + 26 per event: the
PutLogEvents limits), when the log group changes, or when its oldest event has waited
``interval_s`` (``--delivery-interval-s``).

**Exactly once across kill -9** (:mod:`.cloudwatch_logs_state`): closed batches are *planned* --
destination, a fresh batch id and their events' seqs committed to ``cloudwatch-logs.db`` with the
trail's cursors, one transaction per round -- then appended with
``LogsService.append_events(..., batch_id=...)``, which ignores a batch id it already holds
(committed in the log store's transaction with the events), and only then forgotten
(:mod:`.cloudwatch_logs_append`). A crash before the plan commit loses only in-memory batches,
whose events are read again; a crash after it appends the plan again (rebuilt from the event
store) and the log store drops the repeat. Failures are retried with backoff and reported in
GetTrailStatus (:mod:`.cloudwatch_logs_append`).

**Threads.** :meth:`CloudWatchLogsWorker.run` reads, routes and plans on its thread and appends on a
second one, so the two overlap (each also waits on its own fsyncs); the reader pauses while
:data:`MAX_BUFFERED_EVENTS` planned events wait to be appended.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import orjson

from ..events.record import MAX_RECORD_BYTES, is_region_name
from ..store.base import EventColumns, EventStore
from ..shards import every_unit
from ..trails.model import Trail
from ..trails.organization import OrganizationDirectory, covered
from ..trails.service import TrailService
from .cloudwatch_logs_append import LogBatchAppender, LogEventAppender
from .cloudwatch_logs_state import CloudWatchLogsState, LogPlan, new_batch_id
from .logfile import to_runs
from .marks import settled_marks
from .routing import ALWAYS, INSIGHT, NEVER, insight_route, partition_route, raw_decider, takes_insight, takes_record
from .state import DeliveryState, LogGroupMark, Mark

log = logging.getLogger(__name__)

#: Events larger than this (bytes of the record's JSON) are not sent (AWS: 256 KB). Ingest already
#: refuses larger records (the same limit); this guards events stored otherwise.
MAX_EVENT_BYTES = MAX_RECORD_BYTES
#: PutLogEvents limits: events per batch, and bytes per batch counting :data:`EVENT_OVERHEAD_BYTES` per event.
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
#: Events held in memory for planned batches not yet appended, at most: beyond it the reading
#: thread waits for the appending one.
MAX_BUFFERED_EVENTS = 100_000
#: Events read from the log per round.
READ_LIMIT = 5000
#: How often (clock seconds) per-trail read cursors are saved when no batch was planned.
CHECKPOINT_EVERY_S = 1.0


def _parse_insight(raw: bytes) -> bool | None:
    """Insights events are decided on the parsed record (:func:`.routing.takes_insight`)."""
    return None


def log_stream_name(account_id: str, region: str, organization_id: str | None = None) -> str:
    """``<account>_CloudTrail_<region>``: the stream CloudTrail writes a Region's events to;
    ``<o-id>_<account>_CloudTrail_<region>`` for a member account of an organization trail."""
    org = f"{organization_id}_" if organization_id else ""
    return f"{org}{account_id}_CloudTrail_{region}"


def destinations(marks: Sequence[Mark], group_marks: Sequence[LogGroupMark]) -> tuple[list[int], list[str | None]]:
    """The log group a trail sends to, as change points: ``points`` ascending and, for each,
    the group that events appended after it go to (None: not sent -- no group, or not logging),
    until the next point."""
    changes = sorted([(m.seq, 0, i) for i, m in enumerate(marks)] + [(m.seq, 1, i) for i, m in enumerate(group_marks)])
    points: list[int] = []
    groups: list[str | None] = []
    logging_on, group = False, None
    for seq, kind, i in changes:
        if kind == 0:
            logging_on = marks[i].logging
        else:
            group = group_marks[i].group_arn
        target = group if logging_on else None
        if points and points[-1] == seq:
            groups[-1] = target
        else:
            points.append(seq)
            groups.append(target)
    return points, groups


@dataclass(slots=True)
class _View:
    """A trail the worker follows: where its events go (:func:`destinations`) and ``seen``, the
    newest seq already routed for it."""

    trail: Trail
    points: list[int]
    groups: list[str | None]
    seen: int
    #: (organization id, accounts covered) of an organization trail; (None, {own account}) otherwise
    organization_id: str | None = None
    accounts: frozenset[str] = frozenset()

    def group_at(self, seq: int) -> str | None:
        i = bisect.bisect_left(self.points, seq) - 1
        return self.groups[i] if i >= 0 else None


@dataclass(slots=True)
class _Batch:
    started: float
    group_arn: str
    seqs: list[int] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    size: int = 0


class CloudWatchLogsWorker(threading.Thread):
    """Sends the events of every trail with a log group to it (``owns(arn)`` true: one shard's
    trails, :mod:`opentrail.shards`; None: all). ``clock`` gives epoch seconds.
    :meth:`step` does one round (tests call it directly)."""

    def __init__(self, store: EventStore, trails: TrailService, logs: LogEventAppender, delivery_state: DeliveryState,
                 state: CloudWatchLogsState, *, clock: Callable[[], float], interval_s: float = 2.0,
                 read_limit: int = READ_LIMIT, poll_s: float = 0.1, max_backoff_s: float = 30.0,
                 max_batch_events: int = MAX_BATCH_EVENTS, max_batch_bytes: int = MAX_BATCH_BYTES,
                 organizations: OrganizationDirectory | None = None,
                 owns: Callable[[str], bool] | None = None) -> None:
        super().__init__(name="opentrail-cloudwatch-logs", daemon=True)
        #: whom organization trails cover (None: no organizations; settable after construction)
        self.organizations = organizations
        self._store, self._trails, self._logs = store, trails, logs
        self._marks, self._state, self._clock = delivery_state, state, clock
        self._interval_s, self._read_limit, self._poll_s = interval_s, read_limit, poll_s
        self._max_backoff_s, self._max_events, self._max_bytes = max_backoff_s, max_batch_events, max_batch_bytes
        self._stop_event = threading.Event()
        self._versions: tuple[int, int, int] | None = None
        self._views: dict[str, _View] = {}
        self._batches: dict[tuple[str, str], _Batch] = {}
        self._closing: list[tuple[tuple[str, str], _Batch, int]] = []
        self._owns = owns
        mine = owns or every_unit
        self._planned = {key: seq for key, seq in state.planned_seqs().items() if mine(key[0])}
        self._read_seqs = {arn: seq for arn, seq in state.read_seqs().items() if mine(arn)}
        self._saved_read_seqs = dict(self._read_seqs)
        self._last_checkpoint = float("-inf")
        self._appender = LogBatchAppender(store, trails, logs, state, still_wanted=self._still_wanted,
                                          max_backoff_s=max_backoff_s, owns=owns)
        self._wake = threading.Event()
        self._skipped_regions: set[tuple[str, str]] = set()
        self._pos = 0
        #: Events not sent for being over :data:`MAX_EVENT_BYTES` (since start).
        self.skipped_large = 0

    # --- threads -----------------------------------------------------------------------------
    def run(self) -> None:
        """Route and plan on this thread; append on a second one, so reading the event log and
        writing log events overlap (each waits on its own fsyncs)."""
        appender = threading.Thread(target=self._append_loop, name="opentrail-cloudwatch-logs-append", daemon=True)
        appender.start()
        while not self._stop_event.is_set():
            if self._appender.buffered >= MAX_BUFFERED_EVENTS:  # the appender is behind: let it catch up
                self._stop_event.wait(0.01)
                continue
            try:
                n = self._round(self._clock())
            except Exception:  # keep delivering; the failed round is redone from durable state
                log.exception("CloudWatch Logs delivery round failed")
                n = 0
                self._stop_event.wait(1.0)
            if n < self._read_limit:
                self._stop_event.wait(self._poll_s)
        self._wake.set()
        appender.join(timeout=60)

    def _append_loop(self) -> None:
        while not self._stop_event.is_set():
            self._wake.clear()
            try:
                more = self._appender.append_due(self._clock())
            except Exception:
                log.exception("CloudWatch Logs append round failed")
                more = False
                self._stop_event.wait(1.0)
            if not more:
                self._wake.wait(self._poll_s)

    def stop(self) -> None:
        """Ask the threads to stop (join this one afterwards). Open batches are not planned: their
        events are read again from the log on the next start."""
        self._stop_event.set()
        self._wake.set()

    # --- one round ---------------------------------------------------------------------------
    def step(self) -> int:
        """One round on the calling thread: refresh trails, route up to ``read_limit`` new events,
        plan closed batches, save cursors, then append the due plans. Returns the number of events
        read. (Tests call it; the thread runs the two halves on two threads.)"""
        now = self._clock()
        n = self._round(now)
        self._appender.append_due(now)
        return n

    def _round(self, now: float) -> int:
        self._refresh()
        n = 0
        if self._views:
            cols = self._store.read_columns(self._pos, self._read_limit)
            n = len(cols)
            if n:
                self._route(cols, now)
                self._pos = cols.seqs[-1]
                for view in self._views.values():
                    view.seen = max(view.seen, self._pos)
        for key, batch in list(self._batches.items()):
            if now - batch.started >= self._interval_s:
                self._close(key, self._views[key[0]].seen)
        if self._closing:
            self._commit_plans()
        if now - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            self._checkpoint()
            self._last_checkpoint = now
        return n

    def pending_batches(self) -> int:
        """Planned batches not yet appended."""
        return self._appender.pending()

    def open_events(self) -> int:
        """Events batched in memory, not yet in a planned batch."""
        return sum(len(b.seqs) for b in self._batches.values())

    # --- trails ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        orgs = self.organizations
        org_version = orgs.version if orgs is not None else 0
        versions = (self._trails.version, self._marks.version, org_version)
        if self._versions == versions:
            return
        with self._marks.lock:
            trails, marks, group_marks = settled_marks(self._trails, self._marks, self._store, self._owns)
            self._versions = versions  # read before trails and marks: a later change shows next round
        views: dict[str, _View] = {}
        for trail in trails:
            placed = group_marks.get(trail.arn)
            if not placed:
                continue
            points, groups = destinations(marks.get(trail.arn, []), placed)
            old = self._views.get(trail.arn)
            seen = old.seen if old is not None else self._read_seqs.setdefault(trail.arn, placed[0].seq)
            org_id, accounts = covered(orgs, trail.account_id, trail.is_organization_trail)
            views[trail.arn] = _View(trail, points, groups, seen, org_id, accounts)
        for key in [k for k in self._batches if k[0] not in views]:
            del self._batches[key]
        for arn in [a for a in self._read_seqs if a not in views]:
            del self._read_seqs[arn]
            self._saved_read_seqs.pop(arn, None)
            self._planned = {k: v for k, v in self._planned.items() if k[0] != arn}
            self._state.forget_trail(arn)
        self._views = views
        if views:
            self._pos = min(v.seen for v in views.values())

    # --- batching ----------------------------------------------------------------------------
    def _route(self, cols: EventColumns, now: float) -> None:
        """Add the events of ``cols`` each trail takes to its (trail, Region) batches, each batch
        in seq order. Where every event of a Region's partitions is taken and the log group does
        not change within the read (the default selection, the common case), the events are added
        as runs (:meth:`_add_run`), not one by one."""
        seqs, partitions, records = cols.seqs, cols.partitions, cols.records
        n, last = len(seqs), seqs[-1]
        for arn, view in self._views.items():
            trail = view.trail
            decide: dict[int, tuple[str, Callable[[bytes], bool | None] | None, str]] = {}
            by_region: dict[str, list[int]] = {}
            for pid, (account, region, category) in cols.partition_names.items():
                if account not in view.accounts:
                    continue
                if not is_region_name(region):
                    self._skip_region(account, region)
                    continue
                if category == INSIGHT:  # Insights events go where the trail's InsightSelectors say
                    route = insight_route(trail, account, region, view.accounts)
                    quick = _parse_insight
                else:
                    route = partition_route(trail, account, region, category, view.accounts)
                    quick = None if route == ALWAYS else raw_decider(trail, category)
                if route == NEVER:
                    continue
                decide[pid] = (region, quick, category)
                # an organization trail: one stream per (member account, Region)
                by_region.setdefault(f"{account}/{region}" if view.organization_id else region, []).append(pid)
            start = bisect.bisect_right(seqs, view.seen)
            if not decide or start >= n:
                continue
            lo = bisect.bisect_left(view.points, seqs[start]) - 1
            steady = lo == bisect.bisect_left(view.points, last) - 1
            steady_group = view.groups[lo] if lo >= 0 else None
            if steady and steady_group is None:
                continue
            for region, positions in self._positions(cols, start, decide, by_region).items():
                key = (arn, region)
                after = self._planned.get(key, 0)
                if positions and seqs[positions[0]] <= after:  # already planned before a restart
                    positions = positions[bisect.bisect_right(positions, after, key=seqs.__getitem__):]
                if not positions:
                    continue
                if steady and all(decide[pid][1] is None for pid in by_region[region]):
                    if isinstance(positions, range):
                        self._add_run(key, steady_group, seqs[positions.start:positions.stop],  # type: ignore[arg-type]
                                      records[positions.start:positions.stop], now)
                    else:
                        self._add_run(key, steady_group, [seqs[i] for i in positions],  # type: ignore[arg-type]
                                      [records[i] for i in positions], now)
                    continue
                for i in positions:
                    seq = seqs[i]
                    group = steady_group if steady else view.group_at(seq)
                    if group is None:
                        continue
                    _, quick, category = decide[partitions[i]]
                    raw = records[i]
                    if quick is not None:
                        taken = quick(raw)
                        if taken is None:
                            parsed: Any = orjson.loads(raw)
                            parsed = parsed if isinstance(parsed, dict) else {}
                            taken = (takes_insight(trail, parsed) if category == INSIGHT
                                     else takes_record(trail, category, parsed))
                        if not taken:
                            continue
                    self._add(key, group, seq, raw, now)

    @staticmethod
    def _positions(cols: EventColumns, start: int, decide: dict[int, Any],
                   by_region: dict[str, list[int]]) -> dict[str, Sequence[int]]:
        """Per Region: the positions (from ``start`` on, ascending) of the events of its partitions."""
        if len(cols.partition_names) == 1:
            return {region: range(start, len(cols.seqs)) for region in by_region}
        lists: dict[int, list[int]] = {pid: [] for pid in decide}
        get = lists.get
        partitions = cols.partitions
        for i in range(start, len(cols.seqs)):
            found = get(partitions[i])
            if found is not None:
                found.append(i)
        return {region: lists[pids[0]] if len(pids) == 1 else sorted(i for pid in pids for i in lists[pid])
                for region, pids in by_region.items()}

    def _add_run(self, key: tuple[str, str], group_arn: str, seqs: Sequence[int], records: Sequence[bytes],
                 now: float) -> None:
        """:meth:`_add` for each event of a run, batches filled by slices."""
        costs = [len(r) + EVENT_OVERHEAD_BYTES for r in records]
        if max(costs) > MAX_EVENT_BYTES + EVENT_OVERHEAD_BYTES:  # rare: one at a time, skipping those
            for seq, raw in zip(seqs, records):
                self._add(key, group_arn, seq, raw, now)
            return
        i, total = 0, len(seqs)
        while i < total:
            batch = self._batches.get(key)
            if batch is not None and batch.group_arn != group_arn:
                self._close(key, seqs[i] - 1)
                batch = None
            if batch is None:
                batch = self._batches[key] = _Batch(now, group_arn)
            room = self._max_events - len(batch.seqs)
            sums = list(itertools.accumulate(costs[i:i + room]))
            take = bisect.bisect_right(sums, self._max_bytes - batch.size)
            if take == 0:
                self._close(key, seqs[i] - 1)
                continue
            batch.seqs.extend(seqs[i:i + take])
            batch.records.extend(records[i:i + take])
            batch.size += sums[take - 1]
            i += take
            if i < total:  # the next event does not fit: the batch is full
                self._close(key, seqs[i] - 1)

    def _add(self, key: tuple[str, str], group_arn: str, seq: int, raw: bytes, now: float) -> None:
        size = len(raw)
        if size > MAX_EVENT_BYTES:
            self.skipped_large += 1
            log.warning("event at seq %d of trail %s not sent to CloudWatch Logs: %d bytes, over 256 KB",
                        seq, key[0], size)
            return
        cost = size + EVENT_OVERHEAD_BYTES
        batch = self._batches.get(key)
        if batch is not None and (batch.group_arn != group_arn or len(batch.seqs) >= self._max_events
                                  or batch.size + cost > self._max_bytes):
            self._close(key, seq - 1)
            batch = None
        if batch is None:
            batch = self._batches[key] = _Batch(now, group_arn)
        batch.seqs.append(seq)
        batch.records.append(raw)
        batch.size += cost

    def _skip_region(self, account: str, region: str) -> None:
        if (account, region) not in self._skipped_regions:
            self._skipped_regions.add((account, region))
            log.warning("not sending events of account %s stored under Region %r to CloudWatch Logs: not a Region name",
                        account, region)

    def _close(self, key: tuple[str, str], through: int) -> None:
        """Close ``key``'s batch: it covers the trail's events of that Region up to ``through``."""
        self._closing.append((key, self._batches.pop(key), through))

    def _read_seq(self, arn: str, through: int) -> int:
        """Where a restart must read from for ``arn``: before its oldest unplanned batched event."""
        firsts = [b.seqs[0] - 1 for (a, _), b in self._batches.items() if a == arn]
        return min([through, *firsts])

    def _commit_plans(self) -> None:
        closing, self._closing = self._closing, []
        plans = [LogPlan(new_batch_id(), arn, region, batch.group_arn, self._stream_name(arn, region),
                         tuple(to_runs(batch.seqs)), len(batch.seqs), through) for (arn, region), batch, through in closing]
        read_seqs = {arn: self._read_seq(arn, self._views[arn].seen) for (arn, _), _, _ in closing}
        committed = self._state.add_plans(plans, read_seqs)
        self._read_seqs.update(read_seqs)
        self._saved_read_seqs.update(read_seqs)
        for plan, (key, batch, through) in zip(committed, closing):
            self._planned[key] = through
            # a failing destination's batches are read again from the event store when due
            self._appender.add(plan, None if self._appender.failing(key) else batch.records)
        self._wake.set()

    def _stream_name(self, arn: str, key: str) -> str:
        """The log stream of batch key ``key``: a Region, or ``<account>/<region>`` of an organization trail."""
        view = self._views[arn]
        account, sep, region = key.partition("/")
        if not sep:
            return log_stream_name(view.trail.account_id, key)
        return log_stream_name(account, region, view.organization_id)

    def _checkpoint(self) -> None:
        changed: dict[str, int] = {}
        for arn, view in self._views.items():
            seq = self._read_seq(arn, view.seen)
            self._read_seqs[arn] = seq
            if self._saved_read_seqs.get(arn) != seq:
                changed[arn] = seq
        if changed:
            self._state.set_read_seqs(changed)
            self._saved_read_seqs.update(changed)

    def _still_wanted(self, plan: LogPlan) -> bool:
        """Whether ``plan``'s trail still sends to its log group (else a failing plan is dropped)."""
        view = self._views.get(plan.arn)
        return view is not None and view.trail.cloud_watch_logs_log_group_arn == plan.group_arn
