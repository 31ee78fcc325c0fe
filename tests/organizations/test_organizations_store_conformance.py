"""SqliteOrganizationsStore (opentrail/organizations/store.py) on both state backends
(``state_dir``): save, load, delete, changed, with exact values; and two OrganizationsService
objects on one data directory (two nodes): an organization and its SCPs written through one are
read, and enforced, through the other at its next look (at once on SQLite, within PG_RECHECK_S on
PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.organizations import errors as e
from opentrail.organizations.model import SCP, Account, Organization, Policy
from opentrail.organizations.service import OrganizationsService
from opentrail.organizations.store import ORGANIZATIONS_DB, SqliteOrganizationsStore
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

MGMT = "111122223333"
MEMBER = "444455556666"
DENY_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})




@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(state_dir: Path, clock: Clock) -> Iterator[SqliteOrganizationsStore]:
    s = SqliteOrganizationsStore(state_dir / ORGANIZATIONS_DB, monotonic=clock)
    yield s
    s.close()


def org(org_id: str, mgmt: str, *members: str) -> Organization:
    o = Organization(org_id, "ALL", mgmt, "r-ab12", 1700000000.125)
    for n, account in enumerate((mgmt, *members)):
        o.accounts[account] = Account(account, f"acct-{n}", f"{account}@example.com", "CREATED", 1700000000.5 + n,
                                      "r-ab12", tags={"n": str(n)})
    o.policies["p-deny0001"] = Policy("p-deny0001", "deny-s3", "no S3", SCP, DENY_S3)
    o.attachments = {"r-ab12": ["p-FullAWSAccess"], members[0] if members else mgmt: ["p-deny0001"]}
    o.policy_types = [SCP]
    o.service_access = {"cloudtrail.amazonaws.com": 1700000001.0}
    return o


def members(state_dir: Path) -> list[tuple[str, str]]:
    """(account, organization) rows, read through a store of its own."""
    reader = SqliteOrganizationsStore(state_dir / ORGANIZATIONS_DB)
    try:
        return sorted(reader._conn.execute("SELECT account_id, organization_id FROM members").fetchall())
    finally:
        reader.close()


def test_save_load_delete(store: SqliteOrganizationsStore, state_dir: Path) -> None:
    assert store.load() == []
    b, a = org("o-bbbbbbbbbb", MGMT, MEMBER), org("o-aaaaaaaaaa", "777788889999")
    store.save(b)
    store.save(a)
    assert store.load() == [a, b]  # by id
    b.accounts.pop(MEMBER)
    b.root_tags = {"k": "v"}
    store.save(b)
    assert store.load() == [a, b]
    assert [tuple(r) for r in members(state_dir)] == [(MGMT, "o-bbbbbbbbbb"), ("777788889999", "o-aaaaaaaaaa")]
    store.delete("o-aaaaaaaaaa")
    assert store.load() == [b]
    assert [tuple(r) for r in members(state_dir)] == [(MGMT, "o-bbbbbbbbbb")]


def test_an_account_belongs_to_one_organization(store: SqliteOrganizationsStore) -> None:
    store.save(org("o-aaaaaaaaaa", MGMT))
    with pytest.raises(Exception) as raised:
        store.save(org("o-bbbbbbbbbb", MGMT))
    assert type(raised.value).__name__ == "IntegrityError"
    assert [o.id for o in store.load()] == ["o-aaaaaaaaaa"]  # nothing of the failed save is left


def test_changed_tells_of_another_stores_writes(store: SqliteOrganizationsStore, state_dir: Path, clock: Clock,
                                                 state_backend: str) -> None:
    other = SqliteOrganizationsStore(state_dir / ORGANIZATIONS_DB, monotonic=clock)
    try:
        assert store.changed() is False
        other.save(org("o-aaaaaaaaaa", MGMT))
        if state_backend == "postgres":
            assert store.changed() is False
            clock.now += PG_RECHECK_S
        assert store.changed() is True
        assert store.changed() is False
        other.delete("o-aaaaaaaaaa")
        assert store.changed(fresh=True) is True
        assert store.load() == []
    finally:
        other.close()


def test_a_second_service_on_the_same_data_directory_sees_the_changes(state_dir: Path, clock: Clock,
                                                                      state_backend: str) -> None:
    one = OrganizationsService(state_dir, lambda: 1700000000.0, monotonic=clock)
    two = OrganizationsService(state_dir, lambda: 1700000000.0, monotonic=clock)
    try:
        created = one.create_organization(MGMT)
        assert two.describe_organization(MGMT) == created  # an operation looks at once
        with pytest.raises(e.AlreadyInOrganizationException):
            two.create_organization(MGMT)
        status = one.create_account(MGMT, "m@example.com", "member", {})
        member = status.account_id
        assert member is not None
        one.enable_policy_type(MGMT, created.root_id, SCP)
        _, deny = one.create_policy(MGMT, "deny-s3", "no S3", SCP, DENY_S3, {})
        full = one.describe_policy(MGMT, "p-FullAWSAccess")[1].content
        assert {a.id for a in two.list_accounts(MGMT)} == {MGMT, member}  # an operation looks at once
        version = two.version
        one.attach_policy(MGMT, deny.id, member)
        if state_backend == "postgres":  # the read interface looks every PG_RECHECK_S
            assert two.scp_chain(member) == [[full], [full]]
            clock.now += PG_RECHECK_S
        assert two.scp_chain(member) == [[full], [full, DENY_S3]]
        assert two.version > version
        assert two.organization_of(member) == one.organization_of(member)
        one.remove_account(MGMT, member)
        clock.now += PG_RECHECK_S
        assert (two.organization_of(member), two.scp_chain(member)) == (None, [])
        one.delete_organization(MGMT)
        with pytest.raises(e.AWSOrganizationsNotInUseException):
            two.describe_organization(MGMT)
    finally:
        one.close()
        two.close()
