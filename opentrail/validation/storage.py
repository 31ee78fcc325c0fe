"""Reading a trail's bucket for validation: listing one folder at a time and streaming objects.

:class:`opentrail.objectstore.ObjectStorage` gives whole objects with their metadata (used here for
digest files) and whole-bucket listings. Validation must run in constant memory over buckets of
any size, so this adapter adds, per backend, what that interface does not have:

- :meth:`ValidationStorage.list_keys`: the keys under one prefix, ascending, as an iterator (a
  local bucket walks only the folder the prefix names; S3 pages ``ListObjectsV2``);
- :meth:`ValidationStorage.list_folders`: the immediate sub-folders of a prefix (``Delimiter="/"``
  on S3, ``scandir`` locally), to skip days without digest files;
- :meth:`ValidationStorage.open_object`: a binary stream of an object's bytes (log files are
  hashed as they are read, never held whole).

Errors are :mod:`opentrail.objectstore.base`'s: :class:`NoSuchBucket`, :class:`NoSuchKey`,
:class:`StorageUnavailable`, :class:`StorageError`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import botocore.exceptions

from ..objectstore import LocalFolderStorage, NoSuchBucket, NoSuchKey, ObjectStorage, S3Storage, StoredObject


class ValidationStorage(ABC):
    """Listing, streaming and metadata reads over one storage backend."""

    def __init__(self, objects: ObjectStorage) -> None:
        self.objects = objects

    def get_object(self, bucket: str, key: str) -> StoredObject:
        """The whole object and its user metadata (digest files: a few kB)."""
        return self.objects.get_object(bucket, key)

    @abstractmethod
    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix``, ascending (UTF-8 byte order)."""

    @abstractmethod
    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        """Names of the immediate sub-folders of ``prefix`` (which ends with ``/``), ascending."""

    @abstractmethod
    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """A stream of the object's bytes; the caller closes it. Raises :class:`NoSuchKey`."""

    def prefetch(self, bucket: str, key: str) -> None:
        """Hint that ``key`` will be read soon (a no-op unless the backend can read ahead). Never
        raises."""

    def close(self) -> None:
        self.objects.close()


class LocalValidationStorage(ValidationStorage):
    """Buckets as folders under ``root`` (:class:`LocalFolderStorage`'s layout)."""

    def __init__(self, root: Path) -> None:
        super().__init__(LocalFolderStorage(root))
        self.root = Path(root)
        self._seen_buckets: set[str] = set()

    def _bucket_dir(self, bucket: str) -> Path:
        local = self.objects
        assert isinstance(local, LocalFolderStorage)
        if not local.bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        return local.bucket_path(bucket)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        base = self._bucket_dir(bucket)
        folder, _, _ = prefix.rpartition("/")
        start = base / folder if folder else base
        if ".." in folder.split("/") or not start.is_dir():
            return iter(())
        keys: list[str] = []
        for dirpath, _dirs, files in os.walk(start):
            rel = os.path.relpath(dirpath, base).replace(os.sep, "/")
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        keys.sort(key=lambda k: k.encode("utf-8"))
        return iter(keys)

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        start = self._bucket_dir(bucket) / prefix
        try:
            names = [entry.name for entry in os.scandir(start) if entry.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(names)

    def prefetch(self, bucket: str, key: str) -> None:
        """Ask the kernel to read the file into the page cache now (``POSIX_FADV_WILLNEED``), so
        that a cold disk reads the next log files while the current ones are inflated."""
        if not hasattr(os, "posix_fadvise") or bucket not in self._seen_buckets:
            return
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            return
        local = self.objects
        assert isinstance(local, LocalFolderStorage)
        try:
            fd = os.open(os.path.join(local.bucket_path(bucket), key), os.O_RDONLY)
        except OSError:
            return
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        local = self.objects
        assert isinstance(local, LocalFolderStorage)
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            self._bucket_dir(bucket)
            raise NoSuchKey(bucket, key)
        if bucket not in self._seen_buckets:  # checked once (name and folder), then one open per file
            self._bucket_dir(bucket)
            self._seen_buckets.add(bucket)
        try:
            return open(os.path.join(local.bucket_path(bucket), key), "rb", buffering=0)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self._bucket_dir(bucket)
            raise NoSuchKey(bucket, key) from None


class S3ValidationStorage(ValidationStorage):
    """An S3-compatible service (path-style addressing at ``endpoint_url``)."""

    def __init__(self, endpoint_url: str | None, *, client: Any = None) -> None:
        storage = S3Storage(endpoint_url, client=client)
        super().__init__(storage)
        self._client = storage._client  # one connection pool for metadata reads, listings and streams

    def _map(self, exc: Exception, bucket: str, key: str | None = None) -> Exception:
        storage = self.objects
        assert isinstance(storage, S3Storage)
        return storage._error(exc, bucket, key)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._map(exc, bucket) from exc

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        names: list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(prefix):].rstrip("/"))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._map(exc, bucket) from exc
        return sorted(names)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._map(exc, bucket, key) from exc
        body: BinaryIO = answer["Body"]
        return body


def open_validation_storage(data_dir: Path, s3_endpoint_url: str) -> ValidationStorage:
    """S3 at ``s3_endpoint_url`` when set, else the folders under ``<data_dir>/buckets`` (the same
    choice as :func:`opentrail.objectstore.open_storage`, which the server delivers with)."""
    if s3_endpoint_url:
        return S3ValidationStorage(s3_endpoint_url)
    return LocalValidationStorage(Path(data_dir) / "buckets")
