"""The delivery worker: a consumer of the durable event log that writes each trail's log files.

One thread follows ``store.read_columns(pos, n)`` (the log as columns), hands each event to the
trails that take it (:mod:`.routing`, logging marks from :mod:`.marks`) and batches them per
(trail, Region). Routing is decided once per partition of a read where it can be (the default
selection needs no record parsed) and per record only where selectors need it. A batch
becomes a log file when it holds :data:`~.logfile.MAX_RECORDS_PER_FILE` records or
:data:`~.logfile.MAX_RAW_BYTES_PER_FILE` bytes, or when its oldest event has waited
``interval_s`` seconds (clock time).

Exactly once (see :mod:`.state`): a file is first *planned* -- its key and the seqs of its events
committed to ``delivery.db`` together with the trail's cursors -- then uploaded; the plan is deleted
(and the delivered cursor moved) only after the upload succeeded. A crash before the plan commit
leaves nothing uploaded and the events are read again; a crash after it uploads the same key with
the same bytes (rebuilt from the event store) on restart. Uploads that fail are retried with
exponential backoff (1 s doubling up to ``max_backoff_s``) per (trail, Region), each attempt
reported through ``TrailService.record_delivery`` (LatestDeliveryError is the S3 error code,
``RequestTimeout`` when the storage took the connection but did not answer within the read
timeout, or ``ServiceUnavailable`` when it cannot be reached; :func:`delivery_error`). After a successful upload a trail with
an SNS topic gets a notification (:mod:`.notify`), which never blocks delivery.

Insights events (stored category ``Insight``) go to a second stream per (trail, Region),
``<region>/Insight`` (:func:`.logfile.stream`), batched, planned and uploaded exactly like the
first -- its own planned/delivered cursors and plans in ``delivery.db``, the trail's read cursor
shared (before the oldest unplanned event of either stream) -- into ``CloudTrail-Insight`` files,
for trails whose InsightSelectors take them (:func:`.routing.insight_route`,
:func:`.routing.takes_insight`); event selectors never send an Insights event to the
``CloudTrail`` files. ``on_delivered`` is told the Region, so digests list Insights files in the
Region's digest with the other log files.

Organization trails (:mod:`opentrail.trails.organization`): a trail with IsOrganizationTrail takes
the events of every account its organization has *when the worker routes them* (it looks again
whenever an organization changes: ``organizations.version``), one stream per (member account,
Region, kind) (:func:`.logfile.stream`), into ``AWSLogs/<o-id>/<account>/...`` files named after the
member account. An account removed from the organization is not routed from then on (its open batch
is still planned); one that joins is routed from then on.

Keys are built only from checked parts: the trail's account (12 digits) and a Region that is a
Region name (:func:`opentrail.events.record.is_region_name`). The ingest path rejects records
with any other ``awsRegion``; events stored under such a Region before that check existed are
skipped with one warning per (account, Region), and plans of such a Region left in
``delivery.db`` are dropped at start with a warning, so they never block delivery.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import orjson

from ..events.record import is_region_name
from ..objectstore.base import NoSuchBucket, ObjectStorage, StorageError, StorageUnavailable
from ..store.base import EventColumns, EventStore
from ..shards import every_unit
from ..trails.model import Trail
from ..trails.organization import OrganizationDirectory, covered
from ..trails.service import TrailService
from .logfile import (MAX_RAW_BYTES_PER_FILE, MAX_RECORDS_PER_FILE, BodyCompressor, fill_points, log_file_body,
                      log_file_key, random_unique, stream, stream_account, stream_parts, to_runs)
from .marks import settled_marks
from .notify import SnsNotifier
from .routing import INSIGHT, NEVER, PER_RECORD, insight_route, partition_route, raw_decider, takes_insight, takes_record
from .state import DeliveryState, Mark, Plan

log = logging.getLogger(__name__)

#: Default age (seconds) at which a trail's batch becomes a log file (the setting's default).
DEFAULT_INTERVAL_S = 2.0
#: Events read from the log per step.
READ_LIMIT = 5000
#: How often (clock seconds) per-trail read cursors are saved when no file was planned.
CHECKPOINT_EVERY_S = 1.0


def delivery_error(exc: StorageError) -> str:
    """The LatestDeliveryError text for a failed upload: the S3 error code; for storage that did
    not answer, ``RequestTimeout`` (no answer within the read timeout) or ``ServiceUnavailable``
    (unreachable) -- see :mod:`opentrail.endpoints`."""
    if isinstance(exc, NoSuchBucket):
        return "NoSuchBucket"
    if isinstance(exc, StorageUnavailable):
        return exc.code
    code = str(exc).split(":", 1)[0]
    return code if code and code.isalnum() else "InternalError"


_KEY_ORGANIZATION = re.compile(r"(?:^|/)AWSLogs/(o-[a-z0-9]{10,32})/\d{12}/")


def digest_scope_of(plan: Plan) -> str:
    """What ``on_delivered`` is told of a delivered file: its Region, or for an organization trail's
    member file ``<o-id>/<account>/<region>`` (:func:`opentrail.digests.format.digest_scope`), the
    organization id read from the file's key."""
    region = stream_parts(plan.region)[0]
    member = stream_account(plan.region)
    found = _KEY_ORGANIZATION.search(plan.key) if member else None
    return f"{found.group(1)}/{member}/{region}" if found else region


