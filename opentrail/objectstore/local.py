"""Buckets as folders: the embedded default destination.

Layout under ``root`` (``<data-dir>/buckets`` for the server)::

    <root>/<bucket>/<key>                  the object, byte for byte (key "/" = sub-folders)
    <root>/.metadata/<bucket>/<key>.json   its user metadata, {"name": "value", ...} (only when
                                           the object has metadata)
    <root>/.tmp/                           files being written (renamed into place when complete)

A bucket exists when ``<root>/<bucket>/`` is a directory: the user creates it (``mkdir``), as they
create an S3 bucket before pointing a trail at it. The bucket folder holds nothing but objects, so
tools that read it directly (DuckDB ``read_json('<root>/<bucket>/AWSLogs/**/*.json.gz')``, ``find``,
``aws s3 sync`` of a copy) see exactly what S3 would hold. S3 bucket names cannot start with ``.``,
so ``.metadata`` and ``.tmp`` never collide with a bucket.

Writes are atomic and durable: the bytes go to a file in ``.tmp/``, are fsynced, and the file is
renamed over the destination (metadata first, then the object, so an object that is visible always
has its metadata). Keys that cannot be mapped to a path below the bucket folder (empty, over S3's
1024 UTF-8 bytes, leading ``/``, empty, ``.`` or ``..`` segments, a segment over 255 bytes, NUL)
raise :class:`InvalidObjectKey`. A bucket name that is not a single folder name (empty,
leading ``.``, ``/``, backslash, NUL, over 255 bytes) is a bucket that does not exist.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import orjson

from ..fileio import fsync_dir, write_atomic
from .base import InvalidObjectKey, NoSuchBucket, NoSuchKey, ObjectStorage, StoredObject

METADATA_DIR = ".metadata"
TMP_DIR = ".tmp"
METADATA_SUFFIX = ".json"


#: S3's longest key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
#: Longest file name most filesystems take, in bytes.
MAX_NAME_BYTES = 255


def _check_key(key: str) -> None:
    parts = key.split("/")
    if (not key or "\x00" in key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES
            or any(p in ("", ".", "..") or len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts)):
        raise InvalidObjectKey(f"key {key[:MAX_KEY_BYTES]!r} cannot be stored in a folder bucket")


def _valid_bucket_name(bucket: str) -> bool:
    return (bool(bucket) and not bucket.startswith(".") and "/" not in bucket and "\x00" not in bucket
            and "\\" not in bucket and len(bucket.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES)


class LocalFolderStorage(ObjectStorage):
    """Buckets are folders under ``root`` (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def bucket_path(self, bucket: str) -> Path:
        """The folder of ``bucket`` (whether or not it exists)."""
        return self.root / bucket

    def create_bucket(self, bucket: str) -> Path:
        """Create the folder of ``bucket`` (what ``opentrail create-bucket`` does); returns it.
        Raises ValueError for a name S3 would not accept as a folder (empty, ``/``, leading ``.``)."""
        if not _valid_bucket_name(bucket):
            raise ValueError(f"invalid bucket name {bucket!r}")
        path = self.bucket_path(bucket)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def bucket_exists(self, bucket: str) -> bool:
        if not _valid_bucket_name(bucket):
            return False
        try:
            return self.bucket_path(bucket).is_dir()
        except (OSError, ValueError):  # a name the filesystem cannot take (too long, bad encoding)
            return False

    def _require_bucket(self, bucket: str) -> Path:
        if not self.bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        return self.bucket_path(bucket)

    def _write_atomic(self, dest: Path, data: bytes) -> None:
        tmp_dir = self.root / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, data, tmp_dir=tmp_dir)

    def _metadata_path(self, bucket: str, key: str) -> Path:
        return self.root / METADATA_DIR / bucket / (key + METADATA_SUFFIX)

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        base = self._require_bucket(bucket)
        _check_key(key)
        meta_path = self._metadata_path(bucket, key)
        if metadata:
            self._write_atomic(meta_path, orjson.dumps({k.lower(): v for k, v in metadata.items()}))
        elif meta_path.exists():
            meta_path.unlink()
        self._write_atomic(base / key, bytes(body))

    def get_object(self, bucket: str, key: str) -> StoredObject:
        base = self._require_bucket(bucket)
        _check_key(key)
        try:
            body = (base / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NoSuchKey(bucket, key) from None
        try:
            metadata = orjson.loads(self._metadata_path(bucket, key).read_bytes())
        except FileNotFoundError:
            metadata = {}
        return StoredObject(body, metadata)

    def read_object(self, bucket: str, key: str) -> bytes:
        """:meth:`get_object`'s body, read with one ``open`` (no metadata file, the bucket's folder
        looked at only when the object is missing): the same answers and errors. A subclass that
        overrides :meth:`get_object` is read through it."""
        if type(self).get_object is not LocalFolderStorage.get_object:
            return self.get_object(bucket, key).body
        if not _valid_bucket_name(bucket):
            raise NoSuchBucket(bucket)
        try:
            _check_key(key)
        except InvalidObjectKey:
            if not self.bucket_exists(bucket):
                raise NoSuchBucket(bucket) from None
            raise
        try:
            with open(os.path.join(self.root, bucket, key), "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            if not self.bucket_exists(bucket):
                raise NoSuchBucket(bucket) from None
            raise NoSuchKey(bucket, key) from None

    def head_object(self, bucket: str, key: str) -> dict[str, str]:
        base = self._require_bucket(bucket)
        _check_key(key)
        if not (base / key).is_file():
            raise NoSuchKey(bucket, key)
        try:
            metadata: dict[str, str] = orjson.loads(self._metadata_path(bucket, key).read_bytes())
        except FileNotFoundError:
            metadata = {}
        return metadata

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        base = self._require_bucket(bucket)
        keys: list[str] = []
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, base)
            for name in files:
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys, key=lambda k: k.encode("utf-8"))

    def list_object_sizes(self, bucket: str, prefix: str = "") -> dict[str, int]:
        base = self._require_bucket(bucket)
        out: dict[str, int] = {}
        for key in self.list_objects(bucket, prefix):
            try:
                out[key] = (base / key).stat().st_size
            except FileNotFoundError:  # deleted meanwhile
                continue
        return out

    def object_size(self, bucket: str, key: str) -> int:
        base = self._require_bucket(bucket)
        _check_key(key)
        try:
            path = base / key
            if not path.is_file():
                raise NoSuchKey(bucket, key)
            return path.stat().st_size
        except FileNotFoundError:
            raise NoSuchKey(bucket, key) from None

    def put_file(self, bucket: str, key: str, path: Path, metadata: dict[str, str]) -> None:
        base = self._require_bucket(bucket)
        _check_key(key)
        meta_path = self._metadata_path(bucket, key)
        if metadata:
            self._write_atomic(meta_path, orjson.dumps({k.lower(): v for k, v in metadata.items()}))
        elif meta_path.exists():
            meta_path.unlink()
        dest = base / key
        tmp_dir = self.root / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        fsync_dir(dest.parent)

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        base = self._require_bucket(bucket)
        _check_key(key)
        try:
            with open(base / key, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            if Path(exc.filename or "") == Path(dest):
                raise
            raise NoSuchKey(bucket, key) from None

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        base = self._require_bucket(bucket)
        for key in keys:
            _check_key(key)
            self._metadata_path(bucket, key).unlink(missing_ok=True)
            try:
                (base / key).unlink()
            except (FileNotFoundError, IsADirectoryError):
                continue
            # S3 has no folders: a folder left empty goes too
            folder = (base / key).parent
            while folder != base:
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent
