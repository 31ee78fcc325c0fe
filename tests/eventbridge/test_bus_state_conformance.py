"""BusState (opentrail/eventbridge/bus_state.py) on both backends (``state_dir``: SQLite files or
schemas of the real PostgreSQL): cursors, starts, heads, custom events, the outbox, matches and
failures with exact values, and two stores on one data directory (two nodes): the per-lane backlog
one counts in memory follows what the other committed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.eventbridge.bus_state import BUS_DB, BusState, Delivery, FailedInvocation
from opentrail.eventbridge.model import TargetConfig
from opentrail.state_watch import PG_RECHECK_S

A, R = "111122223333", "us-east-1"
RULE = f"arn:aws:events:{R}:{A}:rule/r"
LANE = f"arn:aws:sqs:{R}:{A}:q"


@pytest.fixture
def state(state_dir: Path) -> Iterator[BusState]:
    s = BusState(state_dir / BUS_DB, keep=2)
    yield s
    s.close()


def _delivery(event_id: str, due: float = 0.0, lane: str = LANE) -> Delivery:
    return Delivery(lane, RULE, "r", A, R, TargetConfig("t", lane, input="{}"), event_id,
                    b'{"id":"%s"}' % event_id.encode(), None if event_id != "e2" else b"body", 10.0,
                    next_attempt_s=due)


def _failure(event_id: str) -> FailedInvocation:
    return FailedInvocation(RULE, "t", LANE, event_id, "E", "failed", 20.0, 3, "DROPPED")


def test_cursors_starts_and_heads(state: BusState) -> None:
    state.start_rules({RULE: 5, "arn:other": 6}, {(RULE, "log"): 5, ("arn:other", "log"): 6})
    state.commit_round({(RULE, "log"): 9}, {"log": 9}, [], [])
    state.commit_round({}, {"log": 11, "custom": 2}, [], [])
    assert state.starts() == {RULE: 5, "arn:other": 6}
    assert state.cursors() == {(RULE, "log"): 9, ("arn:other", "log"): 6}
    assert state.heads() == {"log": 11, "custom": 2}
    state.forget_rules(["arn:other"])
    assert (state.starts(), state.cursors()) == ({RULE: 5}, {(RULE, "log"): 9})


def test_custom_events(state: BusState) -> None:
    assert (state.custom_head(), state.append_custom(A, R, 3, 1.0, [])) == (0, [])
    ids = state.append_custom(A, R, 3, 1.0, [b'{"a":1}', b'{"a":2}'])
    later = state.append_custom(A, R, 8, 2.0, [b'{"a":3}'])
    assert (ids, later) == ([1, 2], [3])
    assert [(e.id, e.received_s, e.event) for e in state.custom_after(1, 10)] == [(2, 1.0, b'{"a":2}'),
                                                                                 (3, 2.0, b'{"a":3}')]
    assert (state.custom_start(3), state.custom_start(4), state.custom_start(9)) == (0, 2, 3)
    state.purge_custom(3, 5.0)
    assert (state.custom_after(0, 10), state.custom_head()) == ([], 3)  # ids are never given again
    assert state.append_custom(A, R, 9, 6.0, [b"{}"]) == [4]


def test_outbox_matches_and_failures(state: BusState) -> None:
    committed = state.commit_round({}, {}, [_delivery("e1", 5.0), _delivery("e2", 1.0), _delivery("e3", 9.0)],
                                   [(RULE, "e1", 1.0), (RULE, "e2", 2.0), (RULE, "e3", 3.0)],
                                   [_failure("x1"), _failure("x2"), _failure("x3")])
    assert [d.id for d in committed] == [1, 2, 3]
    assert (state.pending(), state.backlog(LANE), state.lanes()) == (3, 3, {LANE})
    assert [(d.event_id, d.body) for d in state.due(LANE, 6.0, 10)] == [("e2", b"body"), ("e1", None)]
    assert state.deliveries()[0] == committed[0]
    assert state.next_due_s(LANE) == 1.0
    assert state.matches(RULE) == [("e3", 3.0), ("e2", 2.0)]  # keep=2
    assert [f.event_id for f in state.failures(RULE)] == ["x3", "x2"]
    state.retry(2, 1, 7.0)
    assert [(d.event_id, d.attempts) for d in state.due(LANE, 7.0, 10)] == [("e1", 0), ("e2", 1)]
    state.finish(1)
    state.give_up(2, _failure("x4"))
    assert (state.pending(), state.backlog(LANE), state.next_due_s(LANE)) == (1, 1, 9.0)
    assert [f.event_id for f in state.failures(RULE)] == ["x4", "x3"]
    state.finish(3)
    assert (state.pending(), state.backlog(LANE), state.next_due_s(LANE), state.lanes()) == (0, 0, None, set())


def test_two_stores_on_one_data_directory_count_each_others_backlog(state_dir: Path) -> None:
    one, two = BusState(state_dir / BUS_DB), BusState(state_dir / BUS_DB)
    try:
        assert two.backlog(LANE) == 0
        one.commit_round({}, {}, [_delivery("e1"), _delivery("e2")], [(RULE, "e1", 1.0)])
        deadline = time.monotonic() + PG_RECHECK_S + 1
        while two.backlog(LANE) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (two.backlog(LANE), two.pending()) == (2, 2)
        two.finish(1)
        deadline = time.monotonic() + PG_RECHECK_S + 1
        while one.backlog(LANE) == 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert one.backlog(LANE) == 1
        assert two.append_custom(A, R, 1, 1.0, [b"{}"]) == [1]
        assert (one.custom_head(), one.append_custom(A, R, 1, 1.0, [b"{}"])) == (1, [2])
    finally:
        one.close()
        two.close()


def test_heads_are_never_lowered(state: BusState) -> None:
    """On several nodes each rule shard's worker writes the heads it read: the newest stays."""
    state.commit_round({}, {"log": 9, "alarms": 4}, [], [])
    state.commit_round({}, {"log": 7, "alarms": 5}, [], [])
    assert state.heads() == {"log": 9, "alarms": 5}


