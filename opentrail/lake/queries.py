"""The asynchronous Lake query runner: StartQuery ... ListQueries without the wire.

:class:`QueryManager` translates and checks a statement at start (InvalidQueryStatementException
then, as Lake answers at StartQuery), resolves its event data store IDs in the caller's account
and Region through ``stores_service.find`` (InactiveEventDataStoreException for a store pending
deletion), and runs it on a worker thread on a locked-down DuckDB (:mod:`.engine`) over the
store's files (:meth:`.files.LakeFiles.data_files`, taken when the query starts running; for an
object-stored lake they are downloaded into the local cache first and kept there while the query
runs, and a query whose files cannot be read ends FAILED with the reason and "Run the query again
once it can be read.").

- Statuses QUEUED -> RUNNING -> FINISHED | FAILED | CANCELLED | TIMED_OUT (``../shared/reference/
  lake.md`` §A.2). ``max_concurrent`` queued+running queries per account (AWS: 10), then
  MaxConcurrentQueriesException. A query past ``timeout_s`` is interrupted and ends TIMED_OUT with
  the rows it had written; CancelQuery interrupts DuckDB (``connection.interrupt()``).
- Results are written while they stream, in pages of :data:`PAGE_ROWS` rows (JSON lines, each row
  the list of rendered strings) under ``<results_dir>/<query-id>/`` (or, on PostgreSQL, in the
  ``result_pages`` table); reading a page reads at
  most two files, so memory stays bounded whatever the result size. Kept 7 days (:data:`KEEP_S`).
- QueryStatistics: EventsScanned is the rows of the files read (Parquet footers), BytesScanned
  their size in bytes; EventsMatched the events that passed the query's filters where the files
  are read (DuckDB's profile: the rows out of each file scan and the filters right above it,
  summed over the scans; set when the query ends); ExecutionTimeInMillis the run's wall time (so
  far, while RUNNING).
- GetQueryResults returns rows once the query ended (AWS: "After your query finishes, you can view
  its results"): none while QUEUED or RUNNING, the rows written until then for TIMED_OUT and
  CANCELLED, none for FAILED.
- A query over one store whose WHERE bounds eventTime (:func:`.sql.event_time_bounds`) reads only
  the day folders within those bounds (:func:`.layout.files_between`).
- Metadata lives in ``<results_dir>/queries.db`` (a state database: SQLite, or a schema of the
  shared PostgreSQL database with ``--database-url``), so DescribeQuery and GetQueryResults work
  after a restart. A query QUEUED or RUNNING when the server stopped is FAILED at the next start
  (message :data:`RESTART_MESSAGE`); it is not re-run. StartQuery's row is synced to disk
  before the call returns; later changes (RUNNING, rows written, the end) are committed without
  waiting for the disk, like the result pages: they survive the process being killed, not a
  power loss.
- Several nodes (the state on PostgreSQL): a query runs on the node that started it (its
  ``owner``) and is described, listed, read and cancelled through any node. Its result pages are
  rows of the ``result_pages`` table of ``queries.db`` instead of files, so every node reads them.
  Each node writes a heartbeat every :data:`HEARTBEAT_S`; the QUEUED/RUNNING queries of a node
  silent for :data:`NODE_TIMEOUT_S` (or stopped) are FAILED with :data:`RESTART_MESSAGE` when
  another node next looks at them.
  CancelQuery through another node marks the query CANCELLED; its owner interrupts it within
  :data:`CANCEL_POLL_S`.
- Queries and results are kept 7 days after the query ended (AWS: "available for seven days after
  the query finishes"), then forgotten (QueryIdNotFoundException) and their files deleted.
- DeliveryS3Uri (with ``storage`` and ``keys`` given): checked at StartQuery
  (:func:`.delivery.parse_delivery_uri`, S3BucketDoesNotExistException when the bucket is missing),
  DeliveryStatus PENDING until a FINISHED query's results are written by :mod:`.delivery` (on its
  own thread, retried while the storage is unavailable, resumed after a restart); a query that
  ends CANCELLED has DeliveryStatus CANCELLED, one that ends FAILED or TIMED_OUT has FAILED (AWS
  does not deliver partial results).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import shutil
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import orjson
import psycopg
import pyarrow.parquet as pq

from . import engine, layout
from .files import FolderFiles, LakeFileGone, LakeFiles, LakeFilesUnavailable
from ..objectstore import StorageUnavailable
from ..trails.errors import S3BucketDoesNotExistException
from .model import QUERYABLE_STATUSES
from .delivery import DeliveryJob, DeliveryQueue, ResultDelivery, parse_delivery_uri
from .query_errors import (InactiveEventDataStoreException, InactiveQueryException, InvalidNextTokenException,
                           MaxConcurrentQueriesException, QueryIdNotFoundException)
from .results import render_typed
from .sql import translate
from ..state_db import Guard, database_url_for, open_state_db, write_statements
from ..state_migrate import apply_schema

log = logging.getLogger("opentrail.lake.queries")

#: Rows per result file (and the largest MaxQueryResults).
PAGE_ROWS = 1000
#: How long queries and their results are kept, seconds (AWS: 7 days).
KEEP_S = 7 * 86400
TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"})
ACTIVE = frozenset({"QUEUED", "RUNNING"})
RESTART_MESSAGE = "The query did not finish: opentrail stopped while it was running. Run it again."

#: With the state on PostgreSQL: seconds between a node's heartbeats, and after how long without
#: one its QUEUED/RUNNING queries are FAILED.
HEARTBEAT_S = 5.0
NODE_TIMEOUT_S = 30.0
#: Seconds between two looks for this node's queries cancelled through another node.
CANCEL_POLL_S = 1.0
_FAIL_ACTIVE = ("UPDATE queries SET status = 'FAILED', error = ?, completion_time = ?, delivery_status = "
                "CASE WHEN delivery_s3_uri IS NULL THEN NULL ELSE 'FAILED' END WHERE status IN ('QUEUED', 'RUNNING')")


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """One query. Times are epoch seconds; ``column_names`` are Lake's output names."""

    id: str
    account_id: str
    region: str
    statement: str
    store_ids: tuple[str, ...]
    status: str
    creation_time: float
    error: str | None = None
    delivery_s3_uri: str | None = None
    column_names: tuple[str, ...] = ()
    events_scanned: int = 0
    bytes_scanned: int = 0
    execution_ms: int = 0
    results_count: int = 0
    events_matched: int = 0
    started_time: float | None = None
    completion_time: float | None = None
    delivery_status: str | None = None
    #: the node (:attr:`QueryManager.node_id`) that runs it
    owner: str | None = None

    def expires_at(self) -> float:
        """When the query and its results are forgotten (7 days after it ended)."""
        return (self.completion_time or self.creation_time) + KEEP_S


