"""The event data store catalog (``lake.db`` ``event_data_stores``: :class:`StoreRepository` and the
:class:`EventDataStoreService` over it) on both state backends (``state_dir``: SQLite and
PostgreSQL), including two objects on one state_dir standing in for two nodes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from opentrail.lake import errors as E
from opentrail.lake.model import EventDataStore
from opentrail.lake.repository import StoreRepository
from opentrail.lake.service import LAKE_DB, EventDataStoreService, StoreSettings
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector, InsightSelector

ACCOUNT = "111122223333"
REGION = "us-east-1"
ID_A = "0233062b-51c6-4d18-8dec-a8c90da840d9"
ID_B = "11111111-2222-4333-8444-555555555555"


def _store(eds_id: str, name: str, created: float, **changes: object) -> EventDataStore:
    base = EventDataStore(
        id=eds_id, account_id=ACCOUNT, home_region=REGION, name=name, status="ENABLED",
        advanced_event_selectors=(AdvancedEventSelector(
            (AdvancedFieldSelector("eventCategory", equals=("Data",)),
             AdvancedFieldSelector("resources.type", equals=("AWS::S3::Object",), starts_with=("arn:aws:s3",))),
            name="s3 objects"),),
        tags=(("team", "red"), ("empty", None)), created_time=created, updated_time=created + 1,
        insight_selectors=(InsightSelector("ApiCallRateInsight", ("Management",)),), start_seq=42,
        kms_key_id="arn:aws:kms:us-east-1:111122223333:key/k1")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_put_get_all_delete_round_trip(state_dir: Path) -> None:
    repo = StoreRepository(state_dir / LAKE_DB)
    try:
        a, b = _store(ID_A, "a", 200.0), _store(ID_B, "b", 100.0, status="PENDING_DELETION", deleted_time=300.5,
                                                 status_before_deletion="ENABLED", start_seq=None)
        repo.put(a)
        repo.put(b)
        assert repo.get(ID_A) == a and repo.get(ID_B) == b
        assert repo.all() == [b, a]  # by creation time
        changed = dataclasses.replace(a, name="renamed", tags=())
        repo.put(changed)
        repo.delete(ID_B)
        assert repo.all() == [changed] and repo.get(ID_B) is None
    finally:
        repo.close()
    reopened = StoreRepository(state_dir / LAKE_DB)
    try:
        assert reopened.all() == [changed]
    finally:
        reopened.close()


def test_two_repositories_see_each_others_writes(state_dir: Path) -> None:
    first, second = StoreRepository(state_dir / LAKE_DB), StoreRepository(state_dir / LAKE_DB, recheck_s=60.0)
    try:
        generation = second.generation
        first.put(_store(ID_A, "a", 1.0))
        assert second.get(ID_A) == _store(ID_A, "a", 1.0)  # a miss looks again at once
        assert second.generation == generation + 1
        first.put(_store(ID_A, "changed", 1.0))
        # reads may serve the copy for recheck_s; a read-check-write block sees the commit at once
        assert second.get(ID_A) == _store(ID_A, "a", 1.0)
        with second.lock:
            assert second.get(ID_A) == _store(ID_A, "changed", 1.0)
        assert second.generation == generation + 2
        second.put(_store(ID_B, "b", 2.0))
        second.delete(ID_A)
        with first.lock:
            assert [s.id for s in first.all()] == [ID_B]
    finally:
        first.close()
        second.close()


def test_a_change_on_one_node_is_read_on_another_within_a_second(state_dir: Path) -> None:
    first, second = StoreRepository(state_dir / LAKE_DB), StoreRepository(state_dir / LAKE_DB)
    try:
        first.put(_store(ID_A, "a", 1.0))
        assert second.get(ID_A) == _store(ID_A, "a", 1.0)
        first.put(_store(ID_A, "changed", 1.0))
        started = time.monotonic()
        while second.get(ID_A) == _store(ID_A, "a", 1.0) and time.monotonic() - started < 2.0:
            time.sleep(0.05)
        assert second.all() == [_store(ID_A, "changed", 1.0)]
        assert time.monotonic() - started < 1.0
    finally:
        first.close()
        second.close()


def test_two_services_share_the_catalog(state_dir: Path) -> None:
    clock = iter(float(t) for t in range(1000, 2000)).__next__
    node_a = EventDataStoreService(state_dir, clock)
    node_b = EventDataStoreService(state_dir, clock)
    try:
        version = node_b.version
        eds = node_a.create(ACCOUNT, REGION, StoreSettings(name="shared", retention_period=30))
        with node_b.staged_changes() as commit:  # what the API does for a write: sees the commit at once
            assert node_b.find(ACCOUNT, REGION, eds.arn) == eds
            with pytest.raises(E.EventDataStoreAlreadyExistsException):
                node_b.create(ACCOUNT, REGION, StoreSettings(name="shared"))
            commit()
        assert node_b.version > version
        updated = node_b.update(ACCOUNT, REGION, eds.id, StoreSettings(retention_period=90,
                                                                      termination_protection_enabled=False))
        with node_a.staged_changes() as commit:
            assert node_a.find(ACCOUNT, REGION, eds.id) == updated
            assert (updated.retention_period_days, updated.termination_protection_enabled) == (90, False)
            deleted = node_a.delete(ACCOUNT, REGION, eds.id)
            commit()
        with node_b.staged_changes() as commit:
            assert node_b.find(ACCOUNT, REGION, eds.id).status == "PENDING_DELETION"
            assert node_b.list(ACCOUNT, REGION, None, 10) == ([deleted], None)
            commit()
    finally:
        node_a.close()
        node_b.close()
