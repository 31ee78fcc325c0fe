"""Check-and-write races of CloudWatch and CloudWatch Logs on both state backends (``state_dir``):
several store objects on one database (several nodes) creating alarms, log groups, log streams
and metric filters at once. The limit or the name is checked in the write transaction (issue 17):
exactly as many creates succeed as the limit allows, one create of a name wins, and the others get
AWS's error."""

from __future__ import annotations

from pathlib import Path

from opentrail.monitoring.alarm_store import FILE_NAME, SqliteAlarmStore
from opentrail.monitoring.alarms import MetricAlarm
from opentrail.monitoring.errors import LimitExceeded
from opentrail.monitoring.logs_errors import LimitExceeded as LogsLimitExceeded
from opentrail.monitoring.logs_errors import LogGroupExists, LogStreamExists
from opentrail.monitoring.logs_store import LOGS_DB, SqliteLogsStore
from tests.state_backends import outcomes, race

A, R = "111122223333", "us-east-1"
NODES = 6


def _alarm(name: str) -> MetricAlarm:
    return MetricAlarm(A, R, name, period_s=60, threshold=1.0, namespace="CIS", metric_name="RootUse",
                       statistic="Sum")


def _too_many() -> LimitExceeded:
    return LimitExceeded("The maximum number of alarms (3) for this account and Region has been reached.")


def test_alarms_created_at_once_on_several_nodes_stop_at_the_limit(state_dir: Path) -> None:
    nodes = [SqliteAlarmStore(state_dir / FILE_NAME) for _ in range(2)]
    nodes[0].put_alarm(_alarm("first"), limit=(3, _too_many))
    results = race([lambda i=i: nodes[i % 2].put_alarm(_alarm(f"a{i}"), limit=(3, _too_many)) for i in range(NODES)])
    assert outcomes(results) == ["LimitExceeded: The maximum number of alarms (3) for this account and Region has "
                                 "been reached."] * 4 + ["ok"] * 2
    fresh = SqliteAlarmStore(state_dir / FILE_NAME)  # a node started now reads every alarm
    assert fresh.count(A, R) == 3
    fresh.close()
    # an update of an alarm that exists is no create: the limit does not apply
    nodes[1].put_alarm(_alarm("first"), limit=(3, _too_many))
    for node in nodes:
        node.close()


def _logs(state_dir: Path) -> list[SqliteLogsStore]:
    return [SqliteLogsStore(state_dir / LOGS_DB) for _ in range(2)]


def _insert_group(store: SqliteLogsStore, name: str) -> None:
    store.insert_group(A, R, name, 1000, kms_key_id=None, log_group_class="STANDARD", deletion_protection=False,
                       tags={}, taken=LogGroupExists)


def test_one_log_group_name_created_at_once_is_created_once(state_dir: Path) -> None:
    nodes = _logs(state_dir)
    results = race([lambda i=i: _insert_group(nodes[i % 2], "/app") for i in range(NODES)])
    assert outcomes(results) == ["LogGroupExists: The specified log group already exists"] * 5 + ["ok"]
    group = nodes[1].group(A, R, "/app")
    assert group is not None
    results = race([lambda i=i: nodes[i % 2].insert_stream(group.id, "s", 5, taken=LogStreamExists)
                    for i in range(NODES)])
    assert outcomes(results) == ["LogStreamExists: The specified log stream already exists"] * 5 + ["ok"]
    for node in nodes:
        node.close()


def test_metric_filters_put_at_once_stop_at_the_limit(state_dir: Path) -> None:
    nodes = _logs(state_dir)
    _insert_group(nodes[0], "/app")
    group = nodes[1].group(A, R, "/app")
    assert group is not None
    results = race([lambda i=i: nodes[i % 2].put_filter(group.id, f"f{i}", "ERROR", {"metricName": "E"}, {}, i,
                                                        limit=(2, LogsLimitExceeded)) for i in range(NODES)])
    assert outcomes(results) == ["LimitExceeded: Resource limit exceeded."] * 4 + ["ok"] * 2
    assert len(nodes[0].filters_of(group.id)) == 2
    # replacing a filter the group has is no new filter
    nodes[0].put_filter(group.id, [r[2] for r in nodes[0].filters_of(group.id)][0], "WARN", {}, {}, 9,
                        limit=(2, LogsLimitExceeded))
    for node in nodes:
        node.close()
