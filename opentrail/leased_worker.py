"""Background workers that run on one node at a time: :class:`LeasedWorker` holds a lease
(:mod:`.leases`) and runs a worker only while it does; :class:`Coordinator` is this node's set of
them plus its heartbeat and the balancing of the leases among the nodes (:mod:`.lease_balance`).

A :class:`LeasedWorker` thread tries to acquire its lease every ``retry_s``; once it holds it, it
calls ``start()`` -- which builds a *fresh* worker from durable state and starts it (the workers do
their crash recovery when built and started, so taking a lease over is a restart on another node)
and returns a :class:`Running` handle -- with the lease's fence set (:func:`opentrail.state_pg.fence`):
the calling thread and every thread started from it while it runs (the worker's threads, and their
threads) make fenced writes. It renews every ``renew_s`` (default ``ttl_s / 3``); when a renewal
fails, a fenced write raised :class:`~opentrail.state_pg.LeaseLost`, or no renewal succeeded for
``ttl_s`` (the database unreachable), it stops the worker (``Running.stop()``) and tries to acquire
again. :meth:`LeasedWorker.stop` stops the worker and releases the lease, so another node takes it
at once; :meth:`LeasedWorker.hand_off` does the same (the worker stopped before the lease is
released) and goes on trying to acquire it, which the coordinator's balancing lets another node do
first.

Fence inheritance: :func:`inherit_fences` (installed by the first :class:`LeasedWorker`) makes
``threading.Thread.start`` give the new thread the starting thread's fence, so threads a worker
starts itself (the CloudWatch Logs appender, the EventBridge dispatcher and its target senders)
are fenced too; and ``ThreadPoolExecutor.submit`` runs the task under the submitting thread's
fence. Pool threads themselves are never fenced (a pool serves every submitter).
"""

from __future__ import annotations

import concurrent.futures.thread
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

from .lease_balance import gives_up, is_free, lease_counts, live_nodes, may_take
from .leases import Lease, Leases
from .state_pg import current_fence, fence

__all__ = ["BALANCE_AFTER", "Running", "ThreadRunning", "LeasedWorker", "Coordinator", "inherit_fences"]

log = logging.getLogger(__name__)

#: Consecutive balancing checks (heartbeats) a node sees itself as the one to give a lease up before
#: it does (hysteresis: a lease in flight between nodes is not mistaken for an imbalance).
BALANCE_AFTER = 2


class Running(Protocol):
    """A started worker: ``stop()`` asks it to stop and waits for it."""

    def stop(self) -> None: ...


class ThreadRunning:
    """:class:`Running` for started worker threads with a ``stop()`` that asks them to stop: stops
    each (in order) then joins each within ``join_s``; ``after`` runs last (closing what the
    worker owned)."""

    def __init__(self, *threads: Any, join_s: float = 30.0, after: Callable[[], None] | None = None) -> None:
        self._threads, self._join_s, self._after = threads, join_s, after

    def stop(self) -> None:
        for thread in self._threads:
            thread.stop()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=self._join_s)
        if self._after is not None:
            self._after()


_inherit_lock = threading.Lock()
_original_start: Callable[[threading.Thread], None] | None = None


def inherit_fences() -> None:
    """From now on a thread started by a fenced thread runs under the same fence (idempotent)."""
    global _original_start
    with _inherit_lock:
        if _original_start is not None:
            return
        original = _original_start = threading.Thread.start

        def start(self: threading.Thread) -> None:
            f = current_fence()
            if f is not None and getattr(self, "_target", None) is not concurrent.futures.thread._worker:
                run = self.run

                def fenced_run() -> None:
                    with fence(f):
                        run()

                self.run = fenced_run  # type: ignore[method-assign]
            original(self)

        threading.Thread.start = start  # type: ignore[method-assign]
        submit_unfenced = ThreadPoolExecutor.submit

        def submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            f = current_fence()
            if f is None:
                return submit_unfenced(self, fn, *args, **kwargs)

            def fenced(*a: Any, **k: Any) -> Any:
                with fence(f):
                    return fn(*a, **k)

            return submit_unfenced(self, fenced, *args, **kwargs)

        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]


