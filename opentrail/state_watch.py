"""Noticing what other nodes (or processes) committed to a state database: ``PRAGMA data_version``
of a connection from :func:`opentrail.state_db.open_state_db`, read at most every ``recheck_s``
seconds. Every store that keeps rows in memory uses :class:`DataVersionWatch` (directly or through
:class:`opentrail.lake.fresh_rows.FreshRows`), so they all follow one recheck policy:

- **SQLite**: the pragma costs no I/O, so it is read on every look (``recheck_s`` 0): a commit of
  another connection or process is seen by the next look. SQLite moves it only for commits of
  *other* connections.
- **PostgreSQL**: it is one query (:mod:`opentrail.state_pg` emulates it with a counter that every
  write to the store's schema bumps, this node's own writes included), so a look reads it at most
  every :data:`PG_RECHECK_S` seconds: a change made on another node is seen within that time.
- **Before a read-modify-write** (check a name or a limit, then write) the caller asks with
  ``fresh=True``: read now, whatever the backend; a write transaction re-checks inside it as well,
  since a look taken before ``BEGIN`` may already be old.

A store's own writes are its own business (it empties its cache or counts them itself)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Callable

__all__ = ["DataVersionWatch", "PG_RECHECK_S", "recheck_s_for"]

#: Seconds between two reads of ``data_version`` on PostgreSQL: how long a change made on another
#: node may go unseen by a cached read.
PG_RECHECK_S = 0.5


def recheck_s_for(conn: Any) -> float:
    """The recheck interval (seconds) of the policy for ``conn``: 0 for a ``sqlite3.Connection``,
    :data:`PG_RECHECK_S` for anything else (a :class:`opentrail.state_pg.PgStateConnection`)."""
    return 0.0 if isinstance(conn, sqlite3.Connection) else PG_RECHECK_S


class DataVersionWatch:
    """``PRAGMA data_version`` of ``conn``, read again when ``recheck_s`` seconds of ``clock`` (a
    monotonic clock in seconds) have passed since the last read. ``recheck_s`` None is the policy
    (:func:`recheck_s_for`); a number overrides it (tests that show what a stale look serves).

    Not thread-safe: the caller holds the lock it holds for ``conn``. Reads raise what ``conn.execute`` raises (``psycopg.OperationalError`` when PostgreSQL does not
    answer)."""

    def __init__(self, conn: Any, *, clock: Callable[[], float] = time.monotonic,
                 recheck_s: float | None = None) -> None:
        self._conn = conn
        self._clock = clock
        self.recheck_s = recheck_s_for(conn) if recheck_s is None else float(recheck_s)
        self._version = self._read()
        self._read_at = clock()

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def due(self) -> bool:
        """True when the next :meth:`version` reads the database (``recheck_s`` has passed)."""
        return self.recheck_s <= 0 or self._clock() - self._read_at >= self.recheck_s

    def version(self, *, fresh: bool = False) -> int:
        """The data version as last read: read again first when ``recheck_s`` has passed, or when
        ``fresh`` (before a read-modify-write, which must not start from a stale copy). Equal
        numbers mean nobody else committed in between (on PostgreSQL: nobody at all)."""
        now = self._clock()
        if fresh or self.recheck_s <= 0 or now - self._read_at >= self.recheck_s:
            self._version = self._read()
            self._read_at = now
        return self._version

    def changed(self, *, fresh: bool = False) -> bool:
        """True when :meth:`version` differs from what the previous look saw: someone committed."""
        before = self._version
        return self.version(fresh=fresh) != before
