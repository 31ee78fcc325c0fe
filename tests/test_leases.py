"""Conformance of the lease table (:mod:`opentrail.leases`) on SQLite and PostgreSQL: two
:class:`Leases` objects on one data directory stand in for two nodes; the clock is injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.leases import FORGET_NODE_S, Lease, Leases, NodeInfo, new_node_id
from opentrail.state_pg import Fence
from tests.state_backends import HandClock as Clock




@pytest.fixture
def clock() -> Clock:
    return Clock(1_700_000_000.0)


def two_nodes(state_dir: Path, clock: Clock) -> tuple[Leases, Leases]:
    return Leases(state_dir, "node-a", clock, ttl_s=10.0), Leases(state_dir, "node-b", clock, ttl_s=10.0)


def test_acquire_renew_takeover_release(state_dir: Path, clock: Clock) -> None:
    a, b = two_nodes(state_dir, clock)
    t0 = clock.now
    assert a.acquire("delivery") == 1
    assert b.acquire("delivery") is None
    assert a.leases() == [Lease("delivery", "node-a", 1, t0 + 10.0, t0)]
    clock.now += 4
    assert a.renew("delivery", 1) is True
    assert b.renew("delivery", 1) is False  # not b's
    clock.now += 9  # 13 s after acquiring, 9 after the renewal: still a's
    assert b.acquire("delivery") is None
    clock.now += 1  # expired
    assert b.acquire("delivery") == 2
    assert a.renew("delivery", 1) is False
    assert a.release("delivery", 1) is False
    assert b.leases() == [Lease("delivery", "node-b", 2, t0 + 24.0, t0 + 14.0)]
    assert b.release("delivery", 2) is True
    assert a.leases() == [Lease("delivery", "", 2, 0.0, t0 + 14.0)]
    assert a.acquire("delivery") == 3  # free at once after a release
    a.close()
    b.close()


def test_acquire_again_while_held_keeps_the_token(state_dir: Path, clock: Clock) -> None:
    a, b = two_nodes(state_dir, clock)
    t0 = clock.now
    assert a.acquire("lake") == 1
    clock.now += 5
    assert a.acquire("lake") == 1
    assert a.leases() == [Lease("lake", "node-a", 1, t0 + 15.0, t0)]
    clock.now += 15  # expired: acquiring again is a new holding, a new token
    assert a.acquire("lake") == 2
    assert b.acquire("lake") is None
    a.close()
    b.close()


def test_an_expired_lease_nobody_took_is_renewed(state_dir: Path, clock: Clock) -> None:
    a, b = two_nodes(state_dir, clock)
    assert a.acquire("digests") == 1
    clock.now += 30
    assert a.renew("digests", 1) is True
    assert b.acquire("digests") is None
    a.close()
    b.close()


def test_leases_are_independent_and_listed_by_name(state_dir: Path, clock: Clock) -> None:
    a, b = two_nodes(state_dir, clock)
    t0 = clock.now
    assert b.acquire("retention") == 1
    assert a.acquire("delivery") == 1
    assert a.acquire("retention") is None
    assert [(x.name, x.holder, x.token) for x in a.leases()] == [("delivery", "node-a", 1), ("retention", "node-b", 1)]
    assert b.leases()[0] == Lease("delivery", "node-a", 1, t0 + 10.0, t0)
    a.close()
    b.close()


def test_nodes_heartbeat_and_forget(state_dir: Path, clock: Clock) -> None:
    import os
    import socket

    a, b = two_nodes(state_dir, clock)
    t0 = clock.now
    a.heartbeat("http://127.0.0.1:4588")
    clock.now += 3
    b.heartbeat("http://127.0.0.1:4589")
    a.heartbeat("http://127.0.0.1:4588")
    host, pid = socket.gethostname(), os.getpid()
    assert b.nodes() == [NodeInfo("node-a", "http://127.0.0.1:4588", host, pid, t0, t0 + 3),
                         NodeInfo("node-b", "http://127.0.0.1:4589", host, pid, t0, t0 + 3)]
    b.forget_node()
    assert [n.node_id for n in a.nodes()] == ["node-a"]
    clock.now += FORGET_NODE_S + 1
    b.heartbeat("")  # a not heard from for a day is dropped
    assert [n.node_id for n in a.nodes()] == ["node-b"]
    a.close()
    b.close()


def test_fence_names_the_lease_table_on_postgres_only(state_dir: Path, state_backend: str, clock: Clock) -> None:
    a = Leases(state_dir, "node-a", clock)
    if state_backend == "sqlite":
        assert a.fence("delivery", 1) is None
    else:
        assert a.fence("delivery", 1) == Fence(a.schema or "", "delivery", 1)
        assert (a.schema or "").endswith("_leases")
    a.close()


def test_node_ids_differ_per_start() -> None:
    first, second = new_node_id(), new_node_id()
    assert first != second
    assert first.rsplit("-", 1)[0] == second.rsplit("-", 1)[0]


def test_ttl_must_be_positive(tmp_path: Path, clock: Clock) -> None:
    with pytest.raises(ValueError, match="ttl_s must be positive"):
        Leases(tmp_path, "n", clock, ttl_s=0)
