"""Streaming log file checks: SHA-256 of the uncompressed bytes, in constant memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.objectstore import NoSuchKey
from opentrail.validation.loghash import CHUNK_BYTES, PIECE_BYTES, LogOutcome, check_log_file, hash_gzip_stream


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


def test_highly_compressible_file_inflates_in_bounded_pieces() -> None:
    """A 0.3 MB member that inflates to 64 MiB is hashed a piece at a time: peak memory stays near
    a read and a piece (under 1 MiB), not the file's uncompressed size."""
    raw = bytes(64 << 20)
    body = gzip.compress(raw, 1)
    tracemalloc.start()
    try:
        result = hash_gzip_stream(io.BytesIO(body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.sha256_hex, result.uncompressed_bytes) == (hashlib.sha256(raw).hexdigest(), len(raw))
    assert peak < 1 << 20, peak  # read, unread rest, piece (grown by doubling), inflate state


def _expected(kind: str) -> LogOutcome:
    return {"ok": LogOutcome.VALID, "member": LogOutcome.TRAILING_DATA, "garbage": LogOutcome.TRAILING_DATA}.get(
        kind, LogOutcome.HASH_MISMATCH
    )


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(st.binary(max_size=3000), st.builds(lambda s, n: s * n, st.binary(min_size=1, max_size=40), st.integers(1, 9000))),
    level=st.sampled_from([1, 6, 9]),
    kind=st.sampled_from(["ok", "member", "garbage", "truncated", "no end"]),
    cut=st.floats(0, 1, exclude_max=True),
    chunk_bytes=st.sampled_from([1, 3, 64, 4096, CHUNK_BYTES]),
    piece_bytes=st.sampled_from([1, 7, 512, 65536, PIECE_BYTES]),
)
def test_any_read_and_piece_size_gives_the_whole_file_answer(
    raw: bytes, level: int, kind: str, cut: float, chunk_bytes: int, piece_bytes: int
) -> None:
    """Whatever the read and inflate sizes, a file is valid only when it is exactly one whole gzip
    member of the hashed bytes: an appended member or byte is trailing data, a cut member never
    passes (hash mismatch, invalid format or not gzip)."""
    member = gzip.compress(raw, level)
    body = {
        "ok": member,
        "member": member + gzip.compress(b'{"Records":[]}'),
        "garbage": member + b"\x00",
        "truncated": member[: int(len(member) * cut)],
        "no end": member[:-4],
    }[kind]

    def open_object(bucket: str, key: str) -> io.BytesIO:
        return io.BytesIO(body)

    log = {"s3Bucket": "b", "s3Object": "k", "hashValue": hashlib.sha256(raw).hexdigest()}
    if kind in ("ok", "member", "garbage"):
        result = hash_gzip_stream(io.BytesIO(body), chunk_bytes, piece_bytes)
        assert (result.sha256_hex, result.complete, result.trailing_data) == (log["hashValue"], True, kind != "ok")
        assert (result.compressed_bytes, result.uncompressed_bytes) == (len(body), len(raw))
        assert check_log_file(open_object, log).outcome is _expected(kind)
    else:
        try:
            result = hash_gzip_stream(io.BytesIO(body), chunk_bytes, piece_bytes)
        except Exception:
            return  # not gzip at all: "invalid format"
        assert not result.complete and not result.trailing_data
        assert check_log_file(open_object, log).outcome in (LogOutcome.HASH_MISMATCH, LogOutcome.INVALID_FORMAT)
