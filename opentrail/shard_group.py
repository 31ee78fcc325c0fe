"""One worker per node for the shards of a kind of work it holds the leases of.

Lake ingestion, Insights and EventBridge are leased per shard (``lake/0`` .. ``lake/3``,
``insights/0`` .. ``insights/3``, ``event-bus/0`` .. ``event-bus/3``, :mod:`opentrail.cluster`),
but a node runs *one* worker of each kind, over the shards it holds, not one per shard: one worker
reads each event once, converts it once for every event data store it writes and writes the stores
in turn, where four workers on one node cost a third of its ingest rate (docs/benchmarks.md,
"Several nodes").

:class:`ShardGroup` is that worker's keeper. The :class:`~opentrail.leased_worker.LeasedWorker` of
each shard's lease calls :meth:`ShardGroup.take` as its worker's start (under the shard lease's
fence) and stops the returned handle when the lease is lost, handed off or released. On each
change of the held shards the group stops the worker it runs (which writes its open batches) and
builds a fresh one for the new set, from durable state (each shard's cursor), under a
:class:`~opentrail.state_pg.Fences` of every held shard's lease: a write of the worker finds each
of them still held, or fails with :class:`~opentrail.state_pg.LeaseLost` (and the lost shard's
:class:`~opentrail.leased_worker.LeasedWorker` then stops its handle: the group goes on with the
others). The held shards change only when a node joins, leaves or balances its leases.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from .leased_worker import Running
from .state_pg import Fence, Fences, current_fence, fence

__all__ = ["ShardGroup"]

log = logging.getLogger(__name__)


class ShardGroup:
    """Runs ``build(shards)`` -- a started worker for the shards ``shards`` (a non-empty frozenset
    of :mod:`opentrail.shards` numbers) -- for the shards this node holds (module docstring).
    ``name`` is for the log. :attr:`shards` is the set the running worker serves (empty: none
    runs); :attr:`builds` counts the workers built."""

    def __init__(self, name: str, build: Callable[[frozenset[int]], Running]) -> None:
        self.name, self._build = name, build
        self._lock = threading.Lock()
        self._fences: dict[int, Fence | None] = {}
        self._running: Running | None = None
        self.shards: frozenset[int] = frozenset()
        self.builds = 0
        self._closed = False

    def take(self, shard: int) -> Running:
        """Add ``shard`` (its lease just taken; the calling thread's fence is that lease's) and
        return the handle whose ``stop()`` removes it again. Raises what ``build`` raises (the
        shard is then not added, and the worker of the shards held before runs again)."""
        own = current_fence()
        if isinstance(own, Fences):
            raise TypeError("a shard's lease has one fence")
        with self._lock:
            if self._closed:
                return _Held(self, shard)
            self._stop()
            self._fences[shard] = own
            try:
                self._start()
            except Exception:
                del self._fences[shard]
                self._restart_quietly()
                raise
        return _Held(self, shard)

    def give_up(self, shard: int) -> None:
        """Remove ``shard``: the worker stopped, then rebuilt for the shards left (if any). Once
        this returns nothing of the group writes for ``shard``."""
        with self._lock:
            if shard not in self._fences:
                return
            self._stop()
            del self._fences[shard]
            if not self._closed:
                self._restart_quietly()

    def close(self) -> None:
        """The node stops: stop the worker (while its leases are still held) and build none again,
        so the shards' leases, released one by one afterwards, do not each rebuild it."""
        with self._lock:
            self._closed = True
            self._stop()

    def _restart_quietly(self) -> None:
        try:
            self._start()
        except Exception:  # each shard's LeasedWorker stops its handle and takes its lease again
            log.exception("%s: starting the worker for shards %s failed", self.name, sorted(self._fences))
            for f in self._fences.values():
                if f is not None:
                    f.lost.set()

    def _start(self) -> None:
        if not self._fences:
            return
        shards = frozenset(self._fences)
        fences = tuple(f for f in self._fences.values() if f is not None)
        with fence(Fences(fences) if fences else None):
            self._running = self._build(shards)
        self.shards, self.builds = shards, self.builds + 1
        log.info("%s: worker started for shards %s", self.name, sorted(shards))

    def _stop(self) -> None:
        running, self._running, self.shards = self._running, None, frozenset()
        if running is not None:
            try:
                running.stop()
            except Exception:
                log.exception("%s: stopping the worker failed", self.name)


class _Held:
    """The handle of one shard in a :class:`ShardGroup` (a :class:`~opentrail.leased_worker.Running`)."""

    def __init__(self, group: ShardGroup, shard: int) -> None:
        self._group, self._shard = group, shard

    def stop(self) -> None:
        self._group.give_up(self._shard)
