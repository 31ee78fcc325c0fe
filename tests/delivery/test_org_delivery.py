"""Delivery of organization trails: every member account's events, each once, under
``AWSLogs/<o-id>/<account>/``, across a crash after planning and before it; membership changes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.delivery import DeliveryWorker
from opentrail.organizations.service import OrganizationsService
from opentrail.trails import TrailSettings

from .conftest import ACCOUNT, BUCKET, Env, record
from .test_worker import FlakyStorage


@pytest.fixture
def orgs(env: Env, tmp_path: Path) -> Iterator[tuple[OrganizationsService, str, str]]:
    """An organization managed by ACCOUNT with trusted access for CloudTrail and one member."""
    service = OrganizationsService(tmp_path / "orgs")
    org = service.create_organization(ACCOUNT)
    member = service.create_account(ACCOUNT, "dev@example.com", "dev", {}).account_id
    assert member is not None
    service.enable_service_access(ACCOUNT, "cloudtrail.amazonaws.com")
    env.trails.organizations = service
    yield service, org.id, member
    service.close()


def org_trail(env: Env) -> str:
    t = env.trails.create_trail(ACCOUNT, "us-east-1", "org", TrailSettings(s3_bucket_name=BUCKET, is_organization_trail=True))
    env.trails.start_logging(ACCOUNT, "us-east-1", "org")
    return t.arn


def key_pattern(org_id: str) -> re.Pattern[str]:
    return re.compile(rf"AWSLogs/{org_id}/(\d{{12}})/CloudTrail/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/"
                      r"\1_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz")


def by_account(env: Env, org_id: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in env.files():
        m = key_pattern(org_id).fullmatch(key)
        assert m is not None, key
        recs = env.records(key)
        assert {r["recipientAccountId"] for r in recs} == {m.group(1)}
        out.setdefault(m.group(1), []).extend(r["eventID"] for r in recs)
    return out


def test_crash_after_plan_reuploads_each_member_file_once(env: Env, orgs: tuple[OrganizationsService, str, str]) -> None:
    service, org_id, member = orgs
    org_trail(env)
    storage = FlakyStorage(env.storage.root)
    storage.down = True
    w = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0, organizations=service)
    recs = [record(), record(account=member), record(account=member), record(account="999988887777")]
    env.ingest(*recs)
    w.step()
    env.clock.now += 2
    w.step()
    planned = env.state.pending_plans()
    assert sorted(p.count for p in planned) == [1, 2]
    del w  # kill -9
    env.restart()
    env.trails.organizations = service
    w2 = env.worker(organizations=service)
    w2.step()
    assert sorted(env.files()) == sorted(p.key for p in planned)
    env.ingest(record(account=member))
    w2.step()
    env.clock.now += 2
    w2.step()
    got = by_account(env, org_id)
    assert sorted(got) == sorted([ACCOUNT, member])
    assert got[ACCOUNT] == [recs[0]["eventID"]]
    assert len(got[member]) == 3 == len(set(got[member]))


def test_crash_before_plan_reads_every_member_again(env: Env, orgs: tuple[OrganizationsService, str, str]) -> None:
    service, org_id, member = orgs
    org_trail(env)
    w = env.worker(organizations=service)
    env.ingest(record(), record(account=member))
    w.step()
    env.clock.now += 2
    w.step()
    env.ingest(record(account=member), record(), record(account=member))
    w.step()  # batched in memory only
    env.clock.now += 1.5
    w._checkpoint()
    env.restart()
    env.trails.organizations = service
    w2 = env.worker(organizations=service)
    w2.step()
    env.clock.now += 2
    w2.step()
    got = by_account(env, org_id)
    assert (len(got[ACCOUNT]), len(got[member])) == (2, 3)
    ids = [i for v in got.values() for i in v]
    assert len(ids) == len(set(ids)) == 5


def test_removed_account_stops_and_joined_account_starts(env: Env, orgs: tuple[OrganizationsService, str, str]) -> None:
    service, org_id, member = orgs
    org_trail(env)
    w = env.worker(organizations=service)
    before = record(account=member)
    env.ingest(before)
    w.step()
    service.remove_account(ACCOUNT, member)
    joined = service.create_account(ACCOUNT, "new@example.com", "new", {}).account_id
    assert joined is not None
    late, new = record(account=member), record(account=joined)
    env.ingest(late, new)
    env.clock.now += 2
    w.step()
    env.clock.now += 2
    w.step()
    got = by_account(env, org_id)
    assert got == {member: [before["eventID"]], joined: [new["eventID"]]}


def test_organization_deleted_trail_keeps_its_own_account_in_the_plain_layout(
        env: Env, orgs: tuple[OrganizationsService, str, str]) -> None:
    service, _, member = orgs
    org_trail(env)
    service.remove_account(ACCOUNT, member)
    service.delete_organization(ACCOUNT)
    w = env.worker(organizations=service)
    own = record()
    env.ingest(own, record(account=member))
    w.step()
    env.clock.now += 2
    w.step()
    files = env.files()
    assert len(files) == 1 and files[0].startswith(f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/")
    assert env.delivered_ids() == [own["eventID"]]
