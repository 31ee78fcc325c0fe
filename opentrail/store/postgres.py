"""The PostgreSQL event store (``--database-url postgresql://...``): the same :class:`EventStore`
as the embedded SQLite store, on a database several opentrail nodes can share.

Writes: :meth:`PostgresEventStore.append` compresses the records in the caller's thread (zstd with
the store's dictionary, as the SQLite store does: the exact record bytes come back from reads)
and hands the batch to the store's writer thread, which commits queued batches together (group
commit, up to ``group_max_events`` events per transaction). The writer is two threads: while one
commits a group, the other prepares the next (lookup keys interned in ``event_lookup_keys``,
autocommit; COPY rows built but for their seqs; and an early check of which (account, eventID)
pairs are stored as of the last seq it read, through ``events_event_hash``). One transaction:

1. locks the single ``event_seq`` row (``SELECT ... FOR UPDATE``);
2. completes the deduplication: the pairs the early check found are checked again, and those
   committed since the early check are looked for among this store's own recent commits or, when
   another node appended meanwhile, in the database; it drops them and repeats within the group
   (the first copy wins);
3. gives the new events the next seqs and ``COPY``s them into ``events`` and their lookup
   entries, as posting blocks (:mod:`.postgres_postings`), into ``event_postings``;
4. stores the new ``last_seq`` and this minute's receive mark, and commits (``synchronous_commit``
   as the server has it: on by default, so a return means the commit is flushed to the WAL).

**Why seqs never appear out of order.** A ``bigserial`` is allocated at insert time, so two
concurrent transactions can commit seqs 11 and 10 in the order 11, 10, and a consumer that read
11 would then skip 10 forever. Here the seq counter is a row that each append transaction holds
locked from allocation to commit: the next appender (in this process or on another node) can only
allocate once the previous one has committed (or rolled back, its seqs unused), so seqs are
committed in order and without gaps, and every snapshot sees a prefix of the log.
:meth:`read_since` and :meth:`last_seq` are plain reads. The cost is one append transaction at a
time on the whole database, which group commit amortises.

Reads use a connection pool (psycopg_pool), one autocommit statement each. The schema is created
and upgraded at open by :mod:`.postgres_migrate`; the SQL is in ``postgres_sql/``.
"""

from __future__ import annotations

import collections
import logging
import queue
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool

from .base import (LOOKUP_ATTRIBUTE_KEYS, AppendResult, EventColumns, EventStore, LookupPage, LookupQuery,
                   NewEvent, StoredEvent)
from .postgres_migrate import migrate
from .postgres_postings import Best, Window, blocks_of, hour_end, matches, unpack
from .postgres_sql import load_queries
from .sqlite_codec import DEFAULT_ZDICT, RecordCodec

__all__ = ["PostgresEventStore"]

log = logging.getLogger(__name__)

Q = load_queries()
#: Categories LookupEvents returns (and the only ones with lookup rows).
_LOOKUP_CATEGORIES = frozenset({"Management", "Insight"})
_ATTRIBUTE = {key: i for i, key in enumerate(LOOKUP_ATTRIBUTE_KEYS)}
#: Query bounds are clamped to +-2**62 (bigint).
_BIG = 1 << 62
#: Interned lookup keys kept in memory per store; past this many the cache starts afresh.
KEY_CACHE_MAX = 500_000
#: Posting blocks a lookup reads per query round trip.
POSTINGS_PAGE = 16
#: Events deleted per purge transaction (appends never wait on a purge: it takes no seq lock).
PURGE_CHUNK = 2000
_STOP = object()

Partition = tuple[str, str, str]


#: Seconds a transaction may wait on its client before PostgreSQL ends it: a node paused (SIGSTOP,
#: a stall) in the middle of an append would otherwise hold the ``event_seq`` row, and with it
#: every node's appends, until it wakes up. Appends never wait on their client that long.
IDLE_IN_TRANSACTION_S = 10


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_S * 1000}")
    # No JIT: every statement here reads a handful of rows, but without statistics (autovacuum
    # off) the planner's cost for an index probe on a 10M-row table passes jit_above_cost, and
    # compiling the plan took 13-60 ms of a 0.3 ms EventId lookup.
    conn.execute("SET jit = off")


