"""Background workers that run on one node at a time: :class:`LeasedWorker` holds a lease
(:mod:`.leases`) and runs a worker only while it does; :class:`Coordinator` is this node's set of
them plus its heartbeat.

A :class:`LeasedWorker` thread tries to acquire its lease every ``retry_s``; once it holds it, it
calls ``start()`` -- which builds a *fresh* worker from durable state and starts it (the workers do
their crash recovery when built and started, so taking a lease over is a restart on another node)
and returns a :class:`Running` handle -- with the lease's fence set (:func:`opentrail.state_pg.fence`):
the calling thread and every thread started from it while it runs (the worker's threads, and their
threads) make fenced writes. It renews every ``renew_s`` (default ``ttl_s / 3``); when a renewal
fails, a fenced write raised :class:`~opentrail.state_pg.LeaseLost`, or no renewal succeeded for
``ttl_s`` (the database unreachable), it stops the worker (``Running.stop()``) and tries to acquire
again. :meth:`LeasedWorker.stop` stops the worker and releases the lease, so another node takes it
at once.

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

from .leases import Leases
from .state_pg import current_fence, fence

__all__ = ["Running", "ThreadRunning", "LeasedWorker", "Coordinator", "inherit_fences"]

log = logging.getLogger(__name__)


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
    ``retry_s`` is the time between acquisition attempts. :attr:`token` is the held lease's
    fencing token (None: not held); :attr:`runs` counts the workers started."""

    def __init__(self, leases: Leases, name: str, start: Callable[[], Running], *, renew_s: float | None = None,
                 retry_s: float = 1.0) -> None:
        super().__init__(name=f"opentrail-lease-{name}", daemon=True)
        inherit_fences()
        self.leases, self.lease_name, self._start = leases, name, start
        self._renew_s = leases.ttl_s / 3 if renew_s is None else renew_s
        self._retry_s = retry_s
        self._stopping = threading.Event()
        self.token: int | None = None
        self.runs = 0

    def stop(self) -> None:
        """Stop the worker, release the lease and end the thread (waits for it)."""
        self._stopping.set()
        if self.is_alive():
            self.join()

    def run(self) -> None:
        while not self._stopping.is_set():
            token = self._try(lambda: self.leases.acquire(self.lease_name), "acquiring")
            if token is None:
                self._stopping.wait(self._retry_s)
                continue
            self._hold(token)

    def _hold(self, token: int) -> None:
        f = self.leases.fence(self.lease_name, token)
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
        lost = f.lost if f is not None else threading.Event()
        while not self._stopping.is_set():
            if lost.wait(self._renew_s) or self._stopping.is_set():
                break
            ok = self._try(lambda: self.leases.renew(self.lease_name, token), "renewing")
            if ok:
                renewed = time.monotonic()
            elif ok is False or time.monotonic() - renewed >= self.leases.ttl_s:
                break
        self.token = None
        log.info("lease %s (token %d): %s; stopping the worker", self.lease_name, token,
                 "stopping" if self._stopping.is_set() else "lost")
        try:
            running.stop()
        except Exception:
            log.exception("lease %s: stopping the worker failed", self.lease_name)
        if self._stopping.is_set():
            self._try(lambda: self.leases.release(self.lease_name, token), "releasing")

    def _try(self, call: Callable[[], Any], what: str) -> Any:
        try:
            return call()
        except Exception as exc:  # the database unreachable: tried again next time
            log.warning("lease %s: %s failed: %s", self.lease_name, what, exc)
            return None


class Coordinator:
    """This node: its :class:`LeasedWorker` s (:meth:`supervise`) and a heartbeat thread refreshing
    its row of ``leases.nodes()`` every ``heartbeat_s`` (default ``ttl_s / 3``); ``url`` is where
    the node listens (shown by the health endpoint)."""

    def __init__(self, leases: Leases, *, url: str = "", heartbeat_s: float | None = None) -> None:
        self.leases, self.url = leases, url
        self._heartbeat_s = leases.ttl_s / 3 if heartbeat_s is None else heartbeat_s
        self.workers: list[LeasedWorker] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="opentrail-node-heartbeat", daemon=True)

    @property
    def node_id(self) -> str:
        return self.leases.node_id

    def supervise(self, name: str, start: Callable[[], Running], **kwargs: Any) -> LeasedWorker:
        """A :class:`LeasedWorker` for lease ``name`` (started by :meth:`start`)."""
        worker = LeasedWorker(self.leases, name, start, **kwargs)
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
        """Stop every worker (releasing their leases), the heartbeat, and forget this node."""
        for worker in self.workers:
            worker._stopping.set()
        for worker in self.workers:
            worker.stop()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.leases.forget_node()
        except Exception as exc:
            log.warning("forgetting this node failed: %s", exc)

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_s):
            try:
                self.leases.heartbeat(self.url)
            except Exception as exc:
                log.warning("node heartbeat failed: %s", exc)

    def health(self) -> dict[str, Any]:
        """This node's id, the nodes and the leases, as the health endpoint shows them."""
        return {
            "nodeId": self.node_id,
            "leaseTtlSeconds": self.leases.ttl_s,
            "nodes": [{"nodeId": n.node_id, "url": n.url, "host": n.host, "pid": n.pid, "started": n.started,
                       "lastSeen": n.last_seen} for n in self.leases.nodes()],
            "leases": [{"name": lease.name, "holder": lease.holder, "token": lease.token,
                        "expiresAt": lease.expires_at, "acquiredAt": lease.acquired_at}
                       for lease in self.leases.leases()],
        }
