"""Two :class:`~opentrail.leased_worker.LeasedWorker` supervisors in one process stand in for two
nodes on the real PostgreSQL (short lease, real time): one runs the worker at a time; when the
holder stops renewing (its lease thread paused), the other takes over within the lease time, and
the paused holder's worker, still running, cannot write any more (fencing); its LeaseLost makes its
supervisor stop it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from opentrail.leased_worker import Coordinator, LeasedWorker, ThreadRunning
from opentrail.leases import Leases
from opentrail.state_db import open_state_db
from opentrail.state_pg import LeaseLost, current_fence

pytestmark = pytest.mark.parametrize("state_backend", ["postgres"])
TTL_S = 1.0


class PausableLeases(Leases):
    """A node whose lease thread can be paused (as SIGSTOP would) while its worker keeps going."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.awake = threading.Event()
        self.awake.set()

    def renew(self, name: str, token: int) -> bool:
        self.awake.wait()
        return super().renew(name, token)


class Writer(threading.Thread):
    """A worker: writes a row (its node, its lease token) every 20 ms, fenced; counts LeaseLost."""

    def __init__(self, path: Path, node: str) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.conn = open_state_db(path)
        self.stopping = threading.Event()
        self.lost = 0

    def run(self) -> None:
        fence = current_fence()  # inherited from the lease thread that started this one
        assert fence is not None
        token = fence.token
        while not self.stopping.wait(0.02):
            try:
                self.conn.execute("INSERT INTO done (node, token) VALUES (?, ?)", (self.node, token))
            except LeaseLost:
                self.lost += 1

    def stop(self) -> None:
        self.stopping.set()


def test_the_worker_moves_when_its_holder_stops_renewing(state_dir: Path) -> None:
    work = open_state_db(state_dir / "work.db")
    work.executescript("CREATE TABLE IF NOT EXISTS done (id INTEGER PRIMARY KEY, node TEXT NOT NULL, token INTEGER NOT NULL);")
    started: dict[str, list[Writer]] = {"a": [], "b": []}
    running: set[str] = set()
    overlaps: list[set[str]] = []
    nodes: dict[str, tuple[PausableLeases, LeasedWorker]] = {}

    def factory(node: str) -> ThreadRunning:
        if running:
            overlaps.append(set(running) | {node})
        running.add(node)
        writer = Writer(state_dir / "work.db", node)
        writer.start()
        started[node].append(writer)
        return ThreadRunning(writer, after=lambda: (running.discard(node), writer.conn.close()))

    for node in ("a", "b"):
        leases = PausableLeases(state_dir, f"node-{node}", time.time, ttl_s=TTL_S)
        nodes[node] = (leases, LeasedWorker(leases, "delivery", lambda node=node: factory(node), retry_s=0.05))
    nodes["a"][1].start()
    deadline = time.monotonic() + 5
    while nodes["a"][1].token is None and time.monotonic() < deadline:
        time.sleep(0.01)
    nodes["b"][1].start()
    time.sleep(0.5)
    assert (nodes["a"][1].token, nodes["b"][1].token) == (1, None)
    assert running == {"a"}

    nodes["a"][0].awake.clear()  # a's lease thread is paused; its worker keeps writing
    paused_at = time.monotonic()
    while nodes["b"][1].token is None and time.monotonic() - paused_at < 5:
        time.sleep(0.01)
    moved_after = time.monotonic() - paused_at
    assert nodes["b"][1].token == 2
    assert moved_after < TTL_S + 1.0
    deadline = time.monotonic() + 5
    while started["a"][0].lost == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started["a"][0].lost > 0  # a's worker ran on after the takeover, and could not write
    nodes["a"][0].awake.set()  # a wakes: its renewal fails (or its fence reported the loss): worker stopped
    deadline = time.monotonic() + 5
    while "a" in running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running == {"b"}
    assert nodes["a"][1].token is None

    deadline = time.monotonic() + 5  # b's worker wrote (stopping wakes b's lease thread at once)
    while not work.execute("SELECT 1 FROM done WHERE node = 'b'").fetchall() and time.monotonic() < deadline:
        time.sleep(0.01)
    nodes["b"][1].stop()  # b shuts down: releases the lease; a takes it at once, in a fresh worker
    deadline = time.monotonic() + 5
    while nodes["a"][1].token is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert nodes["a"][1].token == 3
    assert len(started["a"]) == 2 and started["a"][0] is not started["a"][1]
    time.sleep(0.2)
    nodes["a"][1].stop()
    written = [tuple(r) for r in work.execute("SELECT node, token FROM done ORDER BY id").fetchall()]
    # one holder at a time in the database: a's rows (token 1), then b's (2), then a's again (3)
    runs = [key for i, key in enumerate(written) if i == 0 or written[i - 1] != key]
    assert runs == [("a", 1), ("b", 2), ("a", 3)]
    assert overlaps == [{"a", "b"}]  # in memory a's stale worker overlapped b's: only fencing stopped it
    assert [lease.holder for lease in nodes["a"][0].leases()] == [""]
    work.close()


def test_coordinator_health_lists_nodes_and_leases(state_dir: Path) -> None:
    leases = Leases(state_dir, "node-x", time.time, ttl_s=TTL_S)
    coordinator = Coordinator(leases, url="http://127.0.0.1:1")
    stopped = threading.Event()

    class Idle:
        def stop(self) -> None:
            stopped.set()

    worker = coordinator.supervise("retention", Idle)
    coordinator.start()
    deadline = time.monotonic() + 5
    while worker.token is None and time.monotonic() < deadline:
        time.sleep(0.01)
    health = coordinator.health()
    assert health["nodeId"] == "node-x"
    assert [(n["nodeId"], n["url"]) for n in health["nodes"]] == [("node-x", "http://127.0.0.1:1")]
    assert [(x["name"], x["holder"], x["token"]) for x in health["leases"]] == [("retention", "node-x", 1)]
    coordinator.stop()
    assert stopped.is_set()
    assert leases.nodes() == []
    assert [(x.holder, x.token) for x in leases.leases()] == [("", 1)]
    leases.close()
