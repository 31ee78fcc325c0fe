"""The embedded event store: a durable append log in front of an indexed SQLite database.

Writes: :meth:`SqliteEventStore.append` compresses the records (zstd, trained dictionary; one
call for the batch, which releases the GIL once) in the caller's thread and hands the batch to the log writer (:mod:`.sqlite_log`), which commits it to
``log.sqlite3`` with group commit and fsync: that is the acknowledgement. The indexer, a child
process (:mod:`.sqlite_indexer`), applies log rows to ``events.sqlite3`` -- dedup on (account,
eventID), the ``events`` table (seq = append order), the posting-block lookup index -- and reports
each batch's result back; ``append(wait_visible=True)`` waits for that report, so its
:class:`AppendResult` counts duplicates and its events are visible to lookups when it returns.
The store restarts an indexer that dies (:mod:`.sqlite_supervisor`); appends are acknowledged
meanwhile, since the log has them.

Reads (:mod:`.sqlite_reader`): each reading thread has its own connection to ``events.sqlite3``
(WAL: readers never wait for the indexer). The lookup index is a set of posting blocks: per lookup
key (account, Region, category, attribute, value), blocks of up to 512
``ord = eventTime << 31 | seq`` values.

A directory is opened by one process at a time: ``<directory>/LOCK`` is held with ``flock``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .base import AppendResult, EventColumns, EventStore, LookupPage, LookupQuery, NewEvent, StoredEvent
from .errors import DataDirectoryFullError, StoreLockedError, is_disk_full
from .sqlite_codec import DEFAULT_ZDICT, RecordCodec
from .sqlite_indexer import BLOCK_ORDS, MERGE_AT_IDS, connect_events
from .sqlite_log import LogTicket, LogWriter, encode_frames
from .sqlite_reader import SqliteEventReader
from .sqlite_supervisor import IndexerFailedError, IndexerSupervisor, IndexerUnavailableError, RestartPolicy

__all__ = ["IndexerFailedError", "IndexerUnavailableError", "RestartPolicy", "SqliteEventStore", "store_locked"]

log = logging.getLogger(__name__)

DB_NAME = "events.sqlite3"
LOCK_NAME = "LOCK"
#: Applied log rows are deleted from the log once this many have accumulated.
TRUNCATE_EVERY_ROWS = 64
_SCHEMA = (Path(__file__).parent / "sqlite_schema.sql").read_text()
#: Seconds between checks of a waiting append for an indexer that stays down.
_POLL_S = 0.25
#: Seconds a waiting append gives an indexer that reported a full disk before it raises
#: DataDirectoryFullError (the indexer retries at once when a new log row shows space is back).
FULL_WAIT_S = 1.0


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


def hold_directory_lock(directory: Path) -> int:
    """Create ``directory`` and take its ``LOCK`` as an open store does; return the fd (close it
    to release). Raises :class:`StoreLockedError` when a store holds it. A server whose event
    store is elsewhere (PostgreSQL) holds it so its data directory has one server at a time and
    ``opentrail import`` sends to that server."""
    directory.mkdir(parents=True, exist_ok=True)
    return _take_lock(directory)


def _take_lock(directory: Path) -> int:
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(directory) from None
    return fd


@dataclass(eq=False)
class _Waiter:
    """An append waiting for the indexer's result for its log row."""

    done: threading.Event = field(default_factory=threading.Event)
    result: AppendResult | None = None
    error: BaseException | None = None


