"""Schema migrations for the PostgreSQL stores: a small ordered-scripts runner.

Each script is ``opentrail/store/postgres_sql/migrations/NNNN_name.sql`` (package data, read by
:func:`opentrail.sql_files.scripts`); its
version is the number ``NNNN``. :func:`migrate` applies, in version order, every script whose
version is not in the ``schema_migrations`` table (version, name, applied_at), each in its own
transaction together with its ``schema_migrations`` row, so a script is applied completely and
exactly once. The runner holds a transaction-level advisory lock (:data:`MIGRATION_LOCK`) while
it checks and applies, so several nodes starting at once apply each script once; the others
wait and then find nothing to do. Scripts are never edited once released: a change is a new
script. A database whose newest applied version is above every known script (a newer opentrail
ran on it) is refused with :class:`SchemaTooNewError`.
"""

from __future__ import annotations

import psycopg

from ..sql_files import SchemaTooNewError, Script, scripts as _scripts

#: The advisory lock key (pg_advisory_xact_lock) serialising migration runs: "otmigr" in ASCII.
MIGRATION_LOCK = 0x6F746D696772

_CREATE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


__all__ = ["MIGRATION_LOCK", "Migration", "SchemaTooNewError", "migrations", "migrate"]

#: One script: ``version`` (from its file name), ``name`` and its SQL text.
Migration = Script


def migrations() -> list[Migration]:
    """Every packaged script, in version order. Raises ValueError on a misnamed or repeated one."""
    return _scripts("opentrail.store.postgres_sql", "migrations")


def migrate(conn: psycopg.Connection, scripts: list[Migration] | None = None) -> list[int]:
    """Apply the missing ``scripts`` (default: :func:`migrations`) on ``conn`` (autocommit off or
    on: each script runs in its own transaction). Returns the versions applied now. Raises
    :class:`SchemaTooNewError`, or psycopg's error for a failing script (that script rolled back,
    the earlier ones kept)."""
    scripts = migrations() if scripts is None else scripts
    known = {s.version for s in scripts}
    applied_now: list[int] = []
    for script in [None, *scripts]:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(_CREATE)
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            if script is None:
                unknown = sorted(done - known)
                if unknown:
                    raise SchemaTooNewError(
                        f"the database has schema versions {unknown} that this opentrail does not know:"
                        " it was used by a newer opentrail")
                continue
            if script.version in done:
                continue
            conn.execute(script.sql.encode())  # several statements: the simple query protocol
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (script.version, script.name))
            applied_now.append(script.version)
    return applied_now
