"""Versioned schemas of the state stores: a small ordered-scripts runner, the same on SQLite and on
PostgreSQL (:mod:`.state_pg`).

Each state store keeps its schema in package files ``opentrail/<package>/sql/<component>/NNNN_name.sql``
(read by :func:`opentrail.sql_files.scripts`; e.g. ``opentrail/lake/sql/channels/0001_channels.sql``),
written in the SQLite dialect the stores use (on PostgreSQL each statement is translated by
:class:`~opentrail.state_pg.PgStateConnection`, as every other statement of the store is). The
component's name is its folder relative to ``opentrail`` (``lake/channels``, ``leases``): several
stores may share one database (``accounts.db`` holds ``auth/accounts`` and ``sts/sessions``), each
with its own versions.

:func:`apply_schema`, run by each store when it opens its database, applies in version order the
scripts of the component whose version is not in the database's ``ot_schema_versions`` table
(component, version, name, applied_s: epoch seconds), each in one write transaction
(``BEGIN IMMEDIATE``; on PostgreSQL that takes the schema's advisory lock, across nodes) together
with its version row, so a script is applied completely and exactly once even when several
processes or nodes open the database together: the others wait for the lock, then find the
version recorded and skip it. A database whose versions are all applied costs one read
(``ot_schema_versions`` read without a lock). A database recording a version of the component
above every script this opentrail has (a newer opentrail used it) is refused with
:class:`~opentrail.sql_files.SchemaTooNewError`.

Scripts are never edited once released: a change is a new script. Databases made before the
versions existed (no ``ot_schema_versions`` row) are brought up the same way, so the scripts are
written to be safe on them:

- the first script of a component (``0001``) is the schema as released before versioning, every
  statement ``CREATE TABLE IF NOT EXISTS`` / ``CREATE INDEX IF NOT EXISTS``: on an existing database
  it creates nothing and the rows stay;
- the runner skips an ``ALTER TABLE <table> ADD [COLUMN] <column> ...`` statement when the table
  already has the column (``PRAGMA table_info``; SQLite has no ``ADD COLUMN IF NOT EXISTS``), so a
  later script adding a column is safe on a database that got the column from an older release;
- a script with the comment line ``-- sqlite-only`` (a line of its own) runs on SQLite only (its
  version is recorded on PostgreSQL too, without running it): for SQLite-specific repairs (e.g.
  filling a column from ``rowid``).

Statements are split with :func:`sqlite3.complete_statement` (``;`` inside literals and comments
is not an end). A failing statement rolls back its script (the versions before it stay applied)
and the store's open raises the database's error.
"""

from __future__ import annotations

import re
import sqlite3
import time
from functools import lru_cache
from typing import Callable, Sequence

from .sql_files import SchemaTooNewError, Script, scripts as packaged_scripts
from .state_db import immediate_transaction

__all__ = ["VERSIONS_TABLE", "apply_schema", "applied_versions", "component_of", "statements"]

#: The table of applied versions, in every state database.
VERSIONS_TABLE = "ot_schema_versions"
_CREATE = (f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (component TEXT NOT NULL, version INTEGER NOT NULL,"
           " name TEXT NOT NULL, applied_s REAL NOT NULL, PRIMARY KEY (component, version))")
_SELECT = f"SELECT version FROM {VERSIONS_TABLE} WHERE component = ?"
_INSERT = f"INSERT INTO {VERSIONS_TABLE} (component, version, name, applied_s) VALUES (?, ?, ?, ?)"
_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(\w+)", re.I)
_SQLITE_ONLY = re.compile(r"^--\s*sqlite-only\s*$", re.M)


@lru_cache(maxsize=None)
def _packaged(package: str, folder: str) -> tuple[Script, ...]:
    """The scripts of ``<package>/sql/<folder>/``, read once per process."""
    return tuple(packaged_scripts(package, "sql", folder))


def component_of(package: str, folder: str) -> str:
    """The recorded name of the scripts ``<package>/sql/<folder>``: the package path below
    ``opentrail`` and the folder (``component_of("opentrail.lake", "channels") == "lake/channels"``)."""
    parts = package.split(".")[1:] + [folder]
    return "/".join(parts)


def statements(sql: str) -> list[str]:
    """The statements of the script ``sql``, in order, without their leading comment lines and
    final ``;`` (comment-only parts dropped). Raises ValueError when the script ends inside a
    statement."""
    out: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                lines = pending.strip().splitlines()
                while lines[0].lstrip().startswith("--"):
                    lines.pop(0)
                out.append("\n".join(lines).rstrip().rstrip(";").rstrip())
            pending = ""
    if _has_code(pending):
        raise ValueError(f"unterminated statement at the end of the script: {pending.strip()[:80]!r}")
    return out


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def applied_versions(conn: sqlite3.Connection, component: str) -> set[int]:
    """The versions of ``component`` recorded in the database of ``conn`` (empty when none or when
    the database has no versions table yet)."""
    if not conn.execute(f"PRAGMA table_info({VERSIONS_TABLE})").fetchall():
        return set()
    return {int(row[0]) for row in conn.execute(_SELECT, (component,)).fetchall()}


def apply_schema(conn: sqlite3.Connection, package: str, folder: str, *,
                 clock: Callable[[], float] = time.time, scripts: Sequence[Script] | None = None) -> list[int]:
    """Bring the database of ``conn`` (an autocommit connection from
    :func:`~opentrail.state_db.open_state_db`, not inside a transaction; the caller holds its lock)
    to the newest schema of the scripts ``<package>/sql/<folder>/`` (module docstring; ``scripts``:
    these instead of the packaged ones, recorded under the same component). Returns the
    versions applied now (empty when it was up to date). Raises
    :class:`~opentrail.sql_files.SchemaTooNewError`, ValueError or FileNotFoundError for a
    misnamed or missing script folder, and the database's error for a failing statement."""
    component = component_of(package, folder)
    todo = list(_packaged(package, folder) if scripts is None else scripts)
    known = {s.version for s in todo}
    done = applied_versions(conn, component)
    _check_not_newer(done, known, component)
    if known <= done:
        return []
    sqlite = isinstance(conn, sqlite3.Connection)
    applied: list[int] = []
    for script in todo:
        with immediate_transaction(conn):
            conn.execute(_CREATE)
            done = {int(row[0]) for row in conn.execute(_SELECT, (component,)).fetchall()}
            _check_not_newer(done, known, component)
            if script.version in done:
                continue
            if sqlite or not _SQLITE_ONLY.search(script.sql):
                _run(conn, script)
            conn.execute(_INSERT, (component, script.version, script.name, clock()))
        applied.append(script.version)
    return applied


def _check_not_newer(done: set[int], known: set[int], component: str) -> None:
    unknown = sorted(done - known)
    if unknown:
        raise SchemaTooNewError(f"the database has schema versions {unknown} of {component} that this"
                                " opentrail does not know: it was used by a newer opentrail")


def _run(conn: sqlite3.Connection, script: Script) -> None:
    for statement in statements(script.sql):
        m = _ADD_COLUMN.match(statement)
        if m is not None:
            have = {str(row[1]).lower() for row in conn.execute(f"PRAGMA table_info({m.group(1)})").fetchall()}
            if m.group(2).lower() in have:
                continue
        conn.execute(statement)
