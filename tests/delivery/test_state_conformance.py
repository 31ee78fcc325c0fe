"""DeliveryState (opentrail/delivery/state.py) on both state backends (``state_dir``): marks, log
group marks, cursors and planned files, and the version the workers compare, which also changes
when another node (a second DeliveryState on the same database) wrote."""

from __future__ import annotations

from pathlib import Path

from opentrail.delivery.state import DELIVERY_DB, DeliveryState, LogGroupMark, Mark, Plan
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

A = "arn:aws:cloudtrail:us-east-1:111122223333:trail/a"
B = "arn:aws:cloudtrail:us-east-1:111122223333:trail/b"
GROUP = "arn:aws:logs:us-east-1:111122223333:log-group:g:*"




def state(state_dir: Path, clock: Clock | None = None) -> DeliveryState:
    return DeliveryState(state_dir / DELIVERY_DB, clock=clock or Clock(50.0))


def test_marks_in_seq_then_insertion_order_and_forget(state_dir: Path) -> None:
    s = state(state_dir)
    assert s.marks() == {} and s.log_group_marks() == {}
    s.add_mark(B, 7, True)
    s.add_mark(A, 9, True)
    s.add_mark(A, 3, True)
    s.add_mark(A, 9, False)
    s.add_log_group_mark(A, 2, GROUP)
    s.add_log_group_mark(A, 5, None)
    s.add_log_group_mark(B, 1, GROUP)
    assert s.marks() == {A: [Mark(3, True), Mark(9, True), Mark(9, False)], B: [Mark(7, True)]}
    assert s.log_group_marks() == {A: [LogGroupMark(2, GROUP), LogGroupMark(5, None)], B: [LogGroupMark(1, GROUP)]}
    s.set_read_seqs({A: 10, B: 11})
    plan = s.add_plan(A, "us-east-1", "bucket", "k1", [(1, 2)], 2, 9, None, 12)
    s.forget_trail(A)
    assert s.marks() == {B: [Mark(7, True)]}
    assert s.log_group_marks() == {B: [LogGroupMark(1, GROUP)]}
    assert s.read_seqs() == {B: 11}
    assert s.planned_seqs() == {} and s.delivered_seqs() == {}
    assert s.pending_plans() == [plan]  # a deleted trail's planned files are still uploaded
    s.close()


def test_cursors_and_plans(state_dir: Path) -> None:
    s = state(state_dir)
    assert (s.read_seqs(), s.planned_seqs(), s.delivered_seqs(), s.pending_plans()) == ({}, {}, {}, [])
    s.set_read_seqs({A: 4, B: 6})
    s.set_read_seqs({A: 5})
    assert s.read_seqs() == {A: 5, B: 6}
    first = s.add_plan(A, "us-east-1", "bucket", "AWSLogs/1.json.gz", [(1, 3), (8, 8)], 4, 10, "arn:aws:sns:us-east-1:1:t", 12)
    second = s.add_plan(A, "us-east-1", "bucket", "AWSLogs/2.json.gz", [(11, 20)], 10, 20, None, 21)
    other = s.add_plan(A, "eu-west-1/Insight", "b2", "AWSLogs/3.json.gz", [(5, 5)], 1, 5, None, 22)
    assert first == Plan(first.id, A, "us-east-1", "bucket", "AWSLogs/1.json.gz", ((1, 3), (8, 8)), 4, 10,
                         "arn:aws:sns:us-east-1:1:t")
    assert first.id < second.id < other.id
    assert s.pending_plans() == [first, second, other]
    assert s.read_seqs() == {A: 22, B: 6}
    assert s.planned_seqs() == {(A, "us-east-1"): 20, (A, "eu-west-1/Insight"): 5}
    assert s.delivered_seqs() == {(A, "us-east-1"): 0, (A, "eu-west-1/Insight"): 0}
    s.finish_plan(second)
    s.finish_plan(first)  # an older file finishing later never moves the cursor back
    assert s.delivered_seqs() == {(A, "us-east-1"): 20, (A, "eu-west-1/Insight"): 0}
    assert s.pending_plans() == [other]
    s.close()
    reopened = state(state_dir)
    assert reopened.pending_plans() == [other]
    assert reopened.read_seqs() == {A: 22, B: 6}
    reopened.close()


def test_version_changes_with_marks_and_forgets_made_here(state_dir: Path) -> None:
    s = state(state_dir)
    seen = [s.version]
    s.add_mark(A, 1, True)
    seen.append(s.version)
    s.add_log_group_mark(A, 1, GROUP)
    seen.append(s.version)
    s.forget_trail(A)
    seen.append(s.version)
    assert len(set(seen)) == 4
    s.close()


def test_marks_written_by_another_node_change_the_version_within_the_check_interval(
        state_dir: Path, state_backend: str) -> None:
    clock = Clock(50.0)
    here, there = state(state_dir, clock), state(state_dir)
    before = here.version
    there.add_mark(A, 5, True)
    there.add_log_group_mark(A, 5, GROUP)
    if state_backend == "postgres":
        assert here.version == before  # looked at most every PG_RECHECK_S
        clock.now += PG_RECHECK_S
    after = here.version
    assert after != before
    assert here.marks() == {A: [Mark(5, True)]}
    assert here.log_group_marks() == {A: [LogGroupMark(5, GROUP)]}
    clock.now += PG_RECHECK_S
    assert here.version == after  # nothing new
    there.forget_trail(A)
    clock.now += PG_RECHECK_S
    assert here.version != after
    assert here.marks() == {}
    here.close()
    there.close()