def test_a_state_of_some_rule_shards_gives_their_outbox_rows_only(state_dir: Path, state: BusState) -> None:
    from opentrail.shards import shard_of

    other = next(f"arn:aws:events:{R}:{A}:rule/r{i}" for i in range(100)
                 if shard_of(f"arn:aws:events:{R}:{A}:rule/r{i}") != shard_of(RULE))
    theirs = Delivery(LANE, other, "o", A, R, TargetConfig("t", LANE), "e9", b"{}", None, 10.0, next_attempt_s=0.0)
    state.commit_round({}, {}, [_delivery("e1"), theirs], [])
    mine = BusState(state_dir / BUS_DB, shards=[shard_of(RULE)])
    everyone = BusState(state_dir / BUS_DB)
    try:
        assert [d.event_id for d in mine.due(LANE, 100.0, 10)] == ["e1"]
        assert [d.event_id for d in everyone.due(LANE, 100.0, 10)] == ["e1", "e9"]
        assert mine.lanes() == {LANE}
        d1 = mine.due(LANE, 100.0, 10)[0]
        mine.finish(d1.id)
        assert mine.lanes() == set() and mine.next_due_s(LANE) is None
        assert everyone.next_due_s(LANE) == 0.0 and mine.pending() == 1  # pending counts every shard
        with pytest.raises(ValueError):
            BusState(state_dir / BUS_DB, shards=[])
    finally:
        mine.close()
        everyone.close()
    # a row of a release before outbox rows carried their shard gets it when the state opens
    state._conn.execute("UPDATE outbox SET shard = -1")  # type: ignore[attr-defined]
    again = BusState(state_dir / BUS_DB, shards=[shard_of(other)])
    try:
        assert [d.event_id for d in again.due(LANE, 100.0, 10)] == ["e9"]
        assert [int(r[0]) for r in again._conn.execute("SELECT shard FROM outbox")] == [shard_of(other)]  # type: ignore[attr-defined]
    finally:
        again.close()
