"""Server secrets shared by every node of one PostgreSQL database: the LookupEvents NextToken key,
the console's cookie-signing secret, the EventBridge connection-secrets key and the digest signing
key pairs (issue 17: several stateless nodes).

On one machine (SQLite) each of those keeps its file in the data directory (``token.key``,
``eventbridge.key``, ``keys/``; the console secret is made per process). When the data directory
is registered on PostgreSQL (:func:`opentrail.state_db.register_database`, ``serve
--database-url``), they live instead in the state file ``secrets.db`` -- the schema
``<namespace>_secrets`` of the shared database -- so a token, cookie or sealed secret made by one
node is good on every other: :func:`shared_secrets_for` gives that store, or None on SQLite.

One table, ``secrets(name PRIMARY KEY, value BLOB, created)``. A secret is made once: the first
node to ask inserts its value under ``BEGIN IMMEDIATE`` (one writer across nodes) and every other
node reads the same one (:meth:`SharedSecrets.get_or_create`). Rows named ``<prefix>...`` form a
family that one transaction may change together (:meth:`SharedSecrets.write`, the digest keys'
rotation).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .state_db import database_url_for, immediate_transaction, open_state_db
from .state_migrate import apply_schema
from .state_watch import DataVersionWatch

__all__ = ["SECRETS_DB", "SecretWrites", "SharedSecrets", "shared_secrets_for"]

#: The state file (PostgreSQL schema ``<namespace>_secrets``) holding the shared secrets.
SECRETS_DB = "secrets.db"

_GET = "SELECT value FROM secrets WHERE name = ?"
_INSERT_IF_ABSENT = "INSERT OR IGNORE INTO secrets (name, value, created) VALUES (?, ?, ?)"
_DELETE = "DELETE FROM secrets WHERE name = ?"
_PUT = "INSERT OR REPLACE INTO secrets (name, value, created) VALUES (?, ?, ?)"
# substr, not LIKE (case-insensitive in SQLite) nor a range (collation-dependent in PostgreSQL)
_FAMILY = "SELECT name, value FROM secrets WHERE substr(name, 1, ?) = ?"


def shared_secrets_for(data_dir: Path, clock: Callable[[], float] = time.time, *,
                       monotonic: Callable[[], float] = time.monotonic) -> SharedSecrets | None:
    """The shared secret store of ``data_dir`` when it is registered on PostgreSQL; None when its
    state is in SQLite files (the secrets then stay in their files). ``clock`` and ``monotonic``
    as for :class:`SharedSecrets`."""
    path = Path(data_dir) / SECRETS_DB
    if database_url_for(path) is None:
        return None
    return SharedSecrets(path, clock, monotonic=monotonic)


class SecretWrites:
    """The view of the store inside one :meth:`SharedSecrets.write` transaction."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._clock = clock

    def family(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every (name, value) whose name starts with ``prefix``, by name (code point order)."""
        return _family(self._conn, prefix)

    def get(self, name: str) -> bytes | None:
        """The value of ``name``, or None."""
        row = self._conn.execute(_GET, (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, name: str, value: bytes) -> None:
        """Store ``value`` as ``name``, replacing any value it had."""
        self._conn.execute(_PUT, (name, bytes(value), int(self._clock())))

    def delete(self, name: str) -> None:
        """Forget ``name`` (nothing happens when there is no such secret)."""
        self._conn.execute(_DELETE, (name,))


class SharedSecrets:
    """The ``secrets`` table of the state file ``path`` (SQLite or PostgreSQL, see
    :func:`~opentrail.state_db.open_state_db`); values are bytes; ``clock`` gives epoch seconds
    (the ``created`` column), ``monotonic`` paces :meth:`version`. Thread-safe."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._conn = open_state_db(Path(path))
        self._clock = clock
        self._lock = threading.Lock()
        apply_schema(self._conn, "opentrail", "shared_secrets")
        self._watch = DataVersionWatch(self._conn, clock=monotonic)

    def get(self, name: str) -> bytes | None:
        """The value of ``name``, or None when no node made it yet."""
        with self._lock:
            row = self._conn.execute(_GET, (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_or_create(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The value of ``name``; when there is none yet, ``make()`` is stored (inside one write
        transaction, so of nodes asking at once the first one's value is kept) and the stored value
        is returned: every caller gets the same bytes."""
        found = self.get(name)
        if found is not None:
            return found
        with self._lock, immediate_transaction(self._conn):
            row = self._conn.execute(_GET, (name,)).fetchone()
            if row is not None:
                return bytes(row[0])
            value = bytes(make())
            self._conn.execute(_INSERT_IF_ABSENT, (name, value, int(self._clock())))
            return value

    def family(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every (name, value) whose name starts with ``prefix``, by name (code point order)."""
        with self._lock:
            return _family(self._conn, prefix)

    def delete(self, name: str) -> None:
        """Forget ``name`` (nothing happens when there is no such secret)."""
        with self._lock:
            self._conn.execute(_DELETE, (name,))

    @contextmanager
    def write(self) -> Iterator[SecretWrites]:
        """One write transaction (``BEGIN IMMEDIATE``: one writer at a time across nodes):
        everything the block reads is current and its puts commit together, or not at all when
        it raises."""
        with self._lock, immediate_transaction(self._conn):
            yield SecretWrites(self._conn, self._clock)

    def version(self, *, fresh: bool = False) -> int:
        """A number that changes when another connection (another node) committed a change
        (:class:`~opentrail.state_watch.DataVersionWatch`: looked at on every call on SQLite, at
        most every :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL unless
        ``fresh``): callers caching values re-read them when it moved."""
        with self._lock:
            return self._watch.version(fresh=fresh)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _family(conn: sqlite3.Connection, prefix: str) -> list[tuple[str, bytes]]:
    rows = conn.execute(_FAMILY, (len(prefix), prefix)).fetchall()
    return sorted((str(name), bytes(value)) for name, value in rows)
