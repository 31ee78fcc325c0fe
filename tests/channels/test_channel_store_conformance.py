"""Channels (``lake.db`` ``channels``: :class:`ChannelService`) and resource-based policies
(``resource_policies``: :class:`ResourcePolicies`) on both state backends (``state_dir``: SQLite and
PostgreSQL), including two objects on one state_dir standing in for two nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.lake import errors as E
from opentrail.lake.channels import Channel, ChannelService
from opentrail.lake.resource_policies import ResourcePolicies
from opentrail.lake.service import EventDataStoreService, StoreSettings
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector

ACCOUNT = "111122223333"
REGION = "us-east-1"
AUDIT = (AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("ActivityAuditLog",)),)),)


class Node:
    """One node's Lake services on the shared state directory."""

    def __init__(self, state_dir: Path, recheck_s: float) -> None:
        self.stores = EventDataStoreService(state_dir, lambda: 1000.0)
        self.channels = ChannelService(state_dir, self.stores, lambda: 2000.0, recheck_s=recheck_s)
        self.policies = ResourcePolicies(state_dir, lambda rtype, account, region, arn: self._exists(arn),
                                         recheck_s=recheck_s)
        self.channels.on_delete = self.policies.forget

    def _exists(self, arn: str) -> bool:
        try:
            self.channels.find(ACCOUNT, REGION, arn)
        except E.ChannelNotFoundException:
            return False
        return True

    def close(self) -> None:
        self.policies.close()
        self.channels.close()
        self.stores.close()


@pytest.fixture
def nodes(state_dir: Path) -> Iterator[tuple[Node, Node]]:
    first, second = Node(state_dir, 0.5), Node(state_dir, 60.0)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _policy(arn: str, account: str = "444455556666") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": account}, "Action": "cloudtrail-data:PutAuditEvents",
        "Resource": arn}]})


def test_channel_methods(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    eds = node.stores.create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    made = node.channels.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)],
                                tags=(("k", "v"),))
    assert made == Channel(made.id, ACCOUNT, REGION, "partner", "Custom", (("EVENT_DATA_STORE", eds.arn),),
                           (("k", "v"),), 2000.0)
    assert node.channels.find(ACCOUNT, REGION, made.arn) == made == node.channels.get(made.id)
    assert node.channels.channel_for_store(eds.arn) == made
    renamed = node.channels.update(ACCOUNT, REGION, made.id, "renamed", None)
    assert node.channels.list(ACCOUNT, REGION, None, 10) == ([renamed], None)
    node.channels.add_tags(ACCOUNT, REGION, made.arn, (("k2", "v2"),))
    assert node.channels.get(made.id).tags == (("k", "v"), ("k2", "v2"))  # type: ignore[union-attr]
    node.channels.delete(ACCOUNT, REGION, made.arn)
    assert node.channels.all() == [] and node.channels.channel_for_store(eds.arn) is None


def test_resource_policy_methods(nodes: tuple[Node, Node]) -> None:
    node, _ = nodes
    eds = node.stores.create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    channel = node.channels.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)])
    with pytest.raises(E.ResourcePolicyNotFoundException):
        node.policies.get(ACCOUNT, REGION, channel.arn)
    text = _policy(channel.arn)
    assert node.policies.put(ACCOUNT, REGION, channel.arn, text) == text
    assert node.policies.get(ACCOUNT, REGION, channel.arn) == text
    compiled = node.policies.policy_for(channel.arn)
    assert compiled is not None and compiled is node.policies.policy_for(channel.arn)
    node.policies.delete(ACCOUNT, REGION, channel.arn)
    assert node.policies.policy_for(channel.arn) is None
    node.policies.put(ACCOUNT, REGION, channel.arn, text)
    node.channels.delete(ACCOUNT, REGION, channel.arn)  # its policy goes with it
    assert node.policies.policy_for(channel.arn) is None


def test_two_nodes_see_each_others_channels_and_policies(nodes: tuple[Node, Node]) -> None:
    first, second = nodes
    eds = first.stores.create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    version = second.channels.version
    made = first.channels.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)])
    with second.channels.lock:  # a read-check-write block sees the commit at once (recheck_s is 60 here)
        assert second.channels.find(ACCOUNT, REGION, made.arn) == made
        with pytest.raises(E.ChannelAlreadyExistsException):
            second.channels.create(ACCOUNT, REGION, "partner", "Other", [("EVENT_DATA_STORE", eds.id)])
    assert second.channels.version != version
    second.policies.put(ACCOUNT, REGION, made.arn, _policy(made.arn))
    with first.policies.lock:
        assert first.policies.get(ACCOUNT, REGION, made.arn) == _policy(made.arn)
    second.policies.put(ACCOUNT, REGION, made.arn, _policy(made.arn, "777788889999"))
    with first.policies.lock:  # the compiled policy follows the new text
        compiled = first.policies.policy_for(made.arn)
        assert compiled is not None and compiled.statements[0].principal.aws == {"arn:aws:iam::777788889999:root"}
        assert first.policies.get(ACCOUNT, REGION, made.arn) == _policy(made.arn, "777788889999")
    second.channels.delete(ACCOUNT, REGION, made.id)
    with first.channels.lock:
        assert first.channels.all() == []
        assert first.stores.channel_for_store is not None and first.stores.channel_for_store(eds.arn) is None
    with first.policies.lock:
        assert first.policies.policy_for(made.arn) is None
