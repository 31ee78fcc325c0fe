"""One node's reads of the event log, shared by its consumers.

On several nodes (``--database-url``) every background worker of a node -- each trail shard's
delivery, CloudWatch Logs delivery and digests, Lake ingestion, Insights, the event bus -- follows
the event log with :meth:`~.base.EventStore.read_columns`, and PostgreSQL sends each of them every
event, which each decompresses. :class:`SharedLogReads` keeps the newest events read (a window of at
most ``max_events``) and answers the workers from it, so a node fetches and decompresses each event
about once however many workers follow the log.

**Why the window is exact.** The store's reads see a prefix of the log without gaps
(:mod:`.postgres`: seqs are committed in order), so ``read_columns(pos, n)`` answers every event
with seq in ``(pos, last]``, ``last`` the last seq it returned. The window holds the events of
``(low, high]``, all of them: it starts as one such answer and grows only by the answer of
``read_columns(high, n)``. A read from ``pos`` in ``[low, high)`` is answered from the window (up to
``n`` events); reaching ``high`` with room left, it goes on with the store from there (one fetch at
a time, so workers polling together make one query); a read from before the window goes to the
store alone, one from beyond it starts a new window. Everything else is the store's
(:meth:`__getattr__`).
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

from .base import EventColumns

__all__ = ["SharedLogReads", "MAX_BYTES", "MAX_EVENTS"]

#: Events the window keeps (about 1.3 KB each in memory for CloudTrail records)...
MAX_EVENTS = 20_000
#: ...and at most this many bytes of records (large records: fewer events).
MAX_BYTES = 64 << 20


class SharedLogReads:
    """``read_columns`` of ``store`` through a shared window of the newest events read, at most
    ``max_events`` of them and ``max_bytes`` of records (module docstring; it may hold a quarter
    more before it drops the oldest); every other attribute is ``store``'s. Thread-safe."""

    def __init__(self, store: Any, max_events: int = MAX_EVENTS, max_bytes: int = MAX_BYTES) -> None:
        self._store = store
        self._max = max(1, max_events)
        self._max_bytes = max(1, max_bytes)
        self._bytes = 0  # of the window's records
        self._lock = threading.Lock()  # the window
        self._fetching = threading.Lock()  # one fetch that extends the window at a time
        self._low = self._high = -1  # no window
        self._seqs: list[int] = []
        self._partitions: list[int] = []
        self._records: list[bytes] = []
        #: partition ids of the window's own (a store's ids may hold for one answer only)
        self._names: dict[int, tuple[str, str, str]] = {}
        self._ids: dict[tuple[str, str, str], int] = {}
        #: reads answered (wholly or partly) from the window, and store reads that returned events
        self.hits = 0
        self.fetches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_columns(self, seq: int, limit: int) -> EventColumns:
        """The events with seq > ``seq``, at most ``limit``, in order (:meth:`.base.EventStore.read_columns`)."""
        parts: list[EventColumns] = []
        pos, left = seq, limit
        while left > 0:
            with self._lock:
                piece = self._from_window(pos, left)
            if piece is not None:
                self.hits += 1
                parts.append(piece)
                pos, left = piece.seqs[-1], left - len(piece)
                continue
            fetched = self._fetch(pos, left)
            if len(fetched):
                parts.append(fetched)
            break
        return _concat(parts)

    def _from_window(self, pos: int, n: int) -> EventColumns | None:
        """The window's events after ``pos`` (at most ``n``), or None when ``pos`` is outside
        ``[low, high)`` (caller holds the lock)."""
        if not self._low <= pos < self._high:
            return None
        i = bisect.bisect_right(self._seqs, pos)
        j = min(len(self._seqs), i + n)
        partitions = self._partitions[i:j]
        return EventColumns(self._seqs[i:j], partitions, {p: self._names[p] for p in set(partitions)},
                            self._records[i:j])

    def _fetch(self, pos: int, n: int) -> EventColumns:
        with self._fetching:
            with self._lock:  # another reader may have fetched this meanwhile
                piece = self._from_window(pos, n)
            if piece is not None:
                self.hits += 1
                return piece
            cols = self._store.read_columns(pos, n)
            if not len(cols):
                return cols
            self.fetches += 1
            with self._lock:
                cols = self._own_ids(cols)
                if pos == self._high:  # it continues the window
                    self._extend(cols)
                elif pos > self._high:  # the log moved past the window: a new one from here
                    self._low = self._high = pos
                    self._seqs, self._partitions, self._records = [], [], []
                    self._bytes = 0
                    self._extend(cols)
            return cols

    def _own_ids(self, cols: EventColumns) -> EventColumns:
        """``cols`` with the window's partition ids (caller holds the lock)."""
        mapping = {}
        for pid, name in cols.partition_names.items():
            own = self._ids.get(name)
            if own is None:
                own = self._ids[name] = len(self._ids)
                self._names[own] = name
            mapping[pid] = own
        partitions = [mapping[p] for p in cols.partitions]
        return EventColumns(cols.seqs, partitions, {mapping[p]: n for p, n in cols.partition_names.items()},
                            cols.records)

    def _extend(self, cols: EventColumns) -> None:
        self._seqs.extend(cols.seqs)
        self._partitions.extend(cols.partitions)
        self._records.extend(cols.records)
        self._bytes += sum(len(r) for r in cols.records)
        self._high = cols.seqs[-1]
        if len(self._seqs) <= self._max * 5 // 4 and self._bytes <= self._max_bytes * 5 // 4:
            return
        # drop the oldest down to the limits, in chunks (list slicing copies); keep the newest event
        drop, size = max(0, len(self._seqs) - self._max), self._bytes
        size -= sum(len(r) for r in self._records[:drop])
        while size > self._max_bytes and drop < len(self._seqs) - 1:
            size -= len(self._records[drop])
            drop += 1
        if drop:
            self._low = self._seqs[drop - 1]
            del self._seqs[:drop], self._partitions[:drop], self._records[:drop]
            self._bytes = size


def _concat(parts: list[EventColumns]) -> EventColumns:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return EventColumns([], [], {}, [])
    seqs: list[int] = []
    partitions: list[int] = []
    records: list[bytes] = []
    names: dict[int, tuple[str, str, str]] = {}
    for p in parts:
        seqs.extend(p.seqs)
        partitions.extend(p.partitions)
        records.extend(p.records)
        names.update(p.partition_names)
    return EventColumns(seqs, partitions, names, records)
