"""The SQLite event store's durable append log: where an append is acknowledged.

``log.sqlite3`` holds one row per appended batch, ``(id, n, payload)`` (ids never reused:
AUTOINCREMENT), written by one
:class:`LogWriter` thread with group commit (WAL, ``synchronous=FULL``: a commit is fsync'd before
any append in it is acknowledged). The indexer process (:mod:`.sqlite_indexer`) applies rows in
id order to the events database and records the last applied id there, in the same transaction,
so a row is applied exactly once whatever crashes; applied rows are then deleted from the log.

Payload: ``u32 little-endian header length``, the header (orjson list of ``[event_id,
event_time, account_id, region, category, lookup keys, record length]``, a lookup key being
``attribute + "\x1f" + value`` for every lookup pair but EventId, which the eventID table
answers), then the compressed records back to back.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import orjson

from .base import NewEvent
from .errors import DataDirectoryFullError, is_disk_full

log = logging.getLogger(__name__)

LOG_DB = "log.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, payload BLOB NOT NULL)"
#: Most batches one log commit takes.
MAX_GROUP_BATCHES = 256

#: One decoded log entry: (event_id, event_time, account_id, region, category, lookup keys, blob).
LoggedEvent = tuple[str, int, str, str, str, list[str], bytes]
#: Separates attribute and value in a lookup key (a control character no attribute name holds).
KEY_SEP = "\x1f"


def encode_batch(events: Sequence[NewEvent], blobs: Sequence[bytes]) -> bytes:
    """The payload for ``events`` whose compressed records are ``blobs``."""
    return encode_frames(events, b"".join(blobs), [len(b) for b in blobs])


def encode_frames(events: Sequence[NewEvent], frames: bytes, lengths: Sequence[int]) -> bytes:
    """The payload for ``events`` whose compressed records are ``frames`` back to back, of
    ``lengths`` bytes each (what :meth:`RecordCodec.compress_many` returns)."""
    sep = KEY_SEP
    header = orjson.dumps(
        [
            [
                e.event_id,
                e.event_time,
                e.account_id,
                e.region,
                e.category,
                [a + sep + v for a, v in e.lookup if a != "EventId"],
                n,
            ]
            for e, n in zip(events, lengths)
        ]
    )
    return len(header).to_bytes(4, "little") + header + frames


def decode_batch(payload: bytes) -> list[LoggedEvent]:
    """Inverse of :func:`encode_batch`."""
    size = int.from_bytes(payload[:4], "little")
    pos = 4 + size
    out: list[LoggedEvent] = []
    for event_id, event_time, account_id, region, category, lookup, length in orjson.loads(payload[4:pos]):
        out.append((event_id, event_time, account_id, region, category, lookup, payload[pos : pos + length]))
        pos += length
    return out


def connect_log(directory: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(directory / LOG_DB, isolation_level=None, check_same_thread=False)
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA journal_size_limit = 67108864")
        conn.execute(_SCHEMA)
    return conn


@dataclass(eq=False)
class LogTicket:
    """One batch on its way into the log: ``logged`` is set once it is durable (``log_id`` then
    holds its row id, or ``error`` the failure)."""

    payload: bytes
    n: int
    logged: threading.Event = field(default_factory=threading.Event)
    log_id: int = 0
    error: BaseException | None = None


_STOP = object()


class LogWriter:
    """The log's only writer (a thread). ``on_commit(last_id)`` runs after each durable commit.

    A commit that fails for lack of space fails its batches with :class:`DataDirectoryFullError`
    (raised from the SQLite error) and sets :attr:`full` until a commit succeeds; the next batch
    simply tries again, so appends work once space is freed."""

    def __init__(self, directory: Path, on_commit: Callable[[int], None]) -> None:
        self._directory = directory
        #: True since a commit failed for lack of space, until one succeeds.
        self.full = False
        self._conn = connect_log(directory, writer=True)
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._last_id: int = self._conn.execute("SELECT coalesce(max(id), 0) FROM log").fetchone()[0]
        self._thread = threading.Thread(target=self._run, name="opentrail-event-log", daemon=True)
        self._thread.start()

    def put(self, ticket: LogTicket) -> None:
        self._queue.put(ticket)

    def truncate(self, upto: int) -> None:
        """Delete rows with id <= ``upto`` (already applied by the indexer)."""
        self._queue.put(("truncate", upto))

    def barrier(self) -> int:
        """Wait until every batch queued before this call is committed; return the last log id
        committed so far (0 if none)."""
        done = threading.Event()
        box: list[int] = []
        self._queue.put(("barrier", done, box))
        done.wait()
        return box[0]

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, tuple):
                self._control(item)
                continue
            group = [item]
            stop = False
            while len(group) < MAX_GROUP_BATCHES:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                if isinstance(nxt, tuple):
                    if nxt[0] == "barrier":  # commit what came before it first
                        self._commit(group)
                        group = []
                    self._control(nxt)
                    continue
                group.append(nxt)
            if group:
                self._commit(group)
            if stop:
                return

    def _control(self, item: tuple[Any, ...]) -> None:
        if item[0] == "truncate":
            self._truncate(item[1])
        else:  # barrier
            item[2].append(self._last_id)
            item[1].set()

    def _commit(self, group: list[LogTicket]) -> None:
        conn = self._conn
        try:
            if conn.in_transaction:  # a rollback after an earlier failure failed too
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            for ticket in group:
                ticket.log_id = conn.execute(
                    "INSERT INTO log (n, payload) VALUES (?, ?)", (ticket.n, ticket.payload)
                ).lastrowid or 0
            conn.execute("COMMIT")
        except BaseException as exc:
            error: BaseException = exc
            if is_disk_full(exc):
                self.full = True
                error = DataDirectoryFullError(self._directory)
                error.__cause__ = exc
                log.warning("event log write of %d batch(es) failed: %s (%s)", len(group), error, exc)
            else:
                log.exception("event log write failed")
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:  # the next BEGIN starts afresh either way
                log.warning("event log rollback failed", exc_info=True)
            for ticket in group:
                ticket.log_id = 0
                ticket.error = error
                ticket.logged.set()
            return
        self.full = False
        self._last_id = group[-1].log_id
        for ticket in group:
            ticket.payload = b""  # the log has it now
            ticket.logged.set()
        self._on_commit(group[-1].log_id)

    def _truncate(self, upto: int) -> None:
        try:
            self._conn.execute("DELETE FROM log WHERE id <= ?", (upto,))
        except sqlite3.Error as exc:  # retried with the next truncation
            if is_disk_full(exc):
                log.warning("event log truncation failed: %s", exc)
            else:
                log.exception("event log truncation failed")
