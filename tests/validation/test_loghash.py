"""Streaming log file checks: SHA-256 of the uncompressed bytes, in constant memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import os

from opentrail.objectstore import NoSuchKey
from opentrail.validation.loghash import CHUNK_BYTES, LogOutcome, check_log_file, hash_gzip_stream


class CountingStream(io.RawIOBase):
    """A stream that remembers the largest read asked of it."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.largest_read = max(self.largest_read, size if size >= 0 else 1 << 62)
        return self._inner.read(size)


def _opener(objects: dict[str, bytes]):  # type: ignore[no-untyped-def]
    def open_object(bucket: str, key: str) -> io.BytesIO:
        if key not in objects:
            raise NoSuchKey(bucket, key)
        return io.BytesIO(objects[key])

    return open_object


def test_large_file_is_hashed_in_bounded_reads() -> None:
    raw = os.urandom(1 << 20) * 24  # 24 MiB, compresses well
    stream = CountingStream(gzip.compress(raw, 1))
    result = hash_gzip_stream(stream)
    assert result.sha256_hex == hashlib.sha256(raw).hexdigest()
    assert (result.uncompressed_bytes, result.trailing_data) == (len(raw), False)
    assert stream.largest_read == CHUNK_BYTES


def test_outcomes() -> None:
    raw = b'{"Records":[{"eventName":"GetObject"}]}'
    good = hashlib.sha256(raw).hexdigest()
    objects = {
        "ok": gzip.compress(raw),
        "member": gzip.compress(raw) + gzip.compress(b'{"Records":[]}'),
        "garbage": gzip.compress(raw) + b"\x00",
        "truncated": gzip.compress(raw)[:-20],
        "no end": gzip.compress(raw)[:-6],
        "plain": raw,
        "other": gzip.compress(raw + b" "),
    }
    expected = {
        "ok": LogOutcome.VALID,
        "member": LogOutcome.TRAILING_DATA,
        "garbage": LogOutcome.TRAILING_DATA,
        "truncated": LogOutcome.HASH_MISMATCH,
        "no end": LogOutcome.INVALID_FORMAT,
        "plain": LogOutcome.INVALID_FORMAT,
        "other": LogOutcome.HASH_MISMATCH,
        "gone": LogOutcome.NOT_FOUND,
    }
    got = {
        key: check_log_file(_opener(objects), {"s3Bucket": "b", "s3Object": key, "hashValue": good}).outcome
        for key in expected
    }
    assert got == expected
    assert LogOutcome.TRAILING_DATA.value == "INVALID: unexpected data after end of compressed stream"
