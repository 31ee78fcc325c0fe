"""A real opentrail server (uvicorn in a thread) with CloudTrail trails, CloudWatch, STS and
Organizations, policy enforcement over the in-memory IAM directory of :mod:`tests.memory_iam`, and
boto3 clients signed as root or as IAM users."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.objectstore.local import LocalFolderStorage
from opentrail.organizations.service import OrganizationsService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from tests.memory_iam import MemoryIamDirectory
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "audit-logs"

READ_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Action": ["cloudtrail:Get*", "cloudtrail:Describe*", "cloudtrail:List*", "cloudtrail:LookupEvents"],
    "Resource": "*"}]})
READ_ONLY_ARN = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"
FULL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@dataclass
class AuthServer:
    url: str
    accounts: AccountStore
    store: MemoryEventStore
    iam: MemoryIamDirectory
    organizations: OrganizationsService
    root: AccessKey

    def user(self, name: str, *, account: str = ACCOUNT, documents: dict[str, str] | None = None,
             attach: tuple[str, ...] = (), path: str = "/") -> AccessKey:
        """A new IAM user ``name`` with inline ``documents`` and attached managed policies; its key."""
        self.iam.add_user(account, name, path)
        for policy_name, doc in (documents or {}).items():
            self.iam.put_policy(account, policy_name, doc, user=name)
        for arn in attach:
            self.iam.attach(account, arn, user=name)
        return self.accounts.create_access_key(account, name)

    def client(self, key: AccessKey, service: str = "cloudtrail", region: str = REGION) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def records(self, event_name: str) -> list[dict[str, Any]]:
        self.store.flush()
        records = (json.loads(e.record) for e in self.store.read_since(0, 1_000_000))
        return [r for r in records if r.get("eventName") == event_name]


def start(tmp_path: Path, settings: Settings) -> Iterator[AuthServer]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    accounts = AccountStore(data_dir / "accounts.db")
    root = accounts.create_access_key(ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    trails = TrailService(data_dir, storage, time.time)
    organizations = OrganizationsService(data_dir, create_account=accounts.create_account)
    iam = MemoryIamDirectory()
    iam.create_policy(READ_ONLY_ARN, READ_ONLY)
    store = MemoryEventStore()
    app = build_app(settings=settings, store=store, accounts=accounts, trails=trails, organizations=organizations,
                    iam=iam)
    try:
        with serving(app) as url:
            yield AuthServer(url, accounts, store, iam, organizations, root)
    finally:
        trails.close()
        organizations.close()
        store.close()
        accounts.close()


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[AuthServer]:
    yield from start(tmp_path, Settings())


@pytest.fixture
def log_only(tmp_path: Path) -> Iterator[AuthServer]:
    yield from start(tmp_path, Settings(iam_enforcement="log-only"))
