"""Check-and-write races of the Lake catalog on both state backends (``state_dir``): several
service objects on one database (several nodes) creating event data stores, channels and
dashboards at once. The limit and the name are checked again inside the write transaction
(issue 17): exactly as many creates succeed as the limit allows, one create of a name wins, and
the others get AWS's error -- also when a node's check passed before another node's write (the
API's staged changes: checked in the handler, written after the call is recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.lake import channels as channels_module
from opentrail.lake import dashboard_service
from opentrail.lake import errors as E
from opentrail.lake import service as lake_service
from opentrail.lake.channels import ChannelService
from opentrail.lake.dashboard_service import DashboardService
from opentrail.lake.service import EventDataStoreService, StoreSettings
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector
from tests.state_backends import outcomes, race

ACCOUNT = "111122223333"
REGION = "us-east-1"
NODES = 6
AUDIT = (AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("ActivityAuditLog",)),)),)


def _services(state_dir: Path) -> list[EventDataStoreService]:
    return [EventDataStoreService(state_dir, lambda: 1000.0) for _ in range(2)]


def test_event_data_stores_created_at_once_stop_at_the_limit(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake_service, "MAX_STORES_PER_REGION", 3)
    nodes = _services(state_dir)
    nodes[0].create(ACCOUNT, REGION, StoreSettings(name="first"))
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, StoreSettings(name=f"s{i}"))
                    for i in range(NODES)])
    assert outcomes(results) == ["EventDataStoreMaxLimitExceededException: Your account has used the maximum number "
                                 "of event data stores."] * 4 + ["ok"] * 2
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    assert len(fresh.list(ACCOUNT, REGION, None, 10)[0]) == 3
    for node in [*nodes, fresh]:
        node.close()


def test_one_event_data_store_name_created_at_once_is_created_once(state_dir: Path) -> None:
    nodes = _services(state_dir)
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, StoreSettings(name="shared"))
                    for i in range(NODES)])
    assert outcomes(results) == ["EventDataStoreAlreadyExistsException: An event data store with that name already "
                                 "exists."] * 5 + ["ok"]
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    assert [s.name for s in fresh.list(ACCOUNT, REGION, None, 10)[0]] == ["shared"]
    for node in [*nodes, fresh]:
        node.close()


def test_a_staged_create_whose_name_another_node_took_since_its_check_is_refused(state_dir: Path) -> None:
    one, two = _services(state_dir)
    with one.staged_changes() as commit:  # the API: checked now, written once the call is recorded
        one.create(ACCOUNT, REGION, StoreSettings(name="shared"))
        two.create(ACCOUNT, REGION, StoreSettings(name="shared"))
        with pytest.raises(E.EventDataStoreAlreadyExistsException):
            commit()
    renamed = two.create(ACCOUNT, REGION, StoreSettings(name="other"))
    with one.staged_changes() as commit:  # a rename checks again too
        one.update(ACCOUNT, REGION, renamed.id, StoreSettings(name="third"))
        two.create(ACCOUNT, REGION, StoreSettings(name="third"))
        with pytest.raises(E.EventDataStoreAlreadyExistsException):
            commit()
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    assert sorted(s.name for s in fresh.list(ACCOUNT, REGION, None, 10)[0]) == ["other", "shared", "third"]
    for node in (one, two, fresh):
        node.close()


def test_channels_created_at_once_stop_at_the_limit_and_one_name_wins(state_dir: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels_module, "MAX_CHANNELS_PER_REGION", 2)
    stores = _services(state_dir)
    nodes = [ChannelService(state_dir, stores[i], lambda: 2000.0) for i in range(2)]
    eds = stores[0].create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    to = [("EVENT_DATA_STORE", eds.id)]
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, "same", f"Custom{i}", to) for i in range(NODES)])
    assert outcomes(results) == ["ChannelAlreadyExistsException: A channel named same already exists."] * 5 + ["ok"]
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, f"c{i}", f"Custom{i + 10}", to)
                    for i in range(NODES)])
    assert outcomes(results) == ["ChannelMaxLimitExceededException: The maximum number of channels limit is "
                                 "exceeded."] * 5 + ["ok"]
    fresh = ChannelService(state_dir, EventDataStoreService(state_dir, lambda: 1000.0), lambda: 2000.0)
    assert len(fresh.list(ACCOUNT, REGION, None, 10)[0]) == 2
    for node in [*nodes, *stores, fresh]:
        node.close()


def test_dashboards_created_at_once_stop_at_the_limit_and_one_name_wins(state_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_service, "MAX_DASHBOARDS_PER_REGION", 2)
    nodes = [DashboardService(state_dir, lambda: 3000.0) for _ in range(2)]
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, "same") for i in range(NODES)])
    assert outcomes(results) == ["ConflictException: A dashboard named same already exists in this Region."] * 5 + ["ok"]
    results = race([lambda i=i: nodes[i % 2].create(ACCOUNT, REGION, f"dash{i}") for i in range(NODES)])
    assert outcomes(results) == ["ServiceQuotaExceededException: The account already has the maximum of 2 dashboards "
                                 "in this Region."] * 5 + ["ok"]
    for node in nodes:
        node.close()


def test_a_staged_change_of_a_store_another_node_changed_since_is_refused_not_lost(state_dir: Path) -> None:
    one, two = _services(state_dir)
    eds = one.create(ACCOUNT, REGION, StoreSettings(name="audit"))
    with one.staged_changes() as commit:
        one.add_tags(ACCOUNT, REGION, eds.arn, (("team", "one"),))
        two.add_tags(ACCOUNT, REGION, eds.arn, (("owner", "two"),))  # committed first: kept
        with pytest.raises(E.ConflictException):
            commit()
    # one after the other, on either node, every change goes through
    one.add_tags(ACCOUNT, REGION, eds.arn, (("team", "one"),))
    one.update(ACCOUNT, REGION, eds.id, StoreSettings(retention_period=90))
    two.add_tags(ACCOUNT, REGION, eds.arn, (("stage", "prod"),))
    one.remove_tags(ACCOUNT, REGION, eds.arn, (("owner", None),))
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    stored = fresh.find(ACCOUNT, REGION, eds.id)
    assert (dict(stored.tags), stored.retention_period_days) == ({"team": "one", "stage": "prod"}, 90)
    for node in (one, two, fresh):
        node.close()


def test_a_staged_change_of_a_channel_another_node_changed_since_is_refused_not_lost(state_dir: Path) -> None:
    stores = _services(state_dir)
    one, two = (ChannelService(state_dir, stores[i], lambda: 2000.0) for i in range(2))
    eds = stores[0].create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    channel = one.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)])
    with one.staged_changes() as commit:
        one.add_tags(ACCOUNT, REGION, channel.arn, (("team", "one"),))
        two.add_tags(ACCOUNT, REGION, channel.arn, (("owner", "two"),))  # committed first: kept
        with pytest.raises(E.ConflictException):
            commit()
    one.add_tags(ACCOUNT, REGION, channel.arn, (("team", "one"),))  # one after the other: both kept
    two.update(ACCOUNT, REGION, channel.id, "renamed", None)
    fresh = ChannelService(state_dir, stores[1], lambda: 2000.0)
    stored = fresh.find(ACCOUNT, REGION, channel.id)
    assert (stored.name, dict(stored.tags)) == ("renamed", {"owner": "two", "team": "one"})
    for node in (one, two, fresh, *stores):
        node.close()
