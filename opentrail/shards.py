"""Work shards: how several nodes share the per-unit background work, a unit at a time.

A unit's shard is ``crc32(key) % SHARDS`` (:func:`shard_of`). Four kinds of work are sharded:

- **trails** (key: the trail ARN): on several nodes each shard is one lease, ``delivery/<shard>``
  (:mod:`opentrail.cluster`), for the trail delivery, its digest chains and its CloudWatch Logs
  delivery. The node holding a shard's lease runs the workers of that shard's trails only
  (:func:`owned_by` is their filter), so each trail's log files, digest chains and log group
  deliveries are written by exactly one node at a time -- the fence of its shard's lease guards
  each state write -- while trails in different shards can go to different nodes;
- **event data stores** (key: the store ID) and **accounts' Insights** (key: the account ID): each
  shard has its own cursor and is one lease on several nodes, ``lake/<shard>`` and
  ``insights/<shard>``; a node runs one worker of each kind over the shards it holds
  (:class:`opentrail.lake.ingest.LakeIngestWorker`, :class:`opentrail.insights.worker.InsightsWorker`
  take ``shards``; :mod:`opentrail.shard_group`);
- **EventBridge rules** (key: the rule ARN): ``event-bus/<shard>``, one event bus per node over its
  shards (:class:`opentrail.eventbridge.bus.EventBusWorker` and
  :class:`opentrail.eventbridge.bus_state.BusState` take ``shards``). The hash is
CRC-32 (stable across processes and versions, unlike Python's ``hash``); the shard count is fixed,
because every node must place a unit in the same shard.
"""

from __future__ import annotations

import zlib
from typing import Callable, Iterable

__all__ = ["SHARDS", "shard_of", "owned_by", "every_unit", "shard_set"]

#: Shards of each sharded kind of work on several nodes (each one lease). The same on every node.
SHARDS = 4


def shard_of(key: str, shards: int = SHARDS) -> int:
    """The shard (0 .. ``shards`` - 1) of the unit ``key`` (a trail ARN, an event data store ID)."""
    return zlib.crc32(key.encode("utf-8")) % shards


def owned_by(shard: int, shards: int = SHARDS) -> Callable[[str], bool]:
    """``owns(key)``: True for the units of ``shard`` (a worker's filter). Raises ValueError
    for a shard outside 0 .. ``shards`` - 1."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")

    def owns(key: str) -> bool:
        return shard_of(key, shards) == shard

    return owns


def every_unit(key: str) -> bool:
    """The filter of a worker that owns every unit (one node)."""
    return True


def shard_set(shards: Iterable[int] | None) -> tuple[frozenset[int], Callable[[str], bool]]:
    """A worker's ``shards`` argument (None: every shard) as the set of its shards and its filter
    ``owns(key)`` (:func:`every_unit` for every shard). Raises ValueError for an empty set or a
    shard outside 0 .. ``SHARDS`` - 1."""
    mine = frozenset(range(SHARDS) if shards is None else shards)
    if not mine or not mine <= set(range(SHARDS)):
        raise ValueError(f"shards {sorted(mine)} are not a non-empty subset of 0..{SHARDS - 1}")
    if len(mine) == SHARDS:
        return mine, every_unit
    return mine, lambda key: shard_of(key) in mine
