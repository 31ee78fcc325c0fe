"""CreateTrail/UpdateTrail while the S3-compatible storage is down: HTTP 503 ServiceUnavailable
(not the caller's mistake, and SDKs retry it), nothing changed, the call recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.endpoints import EndpointTimeouts
from opentrail.objectstore import S3Storage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from tests.serving import free_port, serving


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, MemoryEventStore, TrailService]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the storage client's own credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    storage = S3Storage(closed, timeouts=EndpointTimeouts(connect_s=0.5, read_s=0.5))
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key("111122223333")
    store = MemoryEventStore()
    trails = TrailService(tmp_path, storage, lambda: 1_700_000_000.0)
    app = build_app(settings=Settings(), store=store, accounts=accounts, trails=trails)
    try:
        with serving(app) as url:
            ct = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                              config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
            yield ct, store, trails
    finally:
        trails.close()
        accounts.close()
        storage.close()


def test_create_trail_with_storage_down_is_503_and_changes_nothing(client: tuple[object, MemoryEventStore, TrailService]) -> None:
    ct, store, trails = client
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="main", S3BucketName="logs")  # type: ignore[attr-defined]
    err = exc.value.response
    assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]) == (
        503, "ServiceUnavailable", "The S3-compatible storage did not answer (ServiceUnavailable): retry later.")
    assert trails.trails() == []
    store.flush()
    records = [json.loads(e.record) for e in store.read_since(0, 10)]
    assert [(r["eventName"], r["errorCode"]) for r in records] == [("CreateTrail", "ServiceUnavailable")]
