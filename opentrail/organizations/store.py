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

from ..state_db import Guard, open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .model import Organization

#: The database file in the data directory.
ORGANIZATIONS_DB = "organizations.db"

SELECT_ALL = "SELECT state FROM organizations ORDER BY id"
UPSERT = "INSERT INTO organizations (id, state) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state"
DELETE = "DELETE FROM organizations WHERE id = ?"
DELETE_MEMBERS = "DELETE FROM members WHERE organization_id = ?"
INSERT_MEMBER = "INSERT INTO members (account_id, organization_id) VALUES (?, ?)"
EXISTS = "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = ?)"
DIFFERS = "SELECT NOT EXISTS (SELECT 1 FROM organizations WHERE id = ? AND state = ?)"


class Unchecked:
    """The type of :data:`UNCHECKED`."""


#: ``base`` of a write made whatever the stored state is.
UNCHECKED = Unchecked()


def _changed() -> Exception:
    from .errors import ConcurrentModificationException

    return ConcurrentModificationException()


class SqliteOrganizationsStore:
    """The organizations of one data directory (``path``: the database file); ``monotonic`` paces
    :meth:`changed`."""

    def __init__(self, path: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._path = Path(path)
        self._conn = open_state_db(self._path)
        apply_schema(self._conn, "opentrail.organizations", "organizations")
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

    def save(self, org: Organization, *, base: Organization | None | Unchecked = UNCHECKED,
             changed: Callable[[], Exception] | None = None, taken: Callable[[], Exception] | None = None) -> None:
        """Write ``org`` (and which accounts are its members) in one transaction. With ``base`` (the
        organization the change was made from; None: a new one), ``changed()`` is raised and nothing
        written when the stored organization is no longer ``base`` (another node changed it since:
        the state is compared inside the write transaction, one writer across nodes). ``taken()`` is
        raised when one of its accounts is a member of another organization (the primary key)."""
        statements = [(UPSERT, (org.id, orjson.dumps(org.to_json()).decode())), (DELETE_MEMBERS, (org.id,))]
        statements += [(INSERT_MEMBER, (a, org.id)) for a in sorted(org.accounts)]
        guards = [] if isinstance(base, Unchecked) else [self._unchanged(org.id, base, changed)]
        with self._lock:
            write_statements(self._conn, statements, full_dir=self._path.parent, guards=guards, on_conflict=taken)

    def delete(self, organization_id: str, *, base: Organization | Unchecked = UNCHECKED,
               changed: Callable[[], Exception] | None = None) -> None:
        """Remove the organization and its member rows (one transaction); ``base`` and ``changed``
        as for :meth:`save`."""
        guards = [] if isinstance(base, Unchecked) else [self._unchanged(organization_id, base, changed)]
        with self._lock:
            write_statements(self._conn, [(DELETE_MEMBERS, (organization_id,)), (DELETE, (organization_id,))],
                             full_dir=self._path.parent, guards=guards)

    @staticmethod
    def _unchanged(organization_id: str, base: Organization | None,
                   changed: Callable[[], Exception] | None) -> Guard:
        """A guard that fails unless the stored state of ``organization_id`` is ``base`` (None: no row)."""
        if base is None:
            return Guard(EXISTS, (organization_id,), changed or _changed)
        return Guard(DIFFERS, (organization_id, orjson.dumps(base.to_json()).decode()), changed or _changed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
