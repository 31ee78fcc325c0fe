"""A real opentrail server with the EventBridge control plane (uvicorn in a thread) and boto3 / AWS
CLI clients: the fixtures ``eb_server`` (one per module) and ``eb`` (that server, every rule,
connection and API destination removed after each test).

PutEvents hands its events to :class:`CollectingBus`, the smallest
:class:`~opentrail.eventbridge.model.EventBus` (the real bus is the data plane's)."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.delivery.marks import head_seq
from opentrail.eventbridge.egress import EgressPolicy
from opentrail.eventbridge.local_targets import LocalTargetPolicy
from opentrail.eventbridge.rules_service import RulesService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.eventbridge.helpers import Receiver, start_receiver
from tests.serving import moto_server, serving

ACCOUNT = "111122223333"
REGION = "us-east-1"


class CollectingBus:
    """Keeps what PutEvents hands over: (account, region, envelope) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def put_events(self, account_id: str, region: str, events: list[dict[str, Any]]) -> list[str]:
        with self._lock:
            self.events.extend((account_id, region, e) for e in events)
        return [e["id"] for e in events]


@dataclass
class EbServer:
    url: str
    data_dir: Path
    rules: RulesService
    store: MemoryEventStore
    bus: CollectingBus
    key: AccessKey
    clock_offset: list[float] = field(default_factory=lambda: [0.0])

    def client(self, service: str = "events", region: str = REGION) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=self.key.access_key_id, aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cli_env(self) -> dict[str, str]:
        """The environment the stock AWS CLI needs to reach this server."""
        return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
                "AWS_ACCESS_KEY_ID": self.key.access_key_id, "AWS_SECRET_ACCESS_KEY": self.key.secret_access_key,
                "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def records(self, event_name: str) -> list[dict[str, Any]]:
        """The CloudTrail records of ``event_name`` calls, oldest first."""
        self.store.flush()
        records = (json.loads(e.record) for e in self.store.read_since(0, 1_000_000))
        return [r for r in records if r.get("eventName") == event_name]

    def db_bytes(self) -> bytes:
        """Every byte of eventbridge.db and its WAL."""
        return b"".join(p.read_bytes() for p in sorted(self.data_dir.glob("eventbridge.db*")))


def start_eb_server(data_dir: Path, store: MemoryEventStore) -> Iterator[EbServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    offset = [0.0]
    rules = RulesService(data_dir, lambda: time.time() + offset[0], head_seq=lambda: head_seq(store),
                         egress=EgressPolicy.parse("loopback,hooks.example.com"),
                         local_targets=LocalTargetPolicy.from_settings(data_dir, "", str(data_dir.parent / "bin")))
    bus = CollectingBus()
    app = build_app(settings=Settings(data_dir=data_dir), store=store, accounts=accounts, eventbridge=rules,
                    event_bus=bus)
    try:
        with serving(app) as url:
            yield EbServer(url, data_dir, rules, store, bus, key, offset)
    finally:
        rules.close()
        accounts.close()


@pytest.fixture(scope="module")
def eb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EbServer]:
    store = MemoryEventStore()
    try:
        yield from start_eb_server(tmp_path_factory.mktemp("eventbridge"), store)
    finally:
        store.close()


@pytest.fixture
def eb(eb_server: EbServer) -> Iterator[EbServer]:
    """The shared server; every rule, API destination and connection deleted after the test."""
    eb_server.bus.events.clear()
    yield eb_server
    client = eb_server.client()
    for rule in client.list_rules()["Rules"]:
        client.delete_rule(Name=rule["Name"], Force=True)
    for destination in client.list_api_destinations()["ApiDestinations"]:
        client.delete_api_destination(Name=destination["Name"])
    for connection in client.list_connections()["Connections"]:
        client.delete_connection(Name=connection["Name"])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.close()