class LeasedWorker(threading.Thread):
    """Runs the worker ``start()`` builds and starts while this node holds the lease ``name`` of
    ``leases`` (module docstring). ``renew_s`` defaults to a third of the lease's ``ttl_s``;
    ``retry_s`` is the time between acquisition attempts; ``acquire(name)`` takes the lease (a
    fencing token, or None: not taken; default ``leases.acquire``, a :class:`Coordinator` passes
    its balancing one). :attr:`token` is the held lease's fencing token (None: not held);
    :attr:`runs` counts the workers started, :attr:`handoffs` the leases given up by
    :meth:`hand_off`."""

    def __init__(self, leases: Leases, name: str, start: Callable[[], Running], *, renew_s: float | None = None,
                 retry_s: float = 1.0, acquire: Callable[[str], int | None] | None = None) -> None:
        super().__init__(name=f"opentrail-lease-{name}", daemon=True)
        inherit_fences()
        self.leases, self.lease_name, self._start = leases, name, start
        self._acquire = leases.acquire if acquire is None else acquire
        self._renew_s = leases.ttl_s / 3 if renew_s is None else renew_s
        self._retry_s = retry_s
        self._stopping = threading.Event()
        self._wake = threading.Event()  # the held lease's: set to stop waiting for the next renewal
        self._hand_off: int | None = None  # the token of the holding to give up
        self.token: int | None = None
        self.runs = self.handoffs = 0

    def stop(self) -> None:
        """Stop the worker, release the lease and end the thread (waits for it)."""
        self.request_stop()
        if self.is_alive():
            self.join()

    def request_stop(self) -> None:
        """Ask the thread to stop the worker, release the lease and end (returns at once)."""
        self._stopping.set()
        self._wake.set()

    def hand_off(self, token: int) -> None:
        """Give the lease up if it is still held with ``token`` (returns at once): stop the worker,
        then release the lease, so another node takes it at once; acquisition attempts go on."""
        self._hand_off = token
        if self.token == token:
            self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            token = self._try(lambda: self._acquire(self.lease_name), "acquiring")
            if token is None:
                self._stopping.wait(self._retry_s)
                continue
            self._hold(token)

    def _hold(self, token: int) -> None:
        f = self.leases.fence(self.lease_name, token)
        # a write finding the lease lost sets the fence's event: it wakes the wait below too
        wake = self._wake = threading.Event() if f is None else f.lost
        if self._stopping.is_set():
            wake.set()
        try:
            with fence(f):
                running = self._start()
        except Exception:
            log.exception("lease %s: starting the worker failed", self.lease_name)
            self._try(lambda: self.leases.release(self.lease_name, token), "releasing")
            self._stopping.wait(self._retry_s)
            return
        self.token, self.runs = token, self.runs + 1
        log.info("lease %s: held with token %d; worker started", self.lease_name, token)
        renewed = time.monotonic()
        handing_off = False
        while not self._stopping.is_set():
            if self._hand_off == token:
                handing_off = True
                break
            if wake.wait(self._renew_s) or self._stopping.is_set():
                handing_off = self._hand_off == token and not self._stopping.is_set()
                break
            ok = self._try(lambda: self.leases.renew(self.lease_name, token), "renewing")
            if ok:
                renewed = time.monotonic()
            elif ok is False or time.monotonic() - renewed >= self.leases.ttl_s:
                break
        self.token = None
        log.info("lease %s (token %d): %s; stopping the worker", self.lease_name, token,
                 "stopping" if self._stopping.is_set() else "handing off" if handing_off else "lost")
        try:
            running.stop()
        except Exception:
            log.exception("lease %s: stopping the worker failed", self.lease_name)
        if self._stopping.is_set() or handing_off:  # released only once the worker stopped
            self._try(lambda: self.leases.release(self.lease_name, token), "releasing")
        if handing_off:
            self.handoffs += 1
            self._stopping.wait(self._retry_s)  # a head start for the node meant to take it

    def _try(self, call: Callable[[], Any], what: str) -> Any:
        try:
            return call()
        except Exception as exc:  # the database unreachable: tried again next time
            log.warning("lease %s: %s failed: %s", self.lease_name, what, exc)
            return None


