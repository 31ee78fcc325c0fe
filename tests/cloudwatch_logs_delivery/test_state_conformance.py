"""CloudWatchLogsState (opentrail/delivery/cloudwatch_logs_state.py) on both state backends
(``state_dir``): cursors, planned batches committed all or nothing, and two state objects on one
database (two nodes) reading each other's writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opentrail.delivery.cloudwatch_logs_state import CLOUDWATCH_LOGS_DB, CloudWatchLogsState, LogPlan

A = "arn:aws:cloudtrail:us-east-1:111122223333:trail/a"
B = "arn:aws:cloudtrail:us-east-1:111122223333:trail/b"
GROUP = "arn:aws:logs:us-east-1:111122223333:log-group:g"


def plan(batch_id: str, arn: str, region: str, through_seq: int, runs: tuple[tuple[int, int], ...] = ((1, 2),)) -> LogPlan:
    return LogPlan(batch_id, arn, region, GROUP, f"111122223333_CloudTrail_{region}", runs,
                   sum(b - a + 1 for a, b in runs), through_seq)


def state(state_dir: Path) -> CloudWatchLogsState:
    return CloudWatchLogsState(state_dir / CLOUDWATCH_LOGS_DB)


def test_cursors_upsert_and_forget(state_dir: Path) -> None:
    s = state(state_dir)
    assert s.read_seqs() == {} and s.planned_seqs() == {}
    s.set_read_seqs({A: 3, B: 4})
    s.set_read_seqs({A: 9})
    assert s.read_seqs() == {A: 9, B: 4}
    kept = s.add_plans([plan("b1", A, "us-east-1", 8)], {})
    s.forget_trail(A)
    assert s.read_seqs() == {B: 4}
    assert s.planned_seqs() == {}
    assert s.pending_plans() == kept  # planned batches of a deleted trail are still appended
    s.close()


def test_plans_commit_with_their_cursors_in_order_and_finish(state_dir: Path) -> None:
    s = state(state_dir)
    first, second, third = (plan("b1", A, "us-east-1", 5, ((1, 3), (5, 5))), plan("b2", A, "eu-west-1", 7, ((7, 7),)),
                            plan("b3", A, "us-east-1", 12, ((9, 12),)))
    committed = s.add_plans([first, second, third], {A: 13, B: 2})
    assert [p.batch_id for p in committed] == ["b1", "b2", "b3"]
    assert committed[0].id < committed[1].id < committed[2].id
    assert committed[0] == LogPlan("b1", A, "us-east-1", GROUP, "111122223333_CloudTrail_us-east-1",
                                   ((1, 3), (5, 5)), 4, 5, committed[0].id)
    assert s.pending_plans() == committed
    assert s.planned_seqs() == {(A, "us-east-1"): 12, (A, "eu-west-1"): 7}
    assert s.read_seqs() == {A: 13, B: 2}
    s.finish_plans([committed[0], committed[2]])
    s.finish_plans([])
    assert s.pending_plans() == [committed[1]]
    s.close()


def test_a_reused_batch_id_commits_nothing(state_dir: Path) -> None:
    s = state(state_dir)
    done = s.add_plans([plan("same", A, "us-east-1", 3)], {A: 3})
    with pytest.raises(sqlite3.IntegrityError):
        s.add_plans([plan("new", A, "us-east-1", 9), plan("same", A, "us-east-1", 10)], {A: 10})
    assert s.pending_plans() == done
    assert s.planned_seqs() == {(A, "us-east-1"): 3}
    assert s.read_seqs() == {A: 3}
    s.close()


def test_two_state_objects_read_each_others_writes(state_dir: Path) -> None:
    one, two = state(state_dir), state(state_dir)
    committed = one.add_plans([plan("b1", A, "us-east-1", 4)], {A: 4})
    assert two.pending_plans() == committed
    assert two.read_seqs() == {A: 4}
    two.finish_plans(committed)
    two.set_read_seqs({A: 6})
    assert one.pending_plans() == []
    assert one.read_seqs() == {A: 6}
    one.close()
    two.close()
