"""Trail shards: how several nodes share the trail work (trail delivery, its digests and its
CloudWatch Logs delivery) one trail at a time.

A trail belongs to shard ``crc32(trail ARN) % TRAIL_SHARDS`` (:func:`trail_shard`); on several
nodes (:mod:`opentrail.cluster`) each shard is one lease, ``delivery/<shard>``, and the node holding
it runs the workers of that shard's trails only (:func:`owned_by` is their filter). So every trail's
log files, digest chains and log group deliveries are written by exactly one node at a time -- the
fence of its shard's lease guards each write -- while the work of trails in different shards can
run on different nodes. The hash is CRC-32 (stable across processes and versions, unlike Python's ``hash``); the
shard count is fixed, because every node must place a trail in the same shard.
"""

from __future__ import annotations

import zlib
from typing import Callable

__all__ = ["TRAIL_SHARDS", "trail_shard", "owned_by", "every_trail"]

#: Shards of the trail work on several nodes (each one lease). The same on every node.
TRAIL_SHARDS = 4


def trail_shard(arn: str, shards: int = TRAIL_SHARDS) -> int:
    """The shard (0 .. ``shards`` - 1) of the trail ``arn``."""
    return zlib.crc32(arn.encode("utf-8")) % shards


def owned_by(shard: int, shards: int = TRAIL_SHARDS) -> Callable[[str], bool]:
    """``owns(arn)``: True for the trails of ``shard`` (a worker's trail filter). Raises ValueError
    for a shard outside 0 .. ``shards`` - 1."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")

    def owns(arn: str) -> bool:
        return trail_shard(arn, shards) == shard

    return owns


def every_trail(arn: str) -> bool:
    """The filter of a worker that owns every trail (one node)."""
    return True
