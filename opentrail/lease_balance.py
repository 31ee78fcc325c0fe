"""Lease balancing: how several nodes share the leases on the background work (:mod:`.leases`)
fairly -- pure functions over one reading of the lease and node tables, used by
:class:`opentrail.leased_worker.Coordinator`.

A node is *live* while its heartbeat is fresh (``last_seen`` less than ``ttl_s`` ago; a node
counts itself live). A lease is *held* by its holder while unexpired, *free* when released or
expired. Among ``n`` live nodes and ``L`` leases a node's fair share is ``ceil(L / n)``; balanced
means every live node holds ``floor(L / n)`` or ``ceil(L / n)`` (20 leases on 3 nodes: 7/7/6), that
is no two live nodes differ by more than one lease. The rules, each node applying them to its own
reading:

- **Taking** (:func:`may_take`): a node takes a free lease only if no other live node holds fewer
  leases than it does, so free leases go to the poorest nodes -- unless the lease has been free
  for ``ttl_s`` (nobody took it): then any node takes it (liveness beats balance).
- **Giving up** (:func:`gives_up`): when two live nodes differ by two leases or more and no lease
  is free, the richest live node (ties: the smallest node id) gives one lease up: it stops that
  work and releases the lease, and the poorest node takes it. The coordinator gives up only after
  seeing the imbalance on consecutive checks, one lease at a time.

On one node both rules are no-ops: it takes every lease and never gives one up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .leases import Lease, NodeInfo

__all__ = ["live_nodes", "is_free", "lease_counts", "may_take", "gives_up"]


def live_nodes(nodes: Iterable[NodeInfo], me: str, now: float, ttl_s: float) -> set[str]:
    """The ids of the nodes heard from less than ``ttl_s`` seconds before ``now``, and ``me``."""
    return {n.node_id for n in nodes if now - n.last_seen < ttl_s} | {me}


def is_free(lease: Lease | None, now: float) -> bool:
    """Whether a node may acquire ``lease`` at ``now``: released, expired, or not created yet (None)."""
    return lease is None or lease.holder == "" or lease.expires_at <= now


def lease_counts(leases: Iterable[Lease], names: Collection[str], live: Collection[str], now: float) -> dict[str, int]:
    """How many of the leases ``names`` each live node holds (unexpired) at ``now``; 0 for a live
    node holding none. Leases held by nodes not live count for nobody."""
    counts = dict.fromkeys(live, 0)
    for lease in leases:
        if lease.name in names and lease.holder in counts and not is_free(lease, now):
            counts[lease.holder] += 1
    return counts


def may_take(me: str, counts: dict[str, int], free_for_s: float, ttl_s: float) -> bool:
    """Whether node ``me`` takes a lease free for ``free_for_s`` seconds, the live nodes holding
    ``counts`` (``me`` included): when no other node holds fewer, or the lease has been free for
    ``ttl_s``."""
    return free_for_s >= ttl_s or counts[me] <= min(counts.values())


def gives_up(me: str, counts: dict[str, int], any_free: bool) -> bool:
    """Whether node ``me`` should give a lease up now: it is the richest live node (ties: the
    smallest id), holding two or more leases more than the poorest, and no lease is free (a
    hand-off in progress is finished first)."""
    if any_free or me not in counts:
        return False
    richest = min(counts, key=lambda node: (-counts[node], node))
    return richest == me and counts[me] - min(counts.values()) >= 2
