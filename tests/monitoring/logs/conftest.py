"""A real opentrail server with CloudWatch Logs (uvicorn in a thread) and boto3 / AWS CLI clients: the
fixtures ``logs_server`` (one per module) and ``srv`` (that server, cleaned after each test)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.monitoring.logs import LogsService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"


class LogsClock:
    """The Logs service's injected clock: real time plus an offset tests move (the server's own
    clock, which checks signatures, stays real)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class LogsServer:
    url: str
    data_dir: Path
    logs: LogsService
    store: MemoryEventStore
    clock: LogsClock
    key: AccessKey
    points: list[tuple[Any, ...]] = field(default_factory=list)

    def client(self, service: str = "logs", region: str = REGION) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cli_env(self) -> dict[str, str]:
        """The environment the stock AWS CLI needs to reach this server."""
        return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
                "AWS_ACCESS_KEY_ID": self.key.access_key_id, "AWS_SECRET_ACCESS_KEY": self.key.secret_access_key,
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.url, "AWS_MAX_ATTEMPTS": "1",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}


def start_logs_server(data_dir: Path, store: MemoryEventStore | None = None) -> Iterator[LogsServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    accounts = AccountStore(data_dir / "accounts.db")
    record = next(iter(accounts.list_keys(ACCOUNT)), None)  # a restarted server keeps its key
    key = (accounts.create_access_key(ACCOUNT) if record is None else
           AccessKey(record.access_key_id, ACCOUNT, None, record.secret_access_key))
    store = store or MemoryEventStore()
    clock = LogsClock()
    points: list[tuple[Any, ...]] = []
    logs = LogsService(data_dir, clock, metric_sink=lambda *point: points.append(point))
    app = build_app(settings=Settings(), store=store, accounts=accounts, logs=logs)
    try:
        with serving(app) as url:
            yield LogsServer(url, data_dir, logs, store, clock, key, points)
    finally:
        logs.close()
        accounts.close()


@pytest.fixture(scope="module")
def logs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogsServer]:
    store = MemoryEventStore()
    try:
        yield from start_logs_server(tmp_path_factory.mktemp("logs"), store)
    finally:
        store.close()


@pytest.fixture
def srv(logs_server: LogsServer) -> Iterator[LogsServer]:
    """The shared server; its clock back at real time, its data points cleared, every log group
    deleted after the test."""
    logs_server.clock.offset = 0.0
    logs_server.points.clear()
    yield logs_server
    logs_server.clock.offset = 0.0
    client = logs_server.client()
    for page in client.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            client.delete_log_group(logGroupName=group["logGroupName"])
