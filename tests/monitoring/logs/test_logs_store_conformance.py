"""SqliteLogsStore (opentrail/monitoring/logs_store.py) on both backends (``state_dir``: SQLite
files or schemas of the real PostgreSQL): every public method with exact values, and two stores
on one data directory (two nodes) seeing each other's writes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.monitoring.logs_model import LogGroup, LogStream
from opentrail.monitoring.logs_store import LOGS_DB, REPEATED, SqliteLogsStore
from opentrail.state_watch import PG_RECHECK_S

A, R = "111122223333", "us-east-1"


@pytest.fixture
def store(state_dir: Path) -> Iterator[SqliteLogsStore]:
    s = SqliteLogsStore(state_dir / LOGS_DB)
    yield s
    s.close()


def _group(store: SqliteLogsStore, name: str, **kw: object) -> LogGroup:
    store.insert_group(A, R, name, 1000, kms_key_id=None, log_group_class="STANDARD", deletion_protection=False,
                       tags=kw.pop("tags", {}))  # type: ignore[arg-type]
    group = store.group(A, R, name)
    assert group is not None
    return group


def test_groups(store: SqliteLogsStore) -> None:
    store.insert_group(A, R, "/app/b", 1000, kms_key_id="k1", log_group_class="INFREQUENT_ACCESS",
                       deletion_protection=True, tags={"team": "x"})
    store.insert_group(A, R, "/app/b", 2000, kms_key_id=None, log_group_class="STANDARD", deletion_protection=False,
                       tags={})  # taken: nothing happens
    a = _group(store, "/app/a")
    _group(store, "/web/Apple")
    b = store.group(A, R, "/app/b")
    assert b == LogGroup(id=b.id, account_id=A, region=R, name="/app/b", creation_ms=1000, kms_key_id="k1",  # type: ignore[union-attr]
                         log_group_class="INFREQUENT_ACCESS", deletion_protection=True, tags={"team": "x"})
    assert store.group_by_id(a.id) == a
    assert store.group(A, "eu-west-1", "/app/a") is None
    assert [g.name for g in store.groups(A, R)] == ["/app/a", "/app/b", "/web/Apple"]
    assert [g.name for g in store.groups(A, R, prefix="/app/")] == ["/app/a", "/app/b"]
    assert [g.name for g in store.groups(A, R, contains="pp")] == ["/app/a", "/app/b", "/web/Apple"]
    assert [g.name for g in store.groups(A, R, contains="Apple")] == ["/web/Apple"]
    assert [g.name for g in store.groups(A, R, contains="apple")] == []  # case-sensitive
    assert [g.name for g in store.groups(A, R, after="/app/a", limit=1)] == ["/app/b"]
    store.set_retention(a.id, 7)
    store.set_tags(a.id, {"k": "v"})
    assert store.retained_groups() == [(a.id, 7)]
    got = store.group_by_id(a.id)
    assert (got.retention_days, got.tags) == (7, {"k": "v"})  # type: ignore[union-attr]
    store.set_retention(a.id, None)
    assert store.retained_groups() == []
    store.delete_group(a.id)
    assert store.group_by_id(a.id) is None
    assert [g.name for g in store.groups(A, R)] == ["/app/b", "/web/Apple"]


def test_streams_append_and_scan(store: SqliteLogsStore) -> None:
    g = _group(store, "g")
    store.insert_stream(g.id, "s1", 5)
    store.insert_stream(g.id, "s1", 6)  # taken
    s1 = store.stream(g.id, "s1")
    assert s1 == LogStream(id=s1.id, group_id=g.id, name="s1", creation_ms=5)  # type: ignore[union-attr]
    assert store.append(g.id, s1.id, [(300, "c"), (100, "a\\é")], 1000, creation_ms=7) == 1  # type: ignore[union-attr]
    assert store.append(g.id, "s2", [(200, "b")], 2000, creation_ms=7, batch_id="b1") == 1
    assert store.append(g.id, "s2", [(200, "b")], 2000, creation_ms=7, batch_id="b1") == REPEATED
    assert store.append(g.id, "s2", [(400, "d")], 3000, creation_ms=7, batch_id="b2") == 2
    assert store.append(g.id, "s2", [], 3000, creation_ms=7) == 0
    assert store.append(g.id + 99, "s2", [(1, "x")], 3000, creation_ms=7) is None
    s2 = store.stream(g.id, "s2")
    assert s2 == LogStream(id=s2.id, group_id=g.id, name="s2", creation_ms=7, first_event_ms=200,  # type: ignore[union-attr]
                           last_event_ms=400, last_ingestion_ms=3000, upload_sequence=2)
    assert store.stream_names(g.id) == {s1.id: "s1", s2.id: "s2"}  # type: ignore[union-attr]
    assert store.group_by_id(g.id).stored_bytes == 1 + 4 + 1 + 1  # type: ignore[union-attr]
    rows = list(store.scan(group_id=g.id, batch=2))
    assert [(r[2], r[4]) for r in rows] == [(100, "a\\é"), (200, "b"), (300, "c"), (400, "d")]
    assert [r[4] for r in store.scan(group_id=g.id, descending=True, batch=3)] == ["d", "c", "b", "a\\é"]
    assert [r[4] for r in store.scan(stream_id=s2.id)] == ["b", "d"]  # type: ignore[union-attr]
    assert [r[4] for r in store.scan(group_id=g.id, start_ms=200, end_ms=400)] == ["b", "c"]
    assert [r[4] for r in store.scan(group_id=g.id, after=(rows[1][2], rows[1][0]))] == ["c", "d"]
    blocks = list(store.scan_blocks(group_id=g.id, batch=3, raw=True))
    assert [[r[4] for r in b] for b in blocks] == [[b"a\\\xc3\xa9", b"b", b"c"], [b"d"]]
    assert [s.name for s in store.streams(g.id, by_time=False, descending=False, prefix=None, after=None,
                                          limit=10)] == ["s1", "s2"]
    assert [s.name for s in store.streams(g.id, by_time=False, descending=True, prefix="s", after=None,
                                          limit=10)] == ["s2", "s1"]
    assert [s.name for s in store.streams(g.id, by_time=True, descending=True, prefix=None, after=None,
                                          limit=1)] == ["s2"]
    assert [s.name for s in store.streams(g.id, by_time=True, descending=False, prefix=None, after=(300, "s1"),
                                          limit=5)] == ["s2"]
    store.delete_stream(g.id, s1.id)  # type: ignore[union-attr]
    assert store.stream(g.id, "s1") is None
    assert store.group_by_id(g.id).stored_bytes == 2  # type: ignore[union-attr]
    assert [r[4] for r in store.scan(group_id=g.id)] == ["b", "d"]


def test_purge_before(store: SqliteLogsStore) -> None:
    g = _group(store, "g")
    store.append(g.id, "s", [(t, "x" * t) for t in (1, 2, 3, 4, 5)], 10, creation_ms=1)
    assert store.purge_before(g.id, 4, chunk=2) == 3
    assert [r[2] for r in store.scan(group_id=g.id)] == [4, 5]
    assert store.group_by_id(g.id).stored_bytes == 9  # type: ignore[union-attr]
    assert store.purge_before(g.id, 4) == 0


def test_metric_filters(store: SqliteLogsStore) -> None:
    g, h = _group(store, "g"), _group(store, "h")
    version = store.filters_version()
    store.put_filter(g.id, "f2", "ERROR", {"metricName": "E"}, {}, 10)
    store.put_filter(h.id, "f1", "WARN", {"metricName": "W"}, {"x": 1}, 11)
    store.put_filter(g.id, "f1", "[a]", {"metricName": "A"}, {}, 12)
    store.put_filter(g.id, "f1", "[b]", {"metricName": "B"}, {}, 99)  # replaced: keeps its creation time
    assert store.filters_version() == version + 4
    assert store.filters_of(g.id) == [(g.id, "g", "f1", "[b]", '{"metricName":"B"}', "{}", 12),
                                      (g.id, "g", "f2", "ERROR", '{"metricName":"E"}', "{}", 10)]
    assert [(r[1], r[2]) for r in store.filters(A, R, group_id=None, prefix=None)] == [
        ("g", "f1"), ("h", "f1"), ("g", "f2")]
    assert [(r[1], r[2]) for r in store.filters(A, R, group_id=h.id, prefix="f")] == [("h", "f1")]
    assert [(r[1], r[2]) for r in store.filters(A, R, group_id=None, prefix=None, after=("f1", "g"))] == [
        ("h", "f1"), ("g", "f2")]
    assert store.group_by_id(g.id).metric_filter_count == 2  # type: ignore[union-attr]
    store.delete_filter(g.id, "f2")
    assert [r[2] for r in store.filters_of(g.id)] == ["f1"]
    store.delete_group(g.id)
    assert store.filters_version() == version + 6
    assert [(r[1], r[2]) for r in store.filters(A, R, group_id=None, prefix=None)] == [("h", "f1")]


def test_two_stores_on_one_data_directory_see_each_others_writes(state_dir: Path, state_backend: str) -> None:
    one, two = SqliteLogsStore(state_dir / LOGS_DB), SqliteLogsStore(state_dir / LOGS_DB)
    try:
        g = _group(one, "g")
        before = two.filters_version()
        assert two.group(A, R, "g") == g
        one.put_filter(g.id, "f", "ERROR", {}, {}, 1)
        if state_backend == "postgres":  # read again at most every PG_RECHECK_S
            deadline = time.monotonic() + PG_RECHECK_S + 1
            while two.filters_version() == before and time.monotonic() < deadline:
                time.sleep(0.05)
        assert two.filters_version() == before + 1
        assert [r[2] for r in two.filters_of(g.id)] == ["f"]
        assert two.append(g.id, "s", [(5, "from two")], 9, creation_ms=1) == 1
        assert one.append(g.id, "s", [(6, "from one")], 9, creation_ms=1) == 2
        assert [r[4] for r in one.scan(group_id=g.id)] == ["from two", "from one"]
        assert one.group_by_id(g.id).stored_bytes == 16  # type: ignore[union-attr]
    finally:
        one.close()
        two.close()
