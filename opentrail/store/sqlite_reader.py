"""Reading the SQLite event store: LookupEvents pages and the ordered log, from any thread.

Each reading thread gets its own connection to ``events.sqlite3`` (WAL: readers never wait for
the indexer process). A LookupEvents page walks one lookup key's posting blocks newest first
(:meth:`SqliteEventReader._scan_postings`); EventId lookups use the eventID tables.

Lookups keep the events of their recent answers (:class:`_RecentEvents`): event history is read
newest first, so the same events are read again and again, and a kept event is reused only when its
row (compressed record, eventTime, partition, eventID) is the one just read -- a purged event is
never read again, and another event under a reused seq does not match.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

from .base import MAX_EVENT_TIME, MIN_EVENT_TIME, EventColumns, LookupPage, LookupQuery, StoredEvent
from .sqlite_codec import SEQ_MASK, LazyRecords, RecordCodec, event_id_hash, ord_bound, ord_of, unpack_ords
from .sqlite_indexer import connect_events, lookup_key_name

_MAX_ORD = (1 << 63) - 1
#: Events kept by :class:`_RecentEvents` (compressed and decompressed record: ~2-4 KiB each).
RECENT_EVENTS = 4096


class _RecentEvents:
    """A thread-safe LRU of decoded events by seq, each with the row it was decoded from."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[bytes, int, int, str, StoredEvent]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, seq: int, t: int, sid: int, eid: str, blob: bytes) -> StoredEvent | None:
        with self._lock:
            hit = self._entries.get(seq)
            if hit is None or hit[0] != blob or hit[1] != t or hit[2] != sid or hit[3] != eid:
                return None
            self._entries.move_to_end(seq)
            return hit[4]

    def put(self, items: list[tuple[bytes, int, int, str, StoredEvent]]) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            entries = self._entries
            for item in items:
                seq = item[4].seq
                entries[seq] = item
                entries.move_to_end(seq)
            while len(entries) > self.capacity:
                entries.popitem(last=False)


def _not_expired(expired: tuple[int, int] | None) -> Callable[[list[int]], list[int]]:
    """A filter of ords that leaves out those of :attr:`LookupQuery.expired` events."""
    if expired is None or expired[1] <= 0:
        return lambda ords: ords
    bound, through = ord_bound(expired[0], 0), expired[1]
    return lambda ords: [o for o in ords if o >= bound or o & SEQ_MASK > through]


class SqliteEventReader:
    """Lookups and ``read_since`` over ``path`` (``cache_mb`` of SQLite page cache per thread)."""

    def __init__(self, path: Path, cache_mb: int, codec: RecordCodec) -> None:
        self.directory = path.parent
        self._path = path
        self._cache_mb = cache_mb
        self._codec = codec
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._state_lock = threading.Lock()
        self._streams: dict[tuple[str, str, str], int] = {}
        self._stream_names: dict[int, tuple[str, str, str]] = {}
        self._closed = False
        self.recent = _RecentEvents(RECENT_EVENTS)

    def close(self) -> None:
        """Close every thread's connection; later reads raise RuntimeError."""
        with self._state_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError(f"event store {self.directory} is closed")
            conn = connect_events(self._path, self._cache_mb, reader=True)
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

    def _lookup_events(self, conn: sqlite3.Connection, rows: list[tuple[int, int, int, str, bytes]]) -> list[StoredEvent]:
        """:meth:`_events` through :attr:`recent`: only rows not kept there are decompressed."""
        recent = self.recent
        out: list[StoredEvent | None] = [recent.get(*row) for row in rows]
        missing = [i for i, e in enumerate(out) if e is None]
        if missing:
            fresh = self._events(conn, [rows[i] for i in missing])
            for i, e in zip(missing, fresh):
                out[i] = e
            recent.put([(rows[i][4], e.event_time, rows[i][2], e.event_id, e) for i, e in zip(missing, fresh)])
        return out  # type: ignore[return-value]

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
        keep = _not_expired(query.expired)
        conn.execute("BEGIN")  # one read transaction: index and events from the same snapshot
        try:
            if query.attribute is not None and query.attribute[0] == "EventId":
                ords = self._event_id_ords(conn, sid, query.account_id, query.attribute[1], lo, hi)
                found = self._by_seqs(conn, [o & SEQ_MASK for o in keep(ords)[:want]])
            else:
                attr, value = query.attribute if query.attribute is not None else ("", "")
                row = conn.execute(
                    "SELECT id FROM lookup_keys WHERE name = ?", (lookup_key_name(sid, attr, value),)
                ).fetchone()
                if row is None:
                    return LookupPage()
                found = []
                while len(found) < want and lo <= hi:
                    ords = self._scan_postings(conn, row[0], lo, hi, want - len(found))
                    if not ords:
                        break
                    # ords of purged events (in blocks straddling a purge) resolve to nothing
                    found += self._by_seqs(conn, [o & SEQ_MASK for o in keep(ords)])
                    hi = ords[-1] - 1
            events = self._lookup_events(conn, found[: query.limit])
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
            end = bisect.bisect_right(ords, hi)
            # only the window's n largest can be among the n largest
            window = ords[max(bisect.bisect_left(ords, lo), end - n) : end]
            if not window:
                continue
            best = window[::-1].tolist() if not best else heapq.nlargest(n, itertools.chain(best, window))
        return best

    def _event_id_ords(self, conn: sqlite3.Connection, sid: int, account: str, event_id: str, lo: int, hi: int) -> list[int]:
        h = event_id_hash(account, event_id)
        seqs = [
            s
            for (s,) in conn.execute(
                "SELECT seq FROM event_ids WHERE h = ? UNION ALL SELECT seq FROM event_ids_recent WHERE h = ?", (h, h)
            )
        ]
        ords = [
            ord_of(t, seq)
            for seq, t, stream, eid, _blob in self._by_seqs(conn, seqs)
            if stream == sid and eid == event_id and lo <= ord_of(t, seq) <= hi
        ]
        return sorted(ords, reverse=True)

    def received_seq(self, before: int) -> int:
        """See :meth:`EventStore.received_seq`: the ``received`` row of the newest minute that ends
        at or before ``before``."""
        row = self._reader().execute(
            "SELECT max(seq) FROM received WHERE minute < ?", (before // 60,)
        ).fetchone()
        return int(row[0] or 0)

    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        conn = self._reader()
        rows = conn.execute(
            "SELECT seq, event_time, stream, event_id, record FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return self._events(conn, rows)

    def read_columns(self, seq: int, limit: int) -> EventColumns:
        """:meth:`read_since` as columns: partition ids are the ``streams`` table's ids."""
        conn = self._reader()
        rows = conn.execute(
            "SELECT seq, stream, record FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        if not rows:
            return EventColumns((), (), {}, ())
        seqs, streams, blobs = zip(*rows)
        names = {sid: self._stream_name(conn, sid) for sid in set(streams)}
        # decompressed when a record is first read (a consumer skipping these partitions never does)
        return EventColumns(seqs, streams, names, LazyRecords(list(blobs), self._codec))
