"""A real opentrail server (uvicorn in a thread) with CloudTrail, STS and IAM over one data directory,
its injected clock, and boto3 clients signed with the root key or any other key."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.iam.store import IAM_DB, IamStore
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.api.conftest import Clock
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"


@dataclass
class IamServer:
    url: str
    accounts: AccountStore
    iam: IamStore
    store: MemoryEventStore
    clock: Clock
    key: AccessKey
    data_dir: Path

    def client(self, service: str = "iam", *, key: Any = None, region: str = REGION, validate: bool = True) -> Any:
        """A boto3 client of ``service`` signed with ``key`` (an AccessKey, or a CreateAccessKey
        ``AccessKey`` dict; default: the root key)."""
        key = key or self.key
        if isinstance(key, dict):
            auth = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        else:
            auth = {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": key.secret_access_key}
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                          parameter_validation=validate), **auth)

    def recorded(self, event_name: str, count: int = 1) -> list[dict[str, Any]]:
        """The CloudTrail events named ``event_name`` (newest first), once ``count`` are there."""
        client = self.client("cloudtrail")
        deadline = time.time() + 5
        while True:
            events = client.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                             "AttributeValue": event_name}])["Events"]
            if len(events) >= count or time.time() > deadline:
                return [json.loads(e["CloudTrailEvent"]) for e in events]
            time.sleep(0.05)


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@contextlib.contextmanager
def running(data_dir: Path, key: AccessKey | None = None) -> Iterator[IamServer]:
    accounts = AccountStore(data_dir / "accounts.db")
    key = key or accounts.create_access_key(ACCOUNT)
    iam = IamStore(data_dir / IAM_DB)
    store = MemoryEventStore()
    clock = Clock()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, iam=iam)
    try:
        with serving(app) as url:
            yield IamServer(url, accounts, iam, store, clock, key, data_dir)
    finally:
        store.close()
        iam.close()
        accounts.close()


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[IamServer]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running(data_dir) as server:
        yield server
