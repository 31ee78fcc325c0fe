"""DuckDB, locked down, over the files of the event data stores one query names.

:func:`connect` opens an in-memory DuckDB with extension auto-loading/installing off, file access
limited to the given Parquet files (``allowed_paths`` + ``enable_external_access=false``), one
view per store named by its ID over ``read_parquet([...], hive_partitioning=false)`` (an empty
table of :data:`opentrail.lake.schema.SCHEMA` when a store has no files yet), the macros of
:mod:`opentrail.lake.sql`, and then ``lock_configuration`` so no statement can change any of it.
Opening a database costs ~20 ms, so the query-independent part (the database, the empty table,
the macros) is prepared ahead on a background thread (:func:`prepare_spares`; each spare is used
by one query only). :func:`check` binds a translated query against empty stores and turns
DuckDB's binder/catalog errors into InvalidQueryStatementException with the position in the
statement as written.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from .query_errors import InvalidQueryStatementException
from .schema import SCHEMA
from .sql import MACROS, locate

_EMPTY = "__opentrail_empty_store"
_M = "MAP(VARCHAR, VARCHAR)"
#: The members of events from outside AWS (PutAuditEvents: category ActivityAuditLog) that the
#: non-AWS event schema adds ("Supported schema for non-AWS event fields"): ``eventdata`` and
#: ``metadata`` structs, read from ``eventjson`` (NULL for CloudTrail events). Maps hold each
#: member's string, or the compact JSON of any other value, as the other map columns do.
ACTIVITY_SPEC = {
    "eventData": {"version": "VARCHAR", "userIdentity": {"type": "VARCHAR", "principalId": "VARCHAR", "details": _M},
                  "userAgent": "VARCHAR", "eventSource": "VARCHAR", "eventName": "VARCHAR", "eventTime": "VARCHAR",
                  "UID": "VARCHAR", "requestParameters": _M, "responseElements": _M, "errorCode": "VARCHAR",
                  "errorMessage": "VARCHAR", "sourceIPAddress": "VARCHAR", "recipientAccountId": "VARCHAR",
                  "additionalEventData": _M},
    "metadata": {"ingestionTime": "VARCHAR", "channelARN": "VARCHAR"},
}


def view_select(source: str) -> str:
    """The SELECT of a store's view over ``source``: every column of the schema, then ``eventdata``
    and ``metadata`` (:data:`ACTIVITY_SPEC`; DuckDB computes them only for queries that use them)."""
    import json

    spec = json.dumps(ACTIVITY_SPEC).replace("'", "''")
    return (f"SELECT * EXCLUDE (__activity), __activity.eventData AS eventdata, __activity.metadata AS metadata "
            f"FROM (SELECT *, CASE WHEN eventcategory = 'ActivityAuditLog' THEN json_transform(eventjson, '{spec}') "
            f"END AS __activity FROM {source})")


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _prepared() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with extension loading off, the empty store table and the macros:
    the part of :func:`connect` that does not depend on the query (opening a database costs
    ~20 ms, so :func:`connect` takes one prepared ahead of time when it can)."""
    # no worker or async I/O threads yet: :func:`connect` starts the workers from the query's
    # thread (a thread inherits the OS priority of the one that starts it, see _lowest_priority)
    conn = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                              "autoinstall_known_extensions": False, "threads": 1,
                                              "async_threads": 0})
    try:
        conn.register(_EMPTY + "_arrow", pa.Table.from_pylist([], schema=SCHEMA))
        conn.execute(f'CREATE TABLE "{_EMPTY}" AS SELECT * FROM "{_EMPTY}_arrow"')
        conn.unregister(_EMPTY + "_arrow")
        for macro in MACROS:
            conn.execute(macro)
    except BaseException:
        conn.close()
        raise
    return conn


