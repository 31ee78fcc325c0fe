"""Lake imports: trail log files already in a bucket copied into an event data store (StartImport,
GetImport, ListImports, ListImportFailures, StopImport; ``../shared/reference/lake.md`` §A.4, the
User Guide's "Copy trail events to an event data store").

**Source.** ``S3LocationUri`` ``s3://bucket[/prefix]`` is read through opentrail's object storage
(:mod:`opentrail.objectstore`: a local bucket folder under ``<data-dir>/buckets`` or the
S3-compatible endpoint). Only keys in the trail layout are read:
``[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<file>`` -- nothing
outside the ``CloudTrail`` folder (digests, Insights, other objects are skipped silently). A day
folder is a *prefix* (PrefixesFound / PrefixesCompleted). A file that is not gzip
(``UncompressedFile``), not CloudTrail records (``InvalidFileFormat``) or cannot be read
(``AccessDenied``, ``ReadError``) is a failure entry (ListImportFailures) and the import ends FAILED.

**Filters.** StartEventTime/EndEventTime are applied to the day folders' dates and the delivery
time in the file name (``..._YYYYMMDDTHHmmZ_...``) before a file is read, then to each event's
eventTime (inclusive bounds). As on AWS, the store's selectors are ignored and its retention is
not: events older than the retention period are not imported.

**De-duplication (a difference from AWS, which imports duplicates).** An event whose eventID is
already in the store on the same eventTime day (from ingestion, an earlier import, or earlier in
this import) is not written again. The eventIDs of a day are read from the store's files the first
time the import meets that day (the eventid column only) and kept for the last
:data:`DAY_CACHE` days met. EventsCompleted counts the events written.

**Exactly once per file, across crashes.** Files' events are batched; a flush writes the batch as
``import-<import id>-<n>.parquet`` files (one per eventTime day, :mod:`.layout`), durable and
renamed into place, and then commits, in one transaction of ``<data-dir>/lake-imports.db``, the
source files as completed with the next ``n``. On start, an import's files with ``n`` at or above
the committed one (written, not committed) are deleted, and the import resumes by itself
(INITIALIZING / IN_PROGRESS imports continue, skipping completed files).

**Speed.** A three-stage pipeline. (1) Files are fetched (``read_object``: the body only, one
signed GET or one ``open``), gunzipped (ISA-L) and parsed ahead on :data:`READ_AHEAD` threads (at
most that many files ahead, taken in listing order, so de-duplication keeps the first record of an
eventID in listing order; :data:`PARSERS` of them parse at a time, since parsing holds the GIL);
each record is kept as its compact JSON bytes only. (2) Every :data:`BUILD_EVENTS` records read are
turned into columns on a builder thread (:func:`.columns.rows_with_mask`: DuckDB, outside the GIL,
exact Python fallback per record) while the next records are parsed. (3) A full batch
(:data:`BATCH_EVENTS` or :data:`BATCH_SECONDS`) has its parts joined, is filtered once (retention,
time range, de-duplication), written and committed on a writer thread, while the next batch is
read and built (one flush at a time, at most two batches held). Smaller builds would start DuckDB
sooner but each call has a fixed cost (~35 ms of CPU: two query plans, regular expressions), measured in
``docs/benchmarks.md`` (CloudTrail Lake imports, fifth pass).

**Statuses** INITIALIZING (listing) -> IN_PROGRESS -> COMPLETED | FAILED (finished with failure
entries) | STOPPED (StopImport). A FAILED or STOPPED import is retried by StartImport with its
ImportId: the failed files are read again and the files not yet read are read; completed ones are
not. One import per account at a time (AccountHasOngoingImportException); imports run one after
another, in creation order.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
import zlib
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from isal import igzip, isal_zlib

from ..events.files import GZIP_MAGIC, iter_data_records, loads
from ..events.record import record_bytes
from ..objectstore.base import NoSuchBucket, ObjectStorage, StorageError
from ..state_db import immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from ..trails.names import ROLE_ARN
from . import layout
from .files import FolderFiles, LakeFileGone, LakeFiles, LakeFilesUnavailable
from .errors import (InactiveEventDataStoreException, InvalidEventDataStoreCategoryException, LakeError)
from .ingest import RETRY_FIRST_S, RETRY_MAX_S, _TMP, _day_of, _days
from .model import INGESTED_CATEGORIES
from .columns import rows_with_mask

log = logging.getLogger(__name__)

IMPORTS_DB = "lake-imports.db"
#: Events batched before a flush writes files and commits the files read.
BATCH_EVENTS = 20_000
#: Seconds a batch waits at most before a flush (statistics move at least this often).
BATCH_SECONDS = 2.0
#: Records turned into columns at a time (:func:`.columns.rows_with_mask` on the builder thread, as
#: soon as that many are read, while the next are parsed and the previous batch is written). As
#: large as a batch: each DuckDB build has a fixed CPU cost, 10,000 cost ~20% more build CPU.
BUILD_EVENTS = 20_000
#: Days whose eventIDs are kept in memory for de-duplication.
DAY_CACHE = 32
#: Files fetched (GetObject, gunzip, parse) ahead of the one being batched, on as many threads.
READ_AHEAD = 8
#: Files parsed at once on the read-ahead pool: parsing holds the GIL, so threads taking turns only
#: add switching (measured: 8 parsers at once cost ~5-10% more CPU than one).
PARSERS = 1
STATUSES = ("INITIALIZING", "IN_PROGRESS", "FAILED", "STOPPED", "COMPLETED")
ONGOING = ("INITIALIZING", "IN_PROGRESS")

_S3_URI = re.compile(r"^s3://([^/]+)(?:/(.*))?$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
#: A trail log file key: (org id, account, region, year, month, day, name).
_TRAIL_KEY = re.compile(r"(?:^|/)AWSLogs/(?:(o-[a-z0-9]{10,32})/)?(\d{12})/CloudTrail/([a-z0-9-]+)/"
                        r"(\d{4})/(\d{2})/(\d{2})/([^/]+)$")
_FILE_TIME = re.compile(r"_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_")


class ImportNotFoundException(LakeError):
    """No import with that ID in the caller's account."""

    default_message = "The specified import was not found."


class AccountHasOngoingImportException(LakeError):
    """StartImport while another import of the account is INITIALIZING or IN_PROGRESS."""

    default_message = "This exception is thrown when you start a new import and a previous import is still in progress."


class InvalidImportSourceException(LakeError):
    """The import source is not a bucket opentrail can read (bad URI, missing bucket, bad role ARN)."""

    default_message = "This exception is thrown when the provided source S3 bucket is not valid for import."


class ImportParameterError(LakeError):
    """A request value the import rules refuse (answered as InvalidParameterException)."""

    @property
    def code(self) -> str:
        return "InvalidParameterException"


IMPORT_ERRORS = (ImportNotFoundException, AccountHasOngoingImportException, InvalidImportSourceException)


@dataclass(frozen=True, slots=True)
class ImportInfo:
    """One import as GetImport shows it. Times are epoch seconds; ``start_time``/``end_time`` None
    when not given."""

    id: str
    account_id: str
    region: str
    destination: str
    eds_id: str
    s3_uri: str
    bucket_region: str
    role_arn: str
    start_time: float | None
    end_time: float | None
    status: str
    created: float
    updated: float
    prefixes_found: int
    prefixes_completed: int
    files_completed: int
    events_completed: int
    failed_entries: int


@dataclass(frozen=True, slots=True)
class ImportFailure:
    """One ListImportFailures item: the object's ``s3://`` location, FAILED, the error."""

    location: str
    status: str
    error_type: str
    error_message: str
    updated: float


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://bucket[/prefix]`` (prefix "" or ending in ``/``). Raises
    InvalidImportSourceException."""
    m = _S3_URI.match(uri)
    if m is None or not m[1]:
        raise InvalidImportSourceException(f"S3LocationUri {uri[:200]!r} is not an s3://bucket/prefix URI.")
    prefix = m[2] or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return m[1], prefix


def trail_key(key: str) -> tuple[str, str] | None:
    """``(prefix, day)`` of a trail log file key -- the day folder (with its trailing ``/``) and its
    date ``YYYY-MM-DD`` -- or None for a key outside the trail layout."""
    m = _TRAIL_KEY.search(key)
    if m is None:
        return None
    return key[: len(key) - len(m[7])], f"{m[4]}-{m[5]}-{m[6]}"


def _day_start(day: str) -> float:
    import calendar

    y, mo, d = (int(x) for x in day.split("-"))
    try:
        return float(calendar.timegm((y, mo, d, 0, 0, 0)))
    except (ValueError, OverflowError):
        return 0.0


def in_time_range(key: str, day: str, start: float | None, end: float | None) -> bool:
    """False when the day folder's date or the file name's delivery time rule out any event in
    [start, end]: the folder's day ends before ``start`` or begins after ``end``, or the file was
    delivered (its name's ``YYYYMMDDTHHmmZ``) before ``start``."""
    day_start = _day_start(day)
    if start is not None and day_start + 86400 <= start:
        return False
    if end is not None and day_start > end:
        return False
    if start is not None:
        m = _FILE_TIME.search(key.rsplit("/", 1)[-1])
        if m is not None:
            import calendar

            try:
                delivered = calendar.timegm((int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), 0))
            except (ValueError, OverflowError):
                return True
            if delivered + 60 < start:
                return False
    return True