class Coordinator:
    """This node: its :class:`LeasedWorker` s (:meth:`supervise`) and a heartbeat thread refreshing
    its row of ``leases.nodes()`` every ``heartbeat_s`` (default ``ttl_s / 3``, the renewal
    period); ``url`` is where the node listens (shown by the health endpoint).

    It balances the leases among the live nodes (:mod:`.lease_balance`): its workers take a free
    lease only when no other live node holds fewer (or nobody took it for ``ttl_s``), and after
    each heartbeat it checks the balance; once this node has been the one to give a lease up on
    ``balance_after`` consecutive checks, it hands off the lease it took last
    (:meth:`LeasedWorker.hand_off`: the worker stopped, then the lease released) -- at most one
    lease every ``balance_after`` heartbeats."""

    def __init__(self, leases: Leases, *, url: str = "", heartbeat_s: float | None = None,
                 balance_after: int = BALANCE_AFTER) -> None:
        self.leases, self.url = leases, url
        self._heartbeat_s = leases.ttl_s / 3 if heartbeat_s is None else heartbeat_s
        self._balance_after = balance_after
        self.workers: list[LeasedWorker] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="opentrail-node-heartbeat", daemon=True)
        self._take_lock = threading.Lock()
        self._taking = 0  # acquisitions in flight (not yet in a reading of the lease table)
        self._free_since: dict[str, float] = {}  # lease name -> when first seen free (lease clock)
        self._imbalance_seen = 0
        #: called by :meth:`stop` once the heartbeat stopped, before the workers stop (their leases
        #: still held): e.g. :meth:`opentrail.shard_group.ShardGroup.close`
        self.before_stop: list[Callable[[], None]] = []

    @property
    def node_id(self) -> str:
        return self.leases.node_id

    def supervise(self, name: str, start: Callable[[], Running], **kwargs: Any) -> LeasedWorker:
        """A :class:`LeasedWorker` for lease ``name`` (started by :meth:`start`), taking it under
        this node's balancing."""
        worker = LeasedWorker(self.leases, name, start, acquire=self._acquire, **kwargs)
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        try:
            self.leases.heartbeat(self.url)
        except Exception as exc:
            log.warning("node heartbeat failed: %s", exc)
        self._thread.start()
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        """Stop the heartbeat and forget this node (so other nodes take the leases it releases at
        once instead of leaving them to it, a live node holding fewer), then stop every worker,
        releasing each lease once its worker stopped."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.leases.forget_node()
        except Exception as exc:
            log.warning("forgetting this node failed: %s", exc)
        for call in self.before_stop:
            try:
                call()
            except Exception:
                log.exception("stopping the node's shared work failed")
        for worker in self.workers:
            worker.request_stop()
        for worker in self.workers:
            worker.stop()

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_s):
            try:
                self.leases.heartbeat(self.url)
            except Exception as exc:
                log.warning("node heartbeat failed: %s", exc)
            try:
                self.balance()
            except Exception as exc:
                log.warning("lease balancing failed: %s", exc)

    # --- balancing --------------------------------------------------------------------------------
    def _reading(self) -> tuple[float, dict[str, Lease], dict[str, int]]:
        """(now, this node's leases by name, the lease counts of the live nodes), read now; notes
        when each lease was first seen free."""
        names = {w.lease_name for w in self.workers}
        leases, nodes = self.leases.leases(), self.leases.nodes()
        now = self.leases.clock()
        by_name = {lease.name: lease for lease in leases if lease.name in names}
        for name in names:
            lease = by_name.get(name)
            if not is_free(lease, now):
                self._free_since.pop(name, None)
            elif name not in self._free_since:  # expired: free since it expired; else since seen
                expired = lease is not None and lease.holder != "" and lease.expires_at > 0
                self._free_since[name] = lease.expires_at if expired and lease is not None else now
        live = live_nodes(nodes, self.node_id, now, self.leases.ttl_s)
        return now, by_name, lease_counts(leases, names, live, now)

    def _acquire(self, name: str) -> int | None:
        """``leases.acquire(name)`` when the balance lets this node take the lease (held by another
        node: not tried)."""
        with self._take_lock:
            now, by_name, counts = self._reading()
            lease = by_name.get(name)
            if lease is None or lease.holder != self.node_id:  # this node's own lease: taken again, as ever
                if not is_free(lease, now):
                    return None
                counts[self.node_id] += self._taking
                free_for_s = now - self._free_since.get(name, now)
                if not may_take(self.node_id, counts, free_for_s, self.leases.ttl_s):
                    return None
            self._taking += 1
        try:
            return self.leases.acquire(name)
        finally:
            with self._take_lock:
                self._taking -= 1

    def balance(self) -> str | None:
        """One balancing check (run after each heartbeat): the name of the lease this node starts
        to hand off, or None."""
        with self._take_lock:
            now, by_name, counts = self._reading()
        any_free = any(is_free(by_name.get(w.lease_name), now) for w in self.workers)
        if not gives_up(self.node_id, counts, any_free):
            self._imbalance_seen = 0
            return None
        self._imbalance_seen += 1
        if self._imbalance_seen < self._balance_after:
            return None
        held = {w.lease_name: w for w in self.workers if w.token is not None}
        mine = sorted((lease for lease in by_name.values() if lease.holder == self.node_id and lease.name in held
                       and held[lease.name].token == lease.token), key=lambda x: (x.acquired_at, x.name))
        if not mine:
            return None
        self._imbalance_seen = 0
        last = mine[-1]
        log.info("lease %s: handing it off to balance the leases (%s)", last.name,
                 ", ".join(f"{node}: {n}" for node, n in sorted(counts.items())))
        held[last.name].hand_off(last.token)
        return last.name

    def health(self) -> dict[str, Any]:
        """This node's id, the nodes (``live``: heartbeat fresh; ``leaseCount``: the leases it
        holds) and the leases, as the health endpoint shows them."""
        leases, nodes = self.leases.leases(), self.leases.nodes()
        now = self.leases.clock()
        live = live_nodes(nodes, self.node_id, now, self.leases.ttl_s)
        held = lease_counts(leases, {x.name for x in leases}, {n.node_id for n in nodes}, now)
        return {
            "nodeId": self.node_id,
            "leaseTtlSeconds": self.leases.ttl_s,
            "nodes": [{"nodeId": n.node_id, "url": n.url, "host": n.host, "pid": n.pid, "started": n.started,
                       "lastSeen": n.last_seen, "live": n.node_id in live, "leaseCount": held[n.node_id]}
                      for n in nodes],
            "leases": [{"name": lease.name, "holder": lease.holder, "token": lease.token,
                        "expiresAt": lease.expires_at, "acquiredAt": lease.acquired_at}
                       for lease in leases],
        }
