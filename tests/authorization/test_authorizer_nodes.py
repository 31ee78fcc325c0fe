"""Policy enforcement with several nodes, on both state backends (``state_dir``): an Authorizer on
one node (its own IamStore and OrganizationsService) enforces what another node's stores wrote --
an IAM policy attached or detached, an SCP attached -- at its next look: at once on SQLite, within
PG_RECHECK_S on PostgreSQL (injected monotonic clock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.api.authorization import Authorizer
from opentrail.api.errors import AccessDeniedException
from opentrail.api.operations import CLOUDTRAIL
from opentrail.api.recording import CallInfo
from opentrail.auth.sigv4 import Caller
from opentrail.iam.store import Entity, IamStore, ManagedPolicy
from opentrail.organizations.model import SCP
from opentrail.organizations.service import OrganizationsService
from opentrail.settings import Settings
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

MGMT = "111122223333"
INFO = CallInfo("203.0.113.7", "test", None)
NOW = 1_800_000_000.0
READ_TRAILS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "cloudtrail:GetTrail", "Resource": "*"}]})
DENY_TRAILS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}]})




class Node:
    """One node's stores on the shared data directory."""

    def __init__(self, state_dir: Path, clock: Clock) -> None:
        self.iam = IamStore(state_dir / "iam.db", monotonic=clock)
        self.orgs = OrganizationsService(state_dir, lambda: NOW, monotonic=clock)
        self.auth = Authorizer(Settings(), self.iam, self.orgs)

    def close(self) -> None:
        self.iam.close()
        self.orgs.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def nodes(state_dir: Path, clock: Clock) -> Iterator[tuple[Node, Node]]:
    one, two = Node(state_dir, clock), Node(state_dir, clock)
    yield one, two
    one.close()
    two.close()


def get_trail(node: Node, account: str) -> str:
    """``allowed`` or the denial message of bob's GetTrail on ``node``."""
    caller = Caller(account, "AKIAEXAMPLE", "bob", "us-east-1")
    try:
        node.auth.authorize(caller, CLOUDTRAIL, "GetTrail", {"Name": "t1"}, INFO, NOW)
    except AccessDeniedException as exc:
        return exc.message
    return "allowed"


def later(clock: Clock, state_backend: str) -> None:
    """Time for another node's write to be noticed (PostgreSQL's look every PG_RECHECK_S)."""
    if state_backend == "postgres":
        clock.now += PG_RECHECK_S


def test_iam_policy_and_scp_written_on_one_node_are_enforced_on_the_other(
        nodes: tuple[Node, Node], clock: Clock, state_backend: str) -> None:
    one, two = nodes
    one.orgs.create_organization(MGMT)
    member = one.orgs.create_account(MGMT, "m@example.com", "member", {}).account_id
    assert member is not None
    bob = Entity("AIDABOB000000000001", member, "user", "bob", "/", NOW)
    one.iam.create_entity(bob)
    arn = f"arn:aws:iam::{member}:policy/read-trails"
    one.iam.create_policy(ManagedPolicy(arn, "ANPAREAD00000000001", member, "read-trails", "/", None, NOW, NOW, "v1"),
                          READ_TRAILS, [])
    later(clock, state_backend)
    trail = f"arn:aws:cloudtrail:us-east-1:{member}:trail/t1"
    no_policy = (f"User: arn:aws:iam::{member}:user/bob is not authorized to perform: cloudtrail:GetTrail on"
                 f" resource: {trail} because no identity-based policy allows the cloudtrail:GetTrail action")
    assert get_trail(two, member) == no_policy

    one.iam.attach(bob, arn)
    if state_backend == "postgres":
        assert get_trail(two, member) == no_policy  # not looked again yet
    later(clock, state_backend)
    assert get_trail(two, member) == "allowed"

    org = one.orgs.describe_organization(MGMT)
    one.orgs.enable_policy_type(MGMT, org.root_id, SCP)
    _, deny = one.orgs.create_policy(MGMT, "deny-trails", "", SCP, DENY_TRAILS, {})
    one.orgs.attach_policy(MGMT, deny.id, member)
    later(clock, state_backend)
    assert get_trail(two, member) == (
        f"User: arn:aws:iam::{member}:user/bob is not authorized to perform: cloudtrail:GetTrail on resource:"
        f" {trail} with an explicit deny in a service control policy")

    one.orgs.detach_policy(MGMT, deny.id, member)
    one.iam.detach(bob.id, arn)
    later(clock, state_backend)
    assert get_trail(two, member) == no_policy