class ImportState:
    """``<data-dir>/lake-imports.db``: ``imports`` (one row per import, statistics included) and
    ``files`` (one row per source object read: COMPLETED or FAILED). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.lake", "imports")
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self._conn.execute(sql, args).fetchall()

    def transaction(self, statements: list[tuple[str, tuple[Any, ...]]],
                    unless: tuple[str, tuple[Any, ...]] | None = None) -> bool:
        """Run ``statements`` in one write transaction (serialized with every other node's on
        PostgreSQL); with ``unless``, a query run first inside it: when it returns a row nothing is
        written and the answer is False."""
        with self.lock, immediate_transaction(self._conn):
            if unless is not None and self._conn.execute(*unless).fetchone() is not None:
                self._conn.execute("ROLLBACK")
                return False
            for sql, args in statements:
                self._conn.execute(sql, args)
            return True


_COLUMNS = ("id, account_id, region, destination, eds_id, s3_uri, bucket_region, role_arn, start_time, end_time,"
            " status, created, updated, prefixes_found, prefixes_completed, files_completed, events_completed,"
            " (SELECT count(*) FROM files f WHERE f.import_id = imports.id AND f.status = 'FAILED')")


class _Stopped(Exception):
    pass


def _dumps(record: dict[str, Any]) -> bytes:
    """The compact JSON of a decoded record, as the event log stores it: ``orjson.dumps``, or for a
    record holding an integer beyond 64 bits (which orjson refuses) the stdlib's, digits kept."""
    try:
        return orjson.dumps(record)
    except orjson.JSONEncodeError:
        return record_bytes(record)