@dataclass(slots=True)
class _Batch:
    started: float
    seqs: list[int] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    raw_bytes: int = 0


@dataclass(slots=True)
class _View:
    """A trail the worker follows: its marks and ``seen``, the newest seq already routed for it."""

    trail: Trail
    marks: list[Mark]
    mark_seqs: list[int]
    seen: int
    #: (organization id, accounts covered) of an organization trail; (None, {own account}) otherwise
    organization_id: str | None = None
    accounts: frozenset[str] = frozenset()

    def logging_at(self, seq: int) -> bool:
        i = bisect.bisect_left(self.mark_seqs, seq) - 1
        return i >= 0 and self.marks[i].logging


@dataclass(slots=True)
class _Target:
    """A trail that may take the events of one partition in one read: ``after`` is the newest seq
    already routed or planned for its (trail, stream) batch ``key``; ``check_marks`` when a logging
    change falls inside the read; ``per_record`` when :func:`.routing.takes_record` (for the
    Insight category :func:`.routing.takes_insight`) decides."""

    key: tuple[str, str]
    after: int
    view: _View
    check_marks: bool
    per_record: bool
    category: str


def _parse_insight(raw: bytes) -> None:
    """Insights events are rare: :func:`.routing.takes_insight` decides on the parsed record."""
    return None


