"""The balancing rules of :mod:`opentrail.lease_balance` on hand-made readings of the lease and
node tables (no database): who is live, who holds how many, who may take a free lease and who
gives one up."""

from __future__ import annotations

import pytest

from opentrail.lease_balance import gives_up, is_free, lease_counts, live_nodes, may_take
from opentrail.leases import Lease, NodeInfo

NOW = 1_700_000_000.0
TTL_S = 10.0
NAMES = ("delivery", "lake", "dashboards", "insights", "alarms", "event-bus", "retention")


def node(node_id: str, seen_ago_s: float) -> NodeInfo:
    return NodeInfo(node_id, "", "h", 1, NOW - 100, NOW - seen_ago_s)


def held(name: str, holder: str, expires_in_s: float = 5.0) -> Lease:
    return Lease(name, holder, 1, NOW + expires_in_s, NOW - 1)


def test_live_nodes_have_a_fresh_heartbeat_and_include_this_node() -> None:
    nodes = [node("a", 0.0), node("b", 9.9), node("c", 10.0), node("d", 400.0)]
    assert live_nodes(nodes, "a", NOW, TTL_S) == {"a", "b"}
    assert live_nodes([], "me", NOW, TTL_S) == {"me"}  # no heartbeat written yet: still live


def test_free_means_released_expired_or_never_taken() -> None:
    assert is_free(None, NOW) is True
    assert is_free(Lease("lake", "", 3, 0.0, NOW - 5), NOW) is True
    assert is_free(held("lake", "a", expires_in_s=0.0), NOW) is True
    assert is_free(held("lake", "a", expires_in_s=0.1), NOW) is False


def test_counts_are_per_live_node_of_the_supervised_leases() -> None:
    leases = [held("delivery", "a"), held("lake", "a"), held("alarms", "b"),
              held("insights", "c"),  # c is not live: counts for nobody
              held("retention", "a", expires_in_s=-1.0),  # expired
              Lease("event-bus", "", 2, 0.0, NOW - 3),  # released
              held("digests", "b")]  # not one of the names
    assert lease_counts(leases, NAMES, {"a", "b", "d"}, NOW) == {"a": 2, "b": 1, "d": 0}


@pytest.mark.parametrize(("counts", "me", "free_for_s", "expected"), [
    ({"a": 0}, "a", 0.0, True),  # one node takes every lease
    ({"a": 6}, "a", 0.0, True),
    ({"a": 2, "b": 2, "c": 2}, "b", 0.0, True),  # the poorest, tied
    ({"a": 3, "b": 2, "c": 1}, "c", 0.0, True),
    ({"a": 3, "b": 2, "c": 1}, "b", 0.0, False),  # below its share (3), but c holds fewer
    ({"a": 3, "b": 2, "c": 1}, "a", 9.9, False),  # the one that just gave it up
    ({"a": 3, "b": 2, "c": 1}, "a", 10.0, True),  # nobody took it within the TTL: anyone does
])
def test_free_leases_go_to_the_poorest_live_node(counts: dict[str, int], me: str, free_for_s: float,
                                                 expected: bool) -> None:
    assert may_take(me, counts, free_for_s, TTL_S) is expected


@pytest.mark.parametrize(("counts", "any_free", "giver"), [
    ({"a": 7}, False, None),  # one node: never
    ({"a": 7, "b": 0}, False, "a"),
    ({"a": 4, "b": 3}, False, None),  # balanced on two nodes
    ({"a": 5, "b": 2}, False, "a"),
    ({"a": 5, "b": 2}, True, None),  # a hand-off in flight: finished first
    ({"a": 3, "b": 2, "c": 2}, False, None),  # balanced on three nodes
    ({"a": 3, "b": 3, "c": 1}, False, "a"),  # every node at most its share, c below floor: a (smaller id)
    ({"a": 2, "b": 4, "c": 1}, False, "b"),
    ({"a": 4, "b": 3, "c": 0}, False, "a"),
    ({"a": 2, "b": 2, "c": 1, "d": 1, "e": 1}, False, None),
])
def test_the_richest_node_gives_up_while_two_nodes_differ_by_two(counts: dict[str, int], any_free: bool,
                                                                 giver: str | None) -> None:
    assert [me for me in counts if gives_up(me, counts, any_free)] == ([] if giver is None else [giver])
    assert gives_up("not-live", counts, any_free) is False
