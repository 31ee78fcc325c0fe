"""The SQLite reader's LRU of recently looked-up events (opentrail/store/sqlite_reader.py):
answers stay exact across purges, reopened stores and reused seqs, and the LRU stays bounded."""

from __future__ import annotations

from pathlib import Path

import orjson

from opentrail.store.base import LookupQuery, NewEvent, StoredEvent
from opentrail.store.sqlite import SqliteEventStore
from opentrail.store.sqlite_reader import _RecentEvents

ACCT = "111111111111"
REGION = "us-east-1"


def ev(eid: str, t: int, name: str = "GetObject") -> NewEvent:
    record = orjson.dumps({"eventID": eid, "eventTime": t, "eventName": name, "note": "\u00e9"})
    return NewEvent(eid, t, ACCT, REGION, "Management", record, (("EventId", eid), ("EventName", name)))


def page(store: SqliteEventStore, limit: int = 50) -> list[tuple[int, str, bytes]]:
    events = store.lookup(LookupQuery(account_id=ACCT, region=REGION, limit=limit)).events
    return [(e.seq, e.event_id, e.record) for e in events]


def test_repeated_lookup_reuses_events_and_equals_the_first(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "s", cache_mb=4)
    try:
        store.append([ev(f"e{i}", 1000 + i) for i in range(5)])
        first = page(store)
        assert [s for s, _, _ in first] == [5, 4, 3, 2, 1]
        assert len(store._reader.recent) == 5
        kept = store.lookup(LookupQuery(account_id=ACCT, region=REGION, limit=2)).events
        again = store.lookup(LookupQuery(account_id=ACCT, region=REGION, limit=2)).events
        assert [a is b for a, b in zip(kept, again)] == [True, True]  # served from the LRU
        assert page(store) == first
    finally:
        store.close()


def test_purged_events_are_not_answered_from_the_lru(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "s", cache_mb=4)
    try:
        store.append([ev(f"e{i}", 1000 + i) for i in range(6)])
        assert [e for _, e, _ in page(store)] == ["e5", "e4", "e3", "e2", "e1", "e0"]
        assert store.purge_before(1003) == 3
        assert [e for _, e, _ in page(store)] == ["e5", "e4", "e3"]
        assert store.purge_before(2000) == 3
        assert page(store) == []
        # new events after everything was purged: whatever seqs they get, the answer is theirs
        store.append([ev(f"n{i}", 3000 + i, name="PutObject") for i in range(2)])
        got = page(store)
        assert [(e, orjson.loads(r)["eventName"]) for _, e, r in got] == [("n1", "PutObject"), ("n0", "PutObject")]
    finally:
        store.close()


def test_another_event_under_a_kept_seq_is_not_confused(tmp_path: Path) -> None:
    """Two stores whose events share seqs (a store recreated in the same directory)."""
    store = SqliteEventStore(tmp_path / "s", cache_mb=4)
    store.append([ev("old", 1000)])
    assert page(store)[0][1] == "old"
    store.close()
    for p in (tmp_path / "s").iterdir():
        p.unlink()
    store = SqliteEventStore(tmp_path / "s", cache_mb=4)
    try:
        store.append([ev("new", 1000)])
        ((seq, eid, record),) = page(store)
        assert (seq, eid, orjson.loads(record)["eventID"]) == (1, "new", "new")
    finally:
        store.close()


def stored(seq: int, eid: str) -> StoredEvent:
    return StoredEvent(seq, eid, 5, ACCT, REGION, "Management", eid.encode())


def test_recent_events_checks_the_whole_row_and_evicts_least_recent() -> None:
    recent = _RecentEvents(2)
    a = stored(1, "a")
    recent.put([(b"blob-a", 5, 7, "a", a)])
    assert recent.get(1, 5, 7, "a", b"blob-a") is a
    assert recent.get(1, 5, 7, "a", b"blob-x") is None  # another record under seq 1
    assert recent.get(1, 6, 7, "a", b"blob-a") is None  # another eventTime
    assert recent.get(1, 5, 8, "a", b"blob-a") is None  # another partition
    assert recent.get(1, 5, 7, "b", b"blob-a") is None  # another eventID
    recent.put([(b"blob-b", 5, 7, "b", stored(2, "b"))])
    assert recent.get(1, 5, 7, "a", b"blob-a") is a  # 1 is now the most recent
    recent.put([(b"blob-c", 5, 7, "c", stored(3, "c"))])  # evicts 2
    assert len(recent) == 2
    assert recent.get(2, 5, 7, "b", b"blob-b") is None
    assert recent.get(1, 5, 7, "a", b"blob-a") is a
    off = _RecentEvents(0)
    off.put([(b"blob-a", 5, 7, "a", a)])
    assert len(off) == 0