def _lowest_priority() -> None:
    """Make the calling thread the last the OS runs (Linux: a thread's own nice value), so
    preparing spares (~20 ms of CPU each) waits for idle CPU instead of slowing the query that
    runs meanwhile. Elsewhere nothing is changed."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:
        pass


class _Spares:
    """Up to :data:`SPARES` connections from :func:`_prepared` (never shared: each is taken once),
    prepared on a daemon thread of the lowest priority by :meth:`refill` -- called when a query has
    finished -- so the preparing does not compete with queries for the CPU."""

    SPARES = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: list[duckdb.DuckDBPyConnection] = []
        self._filling = False

    def take(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            conn = self._ready.pop() if self._ready else None
        return conn if conn is not None else _prepared()

    def refill(self) -> None:
        with self._lock:
            if self._filling or len(self._ready) >= self.SPARES:
                return
            self._filling = True
        threading.Thread(target=self._fill, name="lake-engine-spares", daemon=True).start()

    def _fill(self) -> None:
        _lowest_priority()
        try:
            while True:
                with self._lock:
                    if len(self._ready) >= self.SPARES:
                        return
                conn = _prepared()
                with self._lock:
                    self._ready.append(conn)
        except Exception:  # a spare is an optimisation: connect() prepares one itself
            return
        finally:
            with self._lock:
                self._filling = False


_spares = _Spares()


def prepare_spares() -> None:
    """Prepare connections for the next queries in the background (see :class:`_Spares`)."""
    _spares.refill()


def connect(views: dict[str, list[Path]], *, threads: int | None = None, profile: bool = False,
            memory_limit_mb: int | None = None, spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A locked-down connection with one view per store id in ``views`` (id -> its files); with
    ``profile``, DuckDB profiles each statement (``conn.get_profiling_information()``). With
    ``memory_limit_mb`` a query holds at most that much memory and spills the rest of its work
    (large joins, aggregations, sorts) to ``spill_dir`` (DuckDB's temp files, removed when the
    connection closes); without, DuckDB's default (80% of the machine's memory) applies."""
    conn = _spares.take()
    # one script (each execute() costs ~0.5 ms): DuckDB's worker threads start here, from the
    # query's thread; async I/O threads stay off (DuckDB does not use them for local files)
    script = [f"SET threads = {int(threads or os.cpu_count() or 1)}"]
    if memory_limit_mb:
        script.append(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    if spill_dir is not None:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
        script.append(f"SET temp_directory = {_quote_literal(str(Path(spill_dir).resolve()))}")
    resolved = {eds_id: [_quote_literal(str(Path(p).resolve())) for p in paths] for eds_id, paths in views.items()}
    files = [f for paths in resolved.values() for f in paths]
    if files:
        script.append(f"SET allowed_paths = [{', '.join(files)}]")
    script.append("SET enable_external_access = false")
    for eds_id, paths in resolved.items():
        source = f"read_parquet([{', '.join(paths)}], hive_partitioning = false)" if paths else f'"{_EMPTY}"'
        script.append(f'CREATE VIEW "{eds_id}" AS {view_select(source)}')
    if profile:
        script.append("SET enable_profiling = 'no_output'")
    script.append("SET lock_configuration = true")
    try:
        conn.execute(";\n".join(script))
    except BaseException:
        conn.close()
        raise
    return conn


_COLUMN = re.compile(r'Referenced column "?([^"\s]+)"? not found|column "([^"]+)" (?:not found|does not exist)'
                     r'|Could not find key "([^"]+)" in struct|does not have a column named "([^"]+)"')
_FUNCTION = re.compile(r'(?:Scalar|Aggregate|Table|Pragma) Function with name "?([^"\s!]+)"? does not exist')


def explain_error(statement: str, exc: Exception) -> InvalidQueryStatementException:
    """A DuckDB binder/catalog/parser error as InvalidQueryStatementException (Trino wording)."""
    text = str(exc)
    column = _COLUMN.search(text)
    if column:
        name = next(g for g in column.groups() if g)
        return InvalidQueryStatementException(f"{locate(statement, name, 'column')}: Column '{name}' cannot be resolved")
    function = _FUNCTION.search(text)
    if function:
        name = function.group(1)
        return InvalidQueryStatementException(f"{locate(statement, name, 'function')}: Function '{name}' not registered")
    first = text.split("\n", 1)[0]
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    return InvalidQueryStatementException(f"line 1:1: {first}")


class _Checker:
    """One connection binding statements against empty stores, kept between checks (a fresh one
    costs a prepared spare and ~10 ms of views and settings per StartQuery). Locked down as
    :func:`connect`'s (no file access, configuration locked); it only ever binds statements that
    :func:`opentrail.lake.sql.translate` made -- one SELECT, which binding does not run -- over
    views of the empty table named by store ID, created as IDs are met. Used under its lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._views: set[str] = set()

    def columns(self, duckdb_sql: str, store_ids: tuple[str, ...]) -> list[str]:
        with self.lock:
            if self._conn is None:
                self._conn = connect({}, threads=1)
                self._views = set()
            for eds_id in store_ids:
                if eds_id not in self._views:
                    self._conn.execute(f'CREATE VIEW "{eds_id}" AS {view_select(chr(34) + _EMPTY + chr(34))}')
                    self._views.add(eds_id)
            try:
                return list(self._conn.sql(duckdb_sql).columns)
            except duckdb.Error:
                self._conn.close()  # bound nothing it keeps, but start again from a known state
                self._conn = None
                raise


_checker = _Checker()


def check(statement: str, duckdb_sql: str, store_ids: tuple[str, ...]) -> list[str]:
    """Bind ``duckdb_sql`` against empty stores; the engine's output column names. Raises
    InvalidQueryStatementException for unknown columns, functions, type errors."""
    try:
        return _checker.columns(duckdb_sql, store_ids)
    except duckdb.Error as exc:
        raise explain_error(statement, exc) from None