class DeliveryWorker(threading.Thread):
    """Delivers log files of every logging trail (``owns(arn)`` true: one shard's trails,
    :mod:`opentrail.shards`; None: all). ``clock`` gives epoch seconds; ``unique`` the
    16-character part of file names. :meth:`step` does one round (tests call it directly)."""

    def __init__(self, store: EventStore, trails: TrailService, storage: ObjectStorage, state: DeliveryState, *,
                 clock: Callable[[], float], interval_s: float = DEFAULT_INTERVAL_S,
                 notifier: SnsNotifier | None = None, max_records: int = MAX_RECORDS_PER_FILE,
                 max_raw_bytes: int = MAX_RAW_BYTES_PER_FILE, read_limit: int = READ_LIMIT,
                 poll_s: float = 0.1, max_backoff_s: float = 30.0, unique: Callable[[], str] = random_unique,
                 on_delivered: Callable[[str, str, str, str, bytes], None] | None = None,
                 organizations: OrganizationDirectory | None = None,
                 owns: Callable[[str], bool] | None = None) -> None:
        super().__init__(name="opentrail-delivery", daemon=True)
        #: whom organization trails cover (None: no organizations; settable after construction)
        self.organizations = organizations
        self._store, self._trails, self._storage, self._state = store, trails, storage, state
        self._clock, self._interval_s, self._notifier = clock, interval_s, notifier
        self._max_records, self._max_raw_bytes, self._read_limit = max_records, max_raw_bytes, read_limit
        self._poll_s, self._max_backoff_s, self._unique = poll_s, max_backoff_s, unique
        #: ``on_delivered(arn, region, bucket, key, body)`` after an upload, before the plan is
        #: forgotten (digests record the file; see opentrail.digests.recorder)
        self._on_delivered = on_delivered
        self._stop_event = threading.Event()
        self._versions: tuple[int, int, int] | None = None
        self._views: dict[str, _View] = {}
        self._by_account: dict[str, list[_View]] = {}
        self._batches: dict[tuple[str, str], _Batch] = {}
        self._owns = owns
        mine = owns or every_unit
        self._planned = {key: seq for key, seq in state.planned_seqs().items() if mine(key[0])}
        self._read_seqs = {arn: seq for arn, seq in state.read_seqs().items() if mine(arn)}
        self._saved_read_seqs = dict(self._read_seqs)
        self._last_checkpoint = float("-inf")
        self._pending: dict[tuple[str, str], deque[Plan]] = {}
        self._skipped: set[tuple[str, str]] = set()
        for plan in state.pending_plans():
            if not mine(plan.arn):
                continue  # another shard's
            if not is_region_name(stream_parts(plan.region)[0]):
                log.warning("dropping planned log file %r of trail %s: Region %r is not a Region name",
                            plan.key, plan.arn, plan.region)
                state.finish_plan(plan)  # never uploaded: its events were stored under a bad Region
                continue
            self._pending.setdefault((plan.arn, plan.region), deque()).append(plan)
        self._bodies: dict[int, bytes | Future[bytes]] = {}
        self._compressor = BodyCompressor()
        self._failures: dict[tuple[str, str], int] = {}
        self._next_attempt: dict[tuple[str, str], float] = {}
        self._pos = 0

    # --- thread ------------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                n = self.step()
            except Exception:  # keep delivering; the failed round is redone from durable state
                log.exception("delivery round failed")
                n = 0
                self._stop_event.wait(1.0)
            if n < self._read_limit:
                self._stop_event.wait(self._poll_s)

    def stop(self) -> None:
        """Ask the thread to stop (join it afterwards). Open batches are not flushed: their events
        are read again from the log on the next start."""
        self._stop_event.set()

    # --- one round ---------------------------------------------------------------------------
    def step(self) -> int:
        """Refresh trails, route up to ``read_limit`` new events, plan due files, upload due plans,
        save cursors. Returns the number of events read."""
        now = self._clock()
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
                self._plan(key, self._views[key[0]].seen, now)
        self._upload_due(now, wait=n < self._read_limit)
        if now - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            self._checkpoint()
            self._last_checkpoint = now
        return n

    def pending_files(self) -> int:
        """Planned files not yet uploaded."""
        return sum(len(q) for q in self._pending.values())

    def open_events(self) -> int:
        """Events batched in memory, not yet in a planned file."""
        return sum(len(b.seqs) for b in self._batches.values())

    # --- trails ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        orgs = self.organizations
        org_version = orgs.version if orgs is not None else 0
        versions = (self._trails.version, self._state.version, org_version)
        if self._versions == versions:
            return
        with self._state.lock:
            trails, marks, _ = settled_marks(self._trails, self._state, self._store, self._owns)
            self._versions = versions  # read before trails and marks: a later change shows next round
        views: dict[str, _View] = {}
        for trail in trails:
            have = marks.get(trail.arn)
            if not have:
                continue
            old = self._views.get(trail.arn)
            seen = old.seen if old is not None else self._read_seqs.setdefault(trail.arn, have[0].seq)
            org_id, accounts = covered(orgs, trail.account_id, trail.is_organization_trail)
            views[trail.arn] = _View(trail, have, [m.seq for m in have], seen, org_id, accounts)
        for key in [k for k in self._batches if k[0] not in views]:
            del self._batches[key]
        for arn in [a for a in self._read_seqs if a not in views]:
            del self._read_seqs[arn]
            self._planned = {k: v for k, v in self._planned.items() if k[0] != arn}
        self._views = views
        self._by_account = {}
        for view in views.values():
            for account in view.accounts:
                self._by_account.setdefault(account, []).append(view)
        if views:
            self._pos = min(v.seen for v in views.values())

    # --- batching ----------------------------------------------------------------------------
    def _targets(self, cols: EventColumns) -> dict[int, list[_Target]]:
        """Per partition id of ``cols``: the trails that may take its events, as :class:`_Target`."""
        first, last = cols.seqs[0], cols.seqs[-1]
        routes: dict[int, list[_Target]] = {}
        for pid, (account, region, category) in cols.partition_names.items():
            targets = routes[pid] = []
            if not is_region_name(region):
                self._skip_region(account, region)
                continue
            insight = category == INSIGHT
            for view in self._by_account.get(account, ()):
                if insight:
                    route = insight_route(view.trail, account, region, view.accounts)
                else:
                    route = partition_route(view.trail, account, region, category, view.accounts)
                if route == NEVER:
                    continue
                key = (view.trail.arn, stream(region, insight, account if view.organization_id else None))
                after = max(view.seen, self._planned.get(key, 0))
                if after >= last:
                    continue
                # marks are rare: when none falls inside this read, logging is the same throughout
                i = bisect.bisect_left(view.mark_seqs, max(first, after + 1)) - 1
                steady = i == bisect.bisect_left(view.mark_seqs, last) - 1
                if steady and not (i >= 0 and view.marks[i].logging):
                    continue
                targets.append(_Target(key, after, view, not steady, route == PER_RECORD, category))
        return routes

    def _skip_region(self, account: str, region: str) -> None:
        if (account, region) not in self._skipped and account in self._by_account:
            self._skipped.add((account, region))
            log.warning("not delivering events of account %s stored under Region %r: not a Region name "
                        "(stored before the ingest check; they stay in event history)", account, region)

    def _positions(self, cols: EventColumns, routes: dict[int, list[_Target]]) -> dict[tuple[str, str], Sequence[int]]:
        """Per (trail, stream) batch key: the positions in ``cols`` of the events it takes, ascending."""
        seqs = cols.seqs
        live = {pid: targets for pid, targets in routes.items() if targets}
        if not live:
            return {}
        by_partition: dict[int, Sequence[int]]
        if len(cols.partition_names) == 1:
            by_partition = {pid: range(len(seqs)) for pid in live}
        else:
            lists: dict[int, list[int]] = {pid: [] for pid in live}
            get = lists.get
            for i, pid in enumerate(cols.partitions):
                found = get(pid)
                if found is not None:
                    found.append(i)
            by_partition = dict(lists)
        parsed: dict[int, dict[str, Any]] = {}

        records = cols.records

        def parse_takes(t: _Target, i: int) -> bool:
            value = parsed.get(i)
            if value is None:
                loaded = orjson.loads(records[i])
                value = parsed[i] = loaded if isinstance(loaded, dict) else {}
            if t.category == INSIGHT:
                return takes_insight(t.view.trail, value)
            return takes_record(t.view.trail, t.category, value)

        def taken(t: _Target, found: Sequence[int]) -> list[int]:
            quick = _parse_insight if t.category == INSIGHT else raw_decider(t.view.trail, t.category)
            out = []
            for i in found:
                answer = quick(records[i])
                if answer or (answer is None and parse_takes(t, i)):
                    out.append(i)
            return out

        keyed: dict[tuple[str, str], list[Sequence[int]]] = {}
        for pid, targets in live.items():
            for t in targets:
                found = by_partition[pid]
                found = found[bisect.bisect_right(found, t.after, key=seqs.__getitem__):]
                if t.check_marks:
                    found = [i for i in found if t.view.logging_at(seqs[i])]
                if t.per_record:
                    found = taken(t, found)
                if found:
                    keyed.setdefault(t.key, []).append(found)
        return {k: v[0] if len(v) == 1 else sorted(itertools.chain.from_iterable(v)) for k, v in keyed.items()}

    def _route(self, cols: EventColumns, now: float) -> None:
        """Append the events of ``cols`` to the batches of the trails that take them and plan every
        batch that fills up -- with slices, not per event, yet planning each full batch with exactly
        the state (its own trail's other batches included) it would have when appending the
        events one by one in seq order."""
        by_key = self._positions(cols, self._targets(cols))
        seqs, records, batches = cols.seqs, cols.records, self._batches
        sizes: dict[tuple[str, str], list[int]] = {}
        points: list[tuple[int, int, tuple[str, str], int]] = []
        rank = {arn: i for i, arn in enumerate(self._views)}
        for key, found in by_key.items():
            if isinstance(found, range):
                lengths = list(map(len, records[found.start:found.stop]))
            else:
                lengths = list(map(len, map(records.__getitem__, found)))
            sizes[key] = [n + 1 for n in lengths]  # the comma
            batch = batches.get(key)
            full = fill_points(len(batch.seqs) if batch else 0, batch.raw_bytes if batch else 0, sizes[key],
                               self._max_records, self._max_raw_bytes)
            points.extend((seqs[found[end]], rank[key[0]], key, end) for end in full)
        done = dict.fromkeys(by_key, 0)

        def append(key: tuple[str, str], upto: int) -> None:
            start = done[key]
            if upto <= start:
                return
            found = by_key[key][start:upto]
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = _Batch(now)
            if isinstance(found, range):
                batch.seqs.extend(seqs[found.start:found.stop])
                batch.records.extend(records[found.start:found.stop])
            else:
                batch.seqs.extend(map(seqs.__getitem__, found))
                batch.records.extend(map(records.__getitem__, found))
            batch.raw_bytes += sum(sizes[key][start:upto])
            done[key] = upto

        for seq, _, key, end in sorted(points):
            for other, found in by_key.items():
                if other != key:
                    append(other, bisect.bisect_left(found, seq, key=seqs.__getitem__))
            append(key, end + 1)
            self._plan(key, seq, now)
        for key, found in by_key.items():
            append(key, len(found))

    def _read_seq(self, arn: str, through: int) -> int:
        """Where a restart must read from for ``arn``: before its oldest unplanned batched event."""
        firsts = [b.seqs[0] - 1 for (a, _), b in self._batches.items() if a == arn]
        return min([through, *firsts])

    def _plan(self, key: tuple[str, str], through: int, now: float) -> None:
        arn, name = key
        region, kind = stream_parts(name)
        batch = self._batches.pop(key)
        view = self._views[arn]
        trail = view.trail
        member = stream_account(name)
        file_key = log_file_key(trail.s3_key_prefix, member or trail.account_id, region, now, self._unique(), kind,
                                view.organization_id if member else None)
        read_seq = self._read_seq(arn, through)
        plan = self._state.add_plan(arn, name, trail.s3_bucket_name, file_key, to_runs(batch.seqs),
                                    len(batch.seqs), through, trail.sns_topic_arn, read_seq)
        self._planned[key] = through
        self._read_seqs[arn] = self._saved_read_seqs[arn] = read_seq
        queue = self._pending.setdefault(key, deque())
        if not queue or key not in self._failures:
            # compressed meanwhile; later plans of a failing destination are rebuilt when due
            self._bodies[plan.id] = self._compressor.submit(batch.records)
        queue.append(plan)

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

    # --- uploads -----------------------------------------------------------------------------
    def _rebuild(self, plan: Plan) -> bytes:
        records: list[bytes] = []
        for first, last in plan.runs:
            cursor = first - 1
            while cursor < last:
                chunk = self._store.read_columns(cursor, min(last - cursor, 10_000))
                if not chunk:
                    break
                records.extend(chunk.records[: bisect.bisect_right(chunk.seqs, last)])
                cursor = chunk.seqs[-1]
        if len(records) != plan.count:
            log.warning("log file %s: %d of %d events still in the store", plan.key, len(records), plan.count)
        return log_file_body(records)

    def _upload_due(self, now: float, wait: bool = True) -> None:
        """Upload the due plans in order; ``wait`` False leaves a (trail, Region) whose next body
        is still being compressed for a later round."""
        for key, queue in list(self._pending.items()):
            if self._next_attempt.get(key, float("-inf")) > now:
                continue
            while queue:
                plan = queue[0]
                body = self._bodies.pop(plan.id, None)
                if isinstance(body, Future):
                    if not (wait or body.done()):
                        self._bodies[plan.id] = body
                        break
                    body = body.result()
                if body is None:
                    body = self._rebuild(plan)
                try:
                    self._storage.put_object(plan.bucket, plan.key, body, {})
                except StorageError as exc:
                    self._bodies[plan.id] = body
                    failures = self._failures[key] = self._failures.get(key, 0) + 1
                    self._next_attempt[key] = now + min(self._max_backoff_s, 2.0 ** (failures - 1))
                    log.warning("delivery of %s to bucket %s failed (%s): %s", plan.key, plan.bucket, failures, exc)
                    self._trails.record_delivery(plan.arn, now, delivery_error(exc))
                    break
                if self._on_delivered is not None:
                    self._on_delivered(plan.arn, digest_scope_of(plan), plan.bucket, plan.key, body)
                self._state.finish_plan(plan)
                queue.popleft()
                self._failures.pop(key, None)
                self._next_attempt.pop(key, None)
                self._trails.record_delivery(plan.arn, now, None)
                if plan.sns_topic_arn and self._notifier is not None:
                    self._notifier.notify(plan.arn, plan.sns_topic_arn, plan.bucket, [plan.key])
            if not queue:
                del self._pending[key]
