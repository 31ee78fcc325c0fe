"""Checking one log file against its digest entry, streaming: SHA-256 of the *uncompressed* bytes.

Source: the AWS CLI's ``CloudTrailValidateLogs._download_log`` (awscli 1.46): the object is
inflated as one gzip member (``zlib.MAX_WBITS | 16``), its output hashed as it comes; bytes after
the end of that first member (a second gzip member appended, or anything else) make the file
invalid whatever the hash says, because every gzip reader (Athena, DuckDB, ``zcat``) would read
them as part of the log. A truncated member is hashed as far as it goes (the hash then differs);
a body that is not gzip at all is "invalid format", and so (opentrail's addition: the AWS CLI
says "valid") is a member whose data is whole but whose end (CRC and size) is cut off, which
gzip readers reject.

Memory is constant: the body is read :data:`CHUNK_BYTES` at a time and inflated at most
:data:`PIECE_BYTES` per call (``max_length``), so a file that inflates 1000-fold needs no more than
one that inflates 6-fold, and each piece is hashed while it is still in the CPU's cache (about 1.3
times faster than inflating a whole read at once, measured on bench/bench_validate.py's files).
ISA-L's inflate (``isal_zlib``, already used for delivery) is about 1.5 times faster than zlib's;
both release the GIL, as hashlib does for buffers over 2 KiB, so log files are checked on several
threads (:func:`opentrail.validation.command.run_findings`).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

from isal import isal_zlib

from ..objectstore import NoSuchKey

CHUNK_BYTES = 1 << 16  # bytes read at a time (small: each inflate call copies what it left unread)
PIECE_BYTES = 1 << 17  # most bytes inflated per call, hashed while still in the CPU cache


class LogOutcome(enum.Enum):
    """What checking a log file found (the AWS CLI's four outcomes and its trailing-data one)."""

    VALID = "valid"
    HASH_MISMATCH = "INVALID: hash value doesn't match"
    NOT_FOUND = "INVALID: not found"
    INVALID_FORMAT = "INVALID: invalid format"
    TRAILING_DATA = "INVALID: unexpected data after end of compressed stream"


@dataclass(frozen=True, slots=True)
class LogCheck:
    """The result for one ``logFiles`` entry: ``compressed_bytes`` read, ``uncompressed_bytes``
    hashed."""

    bucket: str
    key: str
    outcome: LogOutcome
    compressed_bytes: int = 0
    uncompressed_bytes: int = 0


@dataclass(frozen=True, slots=True)
class HashResult:
    sha256_hex: str
    trailing_data: bool
    complete: bool
    compressed_bytes: int
    uncompressed_bytes: int


def hash_gzip_stream(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES, piece_bytes: int = PIECE_BYTES) -> HashResult:
    """Inflate the first gzip member of ``stream`` and hash its output. Reads ``chunk_bytes`` at a
    time and inflates at most ``piece_bytes`` of output per call, so memory is bounded whatever the
    compression ratio. Raises ``isal_zlib.error`` (a subclass of nothing useful: callers catch
    Exception) when the bytes are not gzip."""
    inflater = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
    inflate = inflater.decompress
    digest = hashlib.sha256()
    update = digest.update
    read = stream.read
    compressed = 0
    uncompressed = 0
    trailing = False
    while chunk := read(chunk_bytes):
        compressed += len(chunk)
        if inflater.eof:
            trailing = True  # bytes after the end of the first member: counted, not inflated
            continue
        while True:
            data = inflate(chunk, piece_bytes)
            uncompressed += len(data)
            update(data)
            chunk = inflater.unconsumed_tail
            if not chunk or inflater.eof:
                break
            if not data:
                raise isal_zlib.error("inflate made no progress")
    rest = inflater.flush()
    if rest:
        uncompressed += len(rest)
        update(rest)
    if inflater.unused_data or (inflater.eof and inflater.unconsumed_tail):
        trailing = True
    return HashResult(digest.hexdigest(), trailing, bool(inflater.eof), compressed, uncompressed)


def check_log_file(open_object: Callable[[str, str], BinaryIO], log: dict[str, Any]) -> LogCheck:
    """Check one digest ``logFiles`` entry (``{"s3Bucket", "s3Object", "hashValue", ...}``).
    ``open_object(bucket, key)`` streams the object or raises :class:`NoSuchKey`. Storage errors
    other than NoSuchKey propagate (the AWS CLI re-raises non-NoSuchKey client errors)."""
    bucket = str(log.get("s3Bucket"))
    key = str(log.get("s3Object"))
    try:
        stream = open_object(bucket, key)
    except NoSuchKey:
        return LogCheck(bucket, key, LogOutcome.NOT_FOUND)
    try:
        with stream:
            result = hash_gzip_stream(stream)
    except Exception:
        return LogCheck(bucket, key, LogOutcome.INVALID_FORMAT)
    if result.trailing_data:
        outcome = LogOutcome.TRAILING_DATA
    elif result.sha256_hex != log.get("hashValue"):
        outcome = LogOutcome.HASH_MISMATCH
    elif not result.complete:
        outcome = LogOutcome.INVALID_FORMAT
    else:
        outcome = LogOutcome.VALID
    return LogCheck(bucket, key, outcome, result.compressed_bytes, result.uncompressed_bytes)
