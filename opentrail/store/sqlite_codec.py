"""Pure encodings used by the SQLite event store: record compression, eventID hashes, index order.

- Records: zstd (level 3) with a trained dictionary (``cloudtrail.zdict``, 32 KiB, trained on the
  real CloudTrail samples in the shared datasets by ``scripts/train_zdict.py``), one record at a
  time so any record is read alone. A store keeps the dictionary it was created with.
- ``event_id_hash``: signed 64-bit BLAKE2b of ``account \\0 eventID`` (SQLite INTEGER).
- ``ord``: ``event_time << 31 | seq`` -- sorting by it is sorting by (eventTime, seq); eventTime
  is unsigned 32-bit (to 2106) and seq below 2**31, so an ord fits SQLite's signed 64 bits.
- Posting blocks: ascending ords as native int64 (``array('q')`` bytes; opentrail runs on
  little-endian machines, checked at import).
"""

from __future__ import annotations

import array
import hashlib
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import zstandard

from .base import MAX_EVENT_TIME, MIN_EVENT_TIME

LEVEL = 3
SEQ_BITS = 31
SEQ_MASK = (1 << SEQ_BITS) - 1
DEFAULT_ZDICT: bytes = (Path(__file__).parent / "cloudtrail.zdict").read_bytes()
_MULTI = hasattr(zstandard.ZstdCompressor, "multi_compress_to_buffer")
_MULTI_DECOMPRESS = hasattr(zstandard.ZstdDecompressor, "multi_decompress_to_buffer")


class RecordCodec:
    """Compresses and decompresses records with one dictionary; safe to share between threads
    (each thread gets its own zstd contexts). Raises ``zstandard.ZstdError`` on corrupt input."""

    def __init__(self, zdict: bytes) -> None:
        self._dict = zstandard.ZstdCompressionDict(zdict)
        self._dict.precompute_compress(level=LEVEL)
        self._local = threading.local()

    def _contexts(self) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = (
                zstandard.ZstdCompressor(level=LEVEL, dict_data=self._dict, write_content_size=True),
                zstandard.ZstdDecompressor(dict_data=self._dict),
            )
        return ctx

    def compress(self, record: bytes) -> bytes:
        return self._contexts()[0].compress(record)

    def compress_many(self, records: Sequence[bytes]) -> tuple[bytes, list[int]]:
        """:meth:`compress` of each record: the frames back to back and each frame's length.

        One call into zstd for the whole batch (python-zstandard's ``multi_compress_to_buffer``),
        which releases the GIL once instead of once per record: in a busy server every release
        costs a wait for the GIL to come back. Each frame is byte-identical to :meth:`compress`'s.
        """
        if not records:
            return b"", []
        compressor = self._contexts()[0]
        if _MULTI and all(records):  # it refuses empty inputs
            frames: Any = compressor.multi_compress_to_buffer(list(records), threads=0)
            parts = [frames[i] for i in range(len(frames))]
        else:  # an empty record, or the CFFI backend (no multi_compress_to_buffer)
            parts = list(map(compressor.compress, records))
        return b"".join(parts), list(map(len, parts))

    def decompress(self, blob: bytes) -> bytes:
        return self._contexts()[1].decompress(blob)

    def decompress_many(self, blobs: Iterable[bytes]) -> list[bytes]:
        """:meth:`decompress` of each blob, in order.

        One call into zstd for the whole batch (python-zstandard's ``multi_decompress_to_buffer``,
        every frame written by :meth:`compress` carries its content size), which releases the GIL
        once instead of once per record: each consumer of the event log reads every record, and in
        a busy server every release costs the reader a wait for the GIL to come back and the other
        threads a switch. Blobs it refuses (a frame without its content size) and batches holding
        an empty record (python-zstandard 0.25 corrupts the heap on frames of content size 0) are
        decompressed one by one, as before."""
        frames = blobs if isinstance(blobs, list) else list(blobs)
        decompressor = self._contexts()[1]
        if _MULTI_DECOMPRESS and len(frames) > 1 and not _has_empty(frames):
            try:
                out = decompressor.multi_decompress_to_buffer(frames, threads=0)
            except (zstandard.ZstdError, ValueError):  # the one-by-one path raises ZstdError for what is corrupt
                pass
            else:
                return [out[i].tobytes() for i in range(len(out))]
        return list(map(decompressor.decompress, frames))


#: Frames shorter than this may hold an empty record (its frame is ~10-15 bytes with the dictionary ID).
_SHORT_FRAME = 32


def _has_empty(frames: Sequence[bytes]) -> bool:
    """True when a frame's content size is 0 (or unknown): only short frames are looked at."""
    if min(map(len, frames)) >= _SHORT_FRAME:
        return False
    for frame in frames:
        if len(frame) < _SHORT_FRAME:
            try:
                if zstandard.frame_content_size(frame) <= 0:
                    return True
            except zstandard.ZstdError:
                return True
    return False


class LazyRecords(Sequence[bytes]):
    """The records of ``blobs`` (a list of compressed records), decompressed together
    (:meth:`RecordCodec.decompress_many`) the first time one is read: a consumer of the event log
    that skips a read's events by their partition (Insights skips every PutAuditEvents batch)
    never decompresses them, one reading a few of them takes them with :meth:`one`."""

    __slots__ = ("_blobs", "_codec", "_records")

    def __init__(self, blobs: list[bytes], codec: RecordCodec) -> None:
        self._blobs = blobs
        self._codec = codec
        self._records: list[bytes] | None = None

    def _all(self) -> list[bytes]:
        records = self._records
        if records is None:  # two threads reading at once both decompress: the same answer
            records = self._records = self._codec.decompress_many(self._blobs)
        return records

    def __len__(self) -> int:
        return len(self._blobs)

    def one(self, index: int) -> bytes:
        """The record ``index`` alone (decompressed on its own unless all already are): for a
        consumer that reads a few records of a read (Insights: the calls' records among a
        PutAuditEvents batch)."""
        records = self._records
        return records[index] if records is not None else self._codec.decompress(self._blobs[index])

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._all())


def event_id_hash(account_id: str, event_id: str) -> int:
    """Signed 64-bit hash of (account, eventID) for the ``event_ids`` table."""
    digest = hashlib.blake2b(f"{account_id}\0{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def ord_of(event_time: int, seq: int) -> int:
    """Index order value of an event; requires 0 <= event_time < 2**32 and 0 <= seq < 2**31."""
    return (event_time << SEQ_BITS) | seq


def ord_bound(event_time: int, seq: int) -> int:
    """:func:`ord_of` for a query bound: times outside the stored range are clamped to it."""
    return ord_of(min(max(event_time, MIN_EVENT_TIME), MAX_EVENT_TIME), seq)


if sys.byteorder != "little":  # pragma: no cover
    raise ImportError("the SQLite event store's posting blocks assume a little-endian machine")


def unpack_ords(blob: bytes) -> array.array[int]:
    """A posting block's ords (ascending)."""
    block = array.array("q")
    block.frombytes(blob)
    return block