# COPY's binary format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"):
# the signature, flags and header extension length; per row the field count (int16), then per field
# its length (int32) and bytes (int4/int8 big-endian, text as UTF-8, bytea raw); -1 at the end.
# Written in blocks (psycopg's Copy.write), so the bytea fields go as they are, not as hex text.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_I4 = struct.Struct(">i").pack
#: an events row up to its seq: 6 fields, seq (int8)
_EVENT_HEAD = struct.Struct(">hiq").pack
#: an events row's partition_id (int4) and event_time (int8)
_EVENT_PARTITION_TIME = struct.Struct(">iiiq").pack
#: an event_postings row up to the length of its times: 6 fields, key_id, max_time, min_time, max_seq
_BLOCK_HEAD = struct.Struct(">hiqiqiqiqi").pack


def _field(value: bytes) -> bytes:
    """``value`` as a length-prefixed field of COPY's binary format."""
    return _I4(len(value)) + value


def _stored(keys: list[tuple[str, str]], conn: psycopg.Connection, since: int = 0) -> set[tuple[str, str]]:
    """Which of ``keys`` ((account, eventID) as hex of their UTF-8 bytes) events after seq
    ``since`` hold."""
    return set(conn.execute(Q["existing_ids"], {
        "accounts": ",".join(k[0] for k in keys), "event_ids": ",".join(k[1] for k in keys), "since": since}))


def _clamp(value: int) -> int:
    return max(-_BIG, min(_BIG, value))


@dataclass(eq=False)
class _Prepared:
    """A group ready to commit: per event (in the jobs' order) its (account, eventID) as hex, its
    ``events`` row in COPY's binary format without the field count and seq, its eventTime and how
    many lookup entries it has (their key ids are ``lookup_ids``, event after event); and which of
    the keys were stored when the last seq was ``checked_through`` (the early deduplication check)."""

    jobs: list[_Job]
    keys: list[tuple[str, str]]
    tails: list[bytes]
    times: list[int]
    lookup_counts: list[int]
    lookup_ids: list[int]
    #: the keys already stored when ``checked_through`` was the last seq
    stored: set[tuple[str, str]]
    checked_through: int


@dataclass(eq=False)
class _Job:
    """A batch (or, with no events, a flush marker) waiting for the writer."""

    events: Sequence[NewEvent]
    frames: list[bytes]
    done: threading.Event = field(default_factory=threading.Event)
    result: AppendResult | None = None
    error: BaseException | None = None
    waited: bool = True


