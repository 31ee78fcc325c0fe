"""Exactly once across kill -9: a process sending a real SQLite event store's events to CloudWatch Logs
(the LogsService over its SQLite file) is SIGKILLed at random moments, several times, then runs to
the end; every selected event is a log event of the right group and stream exactly once, its
message the record."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from opentrail.delivery import DeliveringTrailService, DeliveryState
from opentrail.events.record import read_record
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.sqlite import SqliteEventStore
from opentrail.trails import EventSelector, TrailSettings
from opentrail.monitoring.logs import LogsService
from tests import crash_child
from tests.delivery.conftest import ACCOUNT, BUCKET, OTHER_ACCOUNT, record

from .conftest import log_events

ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
CHILD = """
import sys, time
from pathlib import Path
from opentrail.delivery import CloudWatchLogsState, CloudWatchLogsWorker, DeliveringTrailService, DeliveryState
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.sqlite import SqliteEventStore
from opentrail.monitoring.logs import LogsService

data = Path(sys.argv[1])
store = SqliteEventStore(data / "events")
logs = LogsService(data, time.time)
state = DeliveryState(data / "delivery.db")
trails = DeliveringTrailService(data, LocalFolderStorage(data / "buckets"), time.time, state=state, store=store,
                                log_groups=logs)
w = CloudWatchLogsWorker(store, trails, logs, state, CloudWatchLogsState(data / "cloudwatch-logs.db"),
                         clock=time.time, interval_s=0.0, read_limit=200, max_batch_events=40)
print("started", w.pending_batches(), flush=True)
while True:
    n = w.step()
    print("step", n, flush=True)
    if n == 0 and w.pending_batches() == 0 and w.open_events() == 0:
        break
print("done", flush=True)
store.close()
logs.close()
"""


def run_child(data: Path, kill_after: int | None) -> str:
    """The child's output; killed (with its process group) after ``kill_after`` steps of work, so the
    kill lands while it is sending however fast this machine is."""
    return crash_child.run_child(CHILD, [str(data)], kill_after)


def group_arn(name: str, region: str) -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}:*"


def test_every_selected_event_is_one_log_event_across_kill_9(tmp_path: Path) -> None:
    rng = random.Random(12)
    logs = LogsService(tmp_path, time.time)
    for name, region in (("all-regions", "us-east-1"), ("all-regions-later", "us-east-1"), ("writes", "eu-west-1")):
        logs.create_log_group(ACCOUNT, region, name)
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket(BUCKET)
    store = SqliteEventStore(tmp_path / "events")
    state = DeliveryState(tmp_path / "delivery.db")
    trails = DeliveringTrailService(tmp_path, storage, time.time, state=state, store=store, log_groups=logs)
    trails.create_trail(ACCOUNT, "us-east-1", "everything", TrailSettings(
        s3_bucket_name=BUCKET, is_multi_region_trail=True, cloud_watch_logs_log_group_arn=group_arn("all-regions", "us-east-1"),
        cloud_watch_logs_role_arn=ROLE))
    trails.create_trail(ACCOUNT, "eu-west-1", "writes", TrailSettings(
        s3_bucket_name=BUCKET, cloud_watch_logs_log_group_arn=group_arn("writes", "eu-west-1"), cloud_watch_logs_role_arn=ROLE))
    trails.put_event_selectors(ACCOUNT, "eu-west-1", "writes", (EventSelector(read_write_type="WriteOnly"),), None)
    for region, name in (("us-east-1", "everything"), ("eu-west-1", "writes")):
        trails.start_logging(ACCOUNT, region, name)

    def batch(n: int) -> list[dict[str, Any]]:
        return [record(region=rng.choice(REGIONS), account=rng.choice([ACCOUNT, ACCOUNT, OTHER_ACCOUNT]),
                       readOnly=rng.random() < 0.5) for _ in range(n)]

    first, second = batch(10_000), batch(10_000)
    for part in (first[:5000], first[5000:]):
        store.append([read_record(r) for r in part])
    # the multi-Region trail moves to another group half way: the events after it go there
    trails.update_trail(ACCOUNT, "us-east-1", "everything", TrailSettings(
        cloud_watch_logs_log_group_arn=group_arn("all-regions-later", "us-east-1"), cloud_watch_logs_role_arn=ROLE))
    for part in (second[:5000], second[5000:]):
        store.append([read_record(r) for r in part])
    for closable in (trails, state, store, logs):
        closable.close()

    interrupted = 0
    for _ in range(6):
        out = run_child(tmp_path, rng.randint(3, 40))
        interrupted += "done" not in out
    out = run_child(tmp_path, None)
    assert "done" in out
    assert interrupted >= 3  # most kills landed while it was sending

    def ours(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in recs if r["recipientAccountId"] == ACCOUNT]

    want = {
        ("us-east-1", "all-regions"): ours(first),
        ("us-east-1", "all-regions-later"): ours(second),
        ("eu-west-1", "writes"): [r for r in ours(first + second) if r["awsRegion"] == "eu-west-1" and not r["readOnly"]],
    }
    logs = LogsService(tmp_path, time.time)
    for (region, group), recs in want.items():
        assert len(recs) > 2000
        got = log_events(logs, group, region)
        counts = Counter(orjson.loads(m)["eventID"] for _, _, m in got)
        assert max(counts.values()) == 1, f"{group}: repeated events"
        assert set(counts) == {r["eventID"] for r in recs}, group
        expected = {r["eventID"]: (f"{ACCOUNT}_CloudTrail_{r['awsRegion']}", read_record(r).record.decode()) for r in recs}
        assert all(expected[orjson.loads(m)["eventID"]] == (stream, m) for stream, _, m in got)
    logs.close()
