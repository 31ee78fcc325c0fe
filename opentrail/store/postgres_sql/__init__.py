"""SQL of the PostgreSQL event store: ``migrations/NNNN_name.sql`` (applied in order by
:mod:`opentrail.store.postgres_migrate`) and ``queries.sql``, whose ``-- name: <name>`` blocks
:func:`load_queries` returns by name."""

from __future__ import annotations

import re
from importlib import resources

_BLOCK = re.compile(r"^-- name: ([a-z_]+)[ \t]*$", re.MULTILINE)


def load_queries(file: str = "queries.sql") -> dict[str, str]:
    """name -> SQL text (trailing ``;`` and surrounding blank lines removed). Raises ValueError
    on a name used twice."""
    text = (resources.files(__name__) / file).read_text(encoding="utf-8")
    parts = _BLOCK.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f"{file}: query {name!r} defined twice")
        lines = [line for line in body.strip().splitlines() if not line.startswith("--")]
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries
