"""Where the event data stores' files live: the one interface Lake ingestion, imports, retention
and queries use, with two backends.

- :class:`FolderFiles`: a local folder is the lake root (``<data-dir>/lake`` or
  ``--lake-storage-url /path``); a file is published by its rename into place.
- :class:`opentrail.lake.objectfiles.ObjectFiles`: an object store prefix is the lake root
  (``--lake-storage-url s3://bucket/prefix``), the local folder ``<data-dir>/lake-cache`` holds
  copies; a file is published once uploaded and verified.

Both keep the layout of :mod:`.layout` below the root, and files are named by their local paths
below :attr:`LakeFiles.root` (the lake root, or the cache folder), so :mod:`.layout`'s rules
(superseded files, day folders) apply to both unchanged.

Errors: :class:`LakeFilesUnavailable` when the storage cannot be reached now (retry later);
``OSError`` for the local disk.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from . import layout

INGEST_DB = "ingest.db"
#: zstd level of the files ingestion writes (level 3: half the CPU time of level 6 for ~6% more
#: bytes, docs/benchmarks.md "CloudTrail Lake ingestion").
ZSTD_LEVEL = 3
TMP_PREFIX = ".tmp-"
DELETED_PREFIX = ".deleted-"

#: The ``.tmp-`` files this process is writing now (ingestion, imports, compaction and retention
#: write on different threads): a sweep leaves them alone and deletes only what an earlier process
#: or a finished failed write left.
_WRITING: set[Path] = set()
_WRITING_LOCK = threading.Lock()


class LakeFilesUnavailable(Exception):
    """The lake's storage cannot be reached now (the files cannot be listed, read or written); the
    message says where and why. Retrying later may succeed."""


class LakeFileGone(LakeFilesUnavailable):
    """A file was deleted (compaction, retention) between listing and reading it: list again."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet(table: pa.Table, final: Path, level: int = ZSTD_LEVEL, *, durable: bool = True) -> Path:
    """Write ``table`` as ``final`` (Parquet, zstd ``level``) under a ``.tmp-`` name in the same
    folder and return that name; with ``durable`` the file is fsynced."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(TMP_PREFIX + final.name)
    pq.write_table(table, tmp, compression="zstd", compression_level=level)
    if durable:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return tmp


def write_file(table: pa.Table, final: Path, level: int = ZSTD_LEVEL) -> None:
    """Write ``table`` as ``final`` (Parquet, zstd ``level``): under a ``.tmp-`` name, fsynced,
    renamed, folder fsynced. While it runs, :meth:`FolderFiles.sweep` leaves the ``.tmp-`` file
    alone."""
    mark = final.with_name(TMP_PREFIX + final.name).absolute()
    with _WRITING_LOCK:
        _WRITING.add(mark)
    try:
        tmp = write_parquet(table, final, level)
        os.replace(tmp, final)
    finally:
        with _WRITING_LOCK:
            _WRITING.discard(mark)
    fsync_dir(final.parent)


def committed_files(root: Path) -> list[Path]:
    """The Parquet files under the folder ``root`` whose path has no part starting with ``.`` or ``_``."""
    return [p for p in root.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)]


class LakeFiles(ABC):
    """The event data stores' files (module docstring). Paths are below :attr:`root`:
    ``<root>/<event data store id>/<YYYY>/<MM>/<DD>/<name>``."""

    #: The folder the files' paths are below (the lake root, or the local cache).
    root: Path
    #: The ingestion state database (:class:`opentrail.lake.ingest.IngestState`).
    ingest_db: Path
    #: The lake root as the user gave it (for messages).
    url: str

    @abstractmethod
    def store_ids(self) -> list[str]:
        """The names of the store folders that hold files (names starting with ``.``/``_`` left out)."""

    @abstractmethod
    def listed(self, eds_id: str) -> list[Path]:
        """Every published file of the store, superseded ones included, sorted. Raises
        :class:`LakeFilesUnavailable`."""

    def data_files(self, eds_id: str) -> list[Path]:
        """The store's files a reader reads: :meth:`listed` without superseded files
        (:func:`.layout.superseded`), sorted. Raises :class:`LakeFilesUnavailable`."""
        files = self.listed(eds_id)
        gone = layout.superseded(files)
        return sorted(p for p in files if p not in gone)

    @abstractmethod
    def size(self, path: Path) -> int:
        """The size in bytes of the published file ``path``."""

    def num_rows(self, path: Path) -> int:
        """Rows of the published file ``path`` (its Parquet footer)."""
        return pq.ParquetFile(path).metadata.num_rows

    @abstractmethod
    def write(self, table: pa.Table, path: Path, level: int = ZSTD_LEVEL) -> None:
        """Write ``table`` as the file ``path`` and publish it: once this returns, the file is
        durable and :meth:`listed`. Raises :class:`LakeFilesUnavailable`, ``OSError``."""

    @abstractmethod
    def delete(self, paths: Iterable[Path]) -> None:
        """Delete published files (missing ones are no error). Raises :class:`LakeFilesUnavailable`."""

    @abstractmethod
    def remove_store(self, eds_id: str) -> None:
        """Delete the store's folder and everything in it. Raises :class:`LakeFilesUnavailable`."""

    @abstractmethod
    def sweep(self, owns: Callable[[str], bool] | None = None) -> int:
        """Start of crash recovery: delete what unfinished writes left in the stores whose ID
        ``owns`` selects (all: None; ``.tmp-`` files, removals of store folders) and re-read the
        list of published files from the storage; returns the number of files deleted. Files that
        another thread of this process is writing now are not touched. Raises
        :class:`LakeFilesUnavailable`."""

    def refresh(self) -> None:
        """Re-read the list of published files from the storage (nothing for a folder, which is
        always read afresh). Raises :class:`LakeFilesUnavailable`."""

    def tidy(self, eds_id: str) -> None:
        """Remove the store's empty day/month/year folders (nothing by default)."""

    @contextmanager
    def reading(self, paths: Iterable[Path]) -> Iterator[None]:
        """Within the block the files ``paths`` are on the local disk at their paths (downloaded
        when they are not) and stay there. Raises :class:`LakeFilesUnavailable`."""
        yield

    def close(self) -> None:
        """Release the storage (nothing by default)."""


