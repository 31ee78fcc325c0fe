"""Posting blocks of the PostgreSQL event store's LookupEvents index (table ``event_postings``,
migration ``0002_narrow_indexes.sql``): how an append groups its lookup entries into blocks, and
how a lookup walks a key's blocks to find its newest matches.

A block holds the events of one lookup key (an interned (partition, attribute, value)) from one
append transaction whose eventTimes fall in one hour (``event_time // 3600``), at most
:data:`BLOCK_MAX` of them, as two aligned arrays ascending by ``(event_time, seq)``. Blocks of a
key may overlap in time (events arrive out of eventTime order), so a lookup reads them by
``max_time`` descending and stops once the page is full and no unread block can hold a better
match (its ``max_time`` is below the page's last event time).
"""

from __future__ import annotations

import bisect
import heapq
import sys
from array import array
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Iterator

__all__ = ["BLOCK_MAX", "HOUR_S", "Best", "Window", "blocks_of", "hour_end", "matches", "pack", "unpack"]

#: Events per block at most (a busy key's hour in one append is split).
BLOCK_MAX = 4096
#: The time bucket a block's events share: max_time - min_time < HOUR_S.
HOUR_S = 3600


_SWAP = sys.byteorder == "little"


def pack(values: list[int]) -> bytes:
    """``values`` as a block column: big-endian signed 64-bit integers, back to back (what
    PostgreSQL's ``int8send`` gives)."""
    a = array("q", values)
    if _SWAP:
        a.byteswap()
    return a.tobytes()


def unpack(data: bytes) -> list[int]:
    """The integers of a block column written by :func:`pack`."""
    a = array("q")
    a.frombytes(data)
    if _SWAP:
        a.byteswap()
    return a.tolist()


def hour_end(t: int) -> int:
    """The first second after ``t``'s hour: a block holding an event at or before ``t`` has
    ``max_time`` below it."""
    return (t // HOUR_S + 1) * HOUR_S


def blocks_of(entries: Iterable[tuple[int, int, int]]) -> Iterator[tuple[int, int, int, int, list[int], list[int]]]:
    """Rows ``(key_id, max_time, min_time, max_seq, times, seqs)`` for ``entries`` of
    ``(key_id, event_time, seq)``: one block per key and hour, split every :data:`BLOCK_MAX`
    events, each ascending by ``(event_time, seq)`` (the table stores ``times`` and ``seqs``
    through :func:`pack`). An entry given twice (an event naming one value twice) is kept once."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for key_id, t, seq in entries:
        groups[(key_id, t // HOUR_S)].append((t, seq))
    for (key_id, _), pairs in groups.items():
        if len(pairs) > 1:
            pairs = sorted(set(pairs))
        for at in range(0, len(pairs), BLOCK_MAX):
            part = pairs[at:at + BLOCK_MAX]
            times = [t for t, _ in part]
            seqs = [s for _, s in part]
            yield key_id, times[-1], times[0], max(seqs), times, seqs


@dataclass(frozen=True, slots=True)
class Window:
    """What a lookup may return: ``start <= event_time <= end``, ``(event_time, seq) < after``,
    and for no ``(time, seq)`` bound of ``expired`` ``event_time < time and seq <= seq`` (purged,
    or left out by the caller's retention)."""

    start: int
    end: int
    after: tuple[int, int]
    expired: tuple[tuple[int, int], ...]

    @property
    def upper(self) -> int:
        """The latest event time a match can have."""
        return min(self.end, self.after[0])


def matches(times: list[int], seqs: list[int], window: Window, limit: int) -> list[tuple[int, int]]:
    """The newest ``limit`` ``(event_time, seq)`` pairs of one block inside ``window``, newest
    first."""
    lo = bisect.bisect_left(times, window.start)
    hi = bisect.bisect_right(times, window.upper)
    out: list[tuple[int, int]] = []
    after = window.after
    expired = window.expired
    for i in range(hi - 1, lo - 1, -1):
        pair = (times[i], seqs[i])
        if pair >= after or any(pair[0] < t and pair[1] <= s for t, s in expired):
            continue
        out.append(pair)
        if len(out) == limit:
            break
    return out


class Best:
    """The newest ``limit`` pairs seen so far (a min-heap of the kept ones)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._heap: list[tuple[int, int]] = []

    def add(self, pairs: list[tuple[int, int]]) -> None:
        heap = self._heap
        for pair in pairs:
            if len(heap) < self.limit:
                heapq.heappush(heap, pair)
            elif pair > heap[0]:
                heapq.heapreplace(heap, pair)
            else:
                break  # pairs come newest first: the rest are older still

    def full_above(self, max_time: int) -> bool:
        """True when the page is full and every kept pair is newer than any event of a block
        whose ``max_time`` is ``max_time`` (so such blocks cannot change it)."""
        return len(self._heap) == self.limit and self._heap[0][0] > max_time

    def newest_first(self) -> list[tuple[int, int]]:
        return sorted(self._heap, reverse=True)
