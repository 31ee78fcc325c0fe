"""The real PostgreSQL on this machine for tests: a database of their own per test session.

``OPENTRAIL_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names the
server's maintenance database; tests that need PostgreSQL are skipped with the reason when it
does not answer. :func:`own_database` creates ``opentrail_test_<random>`` and drops it after."""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import Iterator
from urllib.parse import quote

import psycopg
import pytest

ADMIN_URL = os.environ.get("OPENTRAIL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def unreachable_reason() -> str | None:
    """None when the server answers ``select 1``, else why not."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
    return None


def url_of(database: str, schema: str | None = None) -> str:
    """A connection URL for ``database`` on the test server, with ``schema`` as search_path."""
    base = ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    return base if schema is None else f"{base}?options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def own_database() -> Iterator[str]:
    """Create a fresh database, yield its URL, drop it (closing leftover sessions) at the end.
    Skips the test when the server is unreachable. The database has ``synchronous_commit`` off:
    a commit returns before its WAL is flushed to disk (about 3 ms less per commit here), still
    visible to every session at once and lost only if the PostgreSQL server itself crashed, which
    no test does (the tests kill opentrail processes, never the server)."""
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    name = f"opentrail_test_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield url_of(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_schema(database_url: str, schema: str) -> None:
    """``CREATE SCHEMA`` in the test database (a fresh store's namespace)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