class PostgresEventStore(EventStore):
    """:class:`EventStore` in the PostgreSQL database at ``url`` (a libpq connection string or
    ``postgresql://`` URL). Opening applies the schema migrations; it raises
    ``psycopg.OperationalError`` when the database refuses or does not answer within
    ``connect_timeout_s`` (``psycopg_pool.PoolTimeout`` if the pool then cannot connect). Later, a
    call that gets no connection within ``connect_timeout_s`` raises ``PoolTimeout`` (an
    ``OperationalError``: the API answers 503 ServiceUnavailable); the pool reconnects by itself.
    ``clock`` (epoch seconds) stamps receive times; ``pool_max`` bounds the connections
    (the writer holds one while committing); ``on_close`` is called once after :meth:`close`
    (the server releases its data directory lock there). Thread-safe.

    Errors: an append whose transaction fails raises psycopg's error (``psycopg.OperationalError``
    when the database is unreachable); nothing of that batch was committed, and a retry is
    deduplicated on eventID."""

    durable = True

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time, pool_max: int = 8,
                 group_max_events: int = 20_000, connect_timeout_s: float = 10.0,
                 on_close: Callable[[], None] | None = None) -> None:
        self.url = url
        self._on_close = on_close
        self._clock = clock
        self._group_max = group_max_events
        self._closed = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._names: dict[int, Partition] = {}
        self._ids: dict[Partition, int] = {}
        self._meta_lock = threading.Lock()
        self._minute = 0
        #: partition id -> (attribute key, value) -> event_lookup_keys.id, of committed rows only
        self._key_ids: dict[int, dict[tuple[str, str], int]] = {}
        self._key_count = 0
        self._key_lock = threading.Lock()
        #: (first seq, last seq, keys) of this store's last commits (only the committing thread)
        self._recent: collections.deque[tuple[int, int, set[tuple[str, str]]]] = collections.deque(maxlen=8)
        # check: a connection the server dropped (restart, failover) is replaced at checkout
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_max, open=False, name="opentrail-events",
                                    check=ConnectionPool.check_connection, timeout=connect_timeout_s,
                                    configure=_configure,
                                    kwargs={"autocommit": True, "application_name": "opentrail"})
        try:
            # one direct connection first: a refused or failed login raises at once, with the reason
            with psycopg.connect(url, connect_timeout=max(1, round(connect_timeout_s)), autocommit=True) as conn:
                migrate(conn)
            self._pool.open(wait=True, timeout=connect_timeout_s)
            with self._pool.connection() as conn:
                conn.execute(Q["meta_init"], {"zdict": DEFAULT_ZDICT})
                row = conn.execute(Q["meta_zdict"]).fetchone()
                assert row is not None
                self._codec = RecordCodec(bytes(row[0]))
                self._load_partitions(conn)
        except BaseException:
            self._pool.close()
            raise
        # two stages: one thread prepares a group while the other commits the previous one
        self._prepared: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._writer = threading.Thread(target=self._run, name="opentrail-pg-prepare", daemon=True)
        self._committer = threading.Thread(target=self._run_commits, name="opentrail-pg-writer", daemon=True)
        self._writer.start()
        self._committer.start()

    # -- partitions ---------------------------------------------------------------------------
    def _load_partitions(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(Q["partitions_all"]).fetchall()
        with self._meta_lock:
            for pid, account, region, category in rows:
                self._names[pid] = (account, region, category)
                self._ids[(account, region, category)] = pid

    def _partition_id(self, key: Partition, conn: psycopg.Connection, *, create: bool) -> int | None:
        pid = self._ids.get(key)
        if pid is None:
            if create:  # autocommit: the row outlives a rolled-back append, harmlessly
                conn.execute(Q["partition_add"], dict(zip(("account_id", "region", "category"), key)))
            self._load_partitions(conn)
            pid = self._ids.get(key)
        return pid

    def _partition_name(self, pid: int, conn: psycopg.Connection) -> Partition:
        name = self._names.get(pid)
        if name is None:
            self._load_partitions(conn)
            name = self._names[pid]
        return name

    def _intern_keys(self, keys: set[tuple[int, tuple[str, str]]], conn: psycopg.Connection) -> dict[tuple[int, tuple[str, str]], int]:
        """The ids of lookup ``keys`` ((partition id, (attribute key, value))) missing from the
        cache, interned in ``event_lookup_keys`` (autocommit, before the append's transaction: like
        a partition, a key row outlives a rolled-back append, harmlessly, and the cache never holds
        an id that was not committed) and cached."""
        with self._key_lock:
            rows = sorted((pid, _ATTRIBUTE[k], v) for pid, (k, v) in keys)
            cols = {"partitions": [r[0] for r in rows], "attributes": [r[1] for r in rows],
                    "values": [r[2].encode("utf-8", "surrogatepass") for r in rows]}
            conn.execute(Q["lookup_keys_add"], cols)
            if self._key_count + len(rows) > KEY_CACHE_MAX:
                self._key_ids = {}
                self._key_count = 0
            found: dict[tuple[int, tuple[str, str]], int] = {}
            for key_id, pid, attr, value in conn.execute(Q["lookup_keys_find"], cols):
                pair = (LOOKUP_ATTRIBUTE_KEYS[attr], bytes(value).decode("utf-8", "surrogatepass"))
                found[(pid, pair)] = key_id
                self._key_ids.setdefault(pid, {})[pair] = key_id
            self._key_count += len(found)
            return found

    # -- writing ------------------------------------------------------------------------------
    def _enqueue(self, events: Sequence[NewEvent], waited: bool) -> _Job:
        if self._closed:
            raise RuntimeError("the PostgreSQL event store is closed")
        frames: list[bytes] = []
        if events:
            joined, lengths = self._codec.compress_many([e.record for e in events])
            view, at = memoryview(joined), 0
            for n in lengths:
                frames.append(bytes(view[at:at + n]))
                at += n
        job = _Job(events, frames, waited=waited)
        self._queue.put(job)
        return job

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        """Committed (durable and visible to lookups) on return, with exact duplicate counts
        whatever ``wait_visible`` says. Raises psycopg's error when the commit failed."""
        if not events:
            return AppendResult(0, 0)
        job = self._enqueue(events, waited=True)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def submit(self, events: Sequence[NewEvent]) -> None:
        """Queue without waiting; a failed commit is logged."""
        if events:
            self._enqueue(events, waited=False)

    def flush(self) -> None:
        """Wait until every batch queued before the call is committed (or failed)."""
        self._enqueue((), waited=True).done.wait()

    def _run(self) -> None:
        """The preparing thread: groups queued batches and prepares them (:meth:`_prepare`) while
        the committing thread commits the previous group."""
        stop = False
        while not stop:
            job = self._queue.get()
            if job is _STOP:
                break
            group, size = [job], len(job.events)
            while size < self._group_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                group.append(nxt)
                size += len(nxt.events)
            try:
                with self._pool.connection() as conn:
                    prepared: _Prepared | Exception = self._prepare(group, conn)
            except Exception as exc:  # the committing thread retries batch by batch
                prepared = exc
            self._prepared.put((group, prepared))
        self._prepared.put(_STOP)

    def _run_commits(self) -> None:
        """The committing thread: commits prepared groups in the order they were queued."""
        while True:
            item = self._prepared.get()
            if item is _STOP:
                return
            group, prepared = item
            self._commit_group(group, prepared)

    def _commit_group(self, group: list[_Job], prepared: _Prepared | Exception) -> None:
        try:
            if isinstance(prepared, Exception):
                raise prepared
            with self._pool.connection() as conn:
                self._commit(prepared, conn)
        except Exception as exc:
            if len(group) == 1 or isinstance(exc, psycopg.OperationalError):  # the database is away: all fail
                for job in group:
                    self._fail(job, exc)
            else:  # one bad batch must not fail the others: commit each alone
                for job in group:
                    try:
                        with self._pool.connection() as conn:
                            self._commit(self._prepare([job], conn), conn)
                    except Exception as one:
                        self._fail(job, one)
        for job in group:
            job.done.set()

    def _fail(self, job: _Job, exc: Exception) -> None:
        job.error = exc
        if not job.waited:
            log.error("a submitted batch of %d events was not stored: %s", len(job.events), exc)

    def _prepare(self, jobs: list[_Job], conn: psycopg.Connection) -> _Prepared:
        """Everything of a group's commit that needs no seq: partitions and lookup keys interned
        (autocommit), the COPY row of each event but its seq, its lookup key ids, and the early
        deduplication check (which of the group's eventIDs are stored as of the last seq)."""
        events = [e for job in jobs for e in job.events]
        frames = [f for job in jobs for f in job.frames]
        partitions = [(e.account_id, e.region, e.category) for e in events]
        pids = {}
        for key in set(partitions):
            pid = self._partition_id(key, conn, create=True)
            assert pid is not None
            pids[key] = pid
        accounts = {a: (a.encode("utf-8", "surrogatepass").hex(), _field(a.encode("utf-8", "surrogatepass")))
                    for a in {e.account_id for e in events}}
        keys: list[tuple[str, str]] = []
        tails: list[bytes] = []
        times: list[int] = []
        counts: list[int] = []
        ids: list[int] = []  # the lookup entries' key ids (EventId aside), event after event
        missing: list[tuple[int, int, tuple[str, str]]] = []  # (position in ids, partition id, pair)
        cache = self._key_ids
        for e, frame, partition in zip(events, frames, partitions):
            account_hex, account_field = accounts[e.account_id]
            event_id = e.event_id.encode("utf-8", "surrogatepass")
            pid = pids[partition]
            keys.append((account_hex, event_id.hex()))
            tails.append(b"".join((_EVENT_PARTITION_TIME(4, pid, 8, e.event_time), account_field,
                                   _I4(len(event_id)), event_id, _I4(len(frame)), frame)))
            times.append(e.event_time)
            if e.category in _LOOKUP_CATEGORIES:
                lookup = e.lookup
                # EventId (looked up by hash, not in posting blocks) comes first from the recorder
                pairs = lookup[1:] if lookup and lookup[0][0] == "EventId" else [p for p in lookup if p[0] != "EventId"]
                found = list(map(cache.get(pid, {}).get, pairs))
                if None in found:
                    for j, key_id in enumerate(found):
                        if key_id is None:
                            missing.append((len(ids) + j, pid, pairs[j]))
                            found[j] = 0
                ids.extend(found)
                counts.append(len(found))
            else:
                counts.append(0)
        if missing:
            interned = self._intern_keys({(pid, pair) for _, pid, pair in missing}, conn)
            for at, pid, pair in missing:
                ids[at] = interned[(pid, pair)]
        stored: set[tuple[str, str]] = set()
        checked_through = 0
        if keys:  # the early check: the commit then only looks at the events committed after it
            row = conn.execute(Q["seq_last"]).fetchone()
            checked_through = int(row[0]) if row else 0
            stored = _stored(keys, conn)
        return _Prepared(jobs, keys, tails, times, counts, ids, stored, checked_through)

    def _still_stored(self, keys: set[tuple[str, str]], conn: psycopg.Connection) -> set[tuple[str, str]]:
        """Which of ``keys`` (found by the early check: duplicates, usually none) are stored now,
        under the seq lock (a purge may have removed one since)."""
        if not keys:
            return set()
        return _stored(list(keys), conn)

    def _stored_since(self, prepared: _Prepared, last_seq: int, conn: psycopg.Connection) -> set[tuple[str, str]]:
        """Which of the group's keys the events after ``prepared.checked_through`` up to
        ``last_seq`` (committed since the early check) hold: from this store's own recent
        commits when they are all of them, else asked of the database (another node appended)."""
        if last_seq <= prepared.checked_through:
            return set()
        mine = sorted((lo, hi, keys) for lo, hi, keys in self._recent if hi > prepared.checked_through)
        at = prepared.checked_through
        for lo, hi, _ in mine:
            if lo != at + 1:
                break
            at = hi
        if at == last_seq:
            since: set[tuple[str, str]] = set()
            for _, _, keys in mine:
                since |= keys
            return since.intersection(prepared.keys)
        return _stored(prepared.keys, conn, since=prepared.checked_through)

    def _commit(self, prepared: _Prepared, conn: psycopg.Connection) -> None:
        jobs, keys = prepared.jobs, prepared.keys
        results: list[AppendResult] = []
        if keys:
            with conn.transaction():
                row = conn.execute(Q["seq_lock"]).fetchone()
                assert row is not None
                seq = first = row[0]
                seen = self._still_stored(prepared.stored, conn) | self._stored_since(prepared, first, conn)
                if not seen and len(set(keys)) == len(keys):  # no duplicate: the usual case
                    inserted = set(keys)
                    seq = first + len(keys)
                    seqs = np.arange(first + 1, seq + 1, dtype=np.int64)
                    rows = [_COPY_SIGNATURE]
                    for s_, tail in zip(range(first + 1, seq + 1), prepared.tails):
                        rows.append(_EVENT_HEAD(6, 8, s_))
                        rows.append(tail)
                    results = [AppendResult(len(job.events), 0, ()) for job in jobs]
                else:
                    seqs, rows, inserted, results, seq = self._assign(prepared, seen, first)
                if seq > first:
                    rows.append(_COPY_TRAILER)
                    with conn.cursor() as cur:
                        with cur.copy(Q["copy_events"]) as copy:
                            copy.write(b"".join(rows))
                        counts = np.asarray(prepared.lookup_counts, dtype=np.int64)
                        entry_ids = np.asarray(prepared.lookup_ids, dtype=np.int64)
                        entry_seqs = np.repeat(seqs, counts)
                        entry_times = np.repeat(np.asarray(prepared.times, dtype=np.int64), counts)
                        if seq - first < len(keys):  # duplicates were dropped: so are their entries
                            kept = entry_seqs > 0
                            entry_ids, entry_seqs, entry_times = entry_ids[kept], entry_seqs[kept], entry_times[kept]
                        if len(entry_ids):
                            blocks = [_COPY_SIGNATURE]
                            for b in blocks_of(entry_ids, entry_times, entry_seqs):
                                blocks.append(_BLOCK_HEAD(6, 8, b.key_id, 8, b.max_time, 8, b.min_time, 8, b.max_seq,
                                                          len(b.times)))
                                blocks.append(b.times)
                                blocks.append(_field(b.seqs))
                            blocks.append(_COPY_TRAILER)
                            with cur.copy(Q["copy_postings"]) as copy:
                                copy.write(b"".join(blocks))
                    conn.execute(Q["seq_set"], {"last_seq": seq})
                    self._minute = max(self._minute, int(self._clock() // 60))
                    conn.execute(Q["received_add"], {"minute": self._minute, "seq": seq})
            if seq > first:  # committed: later groups checked early may not have seen these
                self._recent.append((first + 1, seq, inserted))
        else:
            results = [AppendResult(0, 0) for _ in jobs]
        for job, result in zip(jobs, results):
            job.result = result

    @staticmethod
    def _assign(prepared: _Prepared, seen: set[tuple[str, str]], first: int
                ) -> tuple[np.ndarray, list[bytes], set[tuple[str, str]], list[AppendResult], int]:
        """Seqs for a group with duplicates (stored ones in ``seen``, or repeated within the group:
        the first copy wins): per event its seq (0: dropped), the events' COPY rows (signature
        first), the inserted keys, each job's result and the last seq given."""
        seen = set(seen)
        inserted: set[tuple[str, str]] = set()
        seqs = np.zeros(len(prepared.keys), dtype=np.int64)
        rows = [_COPY_SIGNATURE]
        results: list[AppendResult] = []
        seq, at = first, 0
        for job in prepared.jobs:
            dups: list[int] = []
            for i in range(len(job.events)):
                key = prepared.keys[at + i]
                if key in seen:
                    dups.append(i)
                    continue
                seen.add(key)
                inserted.add(key)
                seq += 1
                seqs[at + i] = seq
                rows.append(_EVENT_HEAD(6, 8, seq))
                rows.append(prepared.tails[at + i])
            at += len(job.events)
            results.append(AppendResult(len(job.events) - len(dups), len(dups), tuple(dups)))
        return seqs, rows, inserted, results, seq

    # -- reading ------------------------------------------------------------------------------
    def _events(self, rows: list[tuple[Any, ...]], conn: psycopg.Connection) -> list[StoredEvent]:
        records = self._codec.decompress_many(bytes(r[4]) for r in rows)
        out = []
        for (seq, pid, event_time, event_id, _), record in zip(rows, records):
            account, region, category = self._partition_name(pid, conn)
            out.append(StoredEvent(seq, bytes(event_id).decode("utf-8", "surrogatepass"), event_time,
                                   account, region, category, record))
        return out

    def lookup(self, query: LookupQuery) -> LookupPage:
        key = (query.account_id, query.region, "Insight" if query.insight else "Management")
        with self._pool.connection() as conn:
            pid = self._partition_id(key, conn, create=False)
            if pid is None:
                return LookupPage()
            after = query.after if query.after is not None else (_BIG, _BIG)
            expired = query.expired if query.expired is not None else (-_BIG, -_BIG)
            params: dict[str, Any] = {
                "partition_id": pid,
                "start": _clamp(query.start_time if query.start_time is not None else -_BIG),
                "end": _clamp(query.end_time if query.end_time is not None else _BIG),
                "after_time": _clamp(after[0]), "after_seq": _clamp(after[1]),
                "expired_time": _clamp(expired[0]), "expired_seq": _clamp(expired[1]),
                "limit": query.limit + 1,
            }
            # event_time <= end and (event_time, seq) < after, as one row bound (seqs are below _BIG)
            params["upper_time"], params["upper_seq"] = min((params["end"], _BIG), (params["after_time"], params["after_seq"]))
            if query.attribute is None:
                rows = conn.execute(Q["lookup_all"], params).fetchall()
            else:
                name, value = query.attribute
                params["value"] = value.encode("utf-8", "surrogatepass")
                if name == "EventId":
                    params["account_id"] = query.account_id
                    rows = conn.execute(Q["lookup_event_id"], params).fetchall()
                elif name in _ATTRIBUTE:
                    params["attribute"] = _ATTRIBUTE[name]
                    rows = self._lookup_postings(conn, params)
                else:
                    return LookupPage()
            events = self._events(rows, conn)
        page = events[: query.limit]
        more = len(events) > query.limit
        return LookupPage(page, (page[-1].event_time, page[-1].seq) if more and page else None)

    def _lookup_postings(self, conn: psycopg.Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The event rows of an attribute lookup, newest first: the key's posting blocks by
        max_time descending, :data:`POSTINGS_PAGE` at a time, until no unread block can change
        the page (see :mod:`.postgres_postings`)."""
        row = conn.execute(Q["lookup_key"], params).fetchone()
        if row is None:
            return []
        key_id, purged_times, purged_seqs = row
        window = Window(params["start"], params["end"], (params["after_time"], params["after_seq"]),
                        ((params["expired_time"], params["expired_seq"]), *zip(purged_times, purged_seqs)))
        if window.upper < window.start:
            return []
        best = Best(params["limit"])
        page = {"key_id": key_id, "start": window.start, "cursor_time": _clamp(hour_end(window.upper)),
                "cursor_id": 0, "limit": POSTINGS_PAGE}
        while True:
            blocks = conn.execute(Q["postings_page"], page).fetchall()
            for block_id, max_time, min_time, times, seqs in blocks:
                if best.full_above(max_time):
                    blocks = []
                    break
                if min_time <= window.upper:
                    best.add(matches(unpack(times), unpack(seqs), window, params["limit"]))
                page["cursor_time"], page["cursor_id"] = max_time, block_id
            if len(blocks) < POSTINGS_PAGE:
                break
        found = best.newest_first()
        if not found:
            return []
        rows = {r[0]: r for r in conn.execute(Q["events_by_seq"], {"seqs": [s for _, s in found]})}
        return [rows[s] for _, s in found if s in rows]

    def last_seq(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(Q["seq_last"]).fetchone()
        return int(row[0]) if row else 0

    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        with self._pool.connection() as conn:
            return self._events(conn.execute(Q["read_since"], {"seq": seq, "limit": limit}).fetchall(), conn)

    def read_columns(self, seq: int, limit: int) -> EventColumns:
        with self._pool.connection() as conn:
            rows = conn.execute(Q["read_since"], {"seq": seq, "limit": limit}).fetchall()
            names = {pid: self._partition_name(pid, conn) for pid in {r[1] for r in rows}}
        records = self._codec.decompress_many(bytes(r[4]) for r in rows)
        return EventColumns([r[0] for r in rows], [r[1] for r in rows], names, records)

    def received_seq(self, before: int) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(Q["received_seq"], {"minute": _clamp(int(before // 60))}).fetchone()
        return int(row[0]) if row else 0

    def purge_before(self, event_time: int, through_seq: int | None = None) -> int:
        """Deletes in transactions of :data:`PURGE_CHUNK` events; appends go on meanwhile."""
        removed = 0
        with self._pool.connection() as conn:
            self._load_partitions(conn)
            params = {"partitions": sorted(self._names), "event_time": _clamp(event_time),
                      "through_seq": _clamp(through_seq if through_seq is not None else _BIG), "limit": PURGE_CHUNK}
            with conn.transaction():  # the bound first: lookups skip these events in posting blocks
                conn.execute(Q["purged_drop_covered"], params)
                conn.execute(Q["purged_add"], params)
            while True:
                with conn.transaction():
                    seqs = [r[0] for r in conn.execute(Q["purge_events"], params)]
                removed += len(seqs)
                if len(seqs) < PURGE_CHUNK:
                    break
            # posting blocks whose events are all purged (lookups skip purged events meanwhile)
            while conn.execute(Q["purge_postings"], params).rowcount == PURGE_CHUNK:
                pass
            return removed

    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(Q["count"]).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join()
        self._committer.join()
        self._pool.close()
        if self._on_close is not None:
            self._on_close()
