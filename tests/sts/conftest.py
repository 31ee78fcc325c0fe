"""A real opentrail server (uvicorn in a thread) with CloudTrail, CloudWatch Logs and STS, its
injected clock, and boto3 clients signed with a long-term key or with session credentials."""

from __future__ import annotations

from dataclasses import dataclass
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
from tests.api.conftest import Clock
from tests.serving import serving

from .iam_fake import FakeIam

ACCOUNT = "111122223333"
REGION = "us-east-1"


@dataclass
class StsServer:
    url: str
    accounts: AccountStore
    store: MemoryEventStore
    clock: Clock
    key: AccessKey
    data_dir: Path
    iam: FakeIam

    def client(self, service: str, *, credentials: dict[str, Any] | None = None, region: str = REGION,
               key: AccessKey | None = None, validate: bool = True) -> Any:
        """A boto3 client of ``service``: signed with ``credentials`` (GetSessionToken's
        ``Credentials``) when given, else with ``key`` (default: the root key)."""
        if credentials is not None:
            auth = {"aws_access_key_id": credentials["AccessKeyId"],
                    "aws_secret_access_key": credentials["SecretAccessKey"],
                    "aws_session_token": credentials["SessionToken"]}
        else:
            key = key or self.key
            auth = {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": key.secret_access_key}
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                          parameter_validation=validate), **auth)


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[StsServer]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    clock = Clock()
    logs = LogsService(data_dir, clock)
    iam = FakeIam()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, logs=logs, iam=iam)
    try:
        with serving(app) as url:
            yield StsServer(url, accounts, store, clock, key, data_dir, iam)
    finally:
        logs.close()
        store.close()
        accounts.close()
