"""State databases on PostgreSQL: the SQLite state files (``trails.db``, ``delivery.db``, ``iam.db``
and the rest, see :mod:`.state_db`) as schemas of one shared PostgreSQL database, so several
opentrail nodes see the same trails, cursors, policies and rules.

Each store keeps its one SQL text, written for SQLite. :class:`PgStateConnection` stands in for
the ``sqlite3.Connection`` the store would have had (the subset the stores use: ``execute``,
``executemany``, ``executescript``, ``close``, ``in_transaction``, cursors with ``fetchone``,
``fetchall``, iteration, ``lastrowid``, ``rowcount``; ``row_factory = sqlite3.Row`` gives rows
readable by index and by column name) and translates each statement once (cached) with sqlglot,
from the SQLite dialect to PostgreSQL:

- every table name is qualified with the store's schema (``state_<file stem>``, e.g.
  ``state_trails`` for ``trails.db``), so any pooled connection runs any store's statements;
- ``INTEGER`` columns become ``BIGINT``; an ``INTEGER PRIMARY KEY`` (SQLite's rowid alias) an
  identity column, returned as ``lastrowid`` by a ``RETURNING`` added to each INSERT;
- ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING`` and ``INSERT OR REPLACE`` an
  ``ON CONFLICT (<primary key>) DO UPDATE`` of every other inserted column;
- scalar ``max(a, b)``/``min(a, b)`` become GREATEST/LEAST (sqlglot), ``?`` and ``:name``
  placeholders psycopg's, and ``%`` in literals is escaped;
- ``CAST(text AS BLOB)`` becomes ``convert_to(text, 'UTF8')`` (the same bytes) and SQLite's
  ``INDEXED BY`` planner hint is dropped.

Semantics kept from SQLite:

- **Write transactions are serialized per store**: ``BEGIN``/``BEGIN IMMEDIATE`` take a
  transaction-level advisory lock on the schema, across nodes, as SQLite's one writer does; so a
  store's read-modify-write transactions stay correct with several nodes.
- **``PRAGMA data_version``** changes whenever a write to the schema was committed (by any node):
  every write bumps the schema's ``ot_state.data_version`` row. Stores that cache rows in memory
  check it to reload what another node changed.
- ``PRAGMA table_info(t)`` answers from the catalog (inside a transaction, with its own DDL seen:
  :mod:`opentrail.state_migrate` checks a column before adding it); other PRAGMAs (journal mode,
  synchronous, busy timeout, query_only) do nothing.
- A constraint violation raises ``sqlite3.IntegrityError`` (the stores catch that class).
- The DDL of ``executescript`` runs in one transaction under the schema lock, so nodes starting
  together create each table once. The stores' schemas are versioned scripts applied by
  :mod:`opentrail.state_migrate`, one ``BEGIN IMMEDIATE`` transaction (the schema lock) per script.

Connections come from one :class:`psycopg_pool.ConnectionPool` per database URL and process
(:func:`pool_for`); a statement outside a transaction borrows one for itself and reads all its rows
before it returns; a transaction keeps one from ``BEGIN`` to ``COMMIT``/``ROLLBACK``. When the
database is unreachable, statements raise ``psycopg.OperationalError`` (``PoolTimeout``), which the
API answers with 503 ServiceUnavailable; the pool reconnects by itself. A session left idle inside a
transaction for :data:`IDLE_IN_TRANSACTION_S` (a node paused with SIGSTOP mid-transaction) is ended
by the server, so its locks do not hold up the other nodes.

**Fencing** (:func:`fence`, for the background workers that hold a lease, see
:mod:`opentrail.leases`): while a thread runs under ``with fence(Fence(schema, name, token)):``,
every write it makes -- a ``BEGIN`` transaction or an autocommit write statement -- first runs, in
the same transaction, ``SELECT 1 FROM <schema>.leases WHERE name = %s AND token = %s FOR SHARE``
and raises :class:`LeaseLost` (nothing written) when the lease is no longer held with that token.
A takeover (which updates the lease row) waits for the fenced transactions under way to commit,
and every write of the old holder after it fails. A worker serving several leases at once runs
under ``Fences`` (every lease checked in one ``SELECT ... FOR SHARE``); :func:`fence_lost` tells a
worker that one of its leases was found lost.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping, Sequence

import psycopg
import sqlglot
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool
from sqlglot import exp

__all__ = ["PgStateConnection", "pool_for", "schema_for", "close_pools", "Fence", "Fences", "LeaseLost", "fence",
           "current_fence", "fence_lost"]

#: Connections per database URL and process, shared by every state store of the process.
POOL_MAX = 10
#: Seconds a statement waits for a connection before it raises ``PoolTimeout`` (503).
POOL_TIMEOUT_S = 10.0
_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(\w+)\s*(?:\(\s*(\w+)\s*\)|=\s*(\S+))?\s*;?\s*$", re.I)
#: Seconds a session may stay idle inside a transaction before the server ends it.
IDLE_IN_TRANSACTION_S = 30
_TXN = re.compile(r"^\s*(BEGIN(?:\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE))?(?:\s+TRANSACTION)?|COMMIT|END|ROLLBACK)\s*;?\s*$", re.I)


class LeaseLost(Exception):
    """The lease this thread's writes are fenced with (:func:`fence`) is no longer held with its
    token: another node took it over. Nothing of the write was committed."""

    def __init__(self, name: str, token: int) -> None:
        super().__init__(f"lease {name!r} is no longer held with token {token}")
        self.name, self.token = name, token


@dataclass(frozen=True)
class Fence:
    """Writes must find the lease ``name`` of the lease table in ``schema`` (``<schema>.leases``)
    held with fencing token ``token``; ``lost`` is set once a write found it was not."""

    schema: str
    name: str
    token: int
    lost: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class Fences:
    """Writes must find every lease of ``fences`` (all in one lease table) held with its token: the
    fence of a worker that serves several leases at once (:class:`opentrail.shard_group.ShardGroup`).
    A write that finds one lost sets that lease's ``lost`` and raises :class:`LeaseLost` for it."""

    fences: tuple[Fence, ...]


