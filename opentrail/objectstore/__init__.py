"""Object storage for delivery, digests and validation: a local folder or any S3-compatible service.

See :mod:`opentrail.objectstore.base` for the interface, :class:`LocalFolderStorage` for the
embedded default and :class:`S3Storage` for S3-compatible services.
"""

from __future__ import annotations

from ..endpoints import EndpointTimeouts
from .base import (
    InvalidObjectKey,
    NoSuchBucket,
    NoSuchKey,
    ObjectStorage,
    StorageError,
    StorageUnavailable,
    StoredObject,
)
from .local import LocalFolderStorage
from .s3 import S3Storage

__all__ = [
    "InvalidObjectKey",
    "LocalFolderStorage",
    "NoSuchBucket",
    "NoSuchKey",
    "ObjectStorage",
    "S3Storage",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "open_storage",
]


def open_storage(data_dir: "object", s3_endpoint_url: str, timeouts: EndpointTimeouts = EndpointTimeouts()) -> ObjectStorage:
    """The storage the settings ask for: :class:`S3Storage` at ``s3_endpoint_url`` (reached with
    ``timeouts``) when it is set, else :class:`LocalFolderStorage` over ``<data_dir>/buckets``."""
    from pathlib import Path

    if s3_endpoint_url:
        return S3Storage(s3_endpoint_url, timeouts=timeouts)
    return LocalFolderStorage(Path(str(data_dir)) / "buckets")
