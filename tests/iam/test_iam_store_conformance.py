"""IamStore (opentrail/iam/store.py) on both state backends (``state_dir``): entities, tags, inline
and managed policies, versions, attachments, groups, login profiles, staging and generation, with
exact values; a policy attached through one store (node) is in the other's policies at its next
look (at once on SQLite, within PG_RECHECK_S on PostgreSQL)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.iam.model import NamedDocument, PrincipalPolicies, Role, User
from opentrail.iam.store import Entity, IamStore, ManagedPolicy, PolicyVersion
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALLOW_LIST = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}'
ALLOW_GET = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}'
TRUST = '{"Version": "2012-10-17", "Statement": []}'
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/team/Readers"
AWS_READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"




@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def iam(state_dir: Path, clock: Clock) -> Iterator[IamStore]:
    store = IamStore(state_dir / "iam.db", monotonic=clock)
    yield store
    store.close()


def user(name: str, n: int, account: str = ACCOUNT, path: str = "/") -> Entity:
    return Entity(f"AIDAUSER{n:012d}", account, "user", name, path, 1700000000.0 + n)


def group(name: str, n: int) -> Entity:
    return Entity(f"AGPAGROUP{n:011d}", ACCOUNT, "group", name, "/", 1700000000.0 + n)


def role(name: str, n: int) -> Entity:
    return Entity(f"AROAROLE{n:012d}", ACCOUNT, "role", name, "/svc/", 1700000000.5, "builds", TRUST, 7200)


def policy(name: str = "Readers", path: str = "/team/") -> ManagedPolicy:
    return ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy{path}{name}", "ANPAREADERS000000001", ACCOUNT, name, path,
                         "read things", 1700000100.0, 1700000100.0, "v1", 2)


def test_entities_by_name_any_case_path_and_kind(iam: IamStore) -> None:
    bob, ann, carl = user("Bob", 1, path="/eng/"), user("ann", 2), user("carl", 3, path="/eng/ops/")
    for e in (bob, ann, carl, user("bob", 4, OTHER), role("builder", 5)):
        iam.create_entity(e)
    assert iam.entity(ACCOUNT, "user", "BOB") == bob
    assert iam.entity(ACCOUNT, "role", "Builder") == role("builder", 5)
    assert iam.entity(ACCOUNT, "group", "bob") is None
    assert iam.entity_by_id("AIDAUSER000000000002") == ann
    assert iam.entities(ACCOUNT, "user") == [ann, bob, carl]
    assert iam.entities(ACCOUNT, "user", "/eng/") == [bob, carl]
    assert iam.entities(ACCOUNT, "user", "/ENG/") == []  # paths are case-sensitive
    assert (iam.count(ACCOUNT, "user"), iam.count(OTHER, "user"), iam.count(ACCOUNT, "group")) == (3, 1, 0)
    renamed = Entity(bob.id, ACCOUNT, "user", "Robert", "/x/", bob.created, "d", None, None, POLICY_ARN)
    after: list[str] = []
    iam.update_entity(renamed, after=lambda: after.append("ran"))
    assert (iam.entity(ACCOUNT, "user", "robert"), iam.entity(ACCOUNT, "user", "bob"), after) == (renamed, None, ["ran"])
    assert iam.boundary_users(ACCOUNT, POLICY_ARN) == 1
    assert iam.get_user(ACCOUNT, "ROBERT") == User(ACCOUNT, "Robert", "/x/", bob.id, f"arn:aws:iam::{ACCOUNT}:user/x/Robert",
                                                   bob.created, {})
    assert iam.get_role(ACCOUNT, "builder") == Role(ACCOUNT, "builder", "/svc/", "AROAROLE000000000005",
                                                    f"arn:aws:iam::{ACCOUNT}:role/svc/builder", TRUST, 7200,
                                                    1700000000.5, {})
    with pytest.raises(Exception) as dup:
        iam.create_entity(user("ANN", 9))
    assert type(dup.value).__name__ == "IntegrityError"


def test_tags_keep_their_first_order(iam: IamStore) -> None:
    iam.create_entity(user("bob", 1), [("team", "a"), ("env", "dev")])
    iam.tag("AIDAUSER000000000001", [("cost", "7"), ("team", "b")])
    assert iam.tags("AIDAUSER000000000001") == [("team", "b"), ("env", "dev"), ("cost", "7")]
    iam.untag("AIDAUSER000000000001", ["env", "nope"])
    iam.tag("AIDAUSER000000000001", [("env", "prod")])
    assert iam.tags("AIDAUSER000000000001") == [("team", "b"), ("cost", "7"), ("env", "prod")]
    assert iam.get_user(ACCOUNT, "bob").tags == {"team": "b", "cost": "7", "env": "prod"}  # type: ignore[union-attr]


def test_managed_policies_and_versions(iam: IamStore) -> None:
    p = policy()
    iam.create_policy(p, ALLOW_LIST, [("owner", "sec")])
    assert iam.policy(ACCOUNT, POLICY_ARN) == p
    assert iam.policy(OTHER, POLICY_ARN) is None  # another account's policy is not seen
    assert iam.policy_named(ACCOUNT, "READERS") == p
    assert iam.policies(ACCOUNT) == [p]
    assert iam.tags(p.id) == [("owner", "sec")]
    assert iam.add_policy_version(p, ALLOW_GET, 1700000200.0, make_default=False) == "v2"
    stored = iam.policy(ACCOUNT, POLICY_ARN)
    assert (stored.default_version, stored.next_version, stored.updated) == ("v1", 3, 1700000100.0)  # type: ignore[union-attr]
    assert iam.add_policy_version(stored, ALLOW_GET, 1700000300.0, make_default=True) == "v3"  # type: ignore[arg-type]
    stored = iam.policy(ACCOUNT, POLICY_ARN)
    assert (stored.default_version, stored.next_version, stored.updated) == ("v3", 4, 1700000300.0)  # type: ignore[union-attr]
    assert iam.versions(stored) == [PolicyVersion("v3", ALLOW_GET, 1700000300.0),  # type: ignore[arg-type]
                                    PolicyVersion("v2", ALLOW_GET, 1700000200.0),
                                    PolicyVersion("v1", ALLOW_LIST, 1700000100.0)]
    assert iam.managed_policy_document(ACCOUNT, POLICY_ARN) == ALLOW_GET
    iam.set_default_version(POLICY_ARN, "v1", 1700000400.0)
    iam.delete_policy_version(POLICY_ARN, "v2")
    stored = iam.policy(ACCOUNT, POLICY_ARN)
    assert [v.version_id for v in iam.versions(stored)] == ["v3", "v1"]  # type: ignore[arg-type]
    assert iam.version(stored, "v1") == PolicyVersion("v1", ALLOW_LIST, 1700000100.0)  # type: ignore[arg-type]
    assert iam.version(stored, "v2") is None  # type: ignore[arg-type]
    assert iam.managed_policy_document(ACCOUNT, POLICY_ARN) == ALLOW_LIST
    aws = iam.policy(ACCOUNT, AWS_READ_ONLY)
    assert (aws.account_id, aws.name, aws.is_aws) == ("aws", "IAMReadOnlyAccess", True)  # type: ignore[union-attr]
    iam.delete_policy(stored)  # type: ignore[arg-type]
    assert (iam.policy(ACCOUNT, POLICY_ARN), iam.policies(ACCOUNT), iam.tags(p.id)) == (None, [], [])
    assert iam.managed_policy_document(ACCOUNT, POLICY_ARN) is None


def test_attachments_groups_inline_and_what_applies(iam: IamStore) -> None:
    bob, devs, ops = user("bob", 1), group("devs", 2), group("Ops", 3)
    for e in (bob, devs, ops, role("builder", 5)):
        iam.create_entity(e)
    iam.create_policy(policy(), ALLOW_LIST, [])
    iam.put_inline(bob.id, "zeta", ALLOW_GET)
    iam.put_inline(bob.id, "alpha", ALLOW_LIST)
    iam.put_inline(bob.id, "alpha", ALLOW_GET)  # replaced
    assert iam.inline(bob.id) == {"alpha": ALLOW_GET, "zeta": ALLOW_GET}
    iam.delete_inline(bob.id, "zeta")
    iam.attach(bob, POLICY_ARN)
    iam.attach(bob, AWS_READ_ONLY)
    iam.attach(bob, POLICY_ARN)  # already attached: nothing changes
    iam.attach(ops, POLICY_ARN)
    assert iam.attached(bob.id) == [POLICY_ARN, AWS_READ_ONLY]
    assert iam.attachment_count(ACCOUNT, POLICY_ARN) == 2
    assert [e.name for e in iam.attached_to(ACCOUNT, POLICY_ARN)] == ["Ops", "bob"]
    iam.add_member(ops.id, bob.id)
    iam.add_member(devs.id, bob.id)
    iam.add_member(devs.id, bob.id)
    assert [g.name for g in iam.user_groups(bob.id)] == ["devs", "Ops"]
    assert iam.group_users(devs.id) == [bob]
    iam.put_inline(devs.id, "g", ALLOW_LIST)
    found = iam.user_policies(ACCOUNT, "BOB")
    assert [d.name for d in found.identity] == ["alpha", POLICY_ARN, AWS_READ_ONLY, "g", POLICY_ARN]
    assert found.identity[1] == NamedDocument(POLICY_ARN, ALLOW_LIST) and found.boundary is None
    assert iam.user_policies(ACCOUNT, "nobody") == PrincipalPolicies()
    iam.update_entity(dataclasses.replace(role("builder", 5), boundary_arn=POLICY_ARN))
    iam.put_inline("AROAROLE000000000005", "r", ALLOW_GET)
    assert iam.role_policies(ACCOUNT, "builder") == PrincipalPolicies(
        (NamedDocument("r", ALLOW_GET),), NamedDocument(POLICY_ARN, ALLOW_LIST))
    iam.detach(bob.id, POLICY_ARN)
    iam.remove_member(ops.id, bob.id)
    assert (iam.attached(bob.id), [g.name for g in iam.user_groups(bob.id)]) == ([AWS_READ_ONLY], ["devs"])
    iam.delete_entity(bob.id)
    assert (iam.entity_by_id(bob.id), iam.inline(bob.id), iam.attached(bob.id), iam.group_users(devs.id)) == (
        None, {}, [], [])


def test_login_profiles(iam: IamStore) -> None:
    iam.create_entity(user("bob", 1))
    assert iam.login_profile("AIDAUSER000000000001") is None
    iam.put_login_profile("AIDAUSER000000000001", "hash-1", 1700000500.25, True)
    assert iam.login_profile("AIDAUSER000000000001") == ("hash-1", 1700000500.25, True)
    iam.put_login_profile("AIDAUSER000000000001", "hash-2", 1700000600.0, False)  # keeps its creation time
    assert iam.login_profile("AIDAUSER000000000001") == ("hash-2", 1700000500.25, False)
    iam.delete_login_profile("AIDAUSER000000000001")
    assert iam.login_profile("AIDAUSER000000000001") is None


def test_staged_writes_run_at_commit_and_are_dropped_without_it(iam: IamStore) -> None:
    start = iam.generation()
    with iam.staged_changes():
        iam.create_entity(user("dropped", 1))
        assert iam.entity(ACCOUNT, "user", "dropped") is None
    assert (iam.entity(ACCOUNT, "user", "dropped"), iam.generation()) == (None, start)
    with iam.staged_changes() as commit:
        iam.create_entity(user("kept", 2))
        assert iam.entity(ACCOUNT, "user", "kept") is None
        commit()
    assert iam.entity(ACCOUNT, "user", "kept") == user("kept", 2)
    assert iam.generation() != start


def test_a_policy_attached_through_another_store_applies_here(
        iam: IamStore, state_dir: Path, clock: Clock, state_backend: str) -> None:
    other = IamStore(state_dir / "iam.db", monotonic=clock)
    try:
        bob = user("bob", 1)
        other.create_entity(bob)
        other.create_policy(policy(), ALLOW_LIST, [])
        clock.now += PG_RECHECK_S
        seen = iam.generation()
        assert iam.user_policies(ACCOUNT, "bob") == PrincipalPolicies()
        other.attach(bob, POLICY_ARN)
        if state_backend == "postgres":  # another node's write is looked for every PG_RECHECK_S
            assert iam.generation() == seen
            clock.now += PG_RECHECK_S
        assert iam.generation() != seen
        assert iam.user_policies(ACCOUNT, "bob") == PrincipalPolicies((NamedDocument(POLICY_ARN, ALLOW_LIST),))
        seen = iam.generation()
        other.add_policy_version(policy(), ALLOW_GET, 1700000200.0, make_default=True)
        clock.now += PG_RECHECK_S
        assert iam.generation() != seen
        assert iam.managed_policy_document(ACCOUNT, POLICY_ARN) == ALLOW_GET
    finally:
        other.close()