_fences = threading.local()


@contextmanager
def fence(f: Fence | Fences | None) -> Iterator[None]:
    """Fence every write of the calling thread with ``f`` inside the block (None: no fence)."""
    before = getattr(_fences, "fence", None)
    _fences.fence = f
    try:
        yield
    finally:
        _fences.fence = before


def current_fence() -> Fence | Fences | None:
    """The calling thread's fence (None: its writes are not fenced)."""
    return getattr(_fences, "fence", None)


def fence_tokens(names: Sequence[str]) -> dict[int, int]:
    """``{i: token}`` for each lease ``names[i]`` in the calling thread's fence, with the fencing
    token it is held with (empty without a fence): e.g. a shard worker's token per shard."""
    f = getattr(_fences, "fence", None)
    held = {one.name: one.token for one in (f.fences if isinstance(f, Fences) else (f,) if f is not None else ())}
    return {i: held[name] for i, name in enumerate(names) if name in held}


def fence_lost(exc: BaseException | None = None) -> bool:
    """True when ``exc`` (or its cause) is :class:`LeaseLost`, or a write under the calling thread's
    fence already found a lease of it lost: the thread must stop writing, and deleting, at once
    (another node does that work now)."""
    if exc is not None and (isinstance(exc, LeaseLost) or isinstance(exc.__cause__, LeaseLost)):
        return True
    f = getattr(_fences, "fence", None)
    return f is not None and any(one.lost.is_set() for one in (f.fences if isinstance(f, Fences) else (f,)))


def _check_fence(conn: psycopg.Connection) -> None:
    """In ``conn``'s transaction: the calling thread's lease still held with its token (a share lock
    on the lease row until the transaction ends), else :class:`LeaseLost`."""
    f = getattr(_fences, "fence", None)
    if f is None:
        return
    if isinstance(f, Fence):
        row = conn.execute(f'SELECT 1 FROM "{f.schema}".leases WHERE name = %s AND token = %s FOR SHARE',
                           (f.name, f.token)).fetchone()
        if row is None:
            f.lost.set()
            raise LeaseLost(f.name, f.token)
        return
    if not f.fences:
        return
    held = dict(conn.execute(f'SELECT name, token FROM "{f.fences[0].schema}".leases WHERE name = ANY(%s) FOR SHARE',
                             ([one.name for one in f.fences],)).fetchall())
    for one in f.fences:
        if held.get(one.name) != one.token:
            one.lost.set()
            raise LeaseLost(one.name, one.token)


class _NumericLoader(Loader):
    """``numeric`` (what PostgreSQL's sum() of bigints is) as int when whole, else float: what
    SQLite gives for the same query."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)
    conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_S * 1000}")
    conn.execute("SET jit = off")  # small reads: never worth compiling (see opentrail/store/postgres.py)


def pool_for(url: str) -> ConnectionPool:
    """The process's connection pool for ``url`` (opened on first use, autocommit connections,
    checked at checkout so a connection the server dropped is replaced)."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX, open=False, name="opentrail-state",
                                  check=ConnectionPool.check_connection, timeout=POOL_TIMEOUT_S,
                                  configure=_configure, kwargs={"autocommit": True, "application_name": "opentrail"})
            pool.open(wait=True, timeout=POOL_TIMEOUT_S)
            _pools[url] = pool
        return pool


def close_pools(url: str | None = None) -> None:
    """Close the pool of ``url``, or every pool of the process (server shutdown, end of a test
    session)."""
    with _pools_lock:
        for key in [url] if url is not None else list(_pools):
            pool = _pools.pop(key, None)
            if pool is not None:
                pool.close()


def schema_for(file_name: str, namespace: str = "state") -> str:
    """The schema of the state file ``file_name`` (relative to the data directory):
    ``trails.db`` -> ``state_trails``, ``lake-results/queries.db`` -> ``state_lake_results_queries``."""
    stem = file_name[:-3] if file_name.endswith(".db") else file_name
    return namespace + "_" + re.sub(r"[^a-z0-9_]", "_", stem.lower())


class Row(tuple):  # type: ignore[type-arg]
    """A row readable by index and by column name (``row_factory = sqlite3.Row``)."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> "Row":
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class PgCursor:
    """The rows of one statement, read before :meth:`PgStateConnection.execute` returned."""

    def __init__(self, rows: list[Any], lastrowid: int | None, rowcount: int,
                 description: Any = None) -> None:
        self._rows = rows
        self._at = 0
        self.lastrowid = lastrowid
        self.rowcount = rowcount
        self.description = description

    def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        row = self._rows[self._at]
        self._at += 1
        return row

    def fetchall(self) -> list[Any]:
        rows = self._rows[self._at:]
        self._at = len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[Any]:
        rows = self._rows[self._at:self._at + size]
        self._at += len(rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row


class _Translated:
    """One statement translated: its PostgreSQL text and what kind it is."""

    __slots__ = ("sql", "write", "ddl", "returns_id")

    def __init__(self, sql: str, write: bool, ddl: bool, returns_id: bool) -> None:
        self.sql, self.write, self.ddl, self.returns_id = sql, write, ddl, returns_id


class PgStateConnection:
    """A ``sqlite3.Connection`` look-alike for the state file ``file_name`` in the PostgreSQL
    database ``url`` (see the module docstring). Not for concurrent use by several threads, as
    the stores' own locks already ensure for their SQLite connections."""

    def __init__(self, url: str, file_name: str, namespace: str = "state") -> None:
        self.url = url
        self.schema = schema_for(file_name, namespace)
        self._lock_key = zlib.crc32(self.schema.encode())
        self._pool = pool_for(url)
        self._held: psycopg.Connection | None = None
        self._wrote = False
        self._cache: dict[str, _Translated] = {}
        self._keys: dict[str, tuple[list[str], str | None]] = {}
        self.row_factory: Any = None
        self._closed = False
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{self.schema}".ot_state '
                         "(id integer PRIMARY KEY, data_version bigint NOT NULL)")
            conn.execute(f'INSERT INTO "{self.schema}".ot_state VALUES (1, 0) ON CONFLICT DO NOTHING')

    # --- the sqlite3.Connection surface ---------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._held is not None

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        special = self._special(sql)
        if special is not None:
            return special
        translated = self._translate(sql)
        return self._run(translated, _params(args))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any] | Mapping[str, Any]]) -> PgCursor:
        translated = self._translate(sql)
        rows = [_params(a) for a in seq]
        if not rows:
            return PgCursor([], None, 0)
        if self._held is not None:
            return self._many(self._held, translated, rows)
        with self._pool.connection() as conn, conn.transaction():
            _check_fence(conn)
            return self._many(conn, translated, rows)

    def executescript(self, script: str) -> PgCursor:
        """Every statement of ``script`` in one transaction under the schema lock (DDL)."""
        statements = [s for s in sqlglot.parse(script, read="sqlite") if s is not None]
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            _check_fence(conn)
            for statement in statements:
                text = statement.sql(dialect="sqlite")
                special = self._special(text)
                if special is None:
                    conn.execute(self._translate(text).sql.encode(), ())
        return PgCursor([], None, -1)

    def commit(self) -> None:
        if self._held is not None:
            self._end("COMMIT")

    def rollback(self) -> None:
        if self._held is not None:
            self._end("ROLLBACK")

    def close(self) -> None:
        if self._held is not None:
            self._end("ROLLBACK")
        self._closed = True

    # --- statements ------------------------------------------------------------------------------
    def _special(self, sql: str) -> PgCursor | None:
        m = _TXN.match(sql)
        if m is not None:
            word = m.group(1).split()[0].upper()
            if word == "BEGIN":
                if self._held is not None:
                    raise sqlite3.OperationalError("cannot start a transaction within a transaction")
                conn = self._pool.getconn()
                try:
                    conn.execute("BEGIN")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                    _check_fence(conn)
                except BaseException:
                    try:
                        conn.execute("ROLLBACK")
                    except psycopg.Error:
                        pass
                    self._pool.putconn(conn)
                    raise
                self._held, self._wrote = conn, False
            elif self._held is None:
                raise sqlite3.OperationalError(f"cannot {word.lower()} - no transaction is active")
            else:
                self._end("ROLLBACK" if word == "ROLLBACK" else "COMMIT")
            return PgCursor([], None, -1)
        m = _PRAGMA.match(sql)
        if m is None:
            return None
        name = m.group(1).lower()
        if name == "data_version":
            return PgCursor([(self._data_version(),)], None, -1)
        if name == "table_info":
            return PgCursor(self._table_info(m.group(2)), None, -1)
        return PgCursor([], None, -1)

    def _end(self, word: str) -> None:
        conn, self._held = self._held, None
        assert conn is not None
        try:
            if word == "COMMIT" and self._wrote:
                conn.execute(f'UPDATE "{self.schema}".ot_state SET data_version = data_version + 1 WHERE id = 1')
            conn.execute(word)
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                pass
            raise
        finally:
            self._pool.putconn(conn)

    def _run(self, t: _Translated, params: Any) -> PgCursor:
        if self._held is not None:
            self._wrote = self._wrote or t.write
            return self._exec(self._held, t, params)
        if not t.write:
            with self._pool.connection() as conn:
                return self._exec(conn, t, params)
        with self._pool.connection() as conn, conn.transaction():
            if t.ddl:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            _check_fence(conn)
            cursor = self._exec(conn, t, params)
            conn.execute(f'UPDATE "{self.schema}".ot_state SET data_version = data_version + 1 WHERE id = 1')
            return cursor

    def _exec(self, conn: psycopg.Connection, t: _Translated, params: Any) -> PgCursor:
        try:
            cur = conn.execute(t.sql.encode(), params)
        except psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc).strip()) from exc
        rows: list[Any] = []
        lastrowid = None
        if cur.description is not None:
            rows = cur.fetchall()
            if t.returns_id:
                lastrowid = rows[0][0] if rows else None
                rows = []
            elif self.row_factory is not None:
                names = {d.name: i for i, d in enumerate(cur.description)}
                rows = [Row(r, names) for r in rows]
        return PgCursor(rows, lastrowid, cur.rowcount, None if t.returns_id else cur.description)

    def _many(self, conn: psycopg.Connection, t: _Translated, rows: list[Any]) -> PgCursor:
        if self._held is not None:
            self._wrote = True
        sql = t.sql
        if t.returns_id:  # executemany gives no lastrowid in sqlite3 either
            sql = sql[:sql.rfind(" RETURNING ")]
        try:
            with conn.cursor() as cur:
                cur.executemany(sql.encode(), rows)
                count = cur.rowcount
        except psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc).strip()) from exc
        if self._held is None:
            conn.execute(f'UPDATE "{self.schema}".ot_state SET data_version = data_version + 1 WHERE id = 1')
        return PgCursor([], None, count)

    def _data_version(self) -> int:
        conn = self._held
        if conn is not None:
            return int(conn.execute(f'SELECT data_version FROM "{self.schema}".ot_state WHERE id = 1').fetchone()[0])
        with self._pool.connection() as conn:
            return int(conn.execute(f'SELECT data_version FROM "{self.schema}".ot_state WHERE id = 1').fetchone()[0])

    def _table_info(self, table: str) -> list[tuple[Any, ...]]:
        sql = ("SELECT ordinal_position - 1, column_name, data_type, is_nullable = 'NO', column_default, 0 "
               "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position")
        if self._held is not None:  # inside a transaction: its own DDL is seen
            return list(self._held.execute(sql, (self.schema, table.lower())).fetchall())
        with self._pool.connection() as conn:
            return list(conn.execute(sql, (self.schema, table.lower())).fetchall())

    # --- translation -----------------------------------------------------------------------------
    def _translate(self, sql: str) -> _Translated:
        t = self._cache.get(sql)
        if t is None:
            t = self._cache[sql] = self._translate_new(sql)
        return t

    def _translate_new(self, sql: str) -> _Translated:
        tree = sqlglot.parse_one(sql, read="sqlite")
        ddl = isinstance(tree, (exp.Create, exp.Drop, exp.Alter))
        write = ddl or isinstance(tree, (exp.Insert, exp.Update, exp.Delete))
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            table.set("indexed", None)  # SQLite's INDEXED BY: a planner hint PostgreSQL has not
        for table in tree.find_all(exp.Table):
            if table.name and not table.args.get("db") and table.name not in ctes:
                table.set("db", exp.to_identifier(self.schema))
        if isinstance(tree, exp.Create):
            _ddl_types(tree)
        returns_id = False
        if isinstance(tree, exp.Insert):
            returns_id = self._insert(tree)
        for ordered in list(tree.find_all(exp.OnConflict)):
            keys = ordered.args.get("conflict_keys") or []
            ordered.set("conflict_keys", [k.this if isinstance(k, exp.Ordered) else k for k in keys])
        marks: list[str] = []

        def placeholder(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder):
                marks.append(f"%({node.name})s" if node.name and node.name != "?" else "%s")
                return exp.var(f"__ot_param_{len(marks) - 1}__")
            return node

        tree = tree.transform(placeholder).transform(_blob_cast)
        text = tree.sql(dialect="postgres").replace("%", "%%")
        for i, mark in enumerate(marks):
            text = text.replace(f"__ot_param_{i}__", mark, 1)
        return _Translated(text, write, ddl, returns_id)

    def _insert(self, tree: exp.Insert) -> bool:
        """Rewrite OR IGNORE / OR REPLACE; add ``RETURNING <identity>``; True when added."""
        target = tree.this
        table = target.this if isinstance(target, exp.Schema) else target
        columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else []
        keys, identity = self._table_keys(table.name)
        alternative = (tree.args.get("alternative") or "").upper()
        if alternative:
            tree.set("alternative", None)
            if alternative == "IGNORE":
                tree.set("conflict", exp.OnConflict(action=exp.var("DO NOTHING")))
            elif alternative == "REPLACE":
                updates = [exp.EQ(this=exp.column(c), expression=exp.column(c, table="excluded"))
                           for c in columns if c not in keys]
                conflict = exp.OnConflict(conflict_keys=[exp.to_identifier(k) for k in keys])
                if updates:
                    conflict.set("action", exp.var("DO UPDATE"))
                    conflict.set("expressions", updates)
                else:
                    conflict.set("action", exp.var("DO NOTHING"))
                tree.set("conflict", conflict)
        if identity is not None and not tree.args.get("returning"):
            tree.set("returning", exp.Returning(expressions=[exp.column(identity)]))
            return True
        return False

    def _table_keys(self, table: str) -> tuple[list[str], str | None]:
        """The primary key columns of ``table`` and its identity column (None: none)."""
        found = self._keys.get(table)
        if found is None:
            if self._held is not None:  # inside a transaction: a table it created is seen
                found = self._read_keys(self._held, table)
            else:
                with self._pool.connection() as conn:
                    found = self._read_keys(conn, table)
            self._keys[table] = found
        return found

    def _read_keys(self, conn: psycopg.Connection, table: str) -> tuple[list[str], str | None]:
        rel = f'"{self.schema}"."{table.lower()}"'
        keys = [r[0] for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)", (rel,)).fetchall()]
        ident = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                             "AND attidentity <> '' AND attnum > 0", (rel,)).fetchone()
        return keys, None if ident is None else ident[0]


_BLOB_TYPES = (exp.DataType.Type.BLOB, exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY)


def _blob_cast(node: exp.Expression) -> exp.Expression:
    """SQLite's ``CAST(text AS BLOB)`` (the text's UTF-8 bytes) as ``convert_to(text, 'UTF8')``:
    PostgreSQL's cast to bytea would parse the text as bytea's escape format instead."""
    if isinstance(node, exp.Cast) and node.to.this in _BLOB_TYPES:
        return exp.func("convert_to", node.this, exp.Literal.string("UTF8"))
    return node


def _ddl_types(tree: exp.Create) -> None:
    """SQLite column types for PostgreSQL: INTEGER -> BIGINT, ``INTEGER PRIMARY KEY`` -> identity,
    no type -> TEXT; table options (WITHOUT ROWID, STRICT) dropped."""
    schema = tree.this
    if not isinstance(schema, exp.Schema):
        return
    for i, column in enumerate(list(schema.expressions)):
        if isinstance(column, exp.Identifier):  # a column without a type
            schema.expressions[i] = exp.ColumnDef(this=column, kind=exp.DataType.build("TEXT"))
            continue
        if not isinstance(column, exp.ColumnDef):
            continue
        kind = column.args.get("kind")
        if kind is None:
            column.set("kind", exp.DataType.build("TEXT"))
            continue
        if kind.this in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT,
                         exp.DataType.Type.TINYINT):
            column.set("kind", exp.DataType.build("BIGINT"))
            constraints = column.args.get("constraints") or []
            kinds = [c.args.get("kind") for c in constraints]
            if any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds) and not any(
                    isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds):
                constraints.insert(0, exp.ColumnConstraint(
                    kind=exp.GeneratedAsIdentityColumnConstraint(this=False)))
                column.set("constraints", constraints)
        elif kind.this in (exp.DataType.Type.BOOLEAN,):
            column.set("kind", exp.DataType.build("BIGINT"))
    props = tree.args.get("properties")
    if props is not None:
        tree.set("properties", None)


def _params(args: Sequence[Any] | Mapping[str, Any]) -> Any:
    """Parameters as psycopg takes them; bools as 0/1 (SQLite has no boolean type)."""
    if isinstance(args, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in args.items()}
    return [int(v) if isinstance(v, bool) else v for v in args]
