"""The embedded event store: one SQLite database (WAL mode) in a directory.

Layout (``sqlite_schema.sql``): ``events`` is the log (rowid = seq, records deflated with a preset
dictionary), ``event_ids`` maps a 64-bit hash of (account, eventID) to seq for dedup and EventId
lookups, ``lookup_index`` is a WITHOUT ROWID B-tree of (interned key, eventTime << 32 | seq) so a
LookupEvents page is one descending range scan. Writes go through :class:`SqliteWriter` (one
thread, group commit, ``synchronous=FULL``); each reading thread gets its own connection.

A directory is opened by one process at a time: ``<directory>/LOCK`` is held with ``flock``.
"""

from __future__ import annotations

import bisect
import fcntl
import heapq
import itertools
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Sequence

from .base import MAX_EVENT_TIME, MIN_EVENT_TIME, AppendResult, EventStore, LookupPage, LookupQuery, NewEvent, StoredEvent
from .errors import StoreLockedError
from .sqlite_codec import DEFAULT_ZDICT, SEQ_MASK, RecordCodec, event_id_hash, ord_bound, ord_of, unpack_ords
from .sqlite_writer import AppendJob, CallJob, SqliteWriter

DB_NAME = "events.sqlite3"
LOCK_NAME = "LOCK"
PURGE_CHUNK_EVENTS = 2_000
_MAX_ORD = (1 << 63) - 1
_SCHEMA = (Path(__file__).parent / "sqlite_schema.sql").read_text()


def store_locked(directory: Path | str) -> bool:
    """True if an open store holds ``directory``'s lock (any process, including this one).
    Never blocks; False when the directory or its LOCK file does not exist."""
    path = Path(directory) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases a lock we just took
    return False


def _take_lock(directory: Path) -> int:
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(directory) from None
    return fd


