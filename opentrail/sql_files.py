"""SQL kept in package files (package data, see ``pyproject.toml``): the one loader of versioned
schema scripts and of named query files, shared by the PostgreSQL event store
(:mod:`opentrail.store.postgres_migrate`, :mod:`opentrail.store.postgres_sql`) and the state stores
(:mod:`opentrail.state_migrate`).

- **Scripts**: a folder of ``NNNN_name.sql`` files (:func:`scripts`); ``NNNN`` (four digits) is
  the script's version, ``name`` (lower-case letters, digits, ``_``) what it does.
- **Named queries**: one file of ``-- name: <name>`` blocks (:func:`load_queries`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["Script", "SchemaTooNewError", "scripts", "load_queries"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BLOCK = re.compile(r"^-- name: ([a-z_]+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Script:
    """One versioned script: ``version`` (from its file name), ``name`` and its SQL text."""

    version: int
    name: str
    sql: str


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer opentrail: it records a script version this one does
    not have."""


def _folder(package: str, *parts: str) -> Traversable:
    folder = resources.files(package)
    for part in parts:
        folder = folder / part
    return folder


def scripts(package: str, *folder: str) -> list[Script]:
    """Every ``NNNN_name.sql`` script of the folder ``folder`` (path parts) of the package
    ``package``, in version order; other files are ignored. Raises ValueError on a ``.sql`` file
    not named so or on a version used twice, FileNotFoundError when the folder is missing."""
    found: dict[int, Script] = {}
    where = _folder(package, *folder)
    if not where.is_dir():
        raise FileNotFoundError(f"no SQL script folder {'/'.join(folder)!r} in package {package}")
    for entry in where.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        m = _NAME.match(entry.name)
        if m is None:
            raise ValueError(f"script file name {entry.name!r} is not NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise ValueError(f"two scripts with version {version} in {package}/{'/'.join(folder)}")
        found[version] = Script(version, m.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def load_queries(package: str, file: str) -> dict[str, str]:
    """The ``-- name: <name>`` blocks of the file ``file`` of ``package``: name -> SQL text
    (comment lines, the trailing ``;`` and surrounding blank lines removed). Raises ValueError on
    a name used twice."""
    text = _folder(package, file).read_text(encoding="utf-8")
    parts = _BLOCK.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f"{file}: query {name!r} defined twice")
        lines = [line for line in body.strip().splitlines() if not line.startswith("--")]
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries
