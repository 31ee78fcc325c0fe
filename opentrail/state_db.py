"""The SQLite files that hold opentrail's state beside the event store (trails, delivery and digest
state, event data stores, Lake ingestion and imports, EventBridge, CloudWatch Logs): one way to open
them, to write a transaction and to keep read-only connections per thread.

With ``--database-url`` (:func:`register_database`), the same files live as schemas of the shared
PostgreSQL database instead (:mod:`.state_pg`): :func:`open_state_db` then gives a
``sqlite3.Connection`` look-alike that runs the store's SQLite statements there, so every store
works unchanged on either backend and several nodes share their state."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .store.errors import DataDirectoryFullError, is_disk_full

#: One statement of :func:`write_statements`: SQL and its parameters (positional or named).
Statement = tuple[str, "Sequence[Any] | Mapping[str, Any]"]


#: Data directories whose state files live in PostgreSQL: resolved folder -> (URL, namespace).
_databases: dict[Path, tuple[str, str]] = {}
_databases_lock = threading.Lock()


def register_database(data_dir: Path, url: str, namespace: str = "state") -> None:
    """From now on, state files of ``data_dir`` (``<data_dir>/<name>.db``) open as schemas of the
    PostgreSQL database ``url`` (``<namespace>_<name>``): what ``opentrail serve --database-url``
    does at start (tests give each test a namespace of its own). Raises
    ``psycopg.OperationalError`` (``psycopg_pool.PoolTimeout``) when the database does not answer."""
    from .state_pg import pool_for

    pool_for(url)
    with _databases_lock:
        _databases[Path(data_dir).resolve()] = (url, namespace)


def unregister_database(data_dir: Path) -> None:
    """Undo :func:`register_database` (server shutdown, tests)."""
    with _databases_lock:
        _databases.pop(Path(data_dir).resolve(), None)


def database_url_for(path: Path) -> tuple[str, str, str] | None:
    """Where the state file ``path`` lives in PostgreSQL: (database URL, its name relative to the
    registered data directory, e.g. ``trails.db`` or ``lake-results/queries.db``, namespace); None
    when it is a SQLite file."""
    if not _databases:
        return None
    path = Path(path).parent.resolve() / Path(path).name
    with _databases_lock:
        for folder in path.parents:
            found = _databases.get(folder)
            if found is not None:
                return found[0], path.relative_to(folder).as_posix(), found[1]
    return None


def open_state_db(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """A connection to the state database ``path`` (its folder created if missing), usable from any
    thread (callers serialize access with their own lock), in autocommit mode (callers open their
    transactions), WAL journal and ``synchronous`` FULL by default: a committed change is on disk.
    When ``path``'s folder was registered (:func:`register_database`), a
    :class:`~opentrail.state_pg.PgStateConnection` for it instead (typed as the sqlite3 connection
    it stands in for)."""
    where = database_url_for(path)
    if where is not None:
        from .state_pg import PgStateConnection

        return PgStateConnection(*where)  # type: ignore[return-value]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (the write lock taken at once) before the block, ``COMMIT`` after it;
    ``ROLLBACK`` and the exception raised again when the block raises (SQLite may have rolled back
    already, as it does on SQLITE_FULL: the block's error is raised, not ROLLBACK's "no transaction
    is active"). A block may give up without an error by running ``ROLLBACK`` itself: nothing is
    committed then. The caller holds its lock on ``conn`` (an autocommit connection from
    :func:`open_state_db`)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        if conn.in_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Guard:
    """A check made inside a write transaction before its statements (:func:`write_statements`),
    so that a check and the write it allows are one transaction under the store's write lock
    (``BEGIN IMMEDIATE``; on PostgreSQL the store's advisory lock, across nodes): ``sql`` (with
    ``args``) returns one row whose first column is true when the write must not happen, and then
    ``error()`` is raised and nothing is written (e.g. a limit reached: ``SELECT count(*) >= 10
    FROM ...``; a name taken: ``SELECT EXISTS (SELECT 1 FROM ... WHERE name = ?)``)."""

    sql: str
    args: "Sequence[Any] | Mapping[str, Any]"
    error: Callable[[], Exception]

    def check(self, conn: sqlite3.Connection) -> None:
        """Raise ``error()`` when the guard's query says so (call inside the transaction)."""
        row = conn.execute(self.sql, self.args).fetchone()
        if row is not None and row[0]:
            raise self.error()


def write_statements(conn: sqlite3.Connection, statements: Iterable[Statement], *,
                     full_dir: Path | None = None, guards: Iterable[Guard] = (),
                     on_conflict: Callable[[], Exception] | None = None) -> list[int | None]:
    """Run ``statements`` in order in one :func:`immediate_transaction` (all or nothing); returns
    each one's ``lastrowid``. Each of ``guards`` is checked first, in the same transaction, and
    raises its error (nothing written) when it fails. With ``on_conflict``, a constraint violation
    (``sqlite3.IntegrityError``, a UNIQUE name taken meanwhile by another node) raises
    ``on_conflict()`` (``from`` it) instead: the AWS "already exists" error, not a 500. With
    ``full_dir``, a write that fails because the disk or quota is full raises
    :class:`~opentrail.store.errors.DataDirectoryFullError` naming that directory (``from`` the
    SQLite error); without, the SQLite error is raised as it is."""
    try:
        with immediate_transaction(conn):
            for guard in guards:
                guard.check(conn)
            return [conn.execute(sql, args).lastrowid for sql, args in statements]
    except sqlite3.IntegrityError as exc:
        if on_conflict is not None:
            raise on_conflict() from exc
        raise
    except Exception as exc:
        if full_dir is not None and is_disk_full(exc):
            raise DataDirectoryFullError(full_dir) from exc
        raise


class ThreadReaders:
    """Read-only connections (``PRAGMA query_only``) to the state database ``path``, one per thread,
    opened on first use: a long read never holds up the writer, and sees the last commit before it
    began (WAL). ``read_only=False``: connections that may write too (one per thread, so a write
    waiting for the lock holds up no other thread). :meth:`close` closes every one of them."""

    def __init__(self, path: Path, *, read_only: bool = True) -> None:
        self._path = Path(path)
        self._read_only = read_only
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """The calling thread's reader."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_state_db(self._path)
            if self._read_only:
                conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
