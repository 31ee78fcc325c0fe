"""An in-memory event store: a real fake of :class:`EventStore` for tests (nothing is durable)."""

from __future__ import annotations

import bisect
import threading
import time
from typing import Callable, Sequence

from .base import AppendResult, EventStore, LookupPage, LookupQuery, NewEvent, StoredEvent


class MemoryEventStore(EventStore):
    """Keeps everything in lists; lookups scan. Same semantics as the durable backends.
    ``clock`` (epoch seconds) stamps each append's receive time (:meth:`received_seq`)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: (receive time, newest seq after the append), one per append that stored something
        self._received: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._events: list[StoredEvent] = []
        self._lookup: dict[int, tuple[tuple[str, str], ...]] = {}
        self._ids: set[tuple[str, str]] = set()
        self._closed = False
        self._last_seq = 0

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        accepted = 0
        dups: list[int] = []
        with self._lock:
            for i, e in enumerate(events):
                key = (e.account_id, e.event_id)
                if key in self._ids:
                    dups.append(i)
                    continue
                self._ids.add(key)
                self._last_seq += 1
                seq = self._last_seq
                self._events.append(
                    StoredEvent(seq, e.event_id, e.event_time, e.account_id, e.region, e.category, e.record)
                )
                self._lookup[seq] = e.lookup
                accepted += 1
            if accepted:
                at = self._clock()
                if self._received:
                    at = max(at, self._received[-1][0])
                self._received.append((at, self._last_seq))
        return AppendResult(accepted, len(dups), tuple(dups))

    def lookup(self, query: LookupQuery) -> LookupPage:
        wanted = ("Insight",) if query.insight else ("Management",)
        with self._lock:
            matches = [
                e
                for e in self._events
                if e.account_id == query.account_id
                and e.region == query.region
                and e.category in wanted
                and (query.start_time is None or e.event_time >= query.start_time)
                and (query.end_time is None or e.event_time <= query.end_time)
                and (query.attribute is None or query.attribute in self._lookup[e.seq])
                and not (query.expired is not None and e.event_time < query.expired[0] and e.seq <= query.expired[1])
            ]
        matches.sort(key=lambda e: (e.event_time, e.seq), reverse=True)
        if query.after is not None:
            keys = [(-e.event_time, -e.seq) for e in matches]
            start = bisect.bisect_right(keys, (-query.after[0], -query.after[1]))
            matches = matches[start:]
        page = matches[: query.limit]
        more = len(matches) > query.limit
        cursor = (page[-1].event_time, page[-1].seq) if more and page else None
        return LookupPage(page, cursor)

    def last_seq(self) -> int:
        with self._lock:
            return self._last_seq

    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        with self._lock:
            return [e for e in self._events if e.seq > seq][:limit]

    def received_seq(self, before: int) -> int:
        with self._lock:
            i = bisect.bisect_left(self._received, (before, -1))
            return self._received[i - 1][1] if i else 0

    def purge_before(self, event_time: int, through_seq: int | None = None) -> int:
        def gone(e: StoredEvent) -> bool:
            return e.event_time < event_time and (through_seq is None or e.seq <= through_seq)

        with self._lock:
            keep = [e for e in self._events if not gone(e)]
            removed = len(self._events) - len(keep)
            for e in self._events:
                if gone(e):
                    self._ids.discard((e.account_id, e.event_id))
                    self._lookup.pop(e.seq, None)
            self._events = keep
            return removed

    def count(self) -> int:
        with self._lock:
            return len(self._events)

    def close(self) -> None:
        self._closed = True
