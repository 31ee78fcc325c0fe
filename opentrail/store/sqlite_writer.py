"""The SQLite event store's single writer thread: group commit, eventID dedup, index maintenance.

Callers queue :class:`AppendJob` (already compressed) or :class:`CallJob` (a function run in its
own transaction, e.g. one purge chunk). The thread takes every append queued so far (up to
``MAX_GROUP_EVENTS``), writes them in one transaction and commits; with ``synchronous=FULL`` in WAL
mode the commit is fsync'd, so a job is acknowledged only once durable. Waiting callers are woken
after the commit, at which point the events are also visible to every reader connection.
"""

from __future__ import annotations

import array
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .base import AppendResult, NewEvent
from .sqlite_codec import event_id_hash, ord_of, pack_ords, unpack_ords

log = logging.getLogger(__name__)

MAX_GROUP_EVENTS = 20_000
#: Ords per posting block (8 bytes each).
BLOCK_ORDS = 512
#: Posting-tail cache budget, in ords, before it is dropped.
MAX_CACHED_TAIL_ORDS = 4_000_000
_IN_CHUNK = 900
#: Categories LookupEvents can return, by the stream's category.
INDEXED_CATEGORIES = frozenset({"Management", "Insight"})


@dataclass(eq=False)
class AppendJob:
    """One append()/submit() batch; ``blobs`` are the compressed records."""

    events: Sequence[NewEvent]
    blobs: list[bytes]
    done: threading.Event = field(default_factory=threading.Event)
    result: AppendResult | None = None
    error: BaseException | None = None


@dataclass(eq=False)
class CallJob:
    """Run ``fn(conn)`` inside one write transaction; its return value lands in ``result``."""

    fn: Callable[[sqlite3.Connection], object]
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


_STOP = object()


