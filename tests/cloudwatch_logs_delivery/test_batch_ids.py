"""LogsService.append_events with ``batch_id``: a repeated batch (the trail -> CloudWatch Logs delivery
after a crash) appends nothing and feeds no metric filter; each stream remembers its last 1,000."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentrail.monitoring.logs import LogsService
from opentrail.monitoring.logs_model import MetricTransformation
from opentrail.monitoring.logs_store import KEPT_BATCH_IDS

from .conftest import ACCOUNT, REGION, log_events

STREAM = f"{ACCOUNT}_CloudTrail_{REGION}"


def test_a_repeated_batch_id_appends_nothing_and_feeds_no_metric_filter(tmp_path: Path) -> None:
    points: list[tuple[Any, ...]] = []
    logs = LogsService(tmp_path, lambda: 1_700_000_000.0, metric_sink=lambda *p: points.append(p))
    logs.create_log_group(ACCOUNT, REGION, "g")
    logs.put_metric_filter(ACCOUNT, REGION, "g", "all", '{ $.eventName = "RunInstances" }',
                           MetricTransformation("Runs", "CT", "1"))
    events = [(1_700_000_000_000, '{"eventName":"RunInstances"}'), (1_700_000_000_000, '{"eventName":"Other"}')]
    logs.append_events(ACCOUNT, REGION, "g", STREAM, events, batch_id="b-1")
    logs.append_events(ACCOUNT, REGION, "g", STREAM, events, batch_id="b-1")
    assert [m for _, _, m in log_events(logs, "g")] == [m for _, m in events]
    assert len(points) == 1
    logs.append_events(ACCOUNT, REGION, "g", f"{ACCOUNT}_CloudTrail_eu-west-1", events, batch_id="b-1")  # another stream
    logs.append_events(ACCOUNT, REGION, "g", STREAM, events)  # no batch id: always appended
    assert len(log_events(logs, "g")) == 6
    logs.close()


def test_each_stream_remembers_its_last_batch_ids(tmp_path: Path) -> None:
    logs = LogsService(tmp_path, lambda: 1_700_000_000.0)
    logs.create_log_group(ACCOUNT, REGION, "g")
    event = [(1_700_000_000_000, "x")]
    for i in range(KEPT_BATCH_IDS + 1):
        logs.append_events(ACCOUNT, REGION, "g", STREAM, event, batch_id=f"b-{i}")
    logs.append_events(ACCOUNT, REGION, "g", STREAM, event, batch_id=f"b-{KEPT_BATCH_IDS - 999}")  # among the last 1,000
    assert len(log_events(logs, "g")) == KEPT_BATCH_IDS + 1
    logs.append_events(ACCOUNT, REGION, "g", STREAM, event, batch_id="b-0")  # forgotten
    assert len(log_events(logs, "g")) == KEPT_BATCH_IDS + 2
    logs.close()
