"""The SQLite event store's indexer: a child process that applies the log to the events database.

It is the events database's only writer. It takes the log rows after the last applied id (up to
``MAX_GROUP_EVENTS`` events), and in one transaction dedups them on (account, eventID), appends the
new ones to ``events`` (seq = append order), adds their lookup keys to the posting blocks, and
records the last applied log id in ``meta`` -- so every log row is applied exactly once, also after
a crash at any moment: a transaction cut short by a kill is rolled back when the next indexer opens
the database, and that indexer starts after the last *committed* log id. It reports each applied
row's :class:`AppendResult` to the store over a pipe, and runs purges between groups.

The same transaction keeps the last group's log id range and duplicate indexes in ``meta``
(``last_group``): a new indexer first reports that group again, so the results of a group committed
just before a kill (its report lost with the process) still reach the appends waiting for them.

Running in its own process lets indexing use the second core while the server process parses,
compresses and acknowledges (CPython threads share one core for Python code).

Messages, store -> indexer: ``("log", last_id)`` (new rows), ``("purge", token, before,
through_seq)``,
``("stop",)`` (apply everything, then exit). Indexer -> store: ``("started", pid)`` once the
database is open, then ``("applied", [(log_id, accepted, dup_indexes), ...], last_seq, count)`` for
the last group applied before (again) and for the backlog, ``("ready", last_seq, count, applied)``
once the backlog found at start is applied, then more ``applied`` messages, ``("purging" |
"purged", token, deleted, error, count)`` (one per purge chunk), ``("full", message)`` when a group
failed for lack of space (the indexer then retries with a backoff of up to ``FULL_RETRY_MAX_S``
instead of exiting) and ``("full", None)`` once one succeeds again, ``("failed", message,
disk_full)`` (then it exits). The indexer exits when the store's end of the pipe closes (the server died): the next start
replays whatever was not applied. The store restarts an indexer that dies
(:mod:`.sqlite_supervisor`).
"""

from __future__ import annotations

import array
import fcntl
import gc
import itertools
import logging
import os
import signal
import sqlite3
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

import orjson

from .errors import is_disk_full
from .sqlite_codec import SEQ_BITS, SEQ_MASK, event_id_hash, ord_bound, unpack_ords
from .sqlite_log import KEY_SEP, connect_log, decode_batch

log = logging.getLogger(__name__)

MAX_GROUP_EVENTS = 20_000
#: Ords per posting block (8 bytes each).
BLOCK_ORDS = 512
#: Interned lookup keys cached in memory before the cache is dropped.
MAX_CACHED_KEYS = 1_000_000
#: Posting-tail cache budget, in ords, before it is dropped.
MAX_CACHED_TAIL_ORDS = 4_000_000
PURGE_CHUNK_EVENTS = 2_000
#: event_ids_recent rows that start a merge into event_ids (a tenth of that moves per step).
MERGE_AT_IDS = 1_000_000
INDEXER_LOCK = "INDEXER.LOCK"
_IN_CHUNK = 900
#: Categories LookupEvents can return.
INDEXED_CATEGORIES = frozenset({"Management", "Insight"})


def lookup_key_name(stream: int, attribute: str, value: str) -> str:
    """The interned name of a lookup key: ``"<stream>:"`` for every event of the stream (empty
    attribute), else ``"<stream>:<attribute>\\x1f<value>"`` (see sqlite_schema.sql)."""
    return f"{stream}:" if not attribute else f"{stream}:{attribute}{KEY_SEP}{value}"


def connect_events(path: Path, cache_mb: int, *, reader: bool) -> sqlite3.Connection:
    """A connection to the events database (WAL; the writer's commits are fsync'd)."""
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


