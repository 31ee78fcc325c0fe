"""Pure encodings used by the SQLite event store: record compression, eventID hashes, index order.

- Records: raw deflate (level 2, 8 KiB window) primed with a preset dictionary, one record at a
  time so any record is read alone. About 290 bytes for a 1.25 KB CloudTrail record.
- ``event_id_hash``: signed 64-bit BLAKE2b of ``account \\0 eventID`` (SQLite INTEGER).
- ``ord``: ``event_time << 32 | seq`` -- sorting by it is sorting by (eventTime, seq).
"""

from __future__ import annotations

import hashlib
import zlib

_WBITS = -13  # raw deflate, 8 KiB window (matches the 8 KiB dictionary)
_LEVEL = 2
_MEM_LEVEL = 3
SEQ_BITS = 32
SEQ_MASK = (1 << SEQ_BITS) - 1


def compress(record: bytes, zdict: bytes) -> bytes:
    """Deflate ``record`` with preset dictionary ``zdict``."""
    c = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, zdict)
    return c.compress(record) + c.flush()


def decompress(blob: bytes, zdict: bytes) -> bytes:
    """Inverse of :func:`compress`; raises zlib.error on corrupt input."""
    d = zlib.decompressobj(_WBITS, zdict=zdict)
    return d.decompress(blob) + d.flush()


def event_id_hash(account_id: str, event_id: str) -> int:
    """Signed 64-bit hash of (account, eventID) for the ``event_ids`` table."""
    digest = hashlib.blake2b(f"{account_id}\0{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def ord_of(event_time: int, seq: int) -> int:
    """Index order value of an event; requires 0 <= event_time < 2**31 and 0 <= seq < 2**32."""
    return (event_time << SEQ_BITS) | seq
