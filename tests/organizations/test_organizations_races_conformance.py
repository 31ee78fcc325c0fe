"""Check-and-write races of Organizations on both state backends (``state_dir``): several service
objects on one database (several nodes) changing one organization at once. Each write checks in its
transaction that the organization is still the one its checks read (issue 17): CreateOrganization
twice makes one organization (AlreadyInOrganizationException for the others), an OU name is
created once, and no change of one node is lost to another's (ConcurrentModificationException,
AWS's answer to concurrent changes, instead)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.organizations import errors as e
from opentrail.organizations.service import OrganizationsService
from tests.state_backends import HandClock as Clock
from tests.state_backends import outcomes, race

MGMT = "111122223333"
NODES = 6
CHANGED = ("ConcurrentModificationException: The target of the operation is currently being modified by a "
           "different request. Try again later.")


def _nodes(state_dir: Path, n: int = 2) -> list[OrganizationsService]:
    return [OrganizationsService(state_dir, lambda: 1700000000.0, monotonic=Clock()) for _ in range(n)]


def test_create_organization_at_once_on_several_nodes_makes_one(state_dir: Path) -> None:
    nodes = _nodes(state_dir)
    results = race([lambda i=i: nodes[i % 2].create_organization(MGMT) for i in range(NODES)])
    assert outcomes(results) == ["AlreadyInOrganizationException: The provided account is already a member of an "
                                 "organization."] * 5 + ["ok"]
    winner = next(r for r in results if not isinstance(r, BaseException))
    fresh = _nodes(state_dir, 1)[0]
    assert fresh.describe_organization(MGMT) == winner
    for node in [*nodes, fresh]:
        node.close()


def test_a_staged_change_made_from_an_organization_another_node_changed_since_is_refused(state_dir: Path) -> None:
    one, two = _nodes(state_dir)
    org = one.create_organization(MGMT)
    with one.staged_changes() as commit:  # the API: checked now, written once the call is recorded
        one.create_ou(MGMT, org.root_id, "prod", {})
        two.create_ou(MGMT, org.root_id, "prod", {})
        with pytest.raises(e.ConcurrentModificationException) as raised:
            commit()
    assert f"{type(raised.value).__name__}: {raised.value.message}" == CHANGED
    with one.staged_changes() as commit:
        status = one.create_account(MGMT, "a@example.com", "a", {})
        two.create_account(MGMT, "b@example.com", "b", {})
        with pytest.raises(e.ConcurrentModificationException):
            commit()
    fresh = _nodes(state_dir, 1)[0]
    assert [ou.name for ou in fresh.list_ous_for_parent(MGMT, org.root_id)[1]] == ["prod"]
    assert sorted(a.name for a in fresh.list_accounts(MGMT)) == [MGMT, "b"]
    assert status.account_id not in {a.id for a in fresh.list_accounts(MGMT)}
    for node in (one, two, fresh):
        node.close()


def test_one_ou_name_created_at_once_on_several_nodes_is_created_once(state_dir: Path) -> None:
    nodes = _nodes(state_dir)
    org = nodes[0].create_organization(MGMT)
    results = race([lambda i=i: nodes[i % 2].create_ou(MGMT, org.root_id, "prod", {}) for i in range(NODES)])
    assert outcomes(results).count("ok") == 1
    assert set(outcomes(results)) - {"ok"} <= {CHANGED, "DuplicateOrganizationalUnitException: An OU with the same "
                                               "name already exists."}
    fresh = _nodes(state_dir, 1)[0]
    assert [ou.name for ou in fresh.list_ous_for_parent(MGMT, org.root_id)[1]] == ["prod"]
    for node in [*nodes, fresh]:
        node.close()
