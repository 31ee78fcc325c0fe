"""A real opentrail server with AWS Organizations (uvicorn in a thread) and boto3 clients: the
fixture ``org_server`` (one per module) and ``mgmt`` (a fresh account with a root key for each
test, so that every test starts with an account in no organization)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.organizations.service import OrganizationsService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving


@dataclass
class OrgServer:
    url: str
    data_dir: Path
    accounts: AccountStore
    organizations: OrganizationsService
    store: MemoryEventStore

    def new_key(self, account_id: str | None = None) -> AccessKey:
        """A root key of ``account_id`` (a new account when None)."""
        return self.accounts.create_access_key(account_id or self.accounts.create_account())

    def client(self, key: AccessKey, service: str = "organizations", region: str = "us-east-1") -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cli_env(self, key: AccessKey) -> dict[str, str]:
        """The environment the stock AWS CLI needs to reach this server as ``key``."""
        return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
                "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def records(self, event_name: str, account_id: str) -> list[dict[str, Any]]:
        """The CloudTrail records of ``event_name`` calls by ``account_id``, oldest first."""
        self.store.flush()
        records = (json.loads(e.record) for e in self.store.read_since(0, 1_000_000))
        return [r for r in records if r.get("eventName") == event_name and r["recipientAccountId"] == account_id]


@pytest.fixture(scope="module")
def org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgServer]:
    data_dir = tmp_path_factory.mktemp("orgs")
    accounts = AccountStore(data_dir / "accounts.db")
    store = MemoryEventStore()
    organizations = OrganizationsService(data_dir, create_account=accounts.create_account)
    app = build_app(settings=Settings(), store=store, accounts=accounts, organizations=organizations)
    try:
        with serving(app) as url:
            yield OrgServer(url, data_dir, accounts, organizations, store)
    finally:
        organizations.close()
        store.close()
        accounts.close()


@dataclass
class Management:
    """A fresh account (no organization yet), its root key and its Organizations client."""

    account_id: str
    key: AccessKey
    org: Any


@pytest.fixture
def mgmt(org_server: OrgServer) -> Management:
    key = org_server.new_key()
    return Management(key.account_id, key, org_server.client(key))
