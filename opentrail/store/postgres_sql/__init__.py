"""SQL of the PostgreSQL event store: ``migrations/NNNN_name.sql`` (applied in order by
:mod:`opentrail.store.postgres_migrate`) and ``queries.sql``, whose ``-- name: <name>`` blocks
:func:`load_queries` returns by name."""

from __future__ import annotations

from ...sql_files import load_queries as _load


def load_queries(file: str = "queries.sql") -> dict[str, str]:
    """name -> SQL text of the ``-- name:`` blocks of ``file`` (trailing ``;`` and surrounding
    blank lines removed; :func:`opentrail.sql_files.load_queries`). Raises ValueError on a name
    used twice."""
    return _load(__name__, file)