class IndexWriter:
    """Applies decoded log rows to the events database (one connection, one thread)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        block_ords: int = BLOCK_ORDS,
        merge_at_ids: int = MERGE_AT_IDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._clock = clock
        self._block_ords = block_ords
        self._merge_at_ids = merge_at_ids
        self._merge_chunk_ids = max(1, merge_at_ids // 10)
        self._streams: dict[tuple[str, str, str], int] = {}
        self._keys: dict[str, int] = {}
        self._key_id: int | None = None
        self._block_id: int | None = None
        self._tails: dict[int, tuple[int, int, array.array[int]]] = {}
        self._fresh_keys: set[int] = set()
        self._tail_ords = 0
        self.last_seq: int = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        self.count: int = self._meta_int("count")
        self.applied: int = self._meta_int("applied_log_id")
        self.recent_ids: int = conn.execute("SELECT count(*) FROM event_ids_recent").fetchone()[0]
        self._merge_from: int | None = None

    def last_group(self, log_conn: sqlite3.Connection) -> list[tuple[int, int, list[int]]]:
        """The results of the last group applied (by any indexer process), for the rows of it still
        in the log -- rows the store has not truncated, so maybe not reported yet."""
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'last_group'").fetchone()
        if row is None or not self.applied:
            return []
        first, with_dups = orjson.loads(row[0])
        dups = {log_id: d for log_id, d in with_dups}
        return [
            (log_id, n - len(dups.get(log_id, ())), dups.get(log_id, []))
            for log_id, n in log_conn.execute(
                "SELECT id, n FROM log WHERE id >= ? AND id <= ? ORDER BY id", (first, self.applied)
            )
        ]

    def _meta_int(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def apply(self, rows: list[tuple[int, bytes]]) -> list[tuple[int, int, list[int]]]:
        """Apply log rows ``(log_id, payload)`` in one transaction; returns ``(log_id, accepted,
        duplicate indexes)`` per row. On failure nothing is applied and caches are reset."""
        seq_before, count_before = self.last_seq, self.count
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = self._write(rows)
            last_group = orjson.dumps([rows[0][0], [[log_id, dups] for log_id, _, dups in results if dups]])
            conn.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                [("count", self.count), ("applied_log_id", rows[-1][0]), ("last_group", last_group)],
            )
            if self.last_seq > seq_before:  # receive times, for retention (sqlite_schema.sql)
                conn.execute(
                    "INSERT OR REPLACE INTO received (minute, seq) VALUES (?, ?)",
                    (int(self._clock()) // 60, self.last_seq),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.last_seq, self.count = seq_before, count_before
            self._streams.clear()
            self._keys.clear()
            self._key_id = None
            self._block_id = None
            self.reset_caches()
            raise
        self.applied = rows[-1][0]
        return results

    def _write(self, rows: list[tuple[int, bytes]]) -> list[tuple[int, int, list[int]]]:
        conn = self._conn
        batches = [(log_id, decode_batch(payload)) for log_id, payload in rows]
        hashes = [[event_id_hash(e[2], e[0]) for e in events] for _, events in batches]
        stored = self._stored_ids([h for hs in hashes for h in hs])
        seen: set[tuple[str, str]] = set()
        event_rows: list[tuple[int, int, int, str, bytes]] = []
        id_rows: list[tuple[int, int]] = []
        by_stream: dict[int, dict[str, list[int]]] = {}
        results: list[tuple[int, int, list[int]]] = []
        seq = self.last_seq
        stream_id = self._stream_id
        for (log_id, events), hs in zip(batches, hashes):
            dups: list[int] = []
            for i, (event_id, event_time, account, region, category, lookup, blob) in enumerate(events):
                h = hs[i]
                ident = (account, event_id)
                if ident in seen or (h in stored and ident in stored[h]):
                    dups.append(i)
                    continue
                seen.add(ident)
                seq += 1
                stream = stream_id(account, region, category)
                if category in INDEXED_CATEGORIES:
                    o = (event_time << SEQ_BITS) | seq
                    postings = by_stream.get(stream)
                    if postings is None:
                        postings = by_stream[stream] = {}
                    for name in ("", *lookup):
                        got = postings.get(name)
                        if got is None:
                            postings[name] = [o]
                        else:
                            got.append(o)
                event_rows.append((seq, event_time, stream, event_id, blob))
                id_rows.append((h, seq))
            results.append((log_id, len(events) - len(dups), dups))
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", event_rows)
        conn.executemany("INSERT INTO event_ids_recent VALUES (?, ?)", id_rows)
        self.recent_ids += len(id_rows)
        self._write_postings(self._intern(by_stream))
        self.last_seq = seq
        self.count += len(event_rows)
        return results

    def _intern(self, by_stream: dict[int, dict[str, list[int]]]) -> dict[int, list[int]]:
        """Map each stream's lookup key names to interned key ids, creating the missing ones in
        two statements (keys created here have no postings yet: no tail to look up)."""
        out: dict[int, list[int]] = {}
        missing: list[tuple[str, list[int]]] = []
        cache = self._keys
        for stream, postings in by_stream.items():
            prefix = f"{stream}:"
            for name, ords in postings.items():
                full = prefix + name
                kid = cache.get(full)
                if kid is None:
                    missing.append((full, ords))
                else:
                    out[kid] = ords
        if not missing:
            return out
        if len(cache) + len(missing) > MAX_CACHED_KEYS:
            cache.clear()
        found: dict[str, int] = {}
        names = [full for full, _ in missing]
        for i in range(0, len(names), _IN_CHUNK):
            chunk = names[i : i + _IN_CHUNK]
            found.update(
                (n, k)
                for k, n in self._conn.execute(
                    f"SELECT id, name FROM lookup_keys WHERE name IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        new_rows: list[tuple[int, str]] = []
        if self._key_id is None:
            self._key_id = self._conn.execute("SELECT coalesce(max(id), 0) FROM lookup_keys").fetchone()[0]
        for full, ords in missing:
            kid = found.get(full)
            if kid is None:
                self._key_id += 1
                kid = self._key_id
                new_rows.append((kid, full))
                self._fresh_keys.add(kid)
            cache[full] = kid
            out[kid] = ords
        self._conn.executemany("INSERT INTO lookup_keys (id, name) VALUES (?, ?)", new_rows)
        return out

    def _write_postings(self, postings: dict[int, list[int]]) -> None:
        """Add each key's new ords to its newest block while that stays within ``block_ords``,
        else start new blocks. Newest blocks are cached so a group costs no reads; statements are
        batched with executemany."""
        conn = self._conn
        tails = self._tails
        block_ords = self._block_ords
        unknown = [k for k in postings if k not in tails and k not in self._fresh_keys]
        for i in range(0, len(unknown), _IN_CHUNK):
            chunk = unknown[i : i + _IN_CHUNK]
            for key, max_ord, block, blob in conn.execute(
                "SELECT p.key, p.max_ord, p.block, b.ords FROM postings p JOIN posting_blocks b ON b.id = p.block"
                f" WHERE p.key IN ({','.join('?' * len(chunk))})"
                " AND p.max_ord = (SELECT max(max_ord) FROM postings q WHERE q.key = p.key)",
                chunk,
            ):
                tails[key] = (max_ord, block, unpack_ords(blob))
        new_blocks: list[tuple[int, int, bytes]] = []
        new_postings: list[tuple[int, int, int, int]] = []
        updated_blocks: list[tuple[int, bytes, int]] = []
        dropped_postings: list[tuple[int, int]] = []
        next_block = self._next_block_id()
        for key, ords in postings.items():
            ords.sort()  # appended in seq order, so nearly sorted already: timsort is linear
            tail = tails.get(key)
            if tail is not None and len(tail[2]) + len(ords) <= block_ords:
                old_max, block, merged = tail
                if ords[0] > old_max:
                    merged = merged + array.array("q", ords)  # the common case: all newer
                else:
                    merged = array.array("q", sorted(itertools.chain(merged, ords)))
                updated_blocks.append((len(merged), merged.tobytes(), block))
                dropped_postings.append((key, old_max))
                new_postings.append((key, merged[-1], merged[0], block))
                tails[key] = (merged[-1], block, merged)
                self._tail_ords += len(ords)
                continue
            for i in range(0, len(ords), block_ords):
                chunk = array.array("q", ords[i : i + block_ords])
                new_blocks.append((next_block, len(chunk), chunk.tobytes()))
                new_postings.append((key, chunk[-1], chunk[0], next_block))
                next_block += 1
            tails[key] = (chunk[-1], next_block - 1, chunk)
            self._tail_ords += len(chunk)
        conn.executemany("UPDATE posting_blocks SET n = ?, ords = ? WHERE id = ?", updated_blocks)
        conn.executemany("DELETE FROM postings WHERE key = ? AND max_ord = ?", dropped_postings)
        conn.executemany("INSERT INTO posting_blocks (id, n, ords) VALUES (?, ?, ?)", new_blocks)
        conn.executemany("INSERT INTO postings VALUES (?, ?, ?, ?)", new_postings)
        self._block_id = next_block - 1
        if self._tail_ords > MAX_CACHED_TAIL_ORDS:
            self.reset_caches()

    def _next_block_id(self) -> int:
        if self._block_id is None:
            self._block_id = self._conn.execute("SELECT coalesce(max(id), 0) FROM posting_blocks").fetchone()[0]
        return self._block_id + 1

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
                "SELECT i.h, s.account_id, e.event_id FROM"
                f" (SELECT h, seq FROM event_ids WHERE h IN ({','.join('?' * len(chunk))})"
                f"  UNION ALL SELECT h, seq FROM event_ids_recent WHERE h IN ({','.join('?' * len(chunk))})) i"
                " JOIN events e ON e.seq = i.seq JOIN streams s ON s.id = e.stream"
            )
            for h, account, event_id in self._conn.execute(sql, chunk + chunk):
                found.setdefault(h, set()).add((account, event_id))
        return found

    def _stream_id(self, account_id: str, region: str, category: str) -> int:
        k = (account_id, region, category)
        sid = self._streams.get(k)
        if sid is None:
            self._conn.execute("INSERT OR IGNORE INTO streams (account_id, region, category) VALUES (?, ?, ?)", k)
            sid = self._conn.execute(
                "SELECT id FROM streams WHERE account_id = ? AND region = ? AND category = ?", k
            ).fetchone()[0]
            self._streams[k] = sid
        return sid

    def merge_ids_step(self) -> bool:
        """Move a tenth of ``merge_at_ids`` rows of event_ids_recent into event_ids, in hash order,
        once it holds ``merge_at_ids`` rows (one step per call, between groups); True while a merge
        is on."""
        if self._merge_from is None:
            if self.recent_ids < self._merge_at_ids:
                return False
            self._merge_from = -(1 << 63)
        conn = self._conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT h, seq FROM event_ids_recent WHERE h >= ? ORDER BY h, seq LIMIT ?",
                (self._merge_from, self._merge_chunk_ids),
            ).fetchall()
            if rows:
                conn.executemany("INSERT OR IGNORE INTO event_ids VALUES (?, ?)", rows)
                conn.executemany("DELETE FROM event_ids_recent WHERE h = ? AND seq = ?", rows)
        self.recent_ids -= len(rows)
        if len(rows) < self._merge_chunk_ids:
            self._merge_from = None
            return False
        self._merge_from = rows[-1][0]
        return True

    def purge_chunk(
        self, before: int, through_seq: int | None = None, after: tuple[int, int] = (-1, -1)
    ) -> tuple[int, bool, tuple[int, int]]:
        """Delete up to PURGE_CHUNK_EVENTS events older than ``before`` (and with seq at most
        ``through_seq``, when given) with their eventID rows, and posting blocks whose every ord
        is of such an event (only those after ``after``, a ``(max_ord, key)`` cursor, are looked
        at); returns (events deleted, more to do, cursor for the next chunk). Blocks holding an
        ord of a kept event stay: lookups skip their ords of deleted events."""
        conn = self._conn
        bound = ord_bound(before, 0)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            if through_seq is None:
                rows = conn.execute(
                    "SELECT seq, stream, event_id FROM events WHERE event_time < ? ORDER BY event_time LIMIT ?",
                    (before, PURGE_CHUNK_EVENTS),
                ).fetchall()
            else:  # walk the seq range: events of old eventTime received later are kept
                rows = conn.execute(
                    "SELECT seq, stream, event_id FROM events WHERE seq <= ? AND +event_time < ? ORDER BY seq LIMIT ?",
                    (through_seq, before, PURGE_CHUNK_EVENTS),
                ).fetchall()
            found = conn.execute(
                "SELECT p.key, p.max_ord, p.block, b.ords FROM postings p JOIN posting_blocks b ON b.id = p.block"
                " WHERE p.max_ord < ? AND (p.max_ord, p.key) > (?, ?) ORDER BY p.max_ord, p.key LIMIT ?",
                (bound, after[0], after[1], PURGE_CHUNK_EVENTS),
            ).fetchall()
            cursor = (found[-1][1], found[-1][0]) if found else after
            blocks = [
                (k, m, b)
                for k, m, b, blob in found
                if through_seq is None or max(o & SEQ_MASK for o in unpack_ords(blob)) <= through_seq
            ]
            more = max(len(rows), len(found)) == PURGE_CHUNK_EVENTS
            if not rows and not blocks:
                if not more and through_seq is not None:  # keep the newest receive time at or before it
                    conn.execute(
                        "DELETE FROM received WHERE seq < (SELECT max(seq) FROM received WHERE seq <= ?)",
                        (through_seq,),
                    )
                return 0, more, cursor
            accounts = dict(conn.execute("SELECT id, account_id FROM streams"))
            ids = [(event_id_hash(accounts[s], eid), seq) for seq, s, eid in rows]
            conn.executemany("DELETE FROM event_ids WHERE h = ? AND seq = ?", ids)
            conn.executemany("DELETE FROM event_ids_recent WHERE h = ? AND seq = ?", ids)
            conn.executemany("DELETE FROM events WHERE seq = ?", [(r[0],) for r in rows])
            conn.executemany("DELETE FROM postings WHERE key = ? AND max_ord = ?", [(k, m) for k, m, _ in blocks])
            conn.executemany("DELETE FROM posting_blocks WHERE id = ?", [(b,) for _, _, b in blocks])
            conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('count', ?)", (self.count - len(rows),))
        self.count -= len(rows)
        self.reset_caches()
        return len(rows), more, cursor


def _read_log(conn: sqlite3.Connection, after: int) -> list[tuple[int, bytes]]:
    """Log rows after ``after``, at most about MAX_GROUP_EVENTS events' worth."""
    rows: list[tuple[int, bytes]] = []
    n = 0
    for log_id, count, payload in conn.execute("SELECT id, n, payload FROM log WHERE id > ? ORDER BY id", (after,)):
        rows.append((log_id, payload))
        n += count
        if n >= MAX_GROUP_EVENTS:
            break
    return rows


