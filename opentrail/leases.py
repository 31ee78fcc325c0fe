"""Leases: which node runs each background worker when several opentrail nodes share one
PostgreSQL database (``opentrail serve --database-url``), and the nodes' liveness.

A lease is a row of ``leases.db`` (a schema of the shared database when the data directory is
registered, :func:`opentrail.state_db.open_state_db`; a SQLite file otherwise, where one process
holds every lease): its ``name`` (one per shard of the trails, event data stores and accounts' Insights, and per
other worker kind: ``delivery/0``, ``lake/0``, ``insights/0``, ``alarms``...,
:data:`opentrail.cluster.LEASES`), ``holder`` (a
node id; empty: free), ``token`` (the fencing token, one more on every acquisition) and
``expires_at`` (epoch seconds of the holder's clock). A node :meth:`Leases.acquire` s a lease that is
free or expired, :meth:`~Leases.renew` s it every ``ttl_s / 3`` and :meth:`~Leases.release` s it when
it stops; when it dies, another node takes the lease once it expired (at most ``ttl_s`` later).
Every write is one conditional statement (no read-modify-write), so two nodes never both get a
lease. The holder's worker writes fenced with its token (:meth:`Leases.fence`,
:func:`opentrail.state_pg.fence`): a node paused past its lease cannot write once another node took
the lease. Nodes' clocks must agree within a fraction of ``ttl_s`` (NTP).

``nodes`` lists each node (id, URL, host, pid, start and last heartbeat) for the health endpoint
and the console; :meth:`Leases.heartbeat` refreshes this node's row.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .state_db import ThreadReaders
from .state_migrate import apply_schema
from .state_pg import Fence, LeaseLost

__all__ = ["LEASES_DB", "DEFAULT_TTL_S", "Lease", "NodeInfo", "Leases", "LeaseLost", "new_node_id"]

#: The state file of the leases, under the data directory.
LEASES_DB = "leases.db"
#: Seconds a lease lasts without renewal (the setting ``lease_ttl_s``).
DEFAULT_TTL_S = 10.0
#: A node not heard from for this long (seconds) is dropped from ``nodes``.
FORGET_NODE_S = 86400.0


@dataclass(frozen=True, slots=True)
class Lease:
    """One lease: ``holder`` is a node id ('' when released), times in epoch seconds."""

    name: str
    holder: str
    token: int
    expires_at: float
    acquired_at: float


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node: its id, URL, host name, process id, start and last heartbeat (epoch seconds)."""

    node_id: str
    url: str
    host: str
    pid: int
    started: float
    last_seen: float


def new_node_id() -> str:
    """A node id for this process start: ``<host>-<pid>-<8 hex>``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


class Leases:
    """The lease table of ``data_dir`` as node ``node_id`` sees it. ``clock`` gives epoch seconds;
    leases last ``ttl_s`` seconds from their last acquisition or renewal. Thread-safe: each thread
    has its own connection, so an acquisition waiting for a fenced transaction of the old holder
    (:mod:`opentrail.state_pg`) holds up no other lease's renewal. Database errors
    (``psycopg.OperationalError``, ``sqlite3.Error``) are raised as they are."""

    def __init__(self, data_dir: Path, node_id: str, clock: Callable[[], float], ttl_s: float = DEFAULT_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.node_id, self.ttl_s = node_id, ttl_s
        #: the clock (epoch seconds) lease expiries and heartbeats are read against
        self.clock = clock
        self._path = Path(data_dir) / LEASES_DB
        self._connections = ThreadReaders(self._path, read_only=False)  # one per thread
        first = self._conn()
        apply_schema(first, "opentrail", "leases")
        #: the schema of the lease table in PostgreSQL (None: SQLite, writes are not fenced)
        self.schema: str | None = getattr(first, "schema", None)
        self.started = clock()

    def _conn(self) -> sqlite3.Connection:
        return self._connections.connection()

    def close(self) -> None:
        """Close every thread's connection."""
        self._connections.close()

    # --- leases -----------------------------------------------------------------------------------
    def acquire(self, name: str) -> int | None:
        """Take the lease ``name`` when it is free, expired or already this node's; returns its
        fencing token (one more than the previous holder's; the same when this node held it
        unexpired), or None when another node holds it."""
        now = self.clock()
        conn = self._conn()
        conn.execute("INSERT OR IGNORE INTO leases (name, holder, token, expires_at, acquired_at)"
                     " VALUES (?, '', 0, 0, 0)", (name,))
        row = conn.execute("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?"
                           " RETURNING token", (now + self.ttl_s, name, self.node_id, now)).fetchone()
        if row is None:
            row = conn.execute("UPDATE leases SET holder = ?, token = token + 1, expires_at = ?, acquired_at = ?"
                               " WHERE name = ? AND (holder = '' OR expires_at <= ?) RETURNING token",
                               (self.node_id, now + self.ttl_s, now, name, now)).fetchone()
        return None if row is None else int(row[0])

    def renew(self, name: str, token: int) -> bool:
        """Extend the lease ``name`` by ``ttl_s`` from now; False when it is no longer this node's
        with ``token`` (taken over, or released). An expired lease nobody took is renewed."""
        cur = self._conn().execute("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?",
                                   (self.clock() + self.ttl_s, name, self.node_id, token))
        return cur.rowcount == 1

    def release(self, name: str, token: int) -> bool:
        """Give the lease up (another node may take it at once); False when it was not this node's
        with ``token``."""
        cur = self._conn().execute("UPDATE leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?"
                                   " AND token = ?", (name, self.node_id, token))
        return cur.rowcount == 1

    def leases(self) -> list[Lease]:
        """Every lease, by name."""
        rows = self._conn().execute("SELECT name, holder, token, expires_at, acquired_at FROM leases"
                                    " ORDER BY name").fetchall()
        return [Lease(r[0], r[1], int(r[2]), float(r[3]), float(r[4])) for r in rows]

    def fence(self, name: str, token: int) -> Fence | None:
        """The fence for writes made while holding ``name`` with ``token`` (None on SQLite: one
        process, nothing to fence)."""
        return None if self.schema is None else Fence(self.schema, name, token)

    # --- nodes ------------------------------------------------------------------------------------
    def heartbeat(self, url: str = "") -> None:
        """Record this node alive now (its row created on the first call); nodes not heard from
        for :data:`FORGET_NODE_S` are dropped."""
        now = self.clock()
        conn = self._conn()
        conn.execute("DELETE FROM nodes WHERE last_seen < ?", (now - FORGET_NODE_S,))
        conn.execute("INSERT OR REPLACE INTO nodes (node_id, url, host, pid, started, last_seen)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     (self.node_id, url, socket.gethostname(), os.getpid(), self.started, now))

    def forget_node(self) -> None:
        """Remove this node's row (a clean shutdown)."""
        self._conn().execute("DELETE FROM nodes WHERE node_id = ?", (self.node_id,))

    def nodes(self) -> list[NodeInfo]:
        """Every node that sent a heartbeat, by id."""
        rows = self._conn().execute("SELECT node_id, url, host, pid, started, last_seen FROM nodes"
                                    " ORDER BY node_id").fetchall()
        return [NodeInfo(r[0], r[1], r[2], int(r[3]), float(r[4]), float(r[5])) for r in rows]
