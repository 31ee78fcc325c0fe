"""Trail -> CloudWatch Logs fixtures: a memory event store, the CloudWatch Logs service (its SQLite
file), a hand-moved clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from opentrail.delivery import CloudWatchLogsState, CloudWatchLogsWorker, DeliveringTrailService, DeliveryState
from opentrail.events.record import read_record
from opentrail.monitoring.logs import LogsService
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailSettings
from tests.delivery.conftest import ACCOUNT, BUCKET, Clock


REGION = "us-east-1"
GROUP = "CloudTrail/main"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"


class CountingLogs(LogsService):
    """The CloudWatch Logs service, counting the calls of :meth:`append_events`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appends = 0

    def append_events(self, *args: Any, **kwargs: Any) -> None:
        self.appends += 1
        super().append_events(*args, **kwargs)


def log_events(logs: LogsService, group: str, region: str = REGION, account: str = ACCOUNT) -> list[tuple[str, int, str]]:
    """(stream, timestamp ms, message) of every event of the log group, oldest first (FilterLogEvents'
    order: timestamp, then ingestion)."""
    found = logs.group(account, region, group)
    out: list[tuple[str, int, str]] = []
    cursor = None
    while True:
        rows, cursor = logs.reads.filter_log_events(found, cursor=cursor)
        out.extend((stream, row[2], row[4]) for row, stream in rows)
        if cursor is None:
            return out


def group_arn(name: str = GROUP, region: str = REGION, account: str = ACCOUNT) -> str:
    """The DescribeLogGroups ``arn`` form users pass to CreateTrail (trailing ``:*``)."""
    return f"arn:aws:logs:{region}:{account}:log-group:{name}:*"


@dataclass
class CwlEnv:
    path: Path
    clock: Clock
    store: MemoryEventStore
    storage: LocalFolderStorage
    state: DeliveryState
    cwl_state: CloudWatchLogsState
    logs: CountingLogs
    trails: DeliveringTrailService

    def ingest(self, *records: dict[str, Any]) -> list[bytes]:
        events = [read_record(r) for r in records]
        assert self.store.append(events).accepted == len(events)
        return [e.record for e in events]

    def worker(self, **kw: Any) -> CloudWatchLogsWorker:
        kw.setdefault("interval_s", 2.0)
        return CloudWatchLogsWorker(self.store, self.trails, self.logs, self.state, self.cwl_state, clock=self.clock, **kw)

    def trail(self, name: str = "main", region: str = REGION, start: bool = True, group: str | None = GROUP,
              **settings: Any) -> str:
        settings.setdefault("s3_bucket_name", BUCKET)
        if group is not None:
            settings.setdefault("cloud_watch_logs_log_group_arn", group_arn(group, region))
            settings.setdefault("cloud_watch_logs_role_arn", ROLE)
        t = self.trails.create_trail(ACCOUNT, region, name, TrailSettings(**settings))
        if start:
            self.trails.start_logging(ACCOUNT, region, name)
        return t.arn

    def restart(self) -> None:
        """New state connections and trail service over the same files (store and logs survive)."""
        self.state.close()
        self.cwl_state.close()
        self.trails.close()
        self.state = DeliveryState(self.path / "delivery.db")
        self.cwl_state = CloudWatchLogsState(self.path / "cloudwatch-logs.db")
        self.trails = DeliveringTrailService(self.path, self.storage, self.clock, state=self.state, store=self.store,
                                             log_groups=self.logs)

    def messages(self, group: str = GROUP, region: str = REGION) -> list[tuple[str, int, str]]:
        return log_events(self.logs, group, region)

    def event_ids(self, group: str = GROUP, region: str = REGION) -> list[str]:
        return [orjson.loads(m)["eventID"] for _, _, m in self.messages(group, region)]


@pytest.fixture
def cwl(tmp_path: Path) -> Iterator[CwlEnv]:
    clock = Clock()
    store = MemoryEventStore()
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket(BUCKET)
    logs = CountingLogs(tmp_path, clock)
    logs.create_log_group(ACCOUNT, REGION, GROUP)
    state = DeliveryState(tmp_path / "delivery.db")
    cwl_state = CloudWatchLogsState(tmp_path / "cloudwatch-logs.db")
    trails = DeliveringTrailService(tmp_path, storage, clock, state=state, store=store, log_groups=logs)
    env = CwlEnv(tmp_path, clock, store, storage, state, cwl_state, logs, trails)
    yield env
    env.state.close()
    env.cwl_state.close()
    env.trails.close()
    env.logs.close()
