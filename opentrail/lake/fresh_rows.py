"""An in-memory copy of a state table that notices what other nodes (or other connections) wrote.

The event data store catalog, channels and resource policies of ``lake.db`` are read on every
call and written rarely, so each store keeps its rows in memory. With the state on PostgreSQL
(several nodes) or a second connection on the same SQLite file, another writer may commit at any
time: :class:`FreshRows` looks at the database's data version through a
:class:`opentrail.state_watch.DataVersionWatch` (on every read on SQLite, at most every
:data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL) and reloads every row when it
moved. A block that checks and then writes (a name still free, a limit not reached) holds
:attr:`FreshRows.lock`, which looks fresh on entry, so the check sees every commit made before it
began; and the write itself checks again inside its write transaction
(:meth:`FreshRows.write_transaction`: ``BEGIN IMMEDIATE``, one writer across nodes, rows reloaded
inside it), so two nodes that both passed the first check cannot both write.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Generic, Hashable, Iterator, TypeVar

from ..state_db import immediate_transaction
from ..state_watch import DataVersionWatch

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _RefreshingLock:
    """The re-entrant lock of a :class:`FreshRows`; its outermost acquisition reloads the rows when
    another connection committed since the last look (a fresh look, whatever the recheck interval)."""

    def __init__(self, rows: "FreshRows[Any, Any]") -> None:
        self._rows = rows
        self._depth = 0

    def __enter__(self) -> "_RefreshingLock":
        self._rows.mutex.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._rows.sync(force=True)
            except BaseException:
                self._depth -= 1
                self._rows.mutex.release()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        self._rows.mutex.release()


class FreshRows(Generic[K, V]):
    """The rows ``load(conn)`` returns (a dict), kept in memory and reloaded when ``conn``'s data
    version moved (:class:`~opentrail.state_watch.DataVersionWatch` over ``conn`` with ``clock``,
    monotonic seconds, and ``recheck_s``: None for the policy, a number to override it). ``conn``
    is the store's own connection: every use of it holds :attr:`mutex` (or :attr:`lock`, the same
    lock)."""

    def __init__(self, conn: sqlite3.Connection, load: Callable[[sqlite3.Connection], dict[K, V]], *,
                 recheck_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._conn, self._load = conn, load
        self.mutex = threading.RLock()
        #: hold for a read-check-write block: reloads at once on entry (module docstring)
        self.lock = _RefreshingLock(self)
        #: how many times the rows were reloaded after another connection's commit
        self.generation = 0
        with self.mutex:
            self._watch = DataVersionWatch(conn, clock=clock, recheck_s=recheck_s)
            self._seen = self._watch.version()
            self._rows: dict[K, V] = load(conn)

    def sync(self, force: bool = False) -> bool:
        """Reload when another connection committed (looked for as the watch's policy says, or now
        when ``force``); True when the rows were reloaded."""
        with self.mutex:
            # the version first: a commit between the two reads is seen (and reloaded) next time
            version = self._watch.version(fresh=force)
            if version == self._seen:
                return False
            self._rows = self._load(self._conn)
            self._seen = version  # after the load: one that failed is tried again at the next look
            self.generation += 1
            return True

    @contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold :attr:`mutex` with a write transaction open on ``conn`` (``BEGIN IMMEDIATE``:
        the database's one writer, across nodes on PostgreSQL) and the rows reloaded inside it when
        another connection committed: a check made in the block on :meth:`rows` and the writes
        that follow it are one transaction, committed at the end of the block (rolled back when it
        raises)."""
        with self.mutex, immediate_transaction(self._conn) as conn:
            self.sync(force=True)
            yield conn

    def rows(self) -> dict[K, V]:
        """The current rows (do not change the dict: use :meth:`put` and :meth:`pop`)."""
        with self.mutex:
            self.sync()
            return self._rows

    def put(self, key: K, value: V) -> None:
        """Note a row this store just wrote."""
        with self.mutex:
            self._rows = {**self._rows, key: value}

    def pop(self, key: K) -> None:
        """Note a row this store just deleted."""
        with self.mutex:
            if key in self._rows:
                self._rows = {k: v for k, v in self._rows.items() if k != key}
