"""Noticing what other nodes (or processes) committed to a state database: ``PRAGMA data_version``
of a connection from :func:`opentrail.state_db.open_state_db`, read at most every ``recheck_s``
seconds.

A store that keeps rows in memory (keys, compiled policies, organizations) asks :meth:`changed`
before it trusts them. On SQLite the pragma costs no I/O, so it is read every time (``recheck_s``
0): a commit of another process is seen by the next look. On PostgreSQL it is one query, so on
the stores' hot paths (every request) it is read at most every :data:`PG_RECHECK_S` seconds: a
change made on another node is seen within that time. A store's own writes are its own business
(it empties its cache or counts them itself)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Callable

__all__ = ["DataVersionWatch", "PG_RECHECK_S"]

#: Seconds between two reads of ``data_version`` on PostgreSQL.
PG_RECHECK_S = 0.5


class DataVersionWatch:
    """``PRAGMA data_version`` of ``conn``, re-read when ``recheck_s`` seconds of ``clock`` (a
    monotonic clock in seconds) have passed since the last read; ``recheck_s`` None: 0 for a
    SQLite connection, :data:`PG_RECHECK_S` otherwise. Not thread-safe: the caller holds the lock
    it holds for ``conn``. Reads raise what ``conn.execute`` raises (``psycopg.OperationalError``
    when PostgreSQL does not answer)."""

    def __init__(self, conn: Any, *, clock: Callable[[], float] = time.monotonic,
                 recheck_s: float | None = None) -> None:
        self._conn = conn
        self._clock = clock
        if recheck_s is None:
            recheck_s = 0.0 if isinstance(conn, sqlite3.Connection) else PG_RECHECK_S
        self.recheck_s = recheck_s
        self._version = self._read()
        self._read_at = clock()

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def version(self, *, fresh: bool = False) -> int:
        """The data version as last read (read again first when ``recheck_s`` has passed, or
        ``fresh``: before a read-modify-write, which must not start from a stale copy)."""
        now = self._clock()
        if fresh or self.recheck_s <= 0 or now - self._read_at >= self.recheck_s:
            self._version = self._read()
            self._read_at = now
        return self._version

    def changed(self, *, fresh: bool = False) -> bool:
        """True when :meth:`version` differs from what the previous look saw: someone committed."""
        before = self._version
        return self.version(fresh=fresh) != before