class ImportManager:
    """The imports of every account, and the thread that runs them (module docstring).

    ``lake``: where the stores' files are (:class:`.files.LakeFiles`; a folder path means
    :class:`.files.FolderFiles` over it); ``stores``: the event data store service (``find``,
    ``all``); ``storage``: the object storage the buckets are read from; ``clock`` gives epoch
    seconds. :meth:`start` starts the thread (imports left INITIALIZING/IN_PROGRESS by a previous
    run resume); :meth:`close` stops it. While the lake storage cannot be reached
    (:class:`.files.LakeFilesUnavailable`) the running import waits (``retry_first_s`` doubling to
    ``retry_max_s``) and then resumes where its last commit left it."""

    def __init__(self, data_dir: Path, lake: Path | LakeFiles, stores: Any, storage: ObjectStorage,
                 clock: Callable[[], float], *, batch_events: int = BATCH_EVENTS,
                 batch_seconds: float = BATCH_SECONDS, poll_s: float = 0.5, retry_first_s: float = RETRY_FIRST_S,
                 retry_max_s: float = RETRY_MAX_S) -> None:
        self._files = lake if isinstance(lake, LakeFiles) else FolderFiles(Path(lake))
        self._root, self._stores, self._storage, self._clock = self._files.root, stores, storage, clock
        self._retry_first_s, self._retry_max_s = retry_first_s, retry_max_s
        self._batch_events, self._batch_seconds, self._poll_s = batch_events, batch_seconds, poll_s
        self._state = ImportState(Path(data_dir) / IMPORTS_DB)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the import thread."""
        self._thread = threading.Thread(target=self._run, name="opentrail-lake-import", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (the file being read is dropped and read again on the next start)."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._state.close()

    # --- operations --------------------------------------------------------------------------
    def start_import(self, account_id: str, region: str, destinations: list[str] | None, source: dict[str, Any] | None,
                     start_time: float | None, end_time: float | None, import_id: str | None) -> ImportInfo:
        """StartImport: a new import (``destinations`` and ``source`` required), or the retry of the
        FAILED/STOPPED import ``import_id``. Raises AccountHasOngoingImportException,
        ImportNotFoundException, InvalidImportSourceException, InvalidParameterException and the
        store lookup errors (EventDataStoreARNInvalid/NotFound, InactiveEventDataStore,
        InvalidEventDataStoreCategory)."""
        now = self._clock()
        with self._state.lock:
            if import_id is not None:
                info = self.get(account_id, import_id)
                if info.status in ONGOING:
                    raise AccountHasOngoingImportException()
                if info.status == "COMPLETED":
                    raise ImportParameterError("The import is COMPLETED; only a FAILED or STOPPED import can be retried.")
                self._check_store(account_id, region, info.destination)
                if not self._state.transaction([
                        ("DELETE FROM files WHERE import_id = ? AND status = 'FAILED'", (import_id,)),
                        ("UPDATE imports SET status = 'INITIALIZING', updated = ? WHERE id = ?", (now, import_id))],
                        unless=self._ongoing(account_id)):
                    raise AccountHasOngoingImportException()
                self._wake.set()
                return self.get(account_id, import_id)
            if not destinations:
                raise ImportParameterError("Destinations is required: the ARN of one event data store.")
            if source is None or not isinstance(source.get("S3"), dict):
                raise ImportParameterError("ImportSource is required.")
            s3 = source["S3"]
            uri, bucket_region, role = s3.get("S3LocationUri"), s3.get("S3BucketRegion"), s3.get("S3BucketAccessRoleArn")
            if not all(isinstance(v, str) for v in (uri, bucket_region, role)):
                raise ImportParameterError("S3LocationUri, S3BucketRegion and S3BucketAccessRoleArn are required.")
            if start_time is not None and end_time is not None and start_time > end_time:
                raise ImportParameterError("StartEventTime must be earlier than EndEventTime.")
            store = self._check_store(account_id, region, destinations[0])
            bucket, _prefix = parse_s3_uri(uri)
            if _REGION.match(bucket_region) is None:
                raise InvalidImportSourceException(f"S3BucketRegion {bucket_region[:64]!r} is not a Region name.")
            if ROLE_ARN.fullmatch(role) is None:
                raise InvalidImportSourceException(f"S3BucketAccessRoleArn {role[:200]!r} is not an IAM role ARN.")
            try:
                exists = self._storage.bucket_exists(bucket)
            except StorageError as exc:
                raise InvalidImportSourceException(f"The bucket {bucket} cannot be reached: {exc}") from None
            if not exists:
                raise InvalidImportSourceException(f"The bucket {bucket} does not exist.")
            new_id = str(uuid.uuid4())
            if not self._state.transaction([(
                    "INSERT INTO imports (id, account_id, region, destination, eds_id, s3_uri, bucket_region, role_arn,"
                    " start_time, end_time, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'INITIALIZING',"
                    " ?, ?)",
                    (new_id, account_id, region, store.arn, store.id, uri, bucket_region, role, start_time, end_time, now,
                     now))], unless=self._ongoing(account_id)):
                raise AccountHasOngoingImportException()
        self._wake.set()
        return self.get(account_id, new_id)

    def _check_store(self, account_id: str, region: str, ref: str) -> Any:
        store = self._stores.find(account_id, region, ref)
        if store.status == "PENDING_DELETION":
            raise InactiveEventDataStoreException()
        if store.category not in INGESTED_CATEGORIES:
            raise InvalidEventDataStoreCategoryException(
                "Events can be imported only into event data stores of CloudTrail events (Management, Data).")
        return store

    @staticmethod
    def _ongoing(account_id: str) -> tuple[str, tuple[Any, ...]]:
        """The query finding an ongoing import of the account (checked in the transaction that
        starts one, so two nodes cannot both start one)."""
        return ("SELECT 1 FROM imports WHERE account_id = ? AND status IN ('INITIALIZING', 'IN_PROGRESS')",
                (account_id,))

    @staticmethod
    def _info(row: tuple[Any, ...]) -> ImportInfo:
        return ImportInfo(*row[:10], *row[10:13], *(int(v) for v in row[13:18]))  # type: ignore[arg-type]

    def get(self, account_id: str, import_id: str) -> ImportInfo:
        """GetImport. Raises ImportNotFoundException (also for another account's import)."""
        rows = self._state.execute(f"SELECT {_COLUMNS} FROM imports WHERE id = ? AND account_id = ?",
                                   (import_id, account_id))
        if not rows:
            raise ImportNotFoundException()
        return self._info(rows[0])

    def list(self, account_id: str, region: str, destination: str | None = None,
             status: str | None = None) -> list[ImportInfo]:
        """ListImports: the account's imports of ``region`` in creation order, optionally only those
        into ``destination`` (an event data store ARN) or in ``status``."""
        sql = f"SELECT {_COLUMNS} FROM imports WHERE account_id = ? AND region = ?"
        args: list[Any] = [account_id, region]
        if destination is not None:
            sql += " AND destination = ?"
            args.append(destination)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return [self._info(r) for r in self._state.execute(sql + " ORDER BY created, id", tuple(args))]

    def failures(self, account_id: str, import_id: str) -> list[ImportFailure]:
        """ListImportFailures: the failed files of the import, by key. Raises ImportNotFoundException."""
        info = self.get(account_id, import_id)
        bucket, _ = parse_s3_uri(info.s3_uri)
        rows = self._state.execute("SELECT key, error_type, error_message, updated FROM files"
                                   " WHERE import_id = ? AND status = 'FAILED' ORDER BY key", (import_id,))
        return [ImportFailure(k if k.startswith("s3://") else f"s3://{bucket}/{k}", "FAILED", t, m, u)
                for k, t, m, u in rows]

    def stop_import(self, account_id: str, import_id: str) -> ImportInfo:
        """StopImport: an INITIALIZING/IN_PROGRESS import becomes STOPPED (the thread stops after the
        file it is reading; the files read are kept). Another status is answered unchanged. Raises
        ImportNotFoundException."""
        self.get(account_id, import_id)
        self._state.execute("UPDATE imports SET status = 'STOPPED', updated = ? WHERE id = ? AND status IN"
                            " ('INITIALIZING', 'IN_PROGRESS')", (self._clock(), import_id))
        return self.get(account_id, import_id)

    def wait_idle(self, timeout: float) -> bool:
        """True once no import is INITIALIZING or IN_PROGRESS (tests)."""
        import time

        deadline = time.monotonic() + timeout
        while self._state.execute("SELECT 1 FROM imports WHERE status IN ('INITIALIZING', 'IN_PROGRESS')"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # --- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        retry_s = self._retry_first_s
        while not self._closing.is_set():
            rows = self._state.execute("SELECT id, account_id FROM imports WHERE status IN ('INITIALIZING', 'IN_PROGRESS')"
                                       " ORDER BY created, id LIMIT 1")
            if not rows:
                self._wake.wait(self._poll_s)
                self._wake.clear()
                continue
            try:
                _Run(self, self.get(rows[0][1], rows[0][0])).run()
                retry_s = self._retry_first_s
            except _Stopped:
                pass
            except LakeFilesUnavailable as exc:  # the import resumes from its last commit once it answers
                log.warning("lake import %s waits %.0f s for the lake storage: %s", rows[0][0], retry_s, exc)
                self._closing.wait(retry_s)
                retry_s = min(self._retry_max_s, retry_s * 2)
            except Exception as exc:  # an import that cannot go on ends FAILED with the reason
                log.exception("lake import %s failed", rows[0][0])
                self._fail(rows[0][0], "", "InternalError", str(exc) or type(exc).__name__)

    def _fail(self, import_id: str, key: str, error_type: str, message: str) -> None:
        now = self._clock()
        self._state.transaction([
            ("INSERT OR REPLACE INTO files (import_id, key, status, error_type, error_message, updated)"
             " VALUES (?, ?, 'FAILED', ?, ?, ?)", (import_id, key, error_type, message[:1000], now)),
            ("UPDATE imports SET status = 'FAILED', updated = ? WHERE id = ? AND status IN ('INITIALIZING', 'IN_PROGRESS')",
             (now, import_id))])


class _Run:
    """One run of one import (until it ends, is stopped, or the manager closes)."""

    def __init__(self, manager: ImportManager, info: ImportInfo) -> None:
        self.m, self.info = manager, info
        self.state = manager._state
        self.store_dir = layout.store_dir(manager._root, info.eds_id)
        self.records: list[bytes] = []  # compact JSON of each record read since the last build
        # the batch's records turned into columns (or being turned): rows_with_mask's answer
        self.parts: list[Future[tuple[pa.Table, list[int] | None, pa.Array | None]]] = []
        self.held = 0  # records in self.parts
        self.builder: ThreadPoolExecutor | None = None
        self.keys: list[tuple[str, str | None, str | None]] = []  # (key, error type, message) read since the flush
        self.batch_started: float | None = None
        self.days: OrderedDict[int, tuple[set[str], set[str]]] = OrderedDict()
        self.next_file = int(self.state.execute("SELECT next_file FROM imports WHERE id = ?", (info.id,))[0][0])
        self.parsing = threading.BoundedSemaphore(PARSERS)

    def _status(self) -> str:
        return str(self.state.execute("SELECT status FROM imports WHERE id = ?", (self.info.id,))[0][0])

    def _check(self) -> None:
        if self.m._closing.is_set() or self._status() not in ONGOING:
            raise _Stopped()

    def cleanup(self) -> None:
        """Delete this import's files written after the last commit (a crash between the two).
        Raises LakeFilesUnavailable."""
        if self.store_dir.is_dir():
            for path in self.store_dir.rglob(f"{_TMP}import-{self.info.id}-*"):
                path.unlink(missing_ok=True)
        self.m._files.refresh()
        doomed = []
        for path in self.m._files.listed(self.info.eds_id):
            parsed = layout.parse_import_file_name(path.name)
            if parsed is not None and parsed[0] == self.info.id and parsed[1] >= self.next_file:
                log.info("lake import: removing %s, written after the import's last commit", path)
                doomed.append(path)
        self.m._files.delete(doomed)

    def run(self) -> None:
        info, now = self.info, self.m._clock()
        self.cleanup()
        bucket, prefix = parse_s3_uri(info.s3_uri)
        try:
            keys = self.m._storage.list_objects(bucket, prefix)
        except NoSuchBucket:
            self.m._fail(info.id, info.s3_uri, "NoSuchBucket", f"The bucket {bucket} does not exist.")
            return
        except StorageError as exc:
            self.m._fail(info.id, info.s3_uri, "AccessDenied", f"The bucket {bucket} cannot be listed: {exc}")
            return
        candidates: list[tuple[str, str]] = []
        for key in keys:
            found = trail_key(key)
            if found is not None and in_time_range(key, found[1], info.start_time, info.end_time):
                candidates.append((key, found[0]))
        done = {k for (k,) in self.state.execute("SELECT key FROM files WHERE import_id = ?", (info.id,))}
        self.remaining: dict[str, int] = {}
        for key, pfx in candidates:
            if key not in done:
                self.remaining[pfx] = self.remaining.get(pfx, 0) + 1
        self.prefix_of = dict(candidates)
        found_prefixes = len({p for _, p in candidates})
        self.completed_prefixes = found_prefixes - len(self.remaining)
        self.state.execute("UPDATE imports SET status = 'IN_PROGRESS', prefixes_found = ?, prefixes_completed = ?,"
                           " updated = ? WHERE id = ? AND status IN ('INITIALIZING', 'IN_PROGRESS')",
                           (found_prefixes, self.completed_prefixes, now, info.id))
        self._check()
        todo = [key for key, _pfx in candidates if key not in done]
        # Files are fetched and parsed ahead on a small pool (GetObject waits on the network), at
        # most READ_AHEAD at a time, and taken in listing order; a file counts as read only when
        # taken here, and is committed completed only by the flush that wrote its rows.
        pool = ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="opentrail-lake-import-read")
        # A batch is converted, written and committed (flush) on its own thread while the next one
        # is read; one flush at a time, in order, so at most two batches are held.
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opentrail-lake-import-write")
        # Every BUILD_EVENTS records read are turned into columns on the builder thread (DuckDB,
        # outside the GIL) while the next ones are parsed; the flush joins a batch's parts.
        builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opentrail-lake-import-build")
        self.builder = builder
        build_events = max(1, min(BUILD_EVENTS, self.m._batch_events))
        flushing: Future[None] | None = None
        pending: deque[tuple[str, Future[tuple[list[bytes], str | None, str | None]]]] = deque()
        try:
            it = iter(todo)
            for key in it:
                pending.append((key, pool.submit(self._load, bucket, key)))
                if len(pending) >= READ_AHEAD:
                    break
            while pending:
                key, future = pending.popleft()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(self._load, bucket, nxt)))
                if self.batch_started is None:
                    self.batch_started = self.m._clock()
                records, error_type, message = future.result()
                self.records.extend(records)
                self.keys.append((key, error_type, message))
                if len(self.records) >= build_events:
                    self._build()
                if self.held + len(self.records) >= self.m._batch_events or (
                        self.batch_started is not None and self.m._clock() - self.batch_started >= self.m._batch_seconds):
                    self._build()
                    if flushing is not None:
                        flushing.result()
                    self._check()
                    flushing = writer.submit(self.flush, self.parts, self.keys)
                    self.parts, self.keys, self.held, self.batch_started = [], [], 0, None
            if flushing is not None:
                flushing.result()
            self._build()
            self._check()
            self.flush(self.parts, self.keys)
            self.parts, self.keys, self.held, self.batch_started = [], [], 0, None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True)
            builder.shutdown(wait=True, cancel_futures=True)
        failed = self.state.execute("SELECT count(*) FROM files WHERE import_id = ? AND status = 'FAILED'", (info.id,))[0][0]
        self.state.execute("UPDATE imports SET status = ?, updated = ? WHERE id = ? AND status = 'IN_PROGRESS'",
                           ("FAILED" if failed else "COMPLETED", self.m._clock(), info.id))

    def _load(self, bucket: str, key: str) -> tuple[list[bytes], str | None, str | None]:
        """The records of the file ``key`` as compact JSON bytes (``orjson.dumps`` of each) with no
        error, or no records and the failure entry's ``(error type, message)``. Runs on the
        read-ahead pool (GetObject and gunzip release the GIL)."""
        try:
            body = self.m._storage.read_object(bucket, key)
        except StorageError as exc:
            return [], "AccessDenied", f"The object cannot be read: {exc}"
        if not body.startswith(GZIP_MAGIC):
            return [], "UncompressedFile", "The file is not gzip-compressed; CloudTrail log files are .json.gz."
        try:
            data = igzip.decompress(body)
        except (OSError, EOFError, zlib.error, isal_zlib.error) as exc:
            return [], "ReadError", f"The file cannot be decompressed: {exc}"
        if not data.lstrip().startswith(b"{"):
            return [], "InvalidFileFormat", "The file is not a CloudTrail log file ({\"Records\": [...]})."
        with self.parsing:
            return self._records(data)

    @staticmethod
    def _records(data: bytes) -> tuple[list[bytes], str | None, str | None]:
        """The records of a file's decompressed bytes ``data`` as :meth:`_load` gives them."""
        try:
            doc = loads(data)
        except ValueError:
            doc = None
        items = doc.get("Records") if isinstance(doc, dict) and "digestStartTime" not in doc else None
        # a record with a CloudTrailEvent key (a LookupEvents row) needs iter_data_records; one key
        # look per record (~0.4 us) costs a fifth of scanning the text for the key or a \u escape
        if isinstance(items, list) and not any(type(r) is dict and "CloudTrailEvent" in r for r in items):
            # a CloudTrail log file, as iter_data_records reads it (without its per-record items)
            try:
                return [orjson.dumps(r) for r in items if type(r) is dict], None, None
            except orjson.JSONEncodeError:  # an integer beyond 64 bits somewhere: record by record
                return [_dumps(r) for r in items if type(r) is dict], None, None
        records: list[bytes] = []
        for item in iter_data_records(data):
            if item.whole_file or (item.location == "object" and not records):
                return [], "InvalidFileFormat", f"The file is not a CloudTrail log file: {item.reason or 'no Records list'}."
            if isinstance(item.record, dict):
                records.append(_dumps(item.record))
        return records, None, None

    # --- writing -----------------------------------------------------------------------------
    def _build(self) -> None:
        """Hand the records read since the last build to the builder thread (columns)."""
        if self.records:
            assert self.builder is not None
            self.parts.append(self.builder.submit(rows_with_mask, self.records))
            self.held += len(self.records)
            self.records = []

    @staticmethod
    def _joined(parts: list[Future[tuple[pa.Table, list[int] | None, pa.Array | None]]]
                ) -> tuple[pa.Table, list[int] | None, pa.Array | None]:
        """One :func:`.columns.rows_with_mask` answer for the records of ``parts`` taken in order."""
        answers = [part.result() for part in parts]
        if len(answers) == 1:
            return answers[0]
        table = pa.concat_tables([t for t, _, _ in answers])
        order: list[int] | None = None
        valid: pa.Array | None = None
        if any(o is not None for _, o, _ in answers):
            order, start = [], 0
            for t, o, v in answers:
                n = len(t) if o is None else max(o) + 1  # o: every record's row, then the slow ones again
                order.extend(range(start, start + n) if o is None else (start + i for i in o))
                start += n
        if any(v is not None for _, _, v in answers):
            valid = pa.concat_arrays([pa.array([True] * len(t), pa.bool_()) if v is None else v for t, _, v in answers])
        return table, order, valid

    def _day_ids(self, day: int) -> set[str]:
        """The eventIDs already in the store on ``day`` (days since 1970), refreshed with the files
        written since the last look."""
        entry = self.days.get(day)
        if entry is None:
            entry = self.days[day] = (set(), set())
            while len(self.days) > DAY_CACHE:
                self.days.popitem(last=False)
        self.days.move_to_end(day)
        ids, seen = entry
        folder = layout.day_dir(self.m._root, self.info.eds_id, _day_of(day))
        files = self.m._files
        new = [p for p in files.listed(self.info.eds_id) if p.parent == folder and p.name not in seen]
        for path in new:
            try:
                with files.reading([path]):
                    column = pq.read_table(path, columns=["eventid"]).column("eventid")
            except (OSError, pa.ArrowException, LakeFileGone):
                continue  # removed meanwhile (compaction, retention)
            ids.update(v for v in column.to_pylist() if v is not None)
            seen.add(path.name)
        return ids

    def flush(self, parts: list[Future[tuple[pa.Table, list[int] | None, pa.Array | None]]],
              keys: list[tuple[str, str | None, str | None]]) -> None:
        """Write the rows of ``parts`` (the columns of the records read since the last flush, in
        order; de-duplicated, filtered) and commit the files ``keys`` (key, error type or None,
        message) as read, in one transaction after the rows are durable."""
        info, now = self.info, self.m._clock()
        files_written: list[str] = []
        written = 0
        if parts:
            store = self._live_store()
            table, order, valid = self._joined(parts)
            ms = pc.cast(table.column("eventtime"), pa.int64())
            keep = pc.is_valid(ms) if valid is None else pc.and_(valid, pc.is_valid(ms))
            cutoff_ms = int((now - store.retention_period_days * 86400) * 1000)
            keep = pc.and_(keep, pc.greater_equal(ms, cutoff_ms))
            if info.start_time is not None:
                keep = pc.and_(keep, pc.greater_equal(ms, int(info.start_time * 1000)))
            if info.end_time is not None:
                keep = pc.and_(keep, pc.less_equal(ms, int(info.end_time * 1000)))
            mask = pc.fill_null(keep, False).to_pylist()
            days = _days(table).to_pylist()
            ids = table.column("eventid").to_pylist()
            rows: Any = range(len(ids))
            if order is not None:  # de-duplicate in the records' order: the first of an eventID stays
                rows = sorted(rows, key=order.__getitem__)
            by_day: dict[int, set[str]] = {}
            for i in rows:
                eid = ids[i]
                if eid is None or not mask[i]:
                    continue
                day = days[i]
                known = by_day.get(day)
                if known is None:
                    known = by_day[day] = self._day_ids(day)
                if eid in known:
                    mask[i] = False
                else:
                    known.add(eid)
            table = table.filter(pa.array(mask, pa.bool_()))
            day_array = pa.array([d for d, k in zip(days, mask) if k], pa.int64())
            kept_days = sorted(set(day_array.to_pylist()))
            for day in kept_days:
                part = table if len(kept_days) == 1 else table.filter(pc.equal(day_array, day))
                name = layout.import_file_name(info.id, self.next_file + len(files_written))
                self.m._files.write(part, layout.day_dir(self.m._root, info.eds_id, _day_of(day)) / name)
                if day in self.days:
                    self.days[day][1].add(name)
                files_written.append(name)
                written += len(part)
        completed = sum(1 for _, t, _ in keys if t is None)
        for key, _t, _m in keys:
            pfx = self.prefix_of.get(key)
            if pfx is not None and pfx in self.remaining:
                self.remaining[pfx] -= 1
                if self.remaining[pfx] == 0:
                    del self.remaining[pfx]
                    self.completed_prefixes += 1
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("INSERT OR REPLACE INTO files (import_id, key, status, error_type, error_message, updated)"
             " VALUES (?, ?, ?, ?, ?, ?)", (info.id, k, "COMPLETED" if t is None else "FAILED", t, msg, now))
            for k, t, msg in keys]
        statements.append(("UPDATE imports SET files_completed = files_completed + ?, events_completed = events_completed + ?,"
                           " prefixes_completed = ?, next_file = ?, updated = ? WHERE id = ?",
                           (completed, written, self.completed_prefixes, self.next_file + len(files_written), now, info.id)))
        self.state.transaction(statements)
        self.next_file += len(files_written)

    def _live_store(self) -> Any:
        store = next((s for s in self.m._stores.all() if s.id == self.info.eds_id), None)
        if store is None or store.status == "PENDING_DELETION":
            self.m._fail(self.info.id, self.info.s3_uri, "EventDataStoreNotFound",
                         "The destination event data store was deleted during the import.")
            raise _Stopped()
        return store
