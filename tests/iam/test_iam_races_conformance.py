"""Check-and-write races of IAM on both state backends (``state_dir``): several store objects on one
database (several nodes) creating users, roles and policies, or access keys, at once. The limit and
the name are checked inside the write transaction (issue 17), so exactly as many creates succeed as
the limit allows and exactly one create of a name wins; the others get AWS's error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from opentrail.api import iam_errors as e
from opentrail.auth.accounts import AccountStore, new_access_key
from opentrail.iam.store import Entity, IamStore, ManagedPolicy
from tests.state_backends import outcomes, race

ACCOUNT = "111122223333"
NODES = 6


def user(name: str, n: int) -> Entity:
    return Entity(f"AIDAUSER{n:012d}", ACCOUNT, "user", name, "/", 1700000000.0 + n)


def stores(state_dir: Path, n: int = 2) -> list[IamStore]:
    return [IamStore(state_dir / "iam.db") for _ in range(n)]


def quota() -> Exception:
    return e.LimitExceededException("Cannot exceed quota for UsersPerAccount: 3")


def taken(name: str) -> Exception:
    return e.EntityAlreadyExistsException(f"User with name {name} already exists.")


def test_users_created_at_once_on_several_nodes_stop_at_the_limit(state_dir: Path) -> None:
    nodes = stores(state_dir)
    nodes[0].create_entity(user("first", 0), limit=(3, quota))
    results = race([lambda i=i: nodes[i % 2].create_entity(user(f"u{i}", i + 1), limit=(3, quota))
                    for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: Cannot exceed quota for UsersPerAccount: 3"] * 4 + ["ok"] * 2
    assert nodes[1].count(ACCOUNT, "user") == 3
    for node in nodes:
        node.close()


def test_one_name_created_at_once_on_several_nodes_is_created_once(state_dir: Path) -> None:
    nodes = stores(state_dir)
    results = race([lambda i=i: nodes[i % 2].create_entity(user("Bob" if i % 2 else "bob", i), taken=lambda: taken("bob"))
                    for i in range(NODES)])
    assert outcomes(results) == ["EntityAlreadyExistsException: User with name bob already exists."] * 5 + ["ok"]
    assert nodes[0].count(ACCOUNT, "user") == 1
    for node in nodes:
        node.close()


def _policy(name: str, n: int) -> ManagedPolicy:
    return ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/{name}", f"ANPA{n:016d}", ACCOUNT, name, "/", None,
                         1700000100.0, 1700000100.0, "v1", 2)


DOC = '{"Version": "2012-10-17", "Statement": []}'


def test_policies_created_at_once_stop_at_the_limit(state_dir: Path) -> None:
    nodes = stores(state_dir)

    def over() -> Exception:
        return e.LimitExceededException("Cannot exceed quota for PoliciesPerAccount: 2")

    results = race([lambda i=i: nodes[i % 2].create_policy(_policy(f"P{i}", i), DOC, [], limit=(2, over))
                    for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: Cannot exceed quota for PoliciesPerAccount: 2"] * 4 + ["ok"] * 2
    assert len(nodes[0].policies(ACCOUNT)) == 2
    for node in nodes:
        node.close()


def test_one_policy_name_created_at_once_is_created_once(state_dir: Path) -> None:
    nodes = stores(state_dir)

    def dup() -> Exception:
        return e.EntityAlreadyExistsException("A policy called P already exists. Duplicate names are not allowed.")

    results = race([lambda i=i: nodes[i % 2].create_policy(_policy("P", i), DOC, [], taken=dup) for i in range(NODES)])
    assert outcomes(results) == ["EntityAlreadyExistsException: A policy called P already exists. Duplicate names are "
                                 "not allowed."] * 5 + ["ok"]
    assert [p.name for p in nodes[1].policies(ACCOUNT)] == ["P"]
    for node in nodes:
        node.close()


def test_access_keys_created_at_once_stop_at_two_per_user(state_dir: Path) -> None:
    nodes = [AccountStore(state_dir / "accounts.db") for _ in range(2)]

    def over() -> Exception:
        return e.LimitExceededException("Cannot exceed quota for AccessKeysPerUser: 2")

    results = race([lambda i=i: nodes[i % 2].add_user_key(new_access_key(ACCOUNT, "alice"), "AIDAALICE", "/",
                                                          limit=(2, over)) for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: Cannot exceed quota for AccessKeysPerUser: 2"] * 4 + ["ok"] * 2
    assert len(nodes[1].user_keys(ACCOUNT, "alice")) == 2
    for node in nodes:
        node.close()


def test_group_memberships_and_attachments_made_at_once_stop_at_their_limits(state_dir: Path) -> None:
    nodes = stores(state_dir)
    alice = user("alice", 0)
    nodes[0].create_entity(alice)
    groups = [Entity(f"AGPAGROUP{n:011d}", ACCOUNT, "group", f"g{n}", "/", 1700000000.0) for n in range(NODES)]
    for g in groups:
        nodes[0].create_entity(g)

    def in_groups() -> Exception:
        return e.LimitExceededException("Cannot exceed quota for GroupsPerUser: 2")

    results = race([lambda i=i: nodes[i % 2].add_member(groups[i].id, alice.id, limit=(2, in_groups))
                    for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: Cannot exceed quota for GroupsPerUser: 2"] * 4 + ["ok"] * 2
    assert len(nodes[1].user_groups(alice.id)) == 2

    def attached() -> Exception:
        return e.LimitExceededException("Cannot exceed quota for PoliciesPerUser: 2")

    results = race([lambda i=i: nodes[i % 2].attach(alice, f"arn:aws:iam::aws:policy/P{i}", limit=(2, attached))
                    for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: Cannot exceed quota for PoliciesPerUser: 2"] * 4 + ["ok"] * 2
    assert len(nodes[1].attached(alice.id)) == 2
    for node in nodes:
        node.close()


def test_login_profiles_and_policy_versions_made_at_once(state_dir: Path) -> None:
    nodes = stores(state_dir)
    alice = user("alice", 0)
    nodes[0].create_entity(alice)

    def has_profile() -> Exception:
        return e.EntityAlreadyExistsException("Login Profile for user alice already exists.")

    results = race([lambda i=i: nodes[i % 2].put_login_profile(alice.id, f"hash{i}", 1.0, False, taken=has_profile)
                    for i in range(NODES)])
    assert outcomes(results) == ["EntityAlreadyExistsException: Login Profile for user alice already exists."] * 5 + [
        "ok"]
    policy = _policy("P", 0)
    nodes[0].create_policy(policy, DOC, [])  # v1; the next version is v2 for every node

    def failed() -> Exception:
        return e.ServiceFailureException("failed")

    results = race([lambda i=i: nodes[i % 2].add_policy_version(policy, DOC, 2.0, False, changed=failed)
                    for i in range(NODES)])
    assert outcomes(results) == ["ServiceFailureException: failed"] * 5 + ["ok"]
    assert sorted(v.version_id for v in nodes[1].versions(policy)) == ["v1", "v2"]

    def too_many() -> Exception:
        return e.LimitExceededException("A managed policy can have up to 5 versions.")

    fresh = nodes[1].policy_named(ACCOUNT, "P")
    assert fresh is not None
    results = race([lambda i=i: nodes[i % 2].add_policy_version(dataclasses.replace(fresh, next_version=3 + i), DOC,
                                                                3.0, False, limit=(3, too_many))
                    for i in range(NODES)])
    assert outcomes(results) == ["LimitExceededException: A managed policy can have up to 5 versions."] * 5 + ["ok"]
    for node in nodes:
        node.close()
