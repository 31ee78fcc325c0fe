"""A real opentrail API server on a free port (uvicorn in a background thread), clients for it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.settings import Settings
from opentrail.store.base import EventStore
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving

ADMIN_ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"


class Clock:
    """The server's injected clock: real time plus an offset tests can move."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen: float | None = None

    def __call__(self) -> float:
        if self.frozen is not None:
            return self.frozen
        return time.time() + self.offset


@dataclass
class Server:
    url: str
    accounts: AccountStore
    store: EventStore
    clock: Clock
    admin_key: AccessKey
    data_dir: Path
    keys: dict[str, AccessKey] = field(default_factory=dict)

    def client(self, key: AccessKey | None = None, *, region: str = REGION, secret: str | None = None,
               access_key_id: str | None = None, validate: bool = True) -> Any:
        key = key or self.admin_key
        return boto3.client(
            "cloudtrail",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key_id or key.access_key_id,
            aws_secret_access_key=secret or key.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
        )



def start_server(tmp_path: Path, settings: Settings, store: EventStore | None = None,
                 token_key: bytes | None = None) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    accounts = AccountStore(data_dir / "accounts.db")
    admin_key = accounts.create_access_key(ADMIN_ACCOUNT)
    store = store or MemoryEventStore()
    clock = Clock()
    app = build_app(settings=settings, store=store, accounts=accounts, clock=clock, token_key=token_key)
    try:
        with serving(app) as url:
            yield Server(url, accounts, store, clock, admin_key, data_dir)
    finally:
        store.close()
        accounts.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server with default settings (rate limit off, 90-day retention) over a MemoryEventStore."""
    yield from start_server(tmp_path, Settings(max_request_bytes=64 * 1024))


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a server with custom settings: ``make_server(lookup_events_rate_limit_per_s=2)``."""
    gens: list[Iterator[Server]] = []

    def make(**values: Any) -> Server:
        sub = tmp_path / f"s{len(gens)}"
        sub.mkdir()
        gen = start_server(sub, Settings.from_values(**values))
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        for _ in gen:
            pass


def signed_request(
    url: str,
    body: bytes,
    *,
    key: AccessKey,
    headers: dict[str, str] | None = None,
    service: str = "cloudtrail",
    region: str = REGION,
    path: str = "/",
) -> Any:
    """POST ``body`` to ``url + path`` signed with botocore's SigV4Auth; returns the httpx response.
    ``headers`` default to a LookupEvents call; pass ``{}`` members to override."""
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    base = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
    }
    base.update(headers or {})
    base = {k: v for k, v in base.items() if v is not None}
    request = AWSRequest(method="POST", url=url + path, data=body, headers=base)
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), service, region).add_auth(request)
    prepared = request.prepare()
    return httpx.post(prepared.url, content=body, headers=dict(prepared.headers))


def management_record(n: int, event_time: str, *, account: str = ADMIN_ACCOUNT, region: str = REGION,
                      event_name: str = "RunInstances", user: str = "alice") -> dict[str, Any]:
    """A small AwsApiCall record number ``n`` (eventID derived from n)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": "AKIAEXAMPLEEXAMPLE01",
            "userName": user,
        },
        "eventTime": event_time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "test",
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"00000000-0000-4000-8000-{n:012d}",
        "eventID": f"10000000-0000-4000-8000-{n:012d}",
        "readOnly": event_name.startswith("Describe"),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