def _connect(path: Path, cache_mb: int, *, reader: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA cache_size = {-cache_mb * 1024}")
    # no mmap: a page fault reads ahead up to 128 KiB+, which made cold lookups 10x slower
    conn.execute("PRAGMA mmap_size = 0")
    conn.execute("PRAGMA temp_store = MEMORY")
    if reader:
        conn.execute("PRAGMA query_only = 1")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA journal_size_limit = 67108864")
    return conn


class SqliteEventStore(EventStore):
    """:class:`EventStore` in ``directory`` (created if missing).

    Raises :class:`StoreLockedError` if another store has the directory open. ``cache_mb`` is the
    writer's SQLite page cache; each reader thread gets a quarter of it (plus the OS page cache;
    no mmap, so a cold read fetches one page, not a read-ahead window).
    """

    durable = True

    def __init__(self, directory: Path, *, cache_mb: int = 256) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = _take_lock(self.directory)
        self._path = self.directory / DB_NAME
        self._cache_mb = cache_mb
        try:
            conn = _connect(self._path, cache_mb, reader=False)
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('zdict', ?)", (DEFAULT_ZDICT,))
            self._codec = RecordCodec(conn.execute("SELECT value FROM meta WHERE name = 'zdict'").fetchone()[0])
            self._writer = SqliteWriter(conn)
            self._writer_conn = conn
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._state_lock = threading.Lock()
        self._streams: dict[tuple[str, str, str], int] = {}
        self._stream_names: dict[int, tuple[str, str, str]] = {}
        self._closed = False

    # -- writing ----------------------------------------------------------------------------
    def _job(self, events: Sequence[NewEvent]) -> AppendJob:
        if self._closed:
            raise RuntimeError(f"event store {self.directory} is closed")
        compress = self._codec.compress
        return AppendJob(events, [compress(e.record) for e in events])

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        """Durable on return; committed data is at once visible to lookups (``wait_visible`` needs
        no extra wait). Raises the underlying ``sqlite3.Error`` if the commit failed."""
        if not events:
            return AppendResult(0, 0)
        job = self._job(events)
        self._writer.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def submit(self, events: Sequence[NewEvent]) -> None:
        """Queue without waiting; a failed commit is logged by the writer."""
        if events:
            self._writer.put(self._job(events))

    def purge_before(self, event_time: int) -> int:
        """Delete in transactions of ``PURGE_CHUNK_EVENTS`` events, so appends queued meanwhile
        wait at most one chunk (a few ms)."""
        total = 0
        while True:
            job = CallJob(lambda conn: self._purge_chunk(conn, event_time))
            self._writer.put(job)
            job.done.wait()
            if job.error is not None:
                raise job.error
            assert isinstance(job.result, tuple)
            deleted, more = job.result
            total += deleted
            if not more:
                return total

    def _purge_chunk(self, conn: sqlite3.Connection, before: int) -> tuple[int, bool]:
        """One chunk: up to PURGE_CHUNK_EVENTS events, their eventID rows, and posting blocks whose
        newest ord is older than ``before``. Blocks that straddle ``before`` stay; lookups skip
        their ords of deleted events."""
        rows = conn.execute(
            "SELECT seq, stream, event_id FROM events WHERE event_time < ? ORDER BY event_time LIMIT ?",
            (before, PURGE_CHUNK_EVENTS),
        ).fetchall()
        cutoff = ord_bound(before, 0)
        blocks = conn.execute(
            "SELECT key, max_ord, block FROM postings WHERE max_ord < ? LIMIT ?", (cutoff, PURGE_CHUNK_EVENTS)
        ).fetchall()
        if not rows and not blocks:
            return 0, False
        accounts = dict(conn.execute("SELECT id, account_id FROM streams"))
        conn.executemany(
            "DELETE FROM event_ids WHERE h = ? AND seq = ?",
            [(event_id_hash(accounts[s], eid), seq) for seq, s, eid in rows],
        )
        conn.executemany("DELETE FROM events WHERE seq = ?", [(r[0],) for r in rows])
        conn.executemany("DELETE FROM postings WHERE key = ? AND max_ord = ?", [(k, m) for k, m, _ in blocks])
        conn.executemany("DELETE FROM posting_blocks WHERE id = ?", [(b,) for _, _, b in blocks])
        self._writer.reset_caches()
        self._writer.count -= len(rows)
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('count', ?)", (self._writer.count,))
        return len(rows), max(len(rows), len(blocks)) == PURGE_CHUNK_EVENTS

    # -- reading ----------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError(f"event store {self.directory} is closed")
            conn = _connect(self._path, max(8, self._cache_mb // 4), reader=True)
            with self._state_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _stream_id(self, conn: sqlite3.Connection, account: str, region: str, category: str) -> int | None:
        k = (account, region, category)
        sid = self._streams.get(k)
        if sid is None:
            row = conn.execute(
                "SELECT id FROM streams WHERE account_id = ? AND region = ? AND category = ?", k
            ).fetchone()
            if row is None:
                return None
            sid = self._streams[k] = row[0]
        return sid

    def _stream_name(self, conn: sqlite3.Connection, sid: int) -> tuple[str, str, str]:
        name = self._stream_names.get(sid)
        if name is None:
            for i, a, r, c in conn.execute("SELECT id, account_id, region, category FROM streams"):
                self._stream_names[i] = (a, r, c)
            name = self._stream_names[sid]
        return name

    def _events(self, conn: sqlite3.Connection, rows: Iterable[tuple[int, int, int, str, bytes]]) -> list[StoredEvent]:
        out = []
        decompress = self._codec.decompress
        for seq, t, sid, eid, blob in rows:
            account, region, category = self._stream_name(conn, sid)
            out.append(StoredEvent(seq, eid, t, account, region, category, decompress(blob)))
        return out

    def _by_seqs(self, conn: sqlite3.Connection, seqs: list[int]) -> list[tuple[int, int, int, str, bytes]]:
        if not seqs:
            return []
        sql = f"SELECT seq, event_time, stream, event_id, record FROM events WHERE seq IN ({','.join('?' * len(seqs))})"
        found = {r[0]: r for r in conn.execute(sql, seqs)}
        return [found[s] for s in seqs if s in found]

    def lookup(self, query: LookupQuery) -> LookupPage:
        conn = self._reader()
        sid = self._stream_id(conn, query.account_id, query.region, "Insight" if query.insight else "Management")
        if sid is None:
            return LookupPage()
        if (query.start_time is not None and query.start_time > MAX_EVENT_TIME) or (
            query.end_time is not None and query.end_time < MIN_EVENT_TIME
        ):
            return LookupPage()
        lo = ord_bound(query.start_time, 0) if query.start_time is not None else 0
        hi = ord_bound(query.end_time, SEQ_MASK) if query.end_time is not None else _MAX_ORD
        if query.after is not None:
            hi = min(hi, ord_bound(query.after[0], min(max(query.after[1], 0), SEQ_MASK)) - 1)
        if lo > hi:
            return LookupPage()
        want = query.limit + 1
        conn.execute("BEGIN")  # one read transaction: index and events from the same snapshot
        try:
            if query.attribute is not None and query.attribute[0] == "EventId":
                ords = self._event_id_ords(conn, sid, query.account_id, query.attribute[1], lo, hi)
                found = self._by_seqs(conn, [o & SEQ_MASK for o in ords[:want]])
            else:
                attr, value = query.attribute if query.attribute is not None else ("", "")
                row = conn.execute(
                    "SELECT id FROM lookup_keys WHERE stream = ? AND attribute = ? AND value = ?",
                    (sid, attr, value),
                ).fetchone()
                if row is None:
                    return LookupPage()
                found = []
                while len(found) < want and lo <= hi:
                    ords = self._scan_postings(conn, row[0], lo, hi, want - len(found))
                    if not ords:
                        break
                    # ords of purged events (in blocks straddling a purge) resolve to nothing
                    found += self._by_seqs(conn, [o & SEQ_MASK for o in ords])
                    hi = ords[-1] - 1
            events = self._events(conn, found[: query.limit])
        finally:
            conn.execute("COMMIT")
        cursor = (events[-1].event_time, events[-1].seq) if len(found) > query.limit and events else None
        return LookupPage(events, cursor)

    def _scan_postings(self, conn: sqlite3.Connection, key: int, lo: int, hi: int, n: int) -> list[int]:
        """The ``n`` largest ords of ``key`` within [lo, hi], descending.

        Walks the key's blocks by max_ord descending; a block whose max_ord is below the n-th best
        ord found so far cannot improve the answer, so the walk stops there."""
        best: list[int] = []
        for max_ord, min_ord, block in conn.execute(
            "SELECT max_ord, min_ord, block FROM postings WHERE key = ? AND max_ord >= ? ORDER BY max_ord DESC",
            (key, lo),
        ):
            if len(best) >= n and max_ord < best[n - 1]:
                break
            if min_ord > hi:
                continue
            ords = unpack_ords(conn.execute("SELECT ords FROM posting_blocks WHERE id = ?", (block,)).fetchone()[0])
            window = ords[bisect.bisect_left(ords, lo) : bisect.bisect_right(ords, hi)]
            if not window:
                continue
            best = heapq.nlargest(n, itertools.chain(best, window))
        return best

    def _event_id_ords(self, conn: sqlite3.Connection, sid: int, account: str, event_id: str, lo: int, hi: int) -> list[int]:
        seqs = [s for (s,) in conn.execute("SELECT seq FROM event_ids WHERE h = ?", (event_id_hash(account, event_id),))]
        ords = [
            ord_of(t, seq)
            for seq, t, stream, eid, _blob in self._by_seqs(conn, seqs)
            if stream == sid and eid == event_id and lo <= ord_of(t, seq) <= hi
        ]
        return sorted(ords, reverse=True)

    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        conn = self._reader()
        rows = conn.execute(
            "SELECT seq, event_time, stream, event_id, record FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return self._events(conn, rows)

    def count(self) -> int:
        """Committed events (kept in the writer; no table scan)."""
        return self._writer.count

    def close(self) -> None:
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        self._writer.stop()
        for conn in readers:
            conn.close()
        self._writer_conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
