"""SqliteAlarmStore (opentrail/monitoring/alarm_store.py) on both backends (``state_dir``: SQLite
files or schemas of the real PostgreSQL): alarms, history, tags, pending actions and state-change
events with exact values, and two stores on one data directory (two nodes) whose alarms in memory
follow each other's writes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.monitoring.alarm_store import FILE_NAME, AlarmStateUpdate, PendingAction, SqliteAlarmStore
from opentrail.monitoring.alarms import HistoryItem, MetricAlarm
from opentrail.state_watch import PG_RECHECK_S

A, R = "111122223333", "us-east-1"
TOPIC = f"arn:aws:sns:{R}:{A}:alerts"
T = 1_800_000_000.0


@pytest.fixture
def store(state_dir: Path) -> Iterator[SqliteAlarmStore]:
    s = SqliteAlarmStore(state_dir / FILE_NAME)
    yield s
    s.close()


def _alarm(name: str, **kw: object) -> MetricAlarm:
    return MetricAlarm(A, kw.pop("region", R), name, period_s=60, threshold=1.0, namespace="CIS",  # type: ignore[arg-type]
                       metric_name="RootUse", statistic="Sum", **kw)  # type: ignore[arg-type]


def _item(name: str, at: float, kind: str = "ConfigurationUpdate") -> HistoryItem:
    return HistoryItem(name, at, kind, f"{kind} {name}", "{}")


def test_alarms_and_history(store: SqliteAlarmStore) -> None:
    b, a, other = _alarm("b"), _alarm("a"), _alarm("a", region="eu-west-1")
    store.put_alarm(b, [_item("b", T)])
    store.put_alarm(a, [_item("a", T + 1)])
    store.put_alarm(other)
    assert (store.get(A, R, "a"), store.get(A, R, "zz")) == (a, None)
    assert store.alarms(A, R) == [a, b]
    assert store.alarms() == [other, a, b]  # by name, then account and Region
    assert store.count(A, R) == 2
    alarmed = a.replace(state_value="ALARM", state_updated_s=T + 2)
    action = PendingAction(A, R, "a", TOPIC, "ALARM: a", "msg", T + 2, T + 2, T + 2)
    store.record_state_change(AlarmStateUpdate(alarmed, _item("a", T + 2, "StateUpdate"), [action],
                                               {"detail-type": "CloudWatch Alarm State Change"}))
    assert store.get(A, R, "a") == alarmed
    history = store.history(A, R)
    assert [(h.alarm_name, h.timestamp_s, h.item_type) for h in history] == [
        ("a", T + 2, "StateUpdate"), ("a", T + 1, "ConfigurationUpdate"), ("b", T, "ConfigurationUpdate")]
    assert [h.timestamp_s for h in store.history(A, R, ascending=True, limit=2)] == [T, T + 1]
    assert [h.timestamp_s for h in store.history(A, R, alarm_name="a", item_type="StateUpdate")] == [T + 2]
    assert [h.timestamp_s for h in store.history(A, R, start_s=T + 1, end_s=T + 1)] == [T + 1]
    assert [h.timestamp_s for h in store.history(A, R, after=(history[0].timestamp_s, history[0].id))] == [T + 1, T]
    assert [h.timestamp_s for h in store.history(A, R, alarm_types=["CompositeAlarm"])] == []
    store.delete_alarms(A, R, ["b", "missing"], [_item("b", T + 3)])
    assert store.alarms(A, R) == [alarmed]
    assert store.purge_history(T + 1.5) == 2
    assert [h.timestamp_s for h in store.history(A, R)] == [T + 3, T + 2]


def test_tags_actions_and_events(store: SqliteAlarmStore) -> None:
    store.tag("arn:x", {"b": "2", "a": "1"})
    store.tag("arn:x", {"a": "one"})
    assert store.tags("arn:x") == {"a": "one", "b": "2"}
    store.untag("arn:x", ["b", "nope"])
    assert store.tags("arn:x") == {"a": "one"}
    alarm = _alarm("a", state_value="ALARM", state_updated_s=T)
    first = PendingAction(A, R, "a", TOPIC, "s1", "m1", T, T + 10, T)
    second = PendingAction(A, R, "a", TOPIC, "s2", "m2", T, T + 5, T)
    store.record_state_change(AlarmStateUpdate(alarm, _item("a", T, "StateUpdate"), [first, second], {"n": 1}))
    store.record_state_change(AlarmStateUpdate(alarm, _item("a", T, "StateUpdate"), [], {"n": 2}))
    pending = store.pending_actions()
    assert [(p.subject, p.next_attempt_s, p.attempts) for p in pending] == [("s1", T + 10, 0), ("s2", T + 5, 0)]
    assert [p.subject for p in store.due_actions(T + 6)] == ["s2"]
    assert store.next_action_due_s() == T + 5
    store.retry_action(pending[1], T + 20, _item("a", T + 6, "Action"))
    assert [(p.subject, p.next_attempt_s, p.attempts) for p in store.pending_actions()] == [
        ("s1", T + 10, 0), ("s2", T + 20, 1)]
    store.finish_action(pending[0], _item("a", T + 11, "Action"))
    assert [p.subject for p in store.pending_actions()] == ["s2"]
    assert [h.item_type for h in store.history(A, R, item_type="Action")] == ["Action", "Action"]
    events = store.events_after()
    assert [e for _, e in events] == [{"n": 1}, {"n": 2}]
    assert store.events_after(events[0][0]) == [events[1]]


def test_two_stores_on_one_data_directory_see_each_others_alarms(state_dir: Path) -> None:
    one, two = SqliteAlarmStore(state_dir / FILE_NAME), SqliteAlarmStore(state_dir / FILE_NAME)
    try:
        generation = two.generation()
        alarm = _alarm("root-use")
        one.put_alarm(alarm)
        deadline = time.monotonic() + PG_RECHECK_S + 1  # PostgreSQL: looked at every PG_RECHECK_S
        while two.get(A, R, "root-use") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert two.get(A, R, "root-use") == alarm
        assert two.generation() > generation
        two.delete_alarms(A, R, ["root-use"])
        deadline = time.monotonic() + PG_RECHECK_S + 1
        while one.alarms() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (one.alarms(), one.count(A, R)) == ([], 0)
    finally:
        one.close()
        two.close()