class FolderFiles(LakeFiles):
    """A local folder is the lake root: the files are written there (temporary name, fsync,
    rename, folder fsync) and ``ingest.db`` is beside the store folders."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.ingest_db = self.root / INGEST_DB
        self.url = str(self.root)

    def store_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(e.name for e in self.root.iterdir() if e.is_dir() and not e.name.startswith((".", "_")))

    def listed(self, eds_id: str) -> list[Path]:
        folder = layout.store_dir(self.root, eds_id)
        return sorted(committed_files(folder)) if folder.is_dir() else []

    def data_files(self, eds_id: str) -> list[Path]:
        return layout.data_files(self.root, eds_id)

    def size(self, path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:  # deleted meanwhile (compaction, retention)
            return 0

    def write(self, table: pa.Table, path: Path, level: int = ZSTD_LEVEL) -> None:
        write_file(table, path, level)

    def delete(self, paths: Iterable[Path]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)

    def remove_store(self, eds_id: str) -> None:
        folder = layout.store_dir(self.root, eds_id)
        if folder.is_dir():
            gone = self.root / (DELETED_PREFIX + eds_id)
            os.replace(folder, gone)
            fsync_dir(self.root)
            shutil.rmtree(gone, ignore_errors=True)

    def sweep(self, owns: Callable[[str], bool] | None = None) -> int:
        deleted = 0
        for entry in list(self.root.iterdir()) if self.root.is_dir() else []:
            if entry.is_dir() and entry.name.startswith(DELETED_PREFIX):
                if owns is None or owns(entry.name[len(DELETED_PREFIX):]):
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            if not entry.is_dir() or entry.name.startswith((".", "_")):
                continue
            if owns is not None and not owns(entry.name):
                continue
            for tmp in entry.rglob(TMP_PREFIX + "*"):
                with _WRITING_LOCK:  # held while deleting: a write of this name cannot start meanwhile
                    if tmp.absolute() in _WRITING:
                        continue  # another thread of this process is writing it (an import, compaction)
                    tmp.unlink(missing_ok=True)
                deleted += 1
        return deleted

    def tidy(self, eds_id: str) -> None:
        root = layout.store_dir(self.root, eds_id)
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                folder.rmdir()  # only empty day/month/year folders go
            except OSError:
                pass


#: ``s3://bucket[/prefix]``: S3's bucket naming rules (3-63 lower-case letters, digits, ``.``, ``-``).
_S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")


@dataclass(frozen=True, slots=True)
class LakeLocation:
    """Where ``--lake-storage-url`` puts the lake: a local ``folder``, or ``bucket`` and ``prefix``
    (empty, or ending in ``/``) of an object store."""

    folder: Path | None = None
    bucket: str = ""
    prefix: str = ""

    @property
    def url(self) -> str:
        return str(self.folder) if self.folder is not None else f"s3://{self.bucket}/{self.prefix}"


def parse_lake_url(url: str, data_dir: Path) -> LakeLocation:
    """The location of ``url``: empty -> ``<data_dir>/lake``; a path or ``file://`` URL -> that
    folder; ``s3://bucket[/prefix]`` -> that bucket and prefix (one trailing ``/`` added). Raises
    ValueError (the message names the problem) for another scheme, a bucket name S3 refuses or a
    prefix with empty, ``.`` or ``..`` segments."""
    if not url:
        return LakeLocation(folder=Path(data_dir) / layout.LAKE_DIR)
    if url.startswith("file://"):
        return LakeLocation(folder=Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        m = _S3_URL.match(url)
        if m is None or ".." in m[1] or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", m[1]):
            raise ValueError(f"{url}: the bucket name is not a valid S3 bucket name")
        prefix = (m[2] or "").removesuffix("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise ValueError(f"{url}: the prefix has an empty, '.' or '..' segment")
        return LakeLocation(bucket=m[1], prefix=prefix + "/" if prefix else "")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ValueError(f"{url}: {scheme}:// is not a lake storage; give a folder, file:// or s3://bucket/prefix")
    return LakeLocation(folder=Path(url))