def indexer_main(
    directory: str, events_db: str, cache_mb: int, block_ords: int, merge_at_ids: int, pipe: Connection
) -> None:
    """Entry point of the indexer process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    lock_fd = os.open(Path(directory) / INDEXER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)  # a previous indexer may still be finishing
    try:
        _serve(Path(directory), Path(events_db), cache_mb, block_ords, merge_at_ids, pipe)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the server is gone; the next start replays the log
    finally:
        os.close(lock_fd)


#: Seconds the indexer waits before retrying a group that failed for lack of space: doubling from
#: the first up to the last (a new log row, proof that space was freed, retries at once).
FULL_RETRY_FIRST_S = 0.05
FULL_RETRY_MAX_S = 2.0


class _Inbox:
    """What the store asked for: ``stopping`` once it sent ``stop``; ``purges`` not yet run."""

    def __init__(self) -> None:
        self.stopping = False
        #: (token, before eventTime, through seq or None, resume position) per purge not yet done.
        self.purges: list[tuple[int, int, int | None, tuple[int, int]]] = []

    def read(self, pipe: Connection, timeout: float | None) -> None:
        """Wait up to ``timeout`` seconds (None: forever) for a message, then take all that came."""
        if not pipe.poll(timeout):
            return
        while True:
            msg = pipe.recv()
            if msg[0] == "stop":
                self.stopping = True
            elif msg[0] == "purge":
                self.purges.append((msg[1], msg[2], msg[3], (-1, -1)))
            if not pipe.poll(0):
                return


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _serve(
    directory: Path, events_db: Path, cache_mb: int, block_ords: int, merge_at_ids: int, pipe: Connection
) -> None:
    writer = IndexWriter(
        connect_events(events_db, cache_mb, reader=False), block_ords=block_ords, merge_at_ids=merge_at_ids
    )
    log_conn = connect_log(directory, writer=False)
    try:
        pipe.send(("started", os.getpid()))
        again = writer.last_group(log_conn)
        if again:
            pipe.send(("applied", again, writer.last_seq, writer.count))
        try:
            _catch_up(writer, log_conn, pipe)
        except sqlite3.Error as exc:  # the store's start (or restart) reports it
            pipe.send(("failed", _describe(exc), is_disk_full(exc)))
            raise
        pipe.send(("ready", writer.last_seq, writer.count, writer.applied))
        inbox = _Inbox()
        merging = False
        full_tries = 0  # consecutive attempts that failed for lack of space
        while True:
            if full_tries:
                # Nothing can be applied until space is freed: wait, then try again. A stop now
                # leaves the rest of the log to the next start.
                inbox.read(pipe, min(FULL_RETRY_MAX_S, FULL_RETRY_FIRST_S * 2 ** (full_tries - 1)))
                if inbox.stopping:
                    return
            else:  # block for a message only when there is nothing to do
                inbox.read(pipe, None if not (inbox.stopping or inbox.purges or merging) else 0)
            try:
                _catch_up(writer, log_conn, pipe)
                merging = writer.merge_ids_step()
            except sqlite3.Error as exc:
                if not is_disk_full(exc):
                    log.exception("indexing failed")
                    pipe.send(("failed", _describe(exc), False))
                    raise
                if not full_tries:
                    log.warning("indexing waits for space on the data directory: %s", exc)
                    pipe.send(("full", _describe(exc)))
                full_tries += 1
                merging = False
                continue
            if full_tries:
                log.warning("indexing resumed: the data directory has space again")
                pipe.send(("full", None))
                full_tries = 0
            if inbox.purges:
                token, before, through, after = inbox.purges.pop(0)
                try:
                    deleted, more, after = writer.purge_chunk(before, through, after)
                except sqlite3.Error as exc:
                    pipe.send(("purged", token, 0, _describe(exc), writer.count))
                else:
                    if more:
                        inbox.purges.insert(0, (token, before, through, after))  # next chunk after any new log rows
                    pipe.send(("purging" if more else "purged", token, deleted, None, writer.count))
            if inbox.stopping and not inbox.purges:
                _catch_up(writer, log_conn, pipe)
                return
    finally:
        log_conn.close()


def _catch_up(writer: IndexWriter, log_conn: sqlite3.Connection, pipe: Connection) -> None:
    """Apply every log row after the last applied one; a failed group raises its sqlite3.Error
    (nothing of that group applied)."""
    while True:
        rows = _read_log(log_conn, writer.applied)
        if not rows:
            return
        # A group's decoded rows and postings (a few objects per event) die together when it is
        # applied: the cyclic GC would only traverse them, and the long-lived caches, meanwhile.
        gc.disable()
        try:
            results = writer.apply(rows)
        finally:
            gc.enable()
        pipe.send(("applied", results, writer.last_seq, writer.count))


def main(argv: list[str]) -> None:
    """``python -m opentrail.store.sqlite_indexer DIRECTORY EVENTS_DB CACHE_MB BLOCK_ORDS MERGE_AT_IDS
    FD``: FD is this process's end of a socket pair with the store (inherited)."""
    directory, events_db, cache_mb, block_ords, merge_at_ids, fd = argv
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    indexer_main(directory, events_db, int(cache_mb), int(block_ords), int(merge_at_ids), Connection(int(fd)))


if __name__ == "__main__":
    main(sys.argv[1:])
