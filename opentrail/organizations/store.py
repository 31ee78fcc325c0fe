"""Durable storage of AWS Organizations: ``<data-dir>/organizations.db`` (SQLite, WAL,
``synchronous=FULL``), one row per organization holding its whole state as JSON
(:meth:`opentrail.organizations.model.Organization.to_json`; an organization is small: its accounts,
OUs, policies and settings), and one row per account naming its organization (each account belongs
to at most one: the primary key says so).

A write replaces one organization's row and its account rows in one transaction; deleting an
organization removes both."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson

from ..state_db import open_state_db, write_statements
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
    """The organizations of one data directory (``path``: the database file)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._conn = open_state_db(self._path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

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
        with self._lock:
            write_statements(self._conn, [(DELETE_MEMBERS, (organization_id,)), (DELETE, (organization_id,))],
                             full_dir=self._path.parent)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
