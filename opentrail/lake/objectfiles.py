"""The lake in an object store: ``--lake-storage-url s3://bucket/prefix`` on the S3-compatible
service at ``--s3-endpoint-url`` (AWS S3 when empty), with local copies in ``<data-dir>/lake-cache``.

**The object store is the source of truth.** Each store's files are the objects
``<prefix><event data store id>/<YYYY>/<MM>/<DD>/<name>``, the layout of :mod:`.layout` (other
engines read the prefix as they would read the folder). The list of published files (the
*catalog*) is the listing of the prefix, read at start (:meth:`ObjectFiles.sweep`) and kept in
memory; opentrail is the only writer, so each write and delete updates it.

**Publishing a file** (:meth:`ObjectFiles.write`): the Parquet file is written into the cache
under a ``.tmp-`` name, uploaded to its final key (one PUT with Content-MD5, or a multipart upload
from 64 MiB: either way the object appears whole or not at all), verified (HeadObject: the size
the service stored is the size written; a mismatch deletes the object and fails), renamed to its
final cache name, and only then added to the catalog. The keys are deterministic (the seq range,
or the import's file number), and the writers' crash rules apply to objects exactly as to files:
an object uploaded by a flush whose cursor never committed is deleted at the next start and its
events written again; a rewrite (compaction, retention) uploads its replacement, which supersedes
what it replaces (:func:`.layout.superseded`), before deleting the old objects.

**Reading** (:meth:`ObjectFiles.reading`): the files a query (or a rewrite) reads are downloaded
into the cache when missing (several at once), pinned while it reads them, and the least recently
used unpinned copies are deleted while the cache is over its size (:mod:`.cache`). A query whose
files cannot be downloaded fails with :class:`~.files.LakeFilesUnavailable`'s message.

Every storage error is :class:`~.files.LakeFilesUnavailable` here (the bucket missing, access
refused, the service unreachable): the callers retry (ingestion, imports) or report it (queries).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..objectstore.base import NoSuchBucket, NoSuchKey, ObjectStorage, StorageError, StorageUnavailable
from . import layout
from .cache import LakeCache
from .files import TMP_PREFIX, ZSTD_LEVEL, LakeFileGone, LakeFiles, LakeFilesUnavailable, write_parquet

log = logging.getLogger(__name__)

#: The local cache of an object-stored lake, under the data directory.
CACHE_DIR = "lake-cache"
#: The ingestion state of an object-stored lake, under the data directory (outside the cache).
INGEST_DB = "lake-ingest.db"
#: Files downloaded at once for one reader.
DOWNLOAD_THREADS = 8
#: The object metadata holding a file's row count (``x-amz-meta-rows``).
ROWS_METADATA = "rows"
#: With other writers (several nodes), the age in seconds past which a reader's request for a
#: store's files lists that store's prefix again (:meth:`ObjectFiles.data_files`).
LISTING_MAX_AGE_S = 1.0


class ObjectFiles(LakeFiles):
    """The lake under ``prefix`` (empty or ending in ``/``) of ``bucket`` in ``storage``, copies
    in ``cache_dir`` (at most ``cache_max_bytes`` of unpinned ones), the ingestion state at
    ``ingest_db`` (outside the cache: the cache can be deleted at any time while stopped).

    ``other_writers``: other nodes write and delete files under the prefix too (``--database-url``:
    each event data store is ingested, compacted and purged by the node holding its shard's lease,
    :mod:`opentrail.cluster`). The catalog is then exact only for this node's own writes, so
    :meth:`data_files` -- what queries, dashboards and rewrites read -- lists the store's prefix
    again when its listing is older than :data:`LISTING_MAX_AGE_S` (``clock``: seconds, monotonic),
    and a file found deleted while being downloaded makes the next call list it again."""

    def __init__(self, storage: ObjectStorage, bucket: str, prefix: str, cache_dir: Path, ingest_db: Path,
                 cache_max_bytes: int, *, other_writers: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage, self.bucket, self.prefix = storage, bucket, prefix
        self.root = Path(cache_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.ingest_db = Path(ingest_db)
        self.url = f"s3://{bucket}/{prefix}"
        self.cache = LakeCache(self.root, cache_max_bytes)
        self._lock = threading.RLock()
        #: eds id -> {"YYYY/MM/DD/name": size}; None until listed
        self._catalog: dict[str, dict[str, int]] | None = None
        self.other_writers, self._clock = other_writers, clock
        self._listed_at: dict[str, float] = {}  # eds id -> when its prefix was last listed (other writers)
        # the cache's ``.tmp-`` files were left by a stopped process: no write of this one is in flight
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                if name.startswith(TMP_PREFIX):
                    (Path(dirpath) / name).unlink(missing_ok=True)

    # --- names -------------------------------------------------------------------------------
    def key(self, path: Path) -> str:
        """The object key of the file ``path`` (below :attr:`root`)."""
        return self.prefix + Path(path).relative_to(self.root).as_posix()

    def _split(self, path: Path) -> tuple[str, str]:
        eds_id, rel = Path(path).relative_to(self.root).as_posix().split("/", 1)
        return eds_id, rel

    def _unavailable(self, exc: StorageError, doing: str) -> LakeFilesUnavailable:
        """The error for ``exc``: the service's error code only (the details are its ``__cause__``)."""
        if isinstance(exc, NoSuchBucket):
            why = f"the bucket {self.bucket} does not exist"
        elif isinstance(exc, StorageUnavailable):
            why = exc.code
        else:
            why = str(exc).split(":", 1)[0] or type(exc).__name__
        return LakeFilesUnavailable(f"The lake storage {self.url} cannot be {doing} now ({why}).")

    # --- the catalog -------------------------------------------------------------------------
    def _listing(self) -> dict[str, dict[str, int]]:
        """The catalog, listed from the storage the first time (caller holds the lock)."""
        if self._catalog is None:
            self.refresh()
        assert self._catalog is not None
        return self._catalog

    def refresh(self) -> None:
        """Read the catalog from the storage's listing of the prefix. Raises LakeFilesUnavailable."""
        with self._lock:
            try:
                sizes = self.storage.list_object_sizes(self.bucket, self.prefix)
            except StorageError as exc:
                raise self._unavailable(exc, "listed") from exc
            self._catalog = self._parse(sizes)
            self._listed_at = dict.fromkeys(self._catalog, self._clock())

    def _parse(self, sizes: dict[str, int]) -> dict[str, dict[str, int]]:
        catalog: dict[str, dict[str, int]] = {}
        for key, size in sizes.items():
            parts = key[len(self.prefix):].split("/")
            # <eds id>/<YYYY>/<MM>/<DD>/<name>.parquet, no part starting with "." or "_"
            if (len(parts) != 5 or not parts[4].endswith(".parquet")
                    or any(not p or p.startswith((".", "_")) for p in parts)):
                continue
            catalog.setdefault(parts[0], {})["/".join(parts[1:])] = size
        return catalog

    def refresh_store(self, eds_id: str) -> None:
        """Read the catalog of one store from the storage's listing of its prefix (under the lock,
        so a write of this node is either in the listing or added after it). Raises
        LakeFilesUnavailable."""
        with self._lock:
            catalog = self._listing()
            try:
                sizes = self.storage.list_object_sizes(self.bucket, self.prefix + eds_id + "/")
            except StorageError as exc:
                raise self._unavailable(exc, "listed") from exc
            files = self._parse(sizes).get(eds_id)
            if files:
                catalog[eds_id] = files
            else:
                catalog.pop(eds_id, None)
            self._listed_at[eds_id] = self._clock()

    def data_files(self, eds_id: str) -> list[Path]:
        if self.other_writers:
            with self._lock:
                listed_at = self._listed_at.get(eds_id, -math.inf)
                if self._clock() - listed_at >= LISTING_MAX_AGE_S:
                    self.refresh_store(eds_id)
        return super().data_files(eds_id)

    def store_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._listing())

    def listed(self, eds_id: str) -> list[Path]:
        with self._lock:
            files = self._listing().get(eds_id, {})
            base = layout.store_dir(self.root, eds_id)
            return sorted(base / rel for rel in files)

    def size(self, path: Path) -> int:
        eds_id, rel = self._split(path)
        with self._lock:
            size = self._listing().get(eds_id, {}).get(rel)
        return size if size is not None else Path(path).stat().st_size

    def num_rows(self, path: Path) -> int:
        """Rows of the published file ``path``: from its local copy, else its object's ``rows``
        metadata (HeadObject), else its downloaded footer."""
        if self._present(path):
            return pq.ParquetFile(path).metadata.num_rows
        try:
            rows = self.storage.head_object(self.bucket, self.key(path)).get(ROWS_METADATA)
        except NoSuchKey:
            return 0
        except StorageError as exc:
            raise self._unavailable(exc, "read") from exc
        if rows is not None and rows.isdigit():
            return int(rows)
        with self.reading([path]):
            return pq.ParquetFile(path).metadata.num_rows

    # --- writing -----------------------------------------------------------------------------
    def write(self, table: pa.Table, path: Path, level: int = ZSTD_LEVEL) -> None:
        path = Path(path)
        key = self.key(path)
        tmp = write_parquet(table, path, level, durable=False)  # the object store makes it durable
        try:
            size = tmp.stat().st_size
            try:
                self.storage.put_file(self.bucket, key, tmp, {ROWS_METADATA: str(table.num_rows)})
                stored = self.storage.object_size(self.bucket, key)
            except StorageError as exc:
                raise self._unavailable(exc, "written") from exc
            if stored != size:  # never leave a damaged object that could supersede good ones
                try:
                    self.storage.delete_objects(self.bucket, [key])
                except StorageError:
                    log.warning("lake storage: could not delete the damaged object %s (deleted at the next start)", key)
                raise LakeFilesUnavailable(f"The lake storage {self.url} stored {stored} bytes for {key}, "
                                           f"{size} were uploaded.")
            eds_id, rel = self._split(path)
            with self._lock:  # the copy and the catalog entry appear together (see sweep)
                os.replace(tmp, path)
                self._listing().setdefault(eds_id, {})[rel] = size
        finally:
            tmp.unlink(missing_ok=True)
        self.cache.add(path, size)
        self.cache.evict()

    def delete(self, paths: Iterable[Path]) -> None:
        paths = list(paths)
        if not paths:
            return
        try:
            self.storage.delete_objects(self.bucket, [self.key(p) for p in paths])
        except StorageError as exc:
            raise self._unavailable(exc, "written") from exc
        with self._lock:
            catalog = self._listing()
            for path in paths:
                eds_id, rel = self._split(path)
                catalog.get(eds_id, {}).pop(rel, None)
                if not catalog.get(eds_id, True):
                    catalog.pop(eds_id, None)
        for path in paths:
            self.cache.discard(path)

    def remove_store(self, eds_id: str) -> None:
        folder = self.prefix + eds_id + "/"
        try:
            keys = self.storage.list_objects(self.bucket, folder)
            self.storage.delete_objects(self.bucket, keys)
        except StorageError as exc:
            raise self._unavailable(exc, "written") from exc
        with self._lock:
            self._listing().pop(eds_id, None)
        base = layout.store_dir(self.root, eds_id)
        for path in self.cache.paths():
            if path.is_relative_to(base):
                self.cache.discard(path)
        shutil.rmtree(base, ignore_errors=True)

    def sweep(self, owns: Callable[[str], bool] | None = None) -> int:
        """Re-list the prefix, and drop cached copies of the stores ``owns`` selects (all: None)
        that are no longer published (or differ in size from the object); the cache's ``.tmp-``
        files went when this object was made. Deletes no published file: returns 0."""
        with self._lock:
            self.refresh()
            catalog = self._listing()
            for dirpath, _dirs, names in os.walk(self.root):
                for name in names:
                    path = Path(dirpath) / name
                    if name.startswith(TMP_PREFIX):
                        continue
                    try:
                        eds_id, rel = self._split(path)
                    except ValueError:
                        self.cache.discard(path)
                        continue
                    if owns is not None and not owns(eds_id):
                        continue
                    size = catalog.get(eds_id, {}).get(rel)
                    if size is None or size != path.stat().st_size:
                        self.cache.discard(path)
        return 0

    def tidy(self, eds_id: str) -> None:
        root = layout.store_dir(self.root, eds_id)
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                folder.rmdir()
            except OSError:
                pass

    # --- reading -----------------------------------------------------------------------------
    def _present(self, path: Path) -> bool:
        eds_id, rel = self._split(path)
        with self._lock:
            want = (self._catalog or {}).get(eds_id, {}).get(rel)
        try:
            return want is not None and Path(path).stat().st_size == want
        except OSError:
            return False

    def _download(self, path: Path) -> None:
        key = self.key(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
        try:
            try:
                self.storage.get_file(self.bucket, key, tmp)
            except NoSuchKey as exc:
                with self._lock:  # another writer deleted it: list the store again next time
                    self._listed_at.pop(self._split(path)[0], None)
                raise LakeFileGone(f"{key} was deleted while it was being read") from exc
            except StorageError as exc:
                raise self._unavailable(exc, "read") from exc
            size = tmp.stat().st_size
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.cache.add(path, size)

    @contextmanager
    def reading(self, paths: Iterable[Path]) -> Iterator[None]:
        paths = list(dict.fromkeys(Path(p) for p in paths))
        self.cache.pin(paths)  # first: a copy found below is not evicted before the block ends
        try:
            missing = [p for p in paths if not self._present(p)]
            for p in paths:
                if p not in missing:
                    self.cache.touch(p)
            if len(missing) == 1:
                self._download(missing[0])
            elif missing:
                with ThreadPoolExecutor(max_workers=min(DOWNLOAD_THREADS, len(missing)),
                                        thread_name_prefix="opentrail-lake-download") as pool:
                    for future in [pool.submit(self._download, p) for p in missing]:
                        future.result()
            self.cache.evict()
            yield
        finally:
            self.cache.unpin(paths)
            self.cache.evict()

    def close(self) -> None:
        self.storage.close()