class SqliteWriter:
    """Owns the write connection. ``last_seq`` and ``count`` are the committed values."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._streams: dict[tuple[str, str, str], int] = {}
        self._keys: dict[tuple[int, str, str], int] = {}
        self._tails: dict[int, tuple[int, int, list[int]]] = {}
        self._fresh_keys: set[int] = set()
        self._tail_ords = 0
        self.last_seq: int = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        row = conn.execute("SELECT value FROM meta WHERE name = 'count'").fetchone()
        self.count: int = int(row[0]) if row else 0
        self._thread = threading.Thread(target=self._run, name="opentrail-store-writer", daemon=True)
        self._thread.start()

    # -- called from any thread -------------------------------------------------------------
    def put(self, job: AppendJob | CallJob) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        """Finish every queued job, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    # -- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        pending: object | None = None
        while True:
            item = pending if pending is not None else self._queue.get()
            pending = None
            if item is _STOP:
                return
            if isinstance(item, CallJob):
                self._run_call(item)
                continue
            assert isinstance(item, AppendJob)
            group = [item]
            n = len(item.events)
            while n < MAX_GROUP_EVENTS:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(nxt, AppendJob):
                    pending = nxt
                    break
                group.append(nxt)
                n += len(nxt.events)
            self._run_appends(group)

    def _run_call(self, job: CallJob) -> None:
        try:
            with self._conn:
                job.result = job.fn(self._conn)
        except BaseException as exc:  # handed to the caller
            job.error = exc
        job.done.set()

    def _run_appends(self, group: list[AppendJob]) -> None:
        seq_before, count_before = self.last_seq, self.count
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            results = self._write(group)
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('count', ?)", (self.count,)
            )
            self._conn.execute("COMMIT")
        except BaseException as exc:
            log.exception("event store write failed")
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self.last_seq, self.count = seq_before, count_before
            self._streams.clear()
            self._keys.clear()
            self.reset_caches()
            for job in group:
                job.error = exc
                job.done.set()
            return
        for job, res in zip(group, results):
            job.result = res
            job.done.set()

    def _write(self, group: list[AppendJob]) -> list[AppendResult]:
        conn = self._conn
        hashes = [[event_id_hash(e.account_id, e.event_id) for e in job.events] for job in group]
        stored = self._stored_ids([h for hs in hashes for h in hs])
        seen: set[tuple[str, str]] = set()
        event_rows: list[tuple[int, int, int, str, bytes]] = []
        id_rows: list[tuple[int, int]] = []
        postings: dict[int, list[int]] = {}
        results: list[AppendResult] = []
        seq = self.last_seq
        key_id = self._key_id
        for job, hs in zip(group, hashes):
            dups: list[int] = []
            for i, (e, h) in enumerate(zip(job.events, hs)):
                ident = (e.account_id, e.event_id)
                if ident in seen or ident in stored.get(h, ()):
                    dups.append(i)
                    continue
                seen.add(ident)
                seq += 1
                stream = self._stream_id(e.account_id, e.region, e.category)
                if e.category in INDEXED_CATEGORIES:
                    o = ord_of(e.event_time, seq)
                    postings.setdefault(key_id(stream, "", ""), []).append(o)
                    for attr, value in e.lookup:
                        if attr != "EventId":
                            postings.setdefault(key_id(stream, attr, value), []).append(o)
                event_rows.append((seq, e.event_time, stream, e.event_id, job.blobs[i]))
                id_rows.append((h, seq))
            results.append(AppendResult(len(job.events) - len(dups), len(dups), tuple(dups)))
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", event_rows)
        conn.executemany("INSERT INTO event_ids VALUES (?, ?)", id_rows)
        self._write_postings(postings)
        self.last_seq = seq
        self.count += len(event_rows)
        return results

    def _write_postings(self, postings: dict[int, list[int]]) -> None:
        """Add each key's new ords to its newest block while that stays within ``BLOCK_ORDS``,
        else start a new block. Newest blocks are cached so a small group costs no reads."""
        conn = self._conn
        tails = self._tails
        for key, ords in postings.items():
            tail = tails.get(key)
            if tail is None and key not in self._fresh_keys:
                row = conn.execute(
                    "SELECT p.max_ord, p.block, b.ords FROM postings p JOIN posting_blocks b ON b.id = p.block"
                    " WHERE p.key = ? ORDER BY p.max_ord DESC LIMIT 1",
                    (key,),
                ).fetchone()
                if row is not None:
                    tail = (row[0], row[1], list(unpack_ords(row[2])))
            if tail is not None and len(tail[2]) + len(ords) <= BLOCK_ORDS:
                old_max, block, merged = tail
                merged = merged + ords
                merged.sort()
                conn.execute("UPDATE posting_blocks SET n = ?, ords = ? WHERE id = ?", (len(merged), pack_ords(merged), block))
                conn.execute("DELETE FROM postings WHERE key = ? AND max_ord = ?", (key, old_max))
                conn.execute("INSERT INTO postings VALUES (?, ?, ?, ?)", (key, merged[-1], merged[0], block))
                tails[key] = (merged[-1], block, merged)
                self._tail_ords += len(ords)
                continue
            ords.sort()
            for i in range(0, len(ords), BLOCK_ORDS):
                chunk = ords[i : i + BLOCK_ORDS]
                block = conn.execute(
                    "INSERT INTO posting_blocks (n, ords) VALUES (?, ?)", (len(chunk), pack_ords(chunk))
                ).lastrowid
                conn.execute("INSERT INTO postings VALUES (?, ?, ?, ?)", (key, chunk[-1], chunk[0], block))
            tails[key] = (chunk[-1], block, chunk)
            self._tail_ords += len(chunk)
        if self._tail_ords > MAX_CACHED_TAIL_ORDS:
            self.reset_caches()

    def reset_caches(self) -> None:
        """Forget cached posting tails (after a purge or a failed transaction)."""
        self._tails.clear()
        self._fresh_keys.clear()
        self._tail_ords = 0

    def _stored_ids(self, hashes: list[int]) -> dict[int, set[tuple[str, str]]]:
        """(account, eventID) pairs already stored under each of ``hashes`` that has any."""
        found: dict[int, set[tuple[str, str]]] = {}
        uniq = list(set(hashes))
        for i in range(0, len(uniq), _IN_CHUNK):
            chunk = uniq[i : i + _IN_CHUNK]
            sql = (
                "SELECT i.h, s.account_id, e.event_id FROM event_ids i"
                " JOIN events e ON e.seq = i.seq JOIN streams s ON s.id = e.stream"
                f" WHERE i.h IN ({','.join('?' * len(chunk))})"
            )
            for h, account, event_id in self._conn.execute(sql, chunk):
                found.setdefault(h, set()).add((account, event_id))
        return found

    def _stream_id(self, account_id: str, region: str, category: str) -> int:
        k = (account_id, region, category)
        sid = self._streams.get(k)
        if sid is None:
            self._conn.execute(
                "INSERT OR IGNORE INTO streams (account_id, region, category) VALUES (?, ?, ?)", k
            )
            sid = self._conn.execute(
                "SELECT id FROM streams WHERE account_id = ? AND region = ? AND category = ?", k
            ).fetchone()[0]
            self._streams[k] = sid
        return sid

    def _key_id(self, stream: int, attribute: str, value: str) -> int:
        k = (stream, attribute, value)
        kid = self._keys.get(k)
        if kid is None:
            if len(self._keys) > 1_000_000:
                self._keys.clear()
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO lookup_keys (stream, attribute, value) VALUES (?, ?, ?)", k
            )
            if cur.rowcount == 1:
                kid = cur.lastrowid
                self._fresh_keys.add(kid)
            else:
                kid = self._conn.execute(
                    "SELECT id FROM lookup_keys WHERE stream = ? AND attribute = ? AND value = ?", k
                ).fetchone()[0]
            self._keys[k] = kid
        return kid