class SqliteEventStore(EventStore):
    """:class:`EventStore` in ``directory`` (created if missing).

    Raises :class:`StoreLockedError` if another store has the directory open. Opening waits until
    the indexer has applied every log row left by a previous run (so what was acknowledged is
    visible). ``cache_mb`` is the indexer's SQLite page cache; each reader thread gets a quarter
    of it (plus the OS page cache; no mmap, so a cold read fetches one page, not a read-ahead
    window). ``block_ords`` is the posting block size and ``merge_at_ids`` the number of new eventID
    rows that starts a merge into the main eventID index (tests make both tiny to exercise them).

    A dead indexer is restarted under ``restart_policy``; an append waiting to be visible (and
    :meth:`flush`, :meth:`purge_before`) waits for the restarted one, or raises
    :class:`IndexerUnavailableError` once no indexer has run for ``visible_timeout_s`` seconds.

    Full disk: an append whose log commit fails for lack of space raises
    :class:`DataDirectoryFullError` (not acknowledged; the next append tries again). An indexer
    that cannot apply the log for lack of space retries with backoff until space is freed; an
    append waiting to be visible meanwhile raises :class:`DataDirectoryFullError` after
    ``FULL_WAIT_S`` (its batch is durable in the log all the same: a retry is deduplicated on
    eventID). Opening a store whose log backlog cannot be applied for lack of space raises it too.
    """

    durable = True

    def __init__(
        self,
        directory: Path,
        *,
        cache_mb: int = 256,
        block_ords: int = BLOCK_ORDS,
        merge_at_ids: int = MERGE_AT_IDS,
        restart_policy: RestartPolicy = RestartPolicy(),
        visible_timeout_s: float = 30.0,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = _take_lock(self.directory)
        self._path = self.directory / DB_NAME
        self._cache_mb = cache_mb
        self._state_lock = threading.Lock()
        self._visible_timeout_s = visible_timeout_s
        self._waiters: dict[int, _Waiter] = {}
        self._flushes: list[tuple[int, _Waiter]] = []
        self._early: dict[int, AppendResult] = {}
        self._purges: dict[int, tuple[threading.Event, list[Any], tuple[int, int | None]]] = {}
        self._failure: str | None = None
        #: (monotonic time, message) since the indexer waits for space, None while it does not.
        self._indexer_full: tuple[float, str] | None = None
        self._closed = False
        self._log: LogWriter | None = None
        self._supervisor: IndexerSupervisor | None = None
        self._last_seq = self._count = self._applied = self._truncated = 0
        try:
            conn = connect_events(self._path, cache_mb, reader=False)
            try:
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('zdict', ?)", (DEFAULT_ZDICT,))
                zdict = conn.execute("SELECT value FROM meta WHERE name = 'zdict'").fetchone()[0]
            finally:
                conn.close()
            self._codec = RecordCodec(zdict)
            self._reader = SqliteEventReader(self._path, max(8, cache_mb // 4), self._codec)
            self._log = LogWriter(self.directory, self._logged)
            self._supervisor = IndexerSupervisor(
                [str(self.directory), str(self._path), str(cache_mb), str(block_ords), str(merge_at_ids)],
                restart_policy,
                on_message=self._on_message,
                on_restarted=self._on_restarted,
                on_gave_up=self._fail,
            )
            _, self._last_seq, self._count, self._applied = self._supervisor.start()
            self._truncated = self._applied
            if self._applied:
                self._log.truncate(self._applied)
        except IndexerFailedError as exc:
            self._shutdown_quietly()
            if exc.disk_full:
                raise DataDirectoryFullError(self.directory) from exc
            raise
        except BaseException as exc:
            self._shutdown_quietly()
            if is_disk_full(exc):
                raise DataDirectoryFullError(self.directory) from exc
            raise

    # -- writing ----------------------------------------------------------------------------
    def _ticket(self, events: Sequence[NewEvent]) -> LogTicket:
        if self._closed:
            raise RuntimeError(f"event store {self.directory} is closed")
        frames, lengths = self._codec.compress_many([e.record for e in events])
        return LogTicket(encode_frames(events, frames, lengths), len(events))

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        """Durable on return. With ``wait_visible`` (the default) also indexed: the result counts
        duplicates and lookups see the events. Without it the result says ``indexed=False`` and
        counts every event as accepted (dedup happens later). Raises
        :class:`DataDirectoryFullError` if the commit failed for lack of space (or, with
        ``wait_visible``, if the indexer waits for space: the batch is durable then, and a retry
        is deduplicated), the log's ``sqlite3.Error`` if it failed otherwise. With ``wait_visible``, raises :class:`IndexerFailedError` if the
        indexer is not restarted any more, :class:`IndexerUnavailableError` if a restart takes over
        ``visible_timeout_s``: the batch is durable all the same and indexed later."""
        if not events:
            return AppendResult(0, 0)
        ticket = self._ticket(events)
        waiter = _Waiter() if wait_visible else None
        assert self._log is not None
        self._log.put(ticket)
        ticket.logged.wait()
        if ticket.error is not None:
            raise ticket.error
        if waiter is None:
            return AppendResult(len(events), 0, (), indexed=False)
        with self._state_lock:
            early = self._early.pop(ticket.log_id, None)
            failure = self._failure
            if early is None and failure is None:
                self._waiters[ticket.log_id] = waiter
        if early is not None:
            return early
        if failure is not None:
            raise IndexerFailedError(f"{failure} (this batch is durable in the log)")
        self._wait(waiter.done, lambda: self._waiters.pop(ticket.log_id, None), "the batch is durable in the log")
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    def _wait(self, done: threading.Event, forget: Callable[[], object], what: str) -> None:
        """Wait for ``done``; raise :class:`IndexerUnavailableError` once no indexer has run for
        ``visible_timeout_s`` (``forget()``, under the state lock, then drops the waiter)."""
        supervisor = self._supervisor
        assert supervisor is not None
        started = time.monotonic()
        while not done.wait(_POLL_S):
            full = self._indexer_full
            if full is not None and time.monotonic() - max(full[0], started) > FULL_WAIT_S:
                with self._state_lock:
                    forget()
                if done.is_set():
                    return
                log.warning("%s (%s): %s", DataDirectoryFullError(self.directory), full[1], what)
                raise DataDirectoryFullError(self.directory)
            down = supervisor.down_since
            if down is None or time.monotonic() - max(down, started) <= self._visible_timeout_s:
                continue
            with self._state_lock:
                forget()
            if done.is_set():
                return
            raise IndexerUnavailableError(
                f"the event store's indexer has not run for {self._visible_timeout_s:g} s"
                f" (restart {supervisor.restarts} pending); {what} and is indexed once it runs again"
            )

    def submit(self, events: Sequence[NewEvent]) -> None:
        """Queue without waiting; a failed commit is logged by the log writer."""
        if events:
            assert self._log is not None
            self._log.put(self._ticket(events))

    def flush(self) -> None:
        """Wait until every batch appended or submitted before the call is indexed. Raises
        :class:`IndexerFailedError` if the indexer is not restarted any more,
        :class:`IndexerUnavailableError` if a restart takes over ``visible_timeout_s``."""
        assert self._log is not None
        last = self._log.barrier()
        with self._state_lock:
            if self._failure is not None:
                raise IndexerFailedError(self._failure)
            if self._applied >= last:
                return
            entry = (last, _Waiter())
            self._flushes.append(entry)

        def forget() -> None:
            if entry in self._flushes:
                self._flushes.remove(entry)

        self._wait(entry[1].done, forget, "what was appended is durable in the log")
        if entry[1].error is not None:
            raise entry[1].error

    def _logged(self, last_id: int) -> None:
        """Log writer callback after a durable commit: wake the indexer (if none runs, the next
        one reads the log when it starts)."""
        if self._supervisor is not None:
            self._supervisor.send(("log", last_id))

    def is_full(self) -> bool:
        """True since a log commit failed for lack of space until one succeeds, and while the
        indexer waits for space."""
        log_writer = self._log
        return self._indexer_full is not None or (log_writer is not None and log_writer.full)

    @property
    def indexer_restarts(self) -> int:
        """How many times the indexer process was restarted since the store opened."""
        return self._supervisor.restarts if self._supervisor is not None else 0

    @property
    def indexer_pid(self) -> int | None:
        """The current indexer process id."""
        return self._supervisor.pid if self._supervisor is not None else None

    def _on_restarted(self, ready: tuple[Any, ...]) -> None:
        """A restarted indexer has applied the log backlog: take its position, resend the purges
        the dead one left, and wake it for rows committed while it started."""
        _, last_seq, count, applied = ready
        with self._state_lock:
            self._indexer_full = None
            self._last_seq, self._count = last_seq, count
            released = self._advance(applied)
            purges = [(token, bound) for token, (event, _, bound) in self._purges.items() if not event.is_set()]
        for waiter in released:
            waiter.done.set()
        assert self._supervisor is not None
        for token, (before, through) in purges:
            self._supervisor.send(("purge", token, before, through))
        self._supervisor.send(("log", 0))
        self._maybe_truncate()

    def _advance(self, applied: int) -> list[_Waiter]:
        """Record that log rows up to ``applied`` are indexed (state lock held); returns the flushes
        that may return."""
        self._applied = max(self._applied, applied)
        ready = [w for last, w in self._flushes if last <= self._applied]
        self._flushes = [(last, w) for last, w in self._flushes if last > self._applied]
        return ready

    def _maybe_truncate(self) -> None:
        if self._applied - self._truncated >= TRUNCATE_EVERY_ROWS and self._log is not None:
            self._truncated = self._applied
            self._log.truncate(self._applied)

    def _on_message(self, msg: tuple[Any, ...]) -> None:
        """An indexer message (on the supervisor's thread): results of applied rows, purge chunks."""
        kind = msg[0]
        if kind == "full":
            if msg[1] is None:
                self._indexer_full = None
            elif self._indexer_full is None:
                self._indexer_full = (time.monotonic(), msg[1])
        elif kind == "applied":
            _, results, last_seq, count = msg
            with self._state_lock:
                self._last_seq, self._count = last_seq, count
                for log_id, accepted, dups in results:
                    res = AppendResult(accepted, len(dups), tuple(dups))
                    waiter = self._waiters.pop(log_id, None)
                    if waiter is None:
                        if not self._closed:
                            self._early[log_id] = res
                            # waiters register right after the log commit; anything older
                            # than the newest few hundred rows is a submit() nobody awaits
                            while len(self._early) > 1024:
                                self._early.pop(next(iter(self._early)))
                        continue
                    waiter.result = res
                    waiter.done.set()
                released = self._advance(results[-1][0])
            for waiter in released:
                waiter.done.set()
            self._maybe_truncate()
        elif kind in ("purged", "purging"):
            with self._state_lock:
                self._count = msg[4]
                entry = self._purges.get(msg[1])
                if entry is not None:
                    entry[1].append(msg)
                    if kind == "purged":
                        entry[0].set()

    def _fail(self, message: str) -> None:
        """The indexer is not restarted any more: fail whatever waits for it."""
        with self._state_lock:
            self._failure = message
            waiters, self._waiters = self._waiters, {}
            purges = list(self._purges.values())
            flushes, self._flushes = self._flushes, []
        for waiter in waiters.values():
            waiter.error = IndexerFailedError(f"{message} (this batch is durable in the log)")
            waiter.done.set()
        for _, waiter in flushes:
            waiter.error = IndexerFailedError(message)
            waiter.done.set()
        for event, box, _ in purges:
            box.append(("purged", 0, 0, message, self._count))
            event.set()

    def purge_before(self, event_time: int, through_seq: int | None = None) -> int:
        """Run by the indexer between groups, in transactions of up to 2,000 events, so appends
        meanwhile wait at most one chunk. With ``through_seq``, the purge walks the events in seq
        order up to it and looks at every posting block older than ``event_time`` (each purge, as
        long as events of old eventTime received later keep it). Returns the number of events deleted (chunks an indexer
        committed just before it was killed may be left out of the count). Raises
        :class:`IndexerFailedError` as :meth:`flush` does."""
        event = threading.Event()
        box: list[Any] = []
        with self._state_lock:
            if self._failure is not None:
                raise IndexerFailedError(self._failure)
            token = id(box)
            self._purges[token] = (event, box, (event_time, through_seq))
        try:
            assert self._supervisor is not None
            self._supervisor.send(("purge", token, event_time, through_seq))  # resent by a restart if lost
            self._wait(event, lambda: None, "no event was purged by this call")
        finally:
            with self._state_lock:
                self._purges.pop(token, None)
        error = box[-1][3]
        if error is not None:
            raise IndexerFailedError(error)
        return sum(m[2] for m in box)

    # -- reading (opentrail/store/sqlite_reader.py) -------------------------------------------
    def lookup(self, query: LookupQuery) -> LookupPage:
        return self._reader.lookup(query)

    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        return self._reader.read_since(seq, limit)

    def received_seq(self, before: int) -> int:
        """From the per-minute receive times the indexer records (the time it applied the log
        rows: milliseconds after the acknowledgement, or when a restarted indexer replays them)."""
        return self._reader.received_seq(before)

    def read_columns(self, seq: int, limit: int) -> EventColumns:
        return self._reader.read_columns(seq, limit)

    def last_seq(self) -> int:
        """The newest indexed seq, as last reported by the indexer."""
        with self._state_lock:
            return self._last_seq

    def count(self) -> int:
        """Indexed events (as last reported by the indexer; no table scan)."""
        return self._count

    def close(self) -> None:
        """Stop accepting appends, let the indexer apply the whole log, release the directory."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
        self._shutdown_quietly()
        self._reader.close()

    def _shutdown_quietly(self) -> None:
        if self._log is not None:
            self._log.stop()  # every queued append is now in the log
            self._log = None
        if self._supervisor is not None:
            self._supervisor.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
