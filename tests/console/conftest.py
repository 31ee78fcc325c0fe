"""A real opentrail app (uvicorn on a free port, in a thread) with trails, and a signed-in client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails.service import TrailService
from tests.serving import serving

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """Real time plus an offset tests can move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class ConsoleServer:
    url: str
    store: MemoryEventStore
    accounts: AccountStore
    storage: LocalFolderStorage
    clock: Clock
    key: AccessKey

    def cloudtrail(self, key: AccessKey | None = None, region: str = REGION) -> Any:
        key = key or self.key
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)

    def sign_in(self, client: httpx.Client, key: AccessKey | None = None, *, secret: str | None = None,
                region: str = REGION) -> httpx.Response:
        key = key or self.key
        form = client.get("/console/signin")
        token = CSRF_RE.search(form.text).group(1)  # type: ignore[union-attr]
        return client.post("/console/signin", data={
            "csrf_token": token, "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key if secret is None else secret,
            "region": region, "next": "/console/events",
        })

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.store.flush()
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)



@pytest.fixture
def console(tmp_path: Path) -> Iterator[ConsoleServer]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    storage = LocalFolderStorage(tmp_path / "buckets")
    clock = Clock()
    trails = TrailService(tmp_path, storage, clock)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock, trails=trails)
    try:
        with serving(app) as url:
            yield ConsoleServer(url, store, accounts, storage, clock, key)
    finally:
        trails.close()
        store.close()
        accounts.close()


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)
