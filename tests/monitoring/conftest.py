"""A real opentrail API server with the CloudWatch service (uvicorn on a free port), and CloudWatch
clients for it in each protocol: botocore's default (AWS JSON 1.0), and botocore forced to AWS
Query or to Smithy RPC v2 CBOR (a copy of the ``cloudwatch`` model whose ``protocols`` name only
that one, found first on botocore's data path)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import botocore.session
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.monitoring.cloudwatch import CloudWatchService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import free_port, serving

ACCOUNT = "111122223333"
REGION = "us-east-1"
#: A round time (a multiple of an hour) the service clock starts at: 2026-12-02T10:00:00Z.
T0 = 1796205600.0
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
#: The account moto's SNS and SQS live in.
MOTO_ACCOUNT = "123456789012"


class ManualClock:
    """The CloudWatch service's clock: it moves only when the test moves it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class CwServer:
    url: str
    service: CloudWatchService
    clock: ManualClock
    store: MemoryEventStore
    key: AccessKey
    models: Path

    def client(self, protocol: str = "json", service: str = "cloudwatch") -> Any:
        """A boto3 client of ``service``; for CloudWatch in ``protocol`` (json, query or cbor)."""
        session = botocore.session.get_session()
        if service == "cloudwatch" and protocol != "json":
            session.set_config_variable("data_path", str(self.models / protocol))
        return boto3.Session(botocore_session=session).client(
            service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.key.access_key_id,
            aws_secret_access_key=self.key.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def records(self, event_name: str) -> list[dict[str, Any]]:
        """The CloudTrail records of ``event_name`` calls, oldest first."""
        self.store.flush()
        records = (json.loads(e.record) for e in self.store.read_since(0, 1_000_000))
        return [r for r in records if r.get("eventName") == event_name]


def write_protocol_models(root: Path) -> Path:
    """``root/<protocol>/cloudwatch/2010-08-01/service-2.json`` for query and cbor."""
    loader = botocore.session.get_session().get_component("data_loader")
    model = loader.load_service_model("cloudwatch", "service-2")
    for protocol, name in (("query", "query"), ("cbor", "smithy-rpc-v2-cbor")):
        folder = root / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
        folder.mkdir(parents=True)
        changed = {**model, "metadata": {**model["metadata"], "protocol": name, "protocols": [name]}}
        (folder / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(changed).encode()))
    return root


@pytest.fixture(scope="session")
def protocol_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_protocol_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def cw(tmp_path: Path, protocol_models: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CwServer]:
    """A server whose CloudWatch service publishes alarm actions to an SNS endpoint where nothing
    listens (tests that need SNS use :func:`make_cw`)."""
    yield from _start(tmp_path, protocol_models, monkeypatch, f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def make_cw(tmp_path: Path, protocol_models: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    gens: list[Iterator[CwServer]] = []

    def make(sns_endpoint_url: str) -> CwServer:
        sub = tmp_path / f"s{len(gens)}"
        sub.mkdir()
        gen = _start(sub, protocol_models, monkeypatch, sns_endpoint_url)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        for _ in gen:
            pass


def _start(tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch, sns_endpoint_url: str) -> Iterator[CwServer]:
    for name, value in MOTO_ENV.items():  # the server's SNS client: the AWS credential chain
        monkeypatch.setenv(name, value)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    clock = ManualClock()
    service = CloudWatchService(data_dir, clock, sns_endpoint_url=sns_endpoint_url)
    app = build_app(settings=Settings(data_dir=data_dir), store=store, accounts=accounts, monitoring=service)
    try:
        with serving(app) as url:
            yield CwServer(url, service, clock, store, key, models)
    finally:
        service.close()
        store.close()
        accounts.close()
