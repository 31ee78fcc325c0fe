"""Operations whose botocore model has no ConflictException (RestoreEventDataStore, UpdateChannel,
EnableFederation, DisableFederation) re-run against the fresh row when another node changed it
between the handler's check and the staged write (:mod:`opentrail.lake.reruns`), on both state
backends (``state_dir``): the caller gets the model's answer, as if the calls had run one after the
other, and the other node's change is kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from opentrail.api.commit_errors import commit_errors
from opentrail.api.errors import AwsError
from opentrail.lake import errors as E
from opentrail.lake.channels import ChannelService
from opentrail.lake.reruns import RERUNS, write_or_rerun
from opentrail.lake.service import EventDataStoreService, StoreSettings
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector

ACCOUNT = "111122223333"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/federation"
AUDIT = (AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("ActivityAuditLog",)),)),)


def _nodes(state_dir: Path) -> tuple[EventDataStoreService, EventDataStoreService]:
    return EventDataStoreService(state_dir, lambda: 1000.0), EventDataStoreService(state_dir, lambda: 1000.0)


def _deleted(one: EventDataStoreService) -> str:
    eds = one.create(ACCOUNT, REGION, StoreSettings(name="audit", termination_protection_enabled=False))
    one.delete(ACCOUNT, REGION, eds.id)
    return eds.id


def test_a_restore_another_node_restored_meanwhile_is_invalid_status_not_conflict(state_dir: Path) -> None:
    one, two = _nodes(state_dir)
    eds_id = _deleted(one)
    with one.staged_changes() as commit:  # the API: checked now, written once the call is recorded
        one.restore(ACCOUNT, REGION, eds_id)
        two.restore(ACCOUNT, REGION, eds_id)  # committed first
        with pytest.raises(E.InvalidEventDataStoreStatusException):
            commit()
    with pytest.raises(AwsError) as wire, commit_errors("cloudtrail"):  # as the API answers it
        raise E.InvalidEventDataStoreStatusException()
    assert wire.value.code == "InvalidEventDataStoreStatusException"
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    assert fresh.find(ACCOUNT, REGION, eds_id).status == "ENABLED"
    for node in (one, two, fresh):
        node.close()


def test_a_restore_of_a_store_another_node_tagged_meanwhile_restores_and_keeps_the_tags(state_dir: Path) -> None:
    one, two = _nodes(state_dir)
    eds_id = _deleted(one)
    arn = one.find(ACCOUNT, REGION, eds_id).arn
    with one.staged_changes() as commit:
        one.restore(ACCOUNT, REGION, eds_id)
        # another node rewrites the store's row meanwhile (AddTags refuses a store PENDING_DELETION)
        two._save(dataclasses.replace(two.find(ACCOUNT, REGION, eds_id), tags=(("owner", "two"),)))
        commit()
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    stored = fresh.find(ACCOUNT, REGION, eds_id)
    assert (stored.status, dict(stored.tags), stored.arn) == ("ENABLED", {"owner": "two"}, arn)
    for node in (one, two, fresh):
        node.close()


def test_federation_enabled_by_another_node_meanwhile_is_the_models_error(state_dir: Path) -> None:
    one, two = _nodes(state_dir)
    eds = one.create(ACCOUNT, REGION, StoreSettings(name="audit"))
    with one.staged_changes() as commit:
        one.enable_federation(ACCOUNT, REGION, eds.id, ROLE)
        two.enable_federation(ACCOUNT, REGION, eds.id, ROLE + "-two")
        with pytest.raises(E.EventDataStoreFederationEnabledException):
            commit()
    with one.staged_changes() as commit:  # disabled on both: the second is the no-op it is alone
        one.disable_federation(ACCOUNT, REGION, eds.id)
        two.disable_federation(ACCOUNT, REGION, eds.id)
        commit()
    with one.staged_changes() as commit:  # enabled after another node's unrelated change: written
        one.enable_federation(ACCOUNT, REGION, eds.id, ROLE)
        two.add_tags(ACCOUNT, REGION, eds.arn, (("owner", "two"),))
        commit()
    fresh = EventDataStoreService(state_dir, lambda: 1000.0)
    stored = fresh.find(ACCOUNT, REGION, eds.id)
    assert (stored.federation_status, stored.federation_role_arn, dict(stored.tags)) == ("ENABLED", ROLE,
                                                                                          {"owner": "two"})
    for node in (one, two, fresh):
        node.close()


def test_an_update_of_a_channel_another_node_changed_meanwhile_runs_again_on_it(state_dir: Path) -> None:
    stores = _nodes(state_dir)
    one, two = (ChannelService(state_dir, stores[i], lambda: 2000.0) for i in range(2))
    eds = stores[0].create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
    channel = one.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)])
    other = one.create(ACCOUNT, REGION, "other", "Custom2", [("EVENT_DATA_STORE", eds.id)])
    with one.staged_changes() as commit:  # another node tags it meanwhile: both kept
        one.update(ACCOUNT, REGION, channel.id, "renamed", None)
        two.add_tags(ACCOUNT, REGION, channel.arn, (("owner", "two"),))
        commit()
    with one.staged_changes() as commit:  # another node takes the name meanwhile: the model's error
        one.update(ACCOUNT, REGION, channel.id, "taken", None)
        two.update(ACCOUNT, REGION, other.id, "taken", None)
        with pytest.raises(E.ChannelAlreadyExistsException) as raised:
            commit()
    assert raised.value.message == "A channel named taken already exists."
    with one.staged_changes() as commit:  # deleted meanwhile: not found
        one.update(ACCOUNT, REGION, other.id, "again", None)
        two.delete(ACCOUNT, REGION, other.id)
        with pytest.raises(E.ChannelNotFoundException):
            commit()
    fresh = ChannelService(state_dir, stores[1], lambda: 2000.0)
    assert [(c.name, dict(c.tags)) for c in fresh.list(ACCOUNT, REGION, None, 10)[0]] == [("renamed", {"owner": "two"})]
    for node in (one, two, fresh, *stores):
        node.close()


def test_reruns_are_bounded() -> None:
    runs = []

    def conflicting() -> None:
        raise E.ConflictException()

    def operation() -> str:
        runs.append(1)
        return write_or_rerun(conflicting, operation)

    with pytest.raises(E.ConflictException):
        operation()
    assert len(runs) == RERUNS + 1
    assert write_or_rerun(lambda: None, operation) is None
    assert write_or_rerun(conflicting, lambda: "fresh") == "fresh"
    with pytest.raises(E.ConflictException):
        write_or_rerun(conflicting, None)
