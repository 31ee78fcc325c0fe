"""Durable storage of AWS Organizations: ``<data-dir>/organizations.db`` (SQLite, WAL,
``synchronous=FULL``), one row per organization holding its whole state as JSON
(:meth:`opentrail.organizations.model.Organization.to_json`; an organization is small: its accounts,
OUs, policies and settings), and one row per account naming its organization (each account belongs
to at most one: the primary key says so).

A write replaces one organization's row and its account rows in one transaction; deleting an
organization removes both. With ``--database-url`` the file is the schema ``state_organizations``
of the shared PostgreSQL database (:func:`opentrail.state_db.open_state_db`), which several nodes
share: :meth:`SqliteOrganizationsStore.changed` tells the service, which keeps the organizations in
memory, when another node wrote (:class:`opentrail.state_watch.DataVersionWatch`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import orjson

from ..state_db import open_state_db, write_statements
from ..state_watch import DataVersionWatch
from .model import Organization

#: The database file in the data directory.
ORGANIZATIONS_DB = "organizations.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    id    TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    account_id      TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL
);
"""
SELECT_ALL = "SELECT state FROM organizations ORDER BY id"
UPSERT = "INSERT INTO organizations (id, state) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state"
DELETE = "DELETE FROM organizations WHERE id = ?"
DELETE_MEMBERS = "DELETE FROM members WHERE organization_id = ?"
INSERT_MEMBER = "INSERT INTO members (account_id, organization_id) VALUES (?, ?)"


class SqliteOrganizationsStore:
    """The organizations of one data directory (``path``: the database file); ``monotonic`` paces
    :meth:`changed`."""

    def __init__(self, path: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._path = Path(path)
        self._conn = open_state_db(self._path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._watch = DataVersionWatch(self._conn, clock=monotonic)

    def changed(self, *, fresh: bool = False) -> bool:
        """True when a write was committed (by another store object, process or node; on PostgreSQL
        by this one too) since the previous call; looked for at most every
        :data:`~opentrail.state_watch.PG_RECHECK_S` on PostgreSQL unless ``fresh``."""
        with self._lock:
            return self._watch.changed(fresh=fresh)

    def load(self) -> list[Organization]:
        """Every organization, by id."""
        with self._lock:
            rows = self._conn.execute(SELECT_ALL).fetchall()
        return [Organization.from_json(orjson.loads(r[0])) for r in rows]

    def save(self, org: Organization) -> None:
        """Write ``org`` (and which accounts are its members) in one transaction."""
        statements = [(UPSERT, (org.id, orjson.dumps(org.to_json()).decode())), (DELETE_MEMBERS, (org.id,))]
        statements += [(INSERT_MEMBER, (a, org.id)) for a in sorted(org.accounts)]
        with self._lock:
            write_statements(self._conn, statements, full_dir=self._path.parent)

    def delete(self, organization_id: str) -> None:
        """Remove the organization and its member rows (one transaction)."""
        with self._lock:
            write_statements(self._conn, [(DELETE_MEMBERS, (organization_id,)), (DELETE, (organization_id,))],
                             full_dir=self._path.parent)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
