"""Lake ingestion: the consumer of the durable event log that writes each event data store's files.

One thread follows ``EventStore.read_columns(pos, n)`` (as trail delivery does) and hands each
event to the stores that select it; batches become immutable Parquet files (zstd, columns of
:data:`.schema.SCHEMA`, rows from :func:`.columns.rows_of_bytes`, DuckDB building the columns) laid out per :mod:`.layout`:
``<store>/<YYYY>/<MM>/<DD>/<first-seq>-<last-seq>.parquet`` by the rows' eventTime day (UTC).

**Selection** (CloudTrail User Guide, "Create an event data store for CloudTrail events"): a store
takes an event when the store is ENABLED, the event's stored category is Management or Data,
its account (the recipient account) is the store's account, the store receives its Region
(:meth:`~.model.EventDataStore.receives_from`), the store's advanced event selectors match it
(:func:`opentrail.trails.matching.matches`; no selectors = AWS's default, every management
event), its eventTime is within the store's retention, and it was appended after the store
was created. AWS does not backfill a new store: a store takes the events after its
``start_seq``, the event log's head seq (:func:`~opentrail.delivery.marks.head_seq`) that the
event data store service recorded when CreateEventDataStore committed (so every event acknowledged
after the call returned is taken); for a store without one, the head seq when this worker first
sees it (it looks for new stores every ``poll_s``, or every :data:`IDLE_POLL_S` while none of its
stores is enabled). Status is checked when the worker reads an event, not when it was appended
(a store stopped while the worker is behind misses the events appended before
StopEventDataStoreIngestion that were not read yet). An organization store
(OrganizationEnabled) takes the events of every account of the organization its account manages,
as the worker finds the organization when it routes them (it looks again whenever an organization
changes: :func:`opentrail.trails.organization.covered`; an account removed is not taken from then on,
one that joins is). Insights events (category Insight) go to the Insights
destination store of each enabled source store of their account that receives their Region and has
Insights selectors of their insightType (PutInsightSelectors with EventDataStore and
InsightsDestination); they keep the trail Insights record form (docs/insights.md, differences).
Events of channels (category ActivityAuditLog, from PutAuditEvents) go to the enabled destination
stores of the channel their ``metadata.channelARN`` names (the event data store service's
``channels``), and nowhere else.

**Where.** The files go through :class:`.files.LakeFiles`: a local folder (:class:`.files.FolderFiles`)
or an object store prefix with a local cache (:class:`.objectfiles.ObjectFiles`). Below, "write" is
:meth:`~.files.LakeFiles.write` (folder: ``.tmp-<name>``, fsync, rename, folder fsync; object store:
upload, verify, then the file is listed) and "published" is what it leaves.

**Shards.** A store belongs to the shard ``crc32(store ID) % 4`` (:mod:`opentrail.shards`). A
worker ingests the stores of its ``shards`` (all by default; on several nodes, the shards whose
lease its node holds, :mod:`opentrail.shard_group`), so the stores of different shards can be
written by different workers, each store by one at a time.

**A lost lease** (several nodes: a write under the worker's fence raised
:class:`~opentrail.state_pg.LeaseLost`, :func:`~opentrail.state_pg.fence_lost`): the node was paused
or cut off past its lease and another node has started these shards from their cursors. The
thread ends at once without the recovery below and without a final flush: deleting "files above
the cursor" by its own stale cursor would delete what the new holder wrote and committed. A flush
checks the lease before it uploads anything, so a node that wakes up finds out before it writes;
an upload already under way when the node was paused can still land after the takeover (object
storage has no fence). Its name carries the old lease's fencing token (:func:`.layout.file_name`,
``write_tokens``), lower than the new holder's: once the new holder has written those events again
its file meets the late one's seq range and supersedes it (:func:`.layout.superseded`), so readers
through :meth:`.files.LakeFiles.data_files` see each row once, and the next compaction round
deletes it (compaction merges committed files only, never a late upload).

**Exactly once across kill -9.** ``ingest.db`` (SQLite, synchronous FULL; ``<lake root>/ingest.db``
for a folder, ``<data-dir>/lake-ingest.db`` for an object store; a schema of the shared database
on several nodes) holds one cursor per shard: every event a store of the shard selects with
seq <= the shard's cursor is in a published file. A worker reads the log from the lowest cursor of
its shards, and a store takes the events above its *floor*, the highest of its start seq, its
shard's cursor and (restarted by StartEventDataStoreIngestion) its ``resumed_seq``. A flush
(every ``interval_s`` of age of the oldest batched event, or ``max_events`` events) writes each
store's files, and only then commits the new position as the cursor of each of the worker's
shards whose cursor was lower. A file's name carries the seqs of its rows, and every file of a
flush starts after the cursor of its store's shard. So after a crash, on start (each worker for
its own shards' stores):

1. files named ``.tmp-*`` are incomplete: deleted;
2. a file whose first seq is above its shard's cursor belongs to a flush whose cursor never
   committed: deleted, and its events are read again and written again;
3. a file superseded by a rewrite (:func:`.layout.superseded`: a purge or compaction wrote the
   replacement, then crashed before deleting the original) is deleted (:func:`.layout.data_files`
   already ignores it).

Rewrites (retention purge of a day partly past the retention, compaction of small files) write
the replacement the same way, then delete what it replaces: readers through
:meth:`.files.LakeFiles.data_files` see each row once at every moment.

**Storage down.** While the lake storage cannot be reached (:class:`.files.LakeFilesUnavailable`)
rounds fail and are retried with backoff (``retry_first_s`` doubling to ``retry_max_s``); each
retry first runs the recovery above, so what a failed flush uploaded is deleted before anything
is written again. The cursor does not move meanwhile: the events wait in the event log.

**Retention** (:meth:`LakeIngestWorker.purge`, every ``purge_interval_s`` and whenever a store
changes): rows whose eventTime is older than the store's retention are deleted -- whole day
folders at once, files of the boundary day rewritten without them (lowering the retention
deletes older events). Stores removed by ``stores_service.purge_deleted`` (7 days after
DeleteEventDataStore) have their folder removed (:meth:`.files.LakeFiles.remove_store`).

**Compaction**: a day folder holding at least ``compact_min_files`` files smaller than
``compact_target_bytes`` gets them merged into one (oldest runs first, one merge per round), so
a store fed slowly does not stay a pile of one-second files.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..delivery.marks import head_seq
from ..shards import SHARDS, shard_of, shard_set
from ..state_db import immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from ..state_pg import current_fence, fence_lost
from ..store.base import EventColumns, EventStore
from ..store.errors import is_disk_full
from ..trails.matching import matches
from ..trails.model import AdvancedEventSelector, AdvancedFieldSelector, TrailSelectors
from ..trails.organization import OrganizationDirectory, covered
from . import layout
from .files import (INGEST_DB, TMP_PREFIX, ZSTD_LEVEL, FolderFiles, LakeFiles,  # noqa: F401  (re-exported)
                    LakeFilesUnavailable, write_file)
from .model import INGESTED_CATEGORIES, EventDataStore
from .columns import build_threads, rows_of_bytes
from .schema import SCHEMA

log = logging.getLogger(__name__)

#: Default seconds the oldest batched event waits before its files are written (the setting's default).
DEFAULT_INTERVAL_S = 1.0
#: Seconds between rounds while none of the worker's stores is ENABLED (else ``poll_s``).
IDLE_POLL_S = 1.0
#: Events read from the log per step.
READ_LIMIT = 10000
#: At most this many batched events before a flush (bounds memory and sizes files).
MAX_EVENTS = 200_000
#: DuckDB threads of the ingestion's column builds (:func:`.columns.build_threads`): one, so the
#: once-a-second build shares the cores with the API's requests instead of taking them all.
INGEST_BUILD_THREADS = 1
#: zstd level of the files compaction and retention rewrite (in the background: smaller files).
REWRITE_ZSTD_LEVEL = 6
#: AWS's default selector of a store created without AdvancedEventSelectors.
DEFAULT_SELECTORS: tuple[AdvancedEventSelector, ...] = (
    AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("Management",)),),
                          "Default management events"),)
_TMP = TMP_PREFIX
#: The stored category of PutAuditEvents' events (routed by channel, :meth:`LakeIngestWorker._route_channel_events`).
ACTIVITY_AUDIT_LOG = "ActivityAuditLog"
#: Seconds between attempts while the lake storage cannot be reached: doubling from the first to the last.
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 30.0
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class IngestState:
    """``<lake root>/ingest.db``: ``shard_cursors (shard, seq)``, one cursor per event data store
    shard (:mod:`opentrail.shards`), and ``stores (eds_id, start_seq)`` -- a store takes events
    with seq > start_seq. Used by the worker threads only, each writing its own shards' cursors."""

    def __init__(self, path: Path) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.lake", "ingest")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def cursors(self) -> dict[int, int]:
        """Every shard's cursor (0 for a shard never committed)."""
        with self._lock:
            found = {int(shard): int(seq) for shard, seq in self._conn.execute("SELECT shard, seq FROM shard_cursors")}
        return {shard: found.get(shard, 0) for shard in range(SHARDS)}

    def set_cursors(self, cursors: dict[int, int]) -> None:
        """Commit the cursors of the shards ``cursors`` names (shard -> seq), in one transaction."""
        with self._lock, immediate_transaction(self._conn):
            for shard, seq in cursors.items():
                self._conn.execute("INSERT INTO shard_cursors (shard, seq) VALUES (?, ?) "
                                   "ON CONFLICT (shard) DO UPDATE SET seq = excluded.seq", (shard, seq))

    def check_lease(self) -> None:
        """An empty write transaction: on several nodes it checks the calling thread's lease
        fence (:func:`opentrail.state_pg.fence`) and raises :class:`~opentrail.state_pg.LeaseLost`
        when a lease of it was taken over."""
        with self._lock, immediate_transaction(self._conn):
            pass

    def start_seqs(self) -> dict[str, int]:
        with self._lock:
            return {str(i): int(s) for i, s in self._conn.execute("SELECT eds_id, start_seq FROM stores")}

    def add_store(self, eds_id: str, start_seq: int) -> None:
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO stores (eds_id, start_seq) VALUES (?, ?)", (eds_id, start_seq))

    def forget_store(self, eds_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM stores WHERE eds_id = ?", (eds_id,))


#: The start of a record as :func:`opentrail.lake.audit_events.accept` writes it (orjson's compact
#: JSON of a dict, keys in this order, every value before eventData a string without quote or
#: backslash): its group 1 is ``metadata.channelARN`` of the top-level object, read without
#: decoding the record (records are stored as orjson wrote them, so no key appears twice).
_ACCEPTED_RECORD = re.compile(
    rb'\{"eventVersion":"[^"\\]*","eventCategory":"ActivityAuditLog","eventType":"ActivityLog",'
    rb'"eventID":"[^"\\]*","eventTime":"[^"\\]*","awsRegion":"[^"\\]*","recipientAccountId":"[^"\\]*",'
    rb'"metadata":\{"ingestionTime":"[^"\\]*","channelARN":"([^"\\]*)"\},"eventData":')


@dataclass(slots=True)
class _Batch:
    seqs: list[int] = field(default_factory=list)
    #: the record bytes, and the decoded record when selection needed it (else None)
    raws: list[bytes] = field(default_factory=list)
    parsed: list[dict[str, Any] | None] = field(default_factory=list)


def _days(table: pa.Table) -> pa.Array:
    """Per row, the eventTime day as days since 1970-01-01 (rows without eventTime: day 0)."""
    ms = pc.cast(table.column("eventtime"), pa.int64())
    return pc.fill_null(pc.floor(pc.divide(pc.cast(ms, pa.float64()), 86_400_000.0)), 0.0).cast(pa.int64())


def _day_of(n: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=n)


class LakeIngestWorker(threading.Thread):
    """Writes the events every event data store selects into its files (see the module
    docstring). ``clock`` gives epoch seconds. :meth:`run_once` does one round (tests call it
    directly); :meth:`start`/:meth:`stop` run rounds on a thread every ``poll_s``.

    ``lake``: where the files are (:class:`.files.LakeFiles`; a folder path means
    :class:`.files.FolderFiles` over it). While the lake storage cannot be reached
    (:class:`.files.LakeFilesUnavailable`) the thread retries, waiting ``retry_first_s`` and
    doubling up to ``retry_max_s``; the cursor does not move, so nothing is lost."""

    def __init__(self, event_store: EventStore, stores_service: Any, lake: Path | LakeFiles, clock: Callable[[], float], *,
                 interval_s: float = DEFAULT_INTERVAL_S, read_limit: int = READ_LIMIT, max_events: int = MAX_EVENTS,
                 poll_s: float = 0.1, purge_interval_s: float = 3600.0, compact_min_files: int = 16,
                 compact_target_bytes: int = 64 * 1024 * 1024, compact_every_s: float = 10.0,
                 retry_first_s: float = RETRY_FIRST_S, retry_max_s: float = RETRY_MAX_S,
                 shards: Sequence[int] | None = None, write_tokens: Mapping[int, int] | None = None) -> None:
        super().__init__(name="opentrail-lake-ingest", daemon=True)
        #: per shard: the fencing token of this node's lease of it, put in the names of the files
        #: it writes (:func:`.layout.file_name`; several nodes); none: 0
        self._write_tokens = dict(write_tokens or {})
        self._files = lake if isinstance(lake, LakeFiles) else FolderFiles(Path(lake))
        self._events, self._stores, self._root, self._clock = event_store, stores_service, self._files.root, clock
        self._interval_s, self._read_limit, self._max_events, self._poll_s = interval_s, read_limit, max_events, poll_s
        self._purge_interval_s, self._compact_every_s = purge_interval_s, compact_every_s
        self._compact_min_files, self._compact_target_bytes = compact_min_files, compact_target_bytes
        self._retry_first_s, self._retry_max_s = retry_first_s, retry_max_s
        #: the event data store shards (:mod:`opentrail.shards`) this worker ingests
        self._shards, self._mine = shard_set(shards)
        self._state = IngestState(self._files.ingest_db)
        self._stop_event = threading.Event()
        #: per shard of this worker: every selected event of its stores with seq <= it is in a published file
        self._cursors = {shard: seq for shard, seq in self._state.cursors().items() if shard in self._shards}
        #: the lowest of :attr:`_cursors`: the log is read from here
        self._cursor = min(self._cursors.values())
        self._pos = self._cursor
        self._start_seqs = {i: s for i, s in self._state.start_seqs().items() if self._mine(i)}
        #: per store: it takes events with seq above this (its start seq, or its shard's cursor when higher)
        self._floors: dict[str, int] = {}
        self._version: object = None
        #: whom organization stores cover (None: no organizations; settable after construction)
        self.organizations: OrganizationDirectory | None = None
        self._stores_by_id: dict[str, EventDataStore] = {}
        #: account -> the active stores of this worker taking its events
        self._by_account: dict[str, list[EventDataStore]] = {}
        #: account -> every active store taking its events, any shard's (the sources of Insights events)
        self._sources_by_account: dict[str, list[EventDataStore]] = {}
        self._batches: dict[str, _Batch] = {}
        self._oldest: float | None = None
        self._batched = 0
        self._next_purge = float("-inf")
        self._next_compact = float("-inf")
        #: events read from the log by the last round
        self._read = 0
        #: the last round had a store to write
        self._stores_active = False
        self._last_checkpoint = float("-inf")
        #: the last round failed for lack of space (logged once per outage)
        self._full = False
        #: since when (clock seconds) the lake storage cannot be reached; None while it can
        self._unreachable_since: float | None = None
        self._retry_s = retry_first_s
        #: crash recovery has run since the last failure (no round writes files before it has)
        self._recovered = False
        #: a write found the lease (on several nodes) lost: the thread ended without cleaning up
        self._lease_lost = False
        try:
            self.recover()
        except LakeFilesUnavailable as exc:  # the thread recovers once the storage answers
            log.warning("lake ingestion waits for the lake storage: %s", exc)
            self._unreachable_since = self._clock()

    # --- thread ------------------------------------------------------------------------------
    def run(self) -> None:
        build_threads(INGEST_BUILD_THREADS)
        while not self._stop_event.is_set():
            try:
                self.run_once()
            except Exception as exc:  # keep ingesting; the failed round is redone from the durable cursor
                if fence_lost(exc):  # another node ingests these stores now: touch nothing, not even to clean up
                    log.warning("lake ingestion: the lease was lost (%s); stopping without cleaning up", exc)
                    self._lease_lost = True
                    break
                full = is_disk_full(exc)
                wait = 1.0
                if isinstance(exc, LakeFilesUnavailable):  # one line per outage, then retries with backoff
                    if self._unreachable_since is None:
                        log.warning("lake ingestion waits for the lake storage (the events wait in the event "
                                    "history): %s %s", exc, exc.__cause__ or "")
                        self._unreachable_since = self._clock()
                    wait, self._retry_s = self._retry_s, min(self._retry_max_s, self._retry_s * 2)
                elif full:  # one line per outage, then quiet retries until space is back
                    if not self._full:
                        log.warning("lake ingestion waits for space on the data directory: %s", exc)
                    self._full = True
                else:
                    log.exception("lake ingestion round failed")
                self._drop_batches()
                self._recovered = False
                if fence_lost():
                    self._lease_lost = True
                    break
                try:
                    self.recover()  # files of the failed flush: their events are written again
                except LakeFilesUnavailable:
                    pass  # the next round recovers first
                except OSError as cleanup:
                    if not is_disk_full(cleanup):
                        log.exception("lake ingestion: cleanup after a failed round failed")
                self._stop_event.wait(wait)
                continue
            if self._full:
                log.warning("lake ingestion resumed: the data directory has space again")
                self._full = False
            if self._unreachable_since is not None:
                log.warning("lake ingestion resumed: the lake storage %s answers again (after %.0f s)",
                            self._files.url, self._clock() - self._unreachable_since)
                self._unreachable_since = None
                self._retry_s = self._retry_first_s
            if self._read < self._read_limit:  # with no store to write, a new one is looked for every second
                self._stop_event.wait(self._poll_s if self._stores_active or self._batched else max(self._poll_s, IDLE_POLL_S))
        try:
            if self._recovered and not self._lease_lost and not fence_lost():  # else the next start redoes them
                self.flush()
        except Exception as exc:
            if isinstance(exc, LakeFilesUnavailable):
                log.warning("lake ingestion: final flush failed (the events are read again on the next start): %s", exc)
            elif is_disk_full(exc):
                log.warning("lake ingestion: final flush failed for lack of space (the events are read again on the "
                            "next start): %s", exc)
            else:
                log.exception("lake ingestion: final flush failed (the events are read again on the next start)")
        self._state.close()

    def stop(self) -> None:
        """Ask the thread to stop (join it afterwards); it writes its open batches first."""
        self._stop_event.set()

    def close(self) -> None:
        """Release the state database (for a worker never started)."""
        if not self.is_alive():
            self._state.close()

    def caught_up_seq(self) -> int:
        """Every selected event of this worker's stores with seq <= this is in its stores' committed files."""
        return self._cursor

    # --- recovery ----------------------------------------------------------------------------
    def recover(self) -> int:
        """Delete what a crash left (see the module docstring); returns the number of files deleted.
        Raises LakeFilesUnavailable (nothing is written until a later call succeeds)."""
        deleted = self._files.sweep(self._mine)
        for eds_id in self._files.store_ids():
            if eds_id not in self._start_seqs:  # not a store of this worker's ingestion: not ours to clean
                continue
            files = self._files.listed(eds_id)
            cursor = self._cursors[shard_of(eds_id)]
            above = []
            for path in files:
                parsed = layout.parse_file_name(path.name)
                if parsed is not None and parsed[0] > cursor:
                    log.info("lake ingestion: removing %s, written after the last committed cursor %d", path, cursor)
                    above.append(path)
            self._files.delete(above)
            gone = set(above)
            superseded = layout.superseded([p for p in files if p not in gone])
            self._files.delete(sorted(superseded))
            deleted += len(above) + len(superseded)
        self._recovered = True
        return deleted

    # --- one round ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Refresh stores, route up to ``read_limit`` new events, write due files, purge when due.
        Returns the number of events written to files in this round. Raises LakeFilesUnavailable
        when the lake storage cannot be reached (the round is redone from the cursor)."""
        if not self._recovered:
            self.recover()
        now = self._clock()
        head = self._events.last_seq()
        changed = self._refresh()
        written = 0
        self._read = 0
        active = [s for s in self._stores_by_id.values() if self._active(s)]
        self._stores_active = bool(active)
        if active:
            # no store takes events at or before its floor
            self._pos = max(self._pos, min(self._floors.get(s.id, 0) for s in active))
            cols = self._events.read_columns(self._pos, self._read_limit)
            self._read = len(cols)
            if len(cols):
                self._route(cols, now)
                self._pos = cols.seqs[-1]
        else:
            self._pos = max(self._pos, head)  # nobody takes the events appended so far
        if self._batched and (self._batched >= self._max_events or
                              (self._oldest is not None and now - self._oldest >= self._interval_s)):
            written = self.flush()
        elif not self._batched and self._pos > self._cursor and now - self._last_checkpoint >= 1.0:
            self._commit(self._pos)
            self._last_checkpoint = now
        if changed or now >= self._next_purge:
            self.purge(now)
            self._next_purge = now + self._purge_interval_s
        elif not self._batched and now >= self._next_compact:
            self.compact_once()
            self._next_compact = now + self._compact_every_s
        return written

    def _active(self, store: EventDataStore) -> bool:
        return store.status == "ENABLED"

    def _refresh(self) -> bool:
        version = getattr(self._stores, "version", None)
        if version is not None:
            version = (version, self.organizations.version if self.organizations is not None else 0)
        if version is not None and version == self._version:
            return False
        every = list(self._stores.all())
        stores = [s for s in every if self._mine(s.id)]
        self._version = version
        for store in stores:
            if store.id not in self._start_seqs:
                seq = store.start_seq if store.start_seq is not None else head_seq(self._events)
                self._state.add_store(store.id, seq)
                self._start_seqs[store.id] = seq
        self._stores_by_id = {s.id: s for s in stores}
        self._set_floors()
        self._by_account, self._sources_by_account = {}, {}
        for s in every:
            if self._active(s):
                for account in covered(self.organizations, s.account_id, s.organization_enabled)[1]:
                    self._sources_by_account.setdefault(account, []).append(s)
                    if s.id in self._stores_by_id:
                        self._by_account.setdefault(account, []).append(s)
        return True

    def _token(self, eds_id: str) -> int:
        """The fencing token for the names of the files this worker writes for the store ``eds_id``."""
        return self._write_tokens.get(shard_of(eds_id), 0)

    def _set_floors(self) -> None:
        resumed = {i: s.resumed_seq for i, s in self._stores_by_id.items() if s.resumed_seq is not None}
        self._floors = {i: max(start, self._cursors[shard_of(i)], resumed.get(i, 0))
                        for i, start in self._start_seqs.items()}

    def _route(self, cols: EventColumns, now: float) -> None:
        seqs, records, partitions = cols.seqs, cols.records, cols.partitions
        parsed: dict[int, dict[str, Any]] = {}
        by_partition: dict[int, list[int]] | None = None
        if len(cols.partition_names) > 1:
            by_partition = {pid: [] for pid in cols.partition_names}
            for i, pid in enumerate(partitions):
                by_partition[pid].append(i)
        for pid, (account, region, category) in cols.partition_names.items():
            if category == ACTIVITY_AUDIT_LOG:
                self._route_channel_events(cols, by_partition[pid] if by_partition is not None else range(len(seqs)))
                continue
            if category == "Insight":
                self._route_insights(cols, account, region,
                                     by_partition[pid] if by_partition is not None else range(len(seqs)))
                continue
            if category not in INGESTED_CATEGORIES:
                continue
            takers = [s for s in self._by_account.get(account, ()) if s.receives_from(region)]
            if not takers:
                continue
            positions = by_partition[pid] if by_partition is not None else range(len(seqs))
            for store in takers:
                start = self._floors.get(store.id, 0)
                selectors = TrailSelectors(advanced_event_selectors=store.advanced_event_selectors or DEFAULT_SELECTORS)
                default = not store.advanced_event_selectors or store.advanced_event_selectors == DEFAULT_SELECTORS
                batch = None
                for i in positions:
                    seq = seqs[i]
                    if seq <= start:
                        continue
                    record = parsed.get(i)
                    if default:  # the default selector needs the category only: no decoding
                        if category != "Management":
                            continue
                    else:
                        if record is None:
                            loaded = orjson.loads(records[i])
                            record = parsed[i] = loaded if isinstance(loaded, dict) else {}
                        if not matches(selectors, record):
                            continue
                    if batch is None:
                        batch = self._batches.setdefault(store.id, _Batch())
                    batch.seqs.append(seq)
                    batch.raws.append(records[i])
                    batch.parsed.append(record)
                    self._batched += 1
        if self._batched and self._oldest is None:
            self._oldest = now

    def _route_channel_events(self, cols: EventColumns, positions: Sequence[int]) -> None:
        """Events PutAuditEvents accepted (category ActivityAuditLog) go to the enabled destination
        stores of the channel their ``metadata.channelARN`` names, as that channel is when the worker
        reads them (a channel deleted meanwhile: nowhere)."""
        from .channels import parse_channel_arn

        channels = getattr(self._stores, "channels", None)
        if channels is None:
            return
        # the stores each channel ARN sends to, found once per ARN in this round (a batch of
        # PutAuditEvents shares one): [(store, start seq)]
        takers_of: dict[str, list[tuple[EventDataStore, int]]] = {}
        seqs, records = cols.seqs, cols.records
        accepted = _ACCEPTED_RECORD.match
        for i in positions:
            known = accepted(records[i])
            if known is not None:  # as PutAuditEvents wrote it: not decoded here
                arn: Any = known.group(1).decode()
                loaded = None
            else:
                loaded = orjson.loads(records[i])
                metadata = loaded.get("metadata") if isinstance(loaded, dict) else None
                arn = metadata.get("channelARN") if isinstance(metadata, dict) else None
                if not isinstance(arn, str):
                    continue
            takers = takers_of.get(arn)
            if takers is None:
                takers = takers_of[arn] = self._channel_takers(channels, parse_channel_arn(arn))
            seq = seqs[i]
            for store, start in takers:
                if seq <= start:
                    continue
                batch = self._batches.setdefault(store.id, _Batch())
                batch.seqs.append(seq)
                batch.raws.append(records[i])
                batch.parsed.append(loaded)
                self._batched += 1

    def _channel_takers(self, channels: Any, parsed: tuple[str, str, str] | None) -> list[tuple[EventDataStore, int]]:
        """The enabled stores (and their start seqs) the channel ``parsed`` (region, account, id)
        sends to; [] when the ARN is not a channel's or the channel is gone."""
        channel = channels.get(parsed[2]) if parsed is not None else None
        if channel is None:
            return []
        takers = []
        for store_arn in channel.store_arns():
            store = self._stores_by_id.get(store_arn.rpartition("/")[2])
            if store is not None and self._active(store):
                takers.append((store, self._floors.get(store.id, 0)))
        return takers

    def _route_insights(self, cols: EventColumns, account: str, region: str, positions: Sequence[int]) -> None:
        """Insights events go to the Insights destination store of each enabled source store of
        their account that receives their Region and has Insights of their insightType (AWS:
        "Insights events are delivered to the destination event data store")."""
        destinations: dict[str, set[str]] = {}  # destination ARN -> insight types
        for source in self._sources_by_account.get(account, ()):  # a source store may be another shard's
            if source.insights_destination and source.insight_selectors and source.receives_from(region):
                destinations.setdefault(source.insights_destination, set()).update(
                    s.insight_type for s in source.insight_selectors)
        if not destinations:
            return
        takers = [(s, destinations[s.arn]) for s in self._by_account.get(account, ()) if s.arn in destinations]
        for i in positions:
            loaded = orjson.loads(cols.records[i])
            details = loaded.get("insightDetails") if isinstance(loaded, dict) else None
            kind = details.get("insightType") if isinstance(details, dict) else None
            for store, kinds in takers:
                if kind in kinds and cols.seqs[i] > self._floors.get(store.id, 0):
                    batch = self._batches.setdefault(store.id, _Batch())
                    batch.seqs.append(cols.seqs[i])
                    batch.raws.append(cols.records[i])
                    batch.parsed.append(loaded)
                    self._batched += 1

    def _drop_batches(self) -> None:
        self._batches.clear()
        self._batched = 0
        self._oldest = None
        self._pos = self._cursor

    def flush(self) -> int:
        """Write every open batch as files, then commit the cursor; returns the rows written."""
        written = 0
        now = self._clock()
        if self._batches and current_fence() is not None:
            self._state.check_lease()  # a node paused past its lease finds out before it uploads
        for eds_id, batch in self._batches.items():
            store = self._stores_by_id.get(eds_id)
            if store is None:
                continue
            written += self._write_batch(store, batch, now)
        self._batches.clear()
        self._batched = 0
        self._oldest = None
        self._commit(self._pos)
        return written

    def _commit(self, seq: int) -> None:
        """Every selected event with seq <= ``seq`` is in published files: each shard's cursor
        becomes ``seq`` where it was lower."""
        moved = {shard: seq for shard, cursor in self._cursors.items() if seq > cursor}
        if moved:
            self._state.set_cursors(moved)
            self._cursors.update(moved)
            self._cursor = min(self._cursors.values())
            self._set_floors()

    def _write_batch(self, store: EventDataStore, batch: _Batch, now: float) -> int:
        table, order = rows_of_bytes(batch.raws, batch.parsed)
        seqs = pa.array(batch.seqs, pa.int64())
        if order is not None:  # rows the fast path did not take come last
            seqs = seqs.take(pa.array(order, pa.int64()))
        cutoff_ms = int((now - store.retention_period_days * 86400) * 1000)
        keep = pc.fill_null(pc.greater_equal(pc.cast(table.column("eventtime"), pa.int64()), cutoff_ms), True)
        if not pc.all(keep).as_py():
            table, seqs = table.filter(keep), seqs.filter(keep)
        if not len(table):
            return 0
        days = _days(table)
        written = 0
        for day in pc.unique(days).to_pylist():
            mask = pc.equal(days, day)
            part, part_seqs = table.filter(mask), seqs.filter(mask)
            first, last = pc.min(part_seqs).as_py(), pc.max(part_seqs).as_py()
            name = layout.file_name(first, last, 0, self._token(store.id))
            path = layout.day_dir(self._root, store.id, _day_of(day)) / name
            self._files.write(part, path)
            written += len(part)
        return written

    # --- retention ---------------------------------------------------------------------------
    def purge(self, now: float) -> int:
        """Remove purged stores' folders and rows past each store's retention; returns rows deleted."""
        for eds_id in self._stores.purge_deleted(now, self._mine) or ():
            self._remove_store(eds_id)
        self._refresh()
        known = set(self._stores_by_id)
        for eds_id in [i for i in self._start_seqs if i not in known]:
            self._remove_store(eds_id)  # purged but the folder not removed before a crash
        deleted = 0
        for store in self._stores_by_id.values():
            deleted += self.purge_store(store, now)
        return deleted

    def _remove_store(self, eds_id: str) -> None:
        if _UUID.match(eds_id) is None and eds_id not in self._files.store_ids():
            return
        self._files.remove_store(eds_id)
        self._batches.pop(eds_id, None)
        self._state.forget_store(eds_id)
        self._start_seqs.pop(eds_id, None)

    def purge_store(self, store: EventDataStore, now: float) -> int:
        """Delete the rows of ``store`` whose eventTime is older than its retention; returns how many."""
        root = layout.store_dir(self._root, store.id)
        files = self._files.data_files(store.id)
        if not files:
            return 0
        cutoff_ms = int((now - store.retention_period_days * 86400) * 1000)
        cutoff_day = _day_of(cutoff_ms // 86_400_000)
        deleted = 0
        for path in files:
            rel = path.relative_to(root).parts
            try:
                day = dt.date(int(rel[0]), int(rel[1]), int(rel[2]))
            except (ValueError, IndexError):
                continue
            if day > cutoff_day:
                continue
            if day < cutoff_day:
                deleted += self._files.num_rows(path)
                self._files.delete([path])
                continue
            with self._files.reading([path]):
                table = pq.read_table(path, schema=SCHEMA)
            keep = pc.fill_null(pc.greater_equal(pc.cast(table.column("eventtime"), pa.int64()), cutoff_ms), True)
            kept = table.filter(keep)
            if len(kept) == len(table):
                continue
            deleted += len(table) - len(kept)
            parsed = layout.parse_file_name(path.name)
            imported = layout.parse_import_file_name(path.name)
            if len(kept) and parsed is not None:
                token = max(self._token(store.id), parsed[3])  # never below the file it replaces
                self._files.write(kept, path.with_name(layout.file_name(parsed[0], parsed[1], parsed[2] + 1, token)),
                                  REWRITE_ZSTD_LEVEL)
            elif len(kept) and imported is not None:
                self._files.write(kept, path.with_name(layout.import_file_name(imported[0], imported[1], imported[2] + 1)),
                                  REWRITE_ZSTD_LEVEL)
            self._files.delete([path])
        self._files.tidy(store.id)
        return deleted

    # --- compaction --------------------------------------------------------------------------
    def compact_once(self) -> bool:
        """Delete the stores' superseded files, then merge one run of small files of one day folder
        (see the module docstring); True if it merged. Only committed files (at or below the
        shard's cursor) next to each other in seq order are merged, so the merged file's seq range
        covers no file it does not replace, nor a late upload of a node that lost the lease."""
        for store in self._stores_by_id.values():
            live = self._files.data_files(store.id)  # (re-listed when other nodes write: an object lake)
            superseded = sorted(set(self._files.listed(store.id)) - set(live))
            if superseded:  # a late upload of a node that lost the lease (several nodes), a rewrite's leftovers
                log.info("lake ingestion: removing %d superseded file(s) of %s", len(superseded), store.id)
                self._files.delete(superseded)
            cursor = self._cursors[shard_of(store.id)]
            by_dir: dict[Path, list[tuple[int, int, int, Path]]] = {}
            for path in live:
                parsed = layout.parse_file_name(path.name)
                if parsed is not None and parsed[1] <= cursor:  # committed files only
                    by_dir.setdefault(path.parent, []).append((*parsed[:3], path))
            for entries in by_dir.values():
                if len(entries) < self._compact_min_files:
                    continue
                entries.sort()
                run: list[tuple[int, int, int, Path]] = []
                for entry in entries + [None]:  # type: ignore[list-item]
                    if entry is not None and self._files.size(entry[3]) < self._compact_target_bytes:
                        run.append(entry)
                        continue
                    if len(run) >= self._compact_min_files:
                        self._merge(store.id, run)
                        return True
                    run = []
        return False

    def _merge(self, eds_id: str, run: list[tuple[int, int, int, Path]]) -> None:
        with self._files.reading([p for _, _, _, p in run]):
            table = pa.concat_tables([pq.read_table(p, schema=SCHEMA) for _, _, _, p in run])
        first, last = run[0][0], max(r[1] for r in run)
        gen = max(r[2] for r in run) + 1
        # never a token below one of the files it replaces (one node again after several)
        token = max(self._token(eds_id), *(layout.parse_file_name(p.name)[3] for _, _, _, p in run))  # type: ignore[index]
        self._files.write(table, run[0][3].parent / layout.file_name(first, last, gen, token), REWRITE_ZSTD_LEVEL)
        self._files.delete([p for _, _, _, p in run])