@dataclass
class _Run:
    conn: duckdb.DuckDBPyConnection | None = None
    stop_reason: str | None = None  # CANCELLED or TIMED_OUT
    ended: threading.Event = field(default_factory=threading.Event)  # set once its status is terminal


#: Where queries spill what does not fit in their memory limit (under the results folder).
SPILL_DIR = ".spill"


class QueryManager:
    """Lake queries of every account (see the module documentation)."""

    def __init__(self, lake: Path | LakeFiles, stores_service: Any, results_dir: Path, clock: Callable[[], float], *,
                 max_concurrent: int = 10, timeout_s: float = 3600, workers: int = 2, storage: Any = None,
                 keys: Any = None, delivery_retry_s: float = 5.0, result_file_bytes: int | None = None,
                 memory_limit_mb: int | None = None) -> None:
        """``storage`` (:class:`opentrail.objectstore.ObjectStorage`) and ``keys``
        (:class:`opentrail.digests.keys.KeyStore`) enable DeliveryS3Uri; without them the URI is
        only recorded. ``delivery_retry_s``: first wait before retrying an unavailable storage.
        ``memory_limit_mb``: the most memory one query's DuckDB holds; the rest of its work spills
        to ``<results_dir>/.spill`` (None: DuckDB's default, 80% of the machine's memory).
        ``lake``: where the stores' files are (:class:`.files.LakeFiles`; a folder path means
        :class:`.files.FolderFiles` over it)."""
        self.files = lake if isinstance(lake, LakeFiles) else FolderFiles(Path(lake))
        self.lake_root = self.files.root
        self.stores = stores_service
        self.results_dir = Path(results_dir)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self._lock = threading.RLock()
        #: this manager's (node's) name in the ``owner`` column of the queries it runs
        self.node_id = uuid.uuid4().hex
        path = self.results_dir / "queries.db"
        #: the metadata (and result pages) are on PostgreSQL, shared with other nodes
        self.shared = database_url_for(path) is not None
        # A query's progress and end are committed without waiting for the disk (~3 ms a commit,
        # several per query): they survive a kill -9, as its result pages do, and after a power
        # loss a query not shown ended is FAILED at the next start. StartQuery's row is synced.
        self._db = open_state_db(path, synchronous="NORMAL")
        apply_schema(self._db, "opentrail.lake", "queries")  # nodes starting together add each column once
        self._db.row_factory = sqlite3.Row
        self.storage = storage
        self._delivery: DeliveryQueue | None = None
        if storage is not None and keys is not None:
            extra = {"file_bytes": result_file_bytes} if result_file_bytes else {}
            self._delivery = DeliveryQueue(ResultDelivery(storage, keys, clock, **extra), self._delivery_job,
                                           self._delivered, retry_s=delivery_retry_s)
        self._runs: dict[str, _Run] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lake-query")
        self._closing = threading.Event()
        self._heartbeat: threading.Thread | None = None
        if self.shared:  # other nodes' queries go on; those of nodes gone are FAILED
            self._beat()
            self._fail_orphans()
            self._heartbeat = threading.Thread(target=self._watch, name="lake-query-heartbeat", daemon=True)
            self._heartbeat.start()
        else:  # one node per data directory: whatever was QUEUED or RUNNING stopped with it
            with self._lock:
                self._db.execute(_FAIL_ACTIVE, (RESTART_MESSAGE, self.clock()))
        self.purge()
        if self._delivery is not None:
            with self._lock:
                pending = [r[0] for r in self._db.execute(
                    "SELECT id FROM queries WHERE status = 'FINISHED' AND delivery_status = 'PENDING'")]
            for query_id in pending:
                self._delivery.submit(query_id)
        engine.prepare_spares()

    # --- metadata ---------------------------------------------------------------------------

    def _row(self, query_id: str) -> QueryInfo | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM queries WHERE id = ?", (query_id,)).fetchone()
        return _info(row) if row else None

    def _update(self, query_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._lock:
            self._db.execute(f"UPDATE queries SET {sets} WHERE id = ?", (*values.values(), query_id))

    def _get(self, account_id: str, query_id: str) -> QueryInfo:
        info = self._row(query_id) if isinstance(query_id, str) else None
        if info is not None and self._orphaned(info):
            self._fail_orphans()
            info = self._row(query_id)
        if info is None or info.account_id != account_id or info.expires_at() <= self.clock():
            raise QueryIdNotFoundException()
        return info

    def purge(self) -> list[str]:
        """Forget queries that ended more than 7 days ago and delete their results; their IDs."""
        cutoff = self.clock() - KEEP_S
        with self._lock:
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM queries WHERE coalesce(completion_time, creation_time) <= ? "
                "AND status NOT IN ('QUEUED', 'RUNNING') ORDER BY id", (cutoff,))]
            if ids:
                write_statements(self._db, [stmt for i in ids for stmt in (
                    ("DELETE FROM queries WHERE id = ?", (i,)), ("DELETE FROM result_pages WHERE query_id = ?", (i,)))])
        for query_id in ids:
            shutil.rmtree(self.results_dir / query_id, ignore_errors=True)
        return ids

    # --- several nodes (state on PostgreSQL) --------------------------------------------------

    def _beat(self) -> None:
        """Say this node is alive (and forget nodes silent for 7 days)."""
        now = self.clock()
        with self._lock:
            write_statements(self._db, [
                ("INSERT OR REPLACE INTO query_nodes (node_id, seen) VALUES (?, ?)", (self.node_id, now)),
                ("DELETE FROM query_nodes WHERE seen < ?", (now - KEEP_S,))])

    def _orphaned(self, info: QueryInfo) -> bool:
        """True when ``info`` is QUEUED/RUNNING on another node that stopped (no heartbeat for
        :data:`NODE_TIMEOUT_S`)."""
        if not self.shared or info.status not in ACTIVE or info.owner == self.node_id:
            return False
        with self._lock:
            row = self._db.execute("SELECT seen FROM query_nodes WHERE node_id = ?", (info.owner,)).fetchone()
        return row is None or row[0] < self.clock() - NODE_TIMEOUT_S

    def _fail_orphans(self) -> None:
        """FAILED (:data:`RESTART_MESSAGE`) for the QUEUED/RUNNING queries of nodes that stopped."""
        now = self.clock()
        with self._lock:
            self._db.execute(_FAIL_ACTIVE + " AND (owner IS NULL OR (owner <> ? AND owner NOT IN "
                             "(SELECT node_id FROM query_nodes WHERE seen >= ?)))",
                             (RESTART_MESSAGE, now, self.node_id, now - NODE_TIMEOUT_S))

    def _watch(self) -> None:
        """The heartbeat thread: a heartbeat every :data:`HEARTBEAT_S`; every
        :data:`CANCEL_POLL_S`, this node's running queries that another node cancelled are
        interrupted."""
        next_beat = time.monotonic() + HEARTBEAT_S
        while not self._closing.wait(CANCEL_POLL_S):
            try:
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + HEARTBEAT_S
                self._stop_cancelled_elsewhere()
            except Exception:  # the database is away: try again at the next tick
                log.warning("Lake query heartbeat failed", exc_info=True)

    def _stop_cancelled_elsewhere(self) -> None:
        with self._lock:
            running = [query_id for query_id, run in self._runs.items() if run.stop_reason is None]
            if not running:
                return
            marks = ", ".join("?" for _ in running)
            ended = [r[0] for r in self._db.execute(
                f"SELECT id FROM queries WHERE id IN ({marks}) AND status NOT IN ('QUEUED', 'RUNNING')", running)]
            for query_id in ended:
                run = self._runs.get(query_id)
                if run is not None and run.stop_reason is None:
                    run.stop_reason = "CANCELLED"
                    if run.conn is not None:
                        run.conn.interrupt()

    # --- operations -------------------------------------------------------------------------

    def start(self, account_id: str, region: str, statement: str, delivery_s3_uri: str | None = None, *,
              store_account: str | None = None, check_store: Callable[[Any], None] | None = None) -> str:
        """Check ``statement`` and queue it; its query ID (a UUID). Raises
        InvalidQueryStatementException, the store service's not-found/ARN errors,
        InactiveEventDataStoreException, MaxConcurrentQueriesException; for ``delivery_s3_uri``
        InvalidS3BucketNameException, InvalidS3PrefixException and S3BucketDoesNotExistException
        (the bucket is missing; a storage that cannot be asked now is not an error).
        ``store_account``: the account whose stores the statement names (another account's, for a
        cross-account query; default ``account_id``), each store passed to ``check_store`` first
        (which raises when the caller may not query it)."""
        translation, names = self.check(account_id, region, statement, store_account=store_account,
                                        check_store=check_store)
        delivery_status = self._check_delivery(delivery_s3_uri)
        self.purge()
        if self.shared:
            self._fail_orphans()
        query_id = str(uuid.uuid4())
        limit = self.max_concurrent

        def too_many() -> Exception:
            return MaxConcurrentQueriesException(
                "You are already running the maximum number of concurrent queries. The maximum number of "
                f"concurrent queries is {limit}. Wait a minute for some queries to finish, and then "
                "run the query again.")

        with self._lock:
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged query is on disk
            try:  # counted in the write transaction: nodes starting queries at once stay within the limit
                write_statements(self._db, [(
                    "INSERT INTO queries (id, account_id, region, statement, store_ids, status, creation_time, "
                    "delivery_s3_uri, column_names, delivery_status, owner) VALUES (?, ?, ?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?)",
                    (query_id, account_id, region, statement, orjson.dumps(list(translation.store_ids)).decode(),
                     self.clock(), delivery_s3_uri, orjson.dumps(list(names)).decode(), delivery_status, self.node_id))],
                    guards=[Guard("SELECT count(*) >= ? FROM queries WHERE account_id = ? AND status IN ('QUEUED', 'RUNNING')",
                                  (limit, account_id), too_many)])
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._runs[query_id] = _Run()
        bounds = translation.event_time_bounds if len(translation.store_ids) == 1 else (None, None)
        self._pool.submit(self._run, query_id, translation.sql, bounds)
        return query_id

    def check(self, account_id: str, region: str, statement: str, *, store_account: str | None = None,
              check_store: Callable[[Any], None] | None = None) -> tuple[Any, tuple[str, ...]]:
        """What StartQuery checks of ``statement`` (its translation and Lake's column names), without
        running it (``store_account``, ``check_store``: as :meth:`start`). Raises
        InvalidQueryStatementException, the store service's not-found/ARN errors,
        InactiveEventDataStoreException."""
        translation = translate(statement)
        for eds_id in translation.store_ids:
            store = self.stores.find(store_account or account_id, region, eds_id)
            if check_store is not None:
                check_store(store)
            if store.status not in QUERYABLE_STATUSES:
                raise InactiveEventDataStoreException(f"Event data store {store.arn} is inactive: its status is {store.status}.")
        engine_names = engine.check(statement, translation.sql, translation.store_ids)
        return translation, translation.column_names or tuple(engine_names)

    def _check_delivery(self, uri: str | None) -> str | None:
        """The first DeliveryStatus of a query delivering to ``uri`` (None: no delivery)."""
        if uri is None:
            return None
        target = parse_delivery_uri(uri)
        if self._delivery is None:
            return None
        try:
            exists = self.storage.bucket_exists(target.bucket)
        except StorageUnavailable:
            exists = True  # cannot tell now: the delivery retries until it can
        if not exists:
            raise S3BucketDoesNotExistException.for_bucket(target.bucket)
        return "PENDING"

    def _wait_end(self, info: QueryInfo, wait_s: float) -> QueryInfo:
        """``info`` again after waiting up to ``wait_s`` for the query to end, when it is QUEUED or
        RUNNING (at once when it ends)."""
        if wait_s <= 0 or info.status not in ACTIVE:
            return info
        with self._lock:
            run = self._runs.get(info.id)
        if run is None:
            return info
        run.ended.wait(wait_s)
        return self._get(info.account_id, info.id)

    def describe(self, account_id: str, query_id: str, wait_s: float = 0.0) -> QueryInfo:
        """The query (QueryIdNotFoundException when it is not the account's or ended more than 7
        days ago). While RUNNING, ``execution_ms`` is the time it has run so far. ``wait_s``: when
        the query is QUEUED or RUNNING, answer once it ends if that is within ``wait_s`` seconds
        (a client polling sees the end at once instead of at its next poll)."""
        info = self._wait_end(self._get(account_id, query_id), wait_s)
        if info.status == "RUNNING" and info.started_time is not None:
            info = replace(info, execution_ms=max(0, int((self.clock() - info.started_time) * 1000)))
        return info

    def results(self, account_id: str, query_id: str, max_results: int | None = None,
                next_token: str | None = None, wait_s: float = 0.0) -> tuple[QueryInfo, list[list[str]], str | None]:
        """One page of rows (each the list of rendered values, in column order) and the token of
        the next page (None at the end). Rows are returned once the query ended (FINISHED,
        TIMED_OUT, CANCELLED: the rows written until then); none while QUEUED/RUNNING or FAILED.
        ``wait_s`` as for :meth:`describe`."""
        info = self._wait_end(self._get(account_id, query_id), wait_s)
        limit = min(PAGE_ROWS, max_results or PAGE_ROWS)
        offset = _decode_token(next_token, query_id) if next_token else 0
        if info.status in ACTIVE or info.status == "FAILED":
            return replace(info, results_count=0), [], None
        if offset > info.results_count:
            raise InvalidNextTokenException()
        rows = self._read_rows(query_id, offset, min(limit, info.results_count - offset))
        end = offset + len(rows)
        return info, rows, _encode_token(query_id, end) if end < info.results_count else None

    def cancel(self, account_id: str, query_id: str) -> QueryInfo:
        """Cancel a QUEUED or RUNNING query (InactiveQueryException when it already ended)."""
        info = self._get(account_id, query_id)
        with self._lock:
            info = self._get(account_id, query_id)
            if info.status in TERMINAL:
                raise InactiveQueryException()
            run = self._runs.get(query_id)
            if run is not None:
                run.stop_reason = "CANCELLED"
                if run.conn is not None:
                    run.conn.interrupt()
            if info.status == "QUEUED" or run is None:  # RUNNING without a run here: on another node,
                # which interrupts it when it sees the status (:meth:`_stop_cancelled_elsewhere`)
                self._update(query_id, status="CANCELLED", completion_time=self.clock(),
                             **({"delivery_status": "CANCELLED"} if info.delivery_status else {}))
                if run is not None:
                    run.ended.set()
        return replace(info, status="CANCELLED")

    def list(self, account_id: str, eds_id: str, *, start_time: float | None = None, end_time: float | None = None,
             status: str | None = None) -> list[QueryInfo]:
        """The account's queries (not yet expired) that read ``eds_id``, newest first, created
        within [start_time, end_time] (epoch seconds, each optional) and of ``status`` if given."""
        since = start_time if start_time is not None else 0
        now = self.clock()
        with self._lock:
            rows = self._db.execute("SELECT * FROM queries WHERE account_id = ? AND creation_time >= ? "
                                    "ORDER BY creation_time DESC, id", (account_id, since)).fetchall()
        out = [_info(r) for r in rows]
        if any(self._orphaned(q) for q in out):
            self._fail_orphans()
            return self.list(account_id, eds_id, start_time=start_time, end_time=end_time, status=status)
        return [q for q in out if eds_id in q.store_ids and (end_time is None or q.creation_time <= end_time)
                and (status is None or q.status == status) and q.expires_at() > now]

    def close(self) -> None:
        """Interrupt running queries and stop the workers (they end FAILED at the next start if
        they do not finish now)."""
        with self._lock:
            for run in self._runs.values():
                run.stop_reason = run.stop_reason or "CANCELLED"
                if run.conn is not None:
                    run.conn.interrupt()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._closing.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10)
        if self._delivery is not None:
            self._delivery.close()
        with self._lock:
            if self.shared:  # queued ones never ran: FAILED now, as a restart would make them
                try:
                    self._db.execute(_FAIL_ACTIVE + " AND owner = ?", (RESTART_MESSAGE, self.clock(), self.node_id))
                    self._db.execute("DELETE FROM query_nodes WHERE node_id = ?", (self.node_id,))
                except Exception:  # the database is away: other nodes fail them after NODE_TIMEOUT_S
                    log.warning("Lake queries: could not mark this node's queued queries FAILED", exc_info=True)
            self._db.close()

    # --- delivery ---------------------------------------------------------------------------

    def _delivery_job(self, query_id: str) -> DeliveryJob | None:
        info = self._row(query_id)
        if info is None or info.status != "FINISHED" or info.delivery_status != "PENDING" or not info.delivery_s3_uri:
            return None
        return DeliveryJob(info.id, info.account_id, info.region, info.delivery_s3_uri,
                           info.completion_time or info.creation_time, info.column_names,
                           lambda: self._iter_rows(query_id, info.results_count))

    def _delivered(self, query_id: str, status: str) -> None:
        with self._lock:
            try:
                self._update(query_id, delivery_status=status)
            except (sqlite3.ProgrammingError, psycopg.Error):  # closed meanwhile
                pass

    def _iter_rows(self, query_id: str, count: int) -> Iterator[list[str]]:
        for offset in range(0, count, PAGE_ROWS):
            yield from self._read_rows(query_id, offset, min(PAGE_ROWS, count - offset))

    # --- execution --------------------------------------------------------------------------

    def _run(self, query_id: str, duckdb_sql: str, bounds: tuple[Any, Any] = (None, None)) -> None:
        try:
            self._execute(query_id, duckdb_sql, bounds)
        except Exception as exc:  # never lose a query in a non-terminal state
            log.exception("Lake query %s failed", query_id)
            self._update(query_id, status="FAILED", error=f"Internal error: {type(exc).__name__}")
        finally:
            with self._lock:
                run = self._runs.pop(query_id, None)
            if run is not None:
                run.ended.set()
            engine.prepare_spares()

    def _execute(self, query_id: str, duckdb_sql: str, bounds: tuple[Any, Any] = (None, None)) -> None:
        info = self._row(query_id)
        run = self._runs.get(query_id)
        if info is None or run is None or info.status != "QUEUED" or run.stop_reason:
            return
        started = time.monotonic()
        try:
            held, views = self._local_files(info, bounds)
        except LakeFilesUnavailable as exc:  # a clear FAILED query, not an internal error
            self._update(query_id, status="FAILED", error=f"{exc} Run the query again once it can be read.",
                         completion_time=self.clock(),
                         **({"delivery_status": "FAILED"} if info.delivery_status else {}))
            return
        with held:
            self._execute_on(query_id, info, run, duckdb_sql, views, started, held)

    def _local_files(self, info: QueryInfo, bounds: tuple[Any, Any]) -> tuple[ExitStack, dict[str, list[Path]]]:
        """The files of each store the query reads (only the day folders within ``bounds``), on
        the local disk until the returned stack closes. A file deleted meanwhile (compaction,
        retention) makes it list again. Raises LakeFilesUnavailable."""
        for attempt in range(3):
            views = {eds_id: self.files.data_files(eds_id) for eds_id in info.store_ids}
            if bounds != (None, None):  # skip the day folders the WHERE clause rules out
                views = {eds_id: layout.files_between(self.lake_root, eds_id, paths, *bounds)
                         for eds_id, paths in views.items()}
            stack = ExitStack()
            try:
                stack.enter_context(self.files.reading([f for paths in views.values() for f in paths]))
            except LakeFileGone:
                stack.close()
                if attempt == 2:
                    raise
                continue
            return stack, views
        raise AssertionError("unreachable")

    def _execute_on(self, query_id: str, info: QueryInfo, run: _Run, duckdb_sql: str, views: dict[str, list[Path]],
                    started: float, held: ExitStack) -> None:
        """Run the query over ``views`` (on the local disk while ``held`` is open: it is closed as
        soon as DuckDB is done with the files, before the query's end is recorded)."""
        files = [f for paths in views.values() for f in paths]
        scanned = sum(_row_count(f) for f in files)
        size = sum(self.files.size(f) for f in files)
        conn = engine.connect(views, profile=True, memory_limit_mb=self.memory_limit_mb,
                              spill_dir=self.results_dir / SPILL_DIR if self.memory_limit_mb else None)
        with self._lock:
            if run.stop_reason:
                conn.close()
                held.close()
                self._update(query_id, status=run.stop_reason, completion_time=self.clock(),
                             **({"delivery_status": "CANCELLED"} if info.delivery_status else {}))
                return
            run.conn = conn
            self._update(query_id, status="RUNNING", events_scanned=scanned, bytes_scanned=size,
                         started_time=self.clock())
        timer = threading.Timer(self.timeout_s, self._time_out, (query_id,))
        timer.daemon = True
        timer.start()
        writer = self._page_writer(query_id)
        status, error = "FINISHED", None
        matched = 0
        try:
            reader = conn.sql(duckdb_sql).to_arrow_reader(PAGE_ROWS)
            for batch in reader:
                columns = [[render_typed(v, batch.schema.field(i).type) for v in batch.column(i).to_pylist()]
                           for i in range(batch.num_columns)]
                writer.write([[col[r] for col in columns] for r in range(batch.num_rows)])
                self._update(query_id, results_count=writer.count)
            reader.close()
            matched = _events_matched(conn)
        except (duckdb.InterruptException, duckdb.Error, RuntimeError) as exc:
            if run.stop_reason:
                status = run.stop_reason
            else:
                status, error = "FAILED", engine.explain_error(info.statement, exc).message.split(": ", 1)[-1]
        except BaseException:
            conn.close()
            raise
        finally:
            timer.cancel()
            writer.close()
            with self._lock:
                run.conn = None
            held.close()  # DuckDB is done with the files
        try:  # the end is recorded before the database closes (5-10 ms)
            if run.stop_reason and status == "FINISHED":
                status = run.stop_reason
            elapsed = int((time.monotonic() - started) * 1000)
            delivery = {}
            if info.delivery_status:
                delivery["delivery_status"] = {"FINISHED": "PENDING", "CANCELLED": "CANCELLED"}.get(status, "FAILED")
            if not self._finish(query_id, status=status, error=error, results_count=writer.count,
                                execution_ms=elapsed, events_matched=matched, completion_time=self.clock(), **delivery):
                status = "CANCELLED"  # through another node meanwhile: its status stays
            run.ended.set()
        finally:
            conn.close()
        if status == "FINISHED" and info.delivery_status and self._delivery is not None:
            self._delivery.submit(query_id)

    def _time_out(self, query_id: str) -> None:
        with self._lock:
            run = self._runs.get(query_id)
            if run is not None and run.stop_reason is None:
                run.stop_reason = "TIMED_OUT"
                if run.conn is not None:
                    run.conn.interrupt()

    def _finish(self, query_id: str, **values: Any) -> bool:
        """Record the end of a query still QUEUED/RUNNING; when another node cancelled it meanwhile,
        only its statistics (its status stays). True when the end was recorded."""
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._lock:
            done = self._db.execute(f"UPDATE queries SET {sets} WHERE id = ? AND status IN ('QUEUED', 'RUNNING')",
                                    (*values.values(), query_id)).rowcount
            if done == 0:
                self._update(query_id, **{k: values[k] for k in ("results_count", "execution_ms", "events_matched")})
        return bool(done)

    def _page_writer(self, query_id: str) -> "_PageWriter | _TablePageWriter":
        """Where a query's result pages go: files under the results folder, or with the state on
        PostgreSQL the ``result_pages`` table, which every node reads."""
        if self.shared:
            return _TablePageWriter(self._db, self._lock, query_id)
        out_dir = self.results_dir / query_id
        out_dir.mkdir(parents=True, exist_ok=True)
        return _PageWriter(out_dir)

    def _read_rows(self, query_id: str, offset: int, count: int) -> list[list[str]]:
        if count <= 0:
            return []
        if self.shared:
            with self._lock:
                pages = self._db.execute(
                    "SELECT rows FROM result_pages WHERE query_id = ? AND page >= ? AND page <= ? ORDER BY page",
                    (query_id, offset // PAGE_ROWS, (offset + count - 1) // PAGE_ROWS)).fetchall()
            lines = [line for (blob,) in pages for line in bytes(blob).splitlines()]
            skip = offset % PAGE_ROWS
            return [orjson.loads(line) for line in lines[skip:skip + count]]
        rows: list[list[str]] = []
        page = offset // PAGE_ROWS
        skip = offset % PAGE_ROWS
        while len(rows) < count:
            path = self.results_dir / query_id / f"page-{page:08d}.jsonl"
            if not path.exists():
                break
            with path.open("rb") as f:
                for i, line in enumerate(f):
                    if i < skip:
                        continue
                    rows.append(orjson.loads(line))
                    if len(rows) == count:
                        break
            page, skip = page + 1, 0
        return rows


class _PageWriter:
    """Rows into ``page-NNNNNNNN.jsonl`` files of :data:`PAGE_ROWS` rows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self._file: Any = None

    def write(self, rows: list[list[str]]) -> None:
        for row in rows:
            if self.count % PAGE_ROWS == 0:
                self.close()
                self._file = (self.folder / f"page-{self.count // PAGE_ROWS:08d}.jsonl").open("wb")
            self._file.write(orjson.dumps(row) + b"\n")
            self.count += 1
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _TablePageWriter:
    """Rows into the ``result_pages`` table of ``queries.db`` (on PostgreSQL): one row per page of
    :data:`PAGE_ROWS` rows (JSON lines), inserted when full and when the query ends."""

    def __init__(self, db: Any, lock: threading.RLock, query_id: str) -> None:
        self._db, self._lock, self._query_id = db, lock, query_id
        self.count = 0
        self._lines: list[bytes] = []

    def write(self, rows: list[list[str]]) -> None:
        for row in rows:
            self._lines.append(orjson.dumps(row) + b"\n")
            self.count += 1
            if len(self._lines) == PAGE_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self._lines:
            page = (self.count - 1) // PAGE_ROWS
            with self._lock:
                self._db.execute("INSERT OR REPLACE INTO result_pages (query_id, page, rows) VALUES (?, ?, ?)",
                                 (self._query_id, page, b"".join(self._lines)))
            self._lines = []

    def close(self) -> None:
        self._flush()


def _row_count(path: Path) -> int:
    """Rows of a store file (its Parquet footer; cached: files are immutable and never renamed to
    a name used before, the cache key has the size and modification time too)."""
    try:
        st = path.stat()
    except OSError:
        return 0
    return _footer_rows(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _footer_rows(path: str, size: int, mtime_ns: int) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, ValueError):
        return 0


def _events_matched(conn: duckdb.DuckDBPyConnection) -> int:
    """Rows out of each file scan (through the filters right above it), summed, from the profile
    of the statement that just ran on ``conn``; 0 when there is no profile."""
    try:
        tree = orjson.loads(conn.get_profiling_information())
    except (duckdb.Error, orjson.JSONDecodeError, TypeError, ValueError):
        return 0

    def walk(node: dict[str, Any]) -> int:
        children = node.get("children") or []
        if node.get("type") == "FILTER" and children and _filtered_scan(children[0]):
            return int(node.get("operator_cardinality", node.get("intermediate_rows", 0)) or 0)
        if _filtered_scan(node) and not children:
            return int(node.get("operator_cardinality", node.get("intermediate_rows", 0)) or 0)
        return sum(walk(c) for c in children)

    roots = tree.get("operator") or tree.get("children") or []
    return sum(walk(r) for r in (roots if isinstance(roots, list) else [roots]))


def _filtered_scan(node: dict[str, Any]) -> bool:
    if node.get("type") == "FILTER":
        children = node.get("children") or []
        return bool(children) and _filtered_scan(children[0])
    return node.get("type") in ("TABLE_SCAN", "READ_PARQUET") or "SCAN" in str(node.get("type", ""))


def _info(row: sqlite3.Row) -> QueryInfo:
    """The query of a ``queries`` row."""
    return QueryInfo(row["id"], row["account_id"], row["region"], row["statement"], tuple(orjson.loads(row["store_ids"])),
                     row["status"], row["creation_time"], row["error"], row["delivery_s3_uri"],
                     tuple(orjson.loads(row["column_names"] or "[]")), row["events_scanned"], row["bytes_scanned"],
                     row["execution_ms"], row["results_count"], row["events_matched"], row["started_time"],
                     row["completion_time"], row["delivery_status"], row["owner"])


def _encode_token(query_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([query_id, offset])).decode()


def _decode_token(token: str, query_id: str) -> int:
    try:
        qid, offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidNextTokenException() from None
    if qid != query_id or not isinstance(offset, int) or offset < 0:
        raise InvalidNextTokenException()
    return offset
