"""Lease balancing among several :class:`~opentrail.leased_worker.Coordinator` s (issue 17): three
coordinators in one process stand in for three nodes on the real PostgreSQL (short lease, real
time, cheap workers that only note where they run). The twenty leases of :data:`opentrail.cluster.LEASES`
spread 7/7/6, each one running on exactly one node at every moment (a worker starting while
another node's worker of the same lease still runs is recorded); a node that stops hands its
leases to the other two (10/10); a node paused past its lease loses them and, once awake, gets its
share back; a lease the poorest node does not take is taken by another once free for the TTL; one
node holds all twenty."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pytest

from opentrail.cluster import LEASES
from opentrail.leased_worker import Coordinator
from opentrail.leases import Lease, Leases, NodeInfo

pytestmark = pytest.mark.parametrize("state_backend", ["postgres"])
TTL_S = 2.0
BEAT_S = 0.1  # the balancing check period (heartbeat); the hysteresis is two of them


class PausableLeases(Leases):
    """A node whose every lease and heartbeat call can be paused (as SIGSTOP would) while its
    workers keep running."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.awake = threading.Event()
        self.awake.set()
        self.acquiring = threading.Event()  # cleared: acquisitions alone wait (a node that never takes a lease)
        self.acquiring.set()

    def acquire(self, name: str) -> int | None:
        self.awake.wait()
        self.acquiring.wait()
        return super().acquire(name)

    def renew(self, name: str, token: int) -> bool:
        self.awake.wait()
        return super().renew(name, token)

    def leases(self) -> list[Lease]:
        self.awake.wait()
        return super().leases()

    def nodes(self) -> list[NodeInfo]:
        self.awake.wait()
        return super().nodes()

    def heartbeat(self, url: str = "") -> None:
        self.awake.wait()
        super().heartbeat(url)


class Cluster:
    """The nodes of one test: ``running`` maps each lease to the nodes running its worker now;
    ``overlaps`` records every start while another node ran the same lease."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.lock = threading.Lock()
        self.running: dict[str, set[str]] = {name: set() for name in LEASES}
        self.overlaps: list[tuple[str, frozenset[str]]] = []
        self.nodes: dict[str, Coordinator] = {}
        self.stop_gates: dict[tuple[str, str], threading.Event] = {}  # (node, lease): its worker's stop waits
        self.observer = Leases(state_dir, "observer", time.time, ttl_s=TTL_S)

    def start_node(self, node: str, *, acquiring: bool = True) -> Coordinator:
        leases = PausableLeases(self.state_dir, node, time.time, ttl_s=TTL_S)
        if not acquiring:
            leases.acquiring.clear()
        coordinator = Coordinator(leases, heartbeat_s=BEAT_S)
        for name in LEASES:
            coordinator.supervise(name, lambda node=node, name=name: self.work(node, name), retry_s=0.1)
        coordinator.start()
        self.nodes[node] = coordinator
        return coordinator

    def work(self, node: str, name: str) -> "Work":
        with self.lock:
            if self.running[name]:
                self.overlaps.append((name, frozenset(self.running[name] | {node})))
            self.running[name].add(node)
        return Work(self, node, name)

    def holders(self) -> dict[str, str]:
        """Each lease's unexpired holder in the database."""
        now = time.time()
        return {x.name: x.holder for x in self.observer.leases() if x.holder and x.expires_at > now}

    def counts(self) -> dict[str, int]:
        """How many leases each node holds in the database, nodes holding none included."""
        held = Counter(self.holders().values())
        return {node: held[node] for node in self.nodes}

    def settled(self) -> bool:
        """Every lease held in the database by the one node running its worker, as that node's
        coordinator sees it too."""
        holders = self.holders()
        with self.lock:
            running = {name: set(nodes) for name, nodes in self.running.items()}
        return len(holders) == len(LEASES) and all(
            running[name] == {node} and self.nodes[node].workers[LEASES.index(name)].token is not None
            for name, node in holders.items())

    def handoffs(self) -> dict[str, int]:
        return {node: sum(w.handoffs for w in c.workers) for node, c in self.nodes.items()}

    def stop(self) -> None:
        for coordinator in self.nodes.values():
            assert isinstance(coordinator.leases, PausableLeases)
            coordinator.leases.awake.set()
            coordinator.leases.acquiring.set()
            coordinator.stop()
            coordinator.leases.close()
        self.observer.close()


class Work:
    """A cheap worker: notes that it runs; ``stop()`` notes that it stopped."""

    def __init__(self, cluster: Cluster, node: str, name: str) -> None:
        self.cluster, self.node, self.name = cluster, node, name

    def stop(self) -> None:
        gate = self.cluster.stop_gates.get((self.node, self.name))
        if gate is not None:
            assert gate.wait(10)
        with self.cluster.lock:
            self.cluster.running[self.name].discard(self.node)


@pytest.fixture
def cluster(state_dir: Path) -> Iterator[Cluster]:
    c = Cluster(state_dir)
    try:
        yield c
    finally:
        c.stop()


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_one_node_holds_every_lease_and_keeps_them(cluster: Cluster) -> None:
    a = cluster.start_node("a")
    assert wait_until(cluster.settled)
    assert len(LEASES) == 20
    assert cluster.counts() == {"a": 20}
    time.sleep(8 * BEAT_S)  # eight balancing checks: nothing to balance on one node
    assert cluster.counts() == {"a": 20}
    assert [w.runs for w in a.workers] == [1] * 20
    assert cluster.handoffs() == {"a": 0}
    assert cluster.overlaps == []
    health = a.health()
    assert [(n["nodeId"], n["live"], n["leaseCount"]) for n in health["nodes"]] == [("a", True, 20)]


