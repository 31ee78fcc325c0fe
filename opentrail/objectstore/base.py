"""The object storage interface that trail delivery, digests and validation use.

Buckets are created by the user (not by opentrail), as on AWS. Keys are S3 keys (``/`` separated).
Errors: :class:`NoSuchBucket` (the bucket is missing -- a permanent condition until the user
creates it), :class:`NoSuchKey`, :class:`InvalidObjectKey` (a key this backend cannot store),
:class:`StorageUnavailable` (transient: connection refused, timeouts, 5xx -- retry later; its
``code`` names the failure) and
:class:`StorageError`, their base, for anything else the backend rejected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path


class StorageError(Exception):
    """The backend rejected the request."""


class StorageUnavailable(StorageError):
    """The backend could not be reached or answered with a server error; retrying may succeed.
    ``code`` is what delivery reports as LatestDeliveryError: the S3 error code when the backend
    answered one (``SlowDown``, ``InternalError``...), ``RequestTimeout`` when it did not answer in
    time, ``ServiceUnavailable`` when it could not be reached (the default)."""

    def __init__(self, message: str, code: str = "ServiceUnavailable") -> None:
        super().__init__(message)
        self.code = code


class NoSuchBucket(StorageError):
    """The bucket does not exist."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} does not exist")
        self.bucket = bucket


class NoSuchKey(StorageError):
    """The object does not exist."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"object {key!r} does not exist in bucket {bucket!r}")
        self.bucket = bucket
        self.key = key


class InvalidObjectKey(StorageError):
    """A key the backend cannot store (for folders: empty, absolute, ``.``/``..`` or empty segments)."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's bytes and its user metadata (S3 ``x-amz-meta-*`` without the prefix, lower-case
    names as S3 returns them)."""

    body: bytes
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStorage(ABC):
    """Buckets of objects with user metadata. Implementations are thread-safe."""

    @abstractmethod
    def bucket_exists(self, bucket: str) -> bool:
        """True when ``bucket`` exists. Raises :class:`StorageUnavailable` when that cannot be
        determined now."""

    @abstractmethod
    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        """Store ``body`` under ``key`` with ``metadata`` atomically: a reader sees the whole
        previous object or the whole new one. Raises :class:`NoSuchBucket`,
        :class:`InvalidObjectKey`, :class:`StorageUnavailable`, :class:`StorageError`."""

    @abstractmethod
    def get_object(self, bucket: str, key: str) -> StoredObject:
        """The object at ``key``. Raises :class:`NoSuchBucket`, :class:`NoSuchKey`,
        :class:`StorageUnavailable`, :class:`StorageError`."""

    def read_object(self, bucket: str, key: str) -> bytes:
        """The bytes of the object at ``key`` without its metadata (what an import reads: the
        backends read less per object). Same errors as :meth:`get_object`. The default is
        ``get_object(bucket, key).body``."""
        return self.get_object(bucket, key).body

    def head_object(self, bucket: str, key: str) -> dict[str, str]:
        """The user metadata of the object at ``key`` (S3 HeadObject), without reading its body.
        Raises :class:`NoSuchBucket`, :class:`NoSuchKey`, :class:`StorageUnavailable`,
        :class:`StorageError`. The default reads the whole object."""
        return self.get_object(bucket, key).metadata

    @abstractmethod
    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in ``bucket`` that starts with ``prefix``, in ascending (UTF-8 byte) order as S3
        lists them. Raises :class:`NoSuchBucket`, :class:`StorageUnavailable`."""

    def list_object_sizes(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every key in ``bucket`` that starts with ``prefix`` and its size in bytes (S3 lists both at
        once). Raises :class:`NoSuchBucket`, :class:`StorageUnavailable`. The default reads each object."""
        return {key: len(self.get_object(bucket, key).body) for key in self.list_objects(bucket, prefix)}

    def object_size(self, bucket: str, key: str) -> int:
        """The size in bytes of the object at ``key`` (S3 HeadObject ``ContentLength``). Raises
        :class:`NoSuchBucket`, :class:`NoSuchKey`, :class:`StorageUnavailable`, :class:`StorageError`.
        The default reads the whole object."""
        return len(self.get_object(bucket, key).body)

    def put_file(self, bucket: str, key: str, path: Path, metadata: dict[str, str]) -> None:
        """Store the file at ``path`` under ``key`` as :meth:`put_object` does (large files need not
        fit in memory where the backend streams them). Same errors; ``OSError`` when ``path`` cannot be
        read."""
        self.put_object(bucket, key, Path(path).read_bytes(), metadata)

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        """Write the object at ``key`` into the file ``dest`` (created or truncated; not fsynced).
        Same errors as :meth:`get_object`; ``OSError`` when ``dest`` cannot be written."""
        Path(dest).write_bytes(self.get_object(bucket, key).body)

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """Delete the objects at ``keys`` (a key that does not exist is not an error, as on S3).
        Raises :class:`NoSuchBucket`, :class:`StorageUnavailable`, :class:`StorageError`."""
        raise StorageError(f"{type(self).__name__} cannot delete objects")

    def close(self) -> None:
        """Release connections (nothing by default)."""
