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
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Sequence

import numpy as np

__all__ = ["BLOCK_MAX", "HOUR_S", "Best", "Block", "Window", "blocks_of", "hour_end", "matches", "pack", "unpack"]

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


def blocks_of(key_ids: Sequence[int], times: Sequence[int], seqs: Sequence[int]) -> Iterator[Block]:
    """The blocks of an append's lookup entries, entry ``i`` being ``(key_ids[i], times[i],
    seqs[i])`` (three sequences of the same length, or int64 numpy arrays): one block per key and
    hour, split every :data:`BLOCK_MAX` events, each ascending by ``(event_time, seq)``, its
    ``times`` and ``seqs`` packed as :func:`pack` packs them. An entry given twice (an event naming
    one value twice) is kept once. Sorted and packed by numpy: the entries of a busy append number
    about six per event, and this runs while the append holds the seq lock."""
    k = np.asarray(key_ids, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    s = np.asarray(seqs, dtype=np.int64)
    if not len(k):
        return
    hour = t // HOUR_S
    order = np.lexsort((s, t, hour, k))
    k, t, s, hour = k[order], t[order], s[order], hour[order]
    repeated = (k[1:] == k[:-1]) & (t[1:] == t[:-1]) & (s[1:] == s[:-1])
    if repeated.any():
        keep = np.concatenate(([True], ~repeated))
        k, t, s, hour = k[keep], t[keep], s[keep], hour[keep]
    n = len(k)
    breaks = (np.flatnonzero((k[1:] != k[:-1]) | (hour[1:] != hour[:-1])) + 1).tolist()
    starts = [at for lo, hi in zip([0, *breaks], [*breaks, n]) for at in range(lo, hi, BLOCK_MAX)]
    ends = [*starts[1:], n]
    first = np.asarray(starts)
    last = np.asarray(ends) - 1
    times_packed = t.astype(">i8").tobytes()
    seqs_packed = s.astype(">i8").tobytes()
    for at, to, key_id, max_time, min_time, max_seq in zip(
            starts, ends, k[first].tolist(), t[last].tolist(), t[first].tolist(),
            np.maximum.reduceat(s, first).tolist()):
        yield Block(key_id, max_time, min_time, max_seq, times_packed[at * 8:to * 8], seqs_packed[at * 8:to * 8])


class Block(NamedTuple):
    """One row of ``event_postings`` (its id aside)."""

    key_id: int
    max_time: int
    min_time: int
    max_seq: int
    #: the events' times, ascending by (event_time, seq), packed (:func:`pack`)
    times: bytes
    #: their seqs, same positions, packed
    seqs: bytes


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