def test_three_nodes_spread_the_leases_and_a_stopped_one_hands_them_over(cluster: Cluster) -> None:
    a = cluster.start_node("a")
    assert wait_until(cluster.settled)
    assert cluster.counts() == {"a": 20}
    cluster.start_node("b")
    cluster.start_node("c")
    # a, the richest, gives one lease up at a time to the poorest: 19/1/0, 18/1/1, ..., 8/6/6, 7/7/6
    assert wait_until(lambda: cluster.settled() and sorted(cluster.counts().values()) == [6, 7, 7])
    counts = cluster.counts()
    assert counts["a"] == 7 and sorted((counts["b"], counts["c"])) == [6, 7]
    time.sleep(8 * BEAT_S)  # balanced: nothing moves any more
    assert cluster.settled() and cluster.counts() == counts
    assert cluster.handoffs() == {"a": 13, "b": 0, "c": 0}
    health = a.health()
    assert [(n["nodeId"], n["live"], n["leaseCount"]) for n in health["nodes"]] == [
        ("a", True, 7), ("b", True, counts["b"]), ("c", True, counts["c"])]

    # c stops: it leaves the node table, then stops its workers, the last slowly; the leases
    # of the others move at once, the slow one's once its worker stopped
    first, *_, slow = sorted(name for name, holder in cluster.holders().items() if holder == "c")
    gate = cluster.stop_gates[("c", slow)] = threading.Event()
    stopping = threading.Thread(target=cluster.nodes["c"].stop)
    stopping.start()
    stopped_at = time.monotonic()
    assert wait_until(lambda: cluster.holders().get(first, "c") in ("a", "b") and len(cluster.running[first]) == 1,
                      TTL_S)
    assert cluster.holders()[slow] == "c" and cluster.running[slow] == {"c"}
    gate.set()
    stopping.join()
    del cluster.nodes["c"]
    assert wait_until(lambda: cluster.settled() and sorted(cluster.counts().values()) == [10, 10], TTL_S)
    assert time.monotonic() - stopped_at < TTL_S
    time.sleep(8 * BEAT_S)
    assert cluster.settled() and sorted(cluster.counts().values()) == [10, 10]
    assert cluster.handoffs() == {"a": 13, "b": 0}
    assert cluster.overlaps == []  # never two nodes running one lease's work


def test_a_lease_the_poorest_node_does_not_take_is_taken_back_within_the_ttl(cluster: Cluster) -> None:
    cluster.start_node("a")
    assert wait_until(cluster.settled)
    cluster.start_node("z", acquiring=False)  # live (heartbeats) but never gets a lease
    assert wait_until(lambda: cluster.handoffs()["a"] == 1)  # a gives a lease up for z
    given_at = time.monotonic()
    assert len(cluster.holders()) == 19
    # a leaves it to z, the poorer, until it has been free for the TTL: liveness beats balance
    assert wait_until(lambda: Counter(cluster.holders().values()) == {"a": 20}, TTL_S + 1.0)
    assert time.monotonic() - given_at > TTL_S - 0.5
    assert cluster.overlaps == []


def test_a_paused_node_loses_its_leases_within_the_ttl_and_gets_its_share_back(cluster: Cluster) -> None:
    cluster.start_node("a")
    assert wait_until(cluster.settled)
    cluster.start_node("b")
    cluster.start_node("c")
    assert wait_until(lambda: cluster.settled() and sorted(cluster.counts().values()) == [6, 7, 7])
    paused = cluster.nodes["b"].leases
    assert isinstance(paused, PausableLeases)
    b_leases = {name for name, holder in cluster.holders().items() if holder == "b"}
    assert len(b_leases) in (6, 7)
    paused.awake.clear()  # b stops renewing and heartbeating; its workers run on (fencing stops their writes)
    paused_at = time.monotonic()
    assert wait_until(lambda: sorted(cluster.holders().values()).count("b") == 0
                      and len(cluster.holders()) == 20, TTL_S + 3)
    assert time.monotonic() - paused_at < TTL_S + 3  # a dead node's work moves within the TTL and seconds
    assert sorted(Counter(cluster.holders().values()).values()) == [10, 10]

    def doubled() -> set[str]:
        with cluster.lock:
            return {name for name, nodes in cluster.running.items() if len(nodes) == 2}

    # b's stale workers still run in memory next to their successors (once a hand-off between a
    # and c of a lease they took from b, if one is in flight, has started its new worker)
    assert wait_until(lambda: doubled() == b_leases, TTL_S), doubled()
    overlaps_while_paused = len(cluster.overlaps)
    # one per lease b held (two if a and c passed one of them on between them meanwhile), each with b
    assert overlaps_while_paused >= len(b_leases) and {name for name, _ in cluster.overlaps} == b_leases
    assert all(len(nodes) == 2 and "b" in nodes for _, nodes in cluster.overlaps)

    paused.awake.set()  # b wakes: its renewals fail, it stops its stale workers, then gets its share back
    assert wait_until(lambda: cluster.settled() and sorted(cluster.counts().values()) == [6, 7, 7], 15.0)
    assert len(cluster.overlaps) == overlaps_while_paused  # no overlap but the paused node's
