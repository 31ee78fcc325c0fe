"""The alarm catalog's writes are all or nothing: a state change (alarm row, history item, actions,
event) that fails part way leaves nothing behind, on disk as in memory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opentrail.monitoring.alarm_store import AlarmStateUpdate, PendingAction, SqliteAlarmStore
from opentrail.monitoring.alarms import HistoryItem, MetricAlarm

ACCOUNT, REGION = "111122223333", "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"


def test_a_state_change_that_fails_part_way_writes_nothing(tmp_path: Path) -> None:
    store = SqliteAlarmStore(tmp_path / "alarms.db")
    alarm = MetricAlarm(ACCOUNT, REGION, "root-use", period_s=60, threshold=1.0, namespace="CIS",
                        metric_name="RootUse", statistic="Sum", state_value="ALARM", alarm_actions=(TOPIC,))
    item = HistoryItem("root-use", 1_800_000_000.0, "StateUpdate", "Alarm updated from OK to ALARM", "{}")
    broken = PendingAction(ACCOUNT, REGION, "root-use", TOPIC, "ALARM: root-use",
                           {"not": "text"},  # type: ignore[arg-type]  # SQLite cannot bind it: the 3rd write fails
                           1_800_000_000.0, 1_800_000_000.0, 1_800_000_000.0)
    with pytest.raises(sqlite3.ProgrammingError, match="type 'dict' is not supported"):
        store.record_state_change(AlarmStateUpdate(alarm, item, [broken]))
    assert store.get(ACCOUNT, REGION, "root-use") is None
    assert store.history(ACCOUNT, REGION) == []
    store.close()
    reopened = SqliteAlarmStore(tmp_path / "alarms.db")
    assert (reopened.alarms(), reopened.history(ACCOUNT, REGION), reopened.pending_actions()) == ([], [], [])
    reopened.record_state_change(AlarmStateUpdate(alarm, item))
    assert reopened.get(ACCOUNT, REGION, "root-use") == alarm
    assert reopened.history(ACCOUNT, REGION) == [item]
    reopened.close()
