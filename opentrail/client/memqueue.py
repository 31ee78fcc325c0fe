"""The in-memory queue of :class:`opentrail.client.EventClient` when it has no spool directory.

Bounded by ``max_events``: :meth:`MemoryQueue.append` refuses a record when full (the client then
waits: back-pressure). Batches are read from the head without removing them and removed by
:meth:`MemoryQueue.ack`, so a batch that failed is sent again. One reader (the sender thread).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MemoryBatch:
    """The first ``len(records)`` records of the queue."""

    records: list[bytes]


class MemoryQueue:
    """FIFO of encoded records, at most ``max_events``. Thread-safe."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._q: deque[bytes] = deque()
        self._lock = threading.Lock()

    def append(self, data: bytes) -> bool:
        """Queue one record; False when the queue is full."""
        with self._lock:
            if len(self._q) >= self.max_events:
                return False
            self._q.append(data)
            return True

    def read_batch(self, max_events: int, max_bytes: int) -> MemoryBatch | None:
        """Up to ``max_events`` records / ``max_bytes`` bytes from the head (at least one), or None."""
        with self._lock:
            records: list[bytes] = []
            used = 0
            for data in self._q:
                if len(records) >= max_events or (records and used + len(data) > max_bytes):
                    break
                records.append(data)
                used += len(data)
        return MemoryBatch(records) if records else None

    def ack(self, batch: MemoryBatch) -> None:
        """Remove ``batch`` (the head of the queue)."""
        with self._lock:
            for _ in batch.records:
                self._q.popleft()

    def drain(self) -> int:
        """Remove everything; return how many records were removed."""
        with self._lock:
            n = len(self._q)
            self._q.clear()
            return n

    @property
    def records(self) -> int:
        """Records queued (including a batch being sent)."""
        return len(self._q)
