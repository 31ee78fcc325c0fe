"""The trail database ``<data-dir>/trails.db``: one row per trail, its document as JSON.

All trails are held in memory too (they are few: 5 per account and Region); reads never wait on
the database, writes go to it first (``synchronous=FULL``, one transaction per change) and then to
the in-memory copy, under one lock. Safe to use from many threads.

Several nodes share the database (``serve --database-url``, :mod:`opentrail.state_db`): a read
looks at the database's data version (:class:`opentrail.state_watch.DataVersionWatch`: on every
read on SQLite, at most every :data:`~opentrail.state_watch.PG_RECHECK_S` seconds, 0.5, on
PostgreSQL) and reloads every trail when another node committed a change, so a trail created,
updated or deleted on one node is seen on the others within that time. :attr:`TrailRepository.version` changes whenever the trails held
change (a write here or a reload that found a difference): caches built from the trails (the
delivery workers' routing views, the event bus's gate) rebuild when it does.

A read-modify-write (check a name, a limit, the trail's current settings, then write) runs inside
:meth:`TrailRepository.transaction`: ``BEGIN IMMEDIATE`` (the database's one writer, across nodes)
and a reload of what other nodes committed before the check; the write that follows commits it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..state_db import open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .codec import dump_trail, load_trail
from .model import Trail

#: Trail key: (account_id, home_region, name).
TrailKey = tuple[str, str, str]

UPSERT = "INSERT OR REPLACE INTO trails (account_id, home_region, name, doc) VALUES (?, ?, ?, ?)"
DELETE = "DELETE FROM trails WHERE account_id = ? AND home_region = ? AND name = ?"
SELECT_ALL = "SELECT doc FROM trails"


def key_of(trail: Trail) -> TrailKey:
    return (trail.account_id, trail.home_region, trail.name)


class TrailLock:
    """The repository's re-entrant lock (a context manager, as ``threading.RLock``). When its
    outermost hold ends, a :meth:`TrailRepository.transaction` still open (no write committed it:
    the operation failed, only read, or its staged change was dropped) is rolled back."""

    def __init__(self, on_release: Callable[[], None]) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._on_release = on_release

    def acquire(self, blocking: bool = True) -> bool:
        if not self._lock.acquire(blocking):
            return False
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                self._on_release()
        finally:
            self._lock.release()

    def __enter__(self) -> "TrailLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class TrailRepository:
    """Durable trail storage at ``path`` (a state database: SQLite or PostgreSQL) with an in-memory
    copy; ``clock`` (monotonic seconds) paces the looks for other nodes' changes
    (:class:`~opentrail.state_watch.DataVersionWatch`)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = open_state_db(path)
        apply_schema(self._db, "opentrail.trails", "trails")
        self._closed = False
        self.lock = TrailLock(self._end_transaction)
        self._trails: dict[TrailKey, Trail] = {}
        self._version = 0
        with self.lock:
            self._watch = DataVersionWatch(self._db, clock=clock)
            self._seen = self._watch.version()  # before the rows: a commit in between is seen next look
            self._load()

    # --- reads -------------------------------------------------------------------------------
    def all(self) -> list[Trail]:
        """Every trail, sorted by (account, home Region, name)."""
        with self.lock:
            self._check()
            return [self._trails[k] for k in sorted(self._trails)]

    def get(self, key: TrailKey) -> Trail | None:
        with self.lock:
            self._check()
            return self._trails.get(key)

    @property
    def version(self) -> int:
        """A number that changes whenever the trails held change: on every write here, and when a
        look (as the watch's policy says; skipped while another thread holds the lock) reloaded a
        change made by another node."""
        if self._watch.due() and self.lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self.lock.release()
        return self._version

    def refresh(self) -> bool:
        """Look for other nodes' changes now (not waiting for the recheck interval) and reload
        them; True when the trails held changed."""
        with self.lock:
            before = self._version
            self._check(fresh=True)
            return self._version != before

    # --- writes ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock with a write transaction open (``BEGIN IMMEDIATE``; other nodes' changes
        reloaded first), for a read-modify-write: the next :meth:`put` or :meth:`delete` commits
        it; if none comes before the lock's outermost hold ends, it is rolled back. Re-entrant:
        inside an open transaction this only holds the lock."""
        with self.lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._check(fresh=True)
                except BaseException:
                    self._end_transaction()
                    raise
            yield

    def put(self, trail: Trail) -> None:
        """Insert or replace ``trail`` durably (committing the open :meth:`transaction`, if any)."""
        with self.lock:
            self._write(UPSERT, (*key_of(trail), dump_trail(trail)))
            self._trails[key_of(trail)] = trail
            self._version += 1

    def delete(self, key: TrailKey) -> None:
        """Delete the trail ``key`` durably (committing the open :meth:`transaction`, if any)."""
        with self.lock:
            self._write(DELETE, key)
            if self._trails.pop(key, None) is not None:
                self._version += 1

    def close(self) -> None:
        with self.lock:
            self._end_transaction()
            self._closed = True
            self._db.close()

    # --- internals ---------------------------------------------------------------------------
    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        with self.lock:
            if not self._db.in_transaction:
                write_statements(self._db, [(sql, args)])
                return
            try:
                self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._end_transaction()
                raise

    def _end_transaction(self) -> None:
        """Roll back a transaction that no write committed (nothing was written in it)."""
        if not self._closed and self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _check(self, *, fresh: bool = False) -> None:
        """Reload every trail when another connection committed since the last look (caller holds
        the lock)."""
        version = self._watch.version(fresh=fresh)
        if version != self._seen:
            self._load()
            self._seen = version  # after the load: one that failed is tried again at the next look

    def _load(self) -> None:
        trails: dict[TrailKey, Trail] = {}
        for (doc,) in self._db.execute(SELECT_ALL):
            trail = load_trail(doc)
            trails[key_of(trail)] = trail
        if trails != self._trails:
            self._trails = trails
            self._version += 1
