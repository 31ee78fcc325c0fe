"""TrailRepository (opentrail/trails/repository.py) on both state backends (``state_dir``): the
stored trails, the version caches compare, and two repositories on one database standing in for two
nodes: each sees the other's writes at its next look (SQLite) or after PG_RECHECK_S (PostgreSQL,
injected clock), and read-modify-writes are serialized."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from opentrail.objectstore import LocalFolderStorage
from opentrail.trails import TrailService, TrailSettings
from opentrail.trails import errors as E
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector, Trail, TrailSelectors, TrailStatus
from opentrail.state_watch import PG_RECHECK_S
from opentrail.trails.repository import TrailRepository
from tests.state_backends import HandClock as Clock

ACCOUNT = "111122223333"
REGION = "us-east-1"




def trail(name: str, region: str = REGION, **changes: object) -> Trail:
    return dataclasses.replace(Trail(ACCOUNT, region, name, "bucket"), **changes)  # type: ignore[arg-type]


def repo(state_dir: Path, clock: Clock) -> TrailRepository:
    return TrailRepository(state_dir / "trails.db", clock=clock)


def test_put_get_all_delete_and_reopen(state_dir: Path) -> None:
    clock = Clock(100.0)
    r = repo(state_dir, clock)
    assert r.all() == []
    fields = (AdvancedFieldSelector("eventCategory", equals=("Data",)),
              AdvancedFieldSelector("resources.type", equals=("AWS::S3::Object",)))
    selectors = TrailSelectors(None, (AdvancedEventSelector(fields, "s3"),))
    b = trail("b", selectors=selectors, has_custom_event_selectors=True, tags=(("k", "v"), ("n", None)),
              status=TrailStatus(is_logging=True, start_logging_time=1_700_000_000.5))
    a_west = trail("a", "us-west-2", is_multi_region_trail=True)
    a_east = trail("a", s3_key_prefix="p")
    for t in (b, a_west, a_east):
        r.put(t)
    assert r.all() == [a_east, b, a_west]  # (account, home Region, name)
    assert r.get((ACCOUNT, REGION, "b")) == b
    assert r.get((ACCOUNT, REGION, "c")) is None
    replaced = dataclasses.replace(b, s3_bucket_name="other")
    r.put(replaced)
    r.delete((ACCOUNT, "us-west-2", "a"))
    r.delete((ACCOUNT, REGION, "never"))
    assert r.all() == [a_east, replaced]
    r.close()
    reopened = repo(state_dir, clock)
    assert reopened.all() == [a_east, replaced]
    assert reopened.get((ACCOUNT, REGION, "b")) == replaced
    reopened.close()


def test_version_changes_with_every_change_and_only_then(state_dir: Path) -> None:
    r = repo(state_dir, Clock(100.0))
    v0 = r.version
    r.put(trail("a"))
    v1 = r.version
    assert v1 != v0
    r.delete((ACCOUNT, REGION, "missing"))
    assert r.version == v1
    assert r.refresh() is False  # nothing changed elsewhere (on PostgreSQL: our own write reloaded, equal)
    assert r.version == v1
    r.delete((ACCOUNT, REGION, "a"))
    assert r.version not in (v0, v1)
    r.close()


def test_two_repositories_see_each_others_writes_after_a_check(state_dir: Path, state_backend: str) -> None:
    clock_a, clock_b = Clock(100.0), Clock(100.0)
    a, b = repo(state_dir, clock_a), repo(state_dir, clock_b)
    version_b = b.version
    t = trail("shared", s3_key_prefix="x")
    a.put(t)
    if state_backend == "postgres":  # B looked at start: the next look is due after PG_RECHECK_S
        assert b.get((ACCOUNT, REGION, "shared")) is None
        assert b.version == version_b
        clock_b.now += PG_RECHECK_S
    assert b.get((ACCOUNT, REGION, "shared")) == t
    assert b.all() == [t]
    assert b.version != version_b
    updated = dataclasses.replace(t, s3_key_prefix="y")
    b.put(updated)
    b.delete((ACCOUNT, REGION, "none"))
    assert a.refresh() is True
    assert a.all() == [updated]
    version_a = a.version
    b.delete((ACCOUNT, REGION, "shared"))
    if state_backend == "postgres":
        clock_a.now += PG_RECHECK_S - 0.1
        assert a.all() == [updated]  # not due yet
        clock_a.now += 0.1
    assert a.all() == []
    assert a.version != version_a
    a.close()
    b.close()


def test_a_transaction_reloads_first_and_rolls_back_when_nothing_is_written(state_dir: Path) -> None:
    a, b = repo(state_dir, Clock(100.0)), repo(state_dir, Clock(100.0))
    a.put(trail("one"))
    with b.transaction():  # no check was due: the transaction reloads anyway
        assert [t.name for t in b.all()] == ["one"]
    with pytest.raises(ValueError, match="^checked$"):
        with b.transaction():
            raise ValueError("checked")
    a.put(trail("two"))  # B holds no write lock any more
    with b.transaction(), b.transaction():  # re-entrant; the put commits
        b.put(trail("three"))
    assert a.refresh() is True
    assert [t.name for t in a.all()] == ["one", "three", "two"]
    a.close()
    b.close()


def test_read_modify_writes_of_two_repositories_are_serialized(state_dir: Path) -> None:
    a, b = repo(state_dir, Clock(100.0)), repo(state_dir, Clock(100.0))
    a.put(trail("t", tags=()))
    inside = threading.Event()

    def add_tag(r: TrailRepository, tag: str, pause_s: float) -> None:
        with r.transaction():
            inside.set()
            current = r.get((ACCOUNT, REGION, "t"))
            assert current is not None
            time.sleep(pause_s)
            r.put(dataclasses.replace(current, tags=(*current.tags, (tag, None))))

    first = threading.Thread(target=add_tag, args=(a, "a", 0.3))
    first.start()
    inside.wait(5)
    add_tag(b, "b", 0)  # waits for A's write, reads it, adds its own
    first.join()
    assert a.refresh() is True
    assert a.get((ACCOUNT, REGION, "t")) == trail("t", tags=(("a", None), ("b", None)))
    a.close()
    b.close()


def service(state_dir: Path) -> TrailService:
    storage = LocalFolderStorage(state_dir / "buckets")
    storage.create_bucket("bucket")
    return TrailService(state_dir, storage, lambda: 1_700_000_000.0)


def test_two_trail_services_check_names_against_each_other_and_keep_each_others_changes(state_dir: Path) -> None:
    one, two = service(state_dir), service(state_dir)
    version_two = two.version
    created = one.create_trail(ACCOUNT, REGION, "trl", TrailSettings(s3_bucket_name="bucket"))
    with pytest.raises(E.TrailAlreadyExistsException):  # checked inside the write transaction
        two.create_trail(ACCOUNT, REGION, "trl", TrailSettings(s3_bucket_name="bucket"))
    assert two.version != version_two
    assert two.get_trail(ACCOUNT, REGION, "trl") == created
    one.update_trail(ACCOUNT, REGION, "trl", TrailSettings(s3_key_prefix="logs"))
    two.record_delivery(created.arn, 1_700_000_100.0)  # its copy was stale: the update is kept
    one.refresh()
    got = one.get_trail(ACCOUNT, REGION, "trl")
    assert (got.s3_key_prefix, got.status.latest_delivery_time, got.status.latest_delivery_error) == \
        ("logs", 1_700_000_100.0, None)
    two.delete_trail(ACCOUNT, REGION, "trl")
    one.refresh()
    assert one.trails() == []
    one.close()
    two.close()
