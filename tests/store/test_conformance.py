"""One suite for every EventStore backend (see conftest.BACKENDS)."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.store.base import LOOKUP_ATTRIBUTE_KEYS, AppendResult, EventStore, LookupQuery, NewEvent

ACCT = "111111111111"
OTHER = "222222222222"
REGION = "us-east-1"


def ev(
    eid: str,
    t: int = 1_700_000_000,
    *,
    account: str = ACCT,
    region: str = REGION,
    category: str = "Management",
    lookup: tuple[tuple[str, str], ...] | None = None,
) -> NewEvent:
    record = orjson.dumps({"eventID": eid, "eventTime": t, "awsRegion": region, "note": "é\u2603"})
    pairs = lookup if lookup is not None else (("EventId", eid), ("EventName", "GetObject"))
    return NewEvent(eid, t, account, region, category, record, pairs)


def ids(store: EventStore, **kw: object) -> list[str]:
    """Every event id matching a query, following pages of ``kw['limit']`` (default 50)."""
    out: list[str] = []
    after = None
    while True:
        page = store.lookup(LookupQuery(**{"account_id": ACCT, "region": REGION, **kw, "after": after}))  # type: ignore[arg-type]
        out.extend(e.event_id for e in page.events)
        if page.next_cursor is None:
            return out
        after = page.next_cursor


def test_append_roundtrips_record_bytes(store: EventStore) -> None:
    e = ev("a", 1_700_000_123)
    assert store.append([e]) == AppendResult(1, 0, ())
    (got,) = store.read_since(0, 10)
    assert (got.seq, got.event_id, got.event_time, got.account_id, got.region, got.category) == (
        1, "a", 1_700_000_123, ACCT, REGION, "Management")
    assert got.record == e.record
    assert store.count() == 1


def test_dedup_per_account_and_within_batch(store: EventStore) -> None:
    assert store.append([ev("a"), ev("b")]) == AppendResult(2, 0, ())
    assert store.append([ev("b"), ev("c"), ev("c"), ev("a", account=OTHER), ev("a")]) == AppendResult(2, 3, (0, 2, 4))
    assert store.count() == 4
    assert [(e.event_id, e.account_id) for e in store.read_since(0, 10)] == [
        ("a", ACCT), ("b", ACCT), ("c", ACCT), ("a", OTHER)]


def test_empty_append(store: EventStore) -> None:
    assert store.append([]) == AppendResult(0, 0, ())
    assert store.count() == 0


@pytest.mark.parametrize("key", LOOKUP_ATTRIBUTE_KEYS)
def test_lookup_by_each_attribute(store: EventStore, key: str) -> None:
    store.append([
        ev("e1", 100, lookup=(("EventId", "e1"), (key, "v1"))),
        ev("e2", 200, lookup=(("EventId", "e2"), (key, "v2"))),
        ev("e3", 300, lookup=(("EventId", "e3"), (key, "v1"), ("EventName", "Other"))),
        ev("e4", 400, lookup=(("EventId", "e4"), (key, "v1")), region="eu-west-1"),
    ])
    if key == "EventId":
        assert ids(store, attribute=(key, "e3")) == ["e3"]
        assert ids(store, attribute=(key, "e4")) == []
    else:
        assert ids(store, attribute=(key, "v1")) == ["e3", "e1"]
        assert ids(store, attribute=(key, "v2")) == ["e2"]
    assert ids(store, attribute=(key, "nope")) == []


def test_event_id_lookup_respects_account_time_and_category(store: EventStore) -> None:
    store.append([ev("x", 100), ev("x", 100, account=OTHER), ev("y", 50, category="Data")])
    assert ids(store, attribute=("EventId", "x"), start_time=100, end_time=100) == ["x"]
    assert ids(store, attribute=("EventId", "x"), start_time=101) == []
    assert ids(store, attribute=("EventId", "y")) == []


def test_time_range_bounds_are_inclusive(store: EventStore) -> None:
    store.append([ev(f"t{t}", t) for t in (99, 100, 150, 200, 201)])
    assert ids(store, start_time=100, end_time=200) == ["t200", "t150", "t100"]
    assert ids(store, start_time=200) == ["t201", "t200"]
    assert ids(store, end_time=100) == ["t100", "t99"]
    assert ids(store, start_time=201, end_time=99) == []
    assert ids(store, attribute=("EventName", "GetObject"), start_time=100, end_time=150) == ["t150", "t100"]


def test_insight_and_management_are_separate(store: EventStore) -> None:
    store.append([ev("m", 1), ev("i", 2, category="Insight"), ev("d", 3, category="Data"),
                  ev("n", 4, category="NetworkActivity")])
    assert ids(store) == ["m"]
    assert ids(store, insight=True) == ["i"]
    assert ids(store, attribute=("EventName", "GetObject")) == ["m"]
    assert ids(store, attribute=("EventName", "GetObject"), insight=True) == ["i"]
    assert [e.event_id for e in store.read_since(0, 10)] == ["m", "i", "d", "n"]


def test_pagination_newest_first_ties_by_seq_desc(store: EventStore) -> None:
    # appended out of time order; three events share t=500
    store.append([ev("a", 500), ev("b", 100), ev("c", 500), ev("d", 900)])
    store.append([ev("e", 500), ev("f", 300)])
    want = ["d", "e", "c", "a", "f", "b"]
    for limit in (1, 2, 4, 6, 50):
        assert ids(store, limit=limit) == want
        assert ids(store, attribute=("EventName", "GetObject"), limit=limit) == want
    page = store.lookup(LookupQuery(ACCT, REGION, limit=2))
    assert [e.event_id for e in page.events] == ["d", "e"]
    assert page.next_cursor == (500, 5)
    last = store.lookup(LookupQuery(ACCT, REGION, limit=6))
    assert (len(last.events), last.next_cursor) == (6, None)


def test_limit_and_cursor(store: EventStore) -> None:
    store.append([ev(f"e{i:02}", 1000 + i) for i in range(60)])
    page = store.lookup(LookupQuery(ACCT, REGION))
    assert [e.event_id for e in page.events] == [f"e{i:02}" for i in range(59, 9, -1)]
    assert page.next_cursor == (1010, 11)
    rest = store.lookup(LookupQuery(ACCT, REGION, after=page.next_cursor))
    assert ([e.event_id for e in rest.events], rest.next_cursor) == ([f"e{i:02}" for i in range(9, -1, -1)], None)


def test_unknown_account_or_region(store: EventStore) -> None:
    store.append([ev("a")])
    assert store.lookup(LookupQuery("999999999999", REGION)).events == []
    assert store.lookup(LookupQuery(ACCT, "eu-north-1")).events == []


def test_read_since_order_and_limit(store: EventStore) -> None:
    store.append([ev("a", 3), ev("b", 1)])
    store.append([ev("c", 2), ev("a")])
    got = store.read_since(0, 10)
    assert [(e.seq, e.event_id) for e in got] == [(1, "a"), (2, "b"), (3, "c")]
    assert [e.seq for e in store.read_since(1, 1)] == [2]
    assert store.read_since(3, 10) == []


def test_read_columns_is_read_since_as_columns(store: EventStore) -> None:
    store.append([ev("a", 3), ev("b", 1, account=OTHER), ev("c", 2, region="eu-west-1", category="Data")])
    store.append([ev("d"), ev("a"), ev("e", category="Insight")])
    cols = store.read_columns(0, 10)
    assert list(cols.seqs) == [1, 2, 3, 4, 5] and len(cols) == 5
    assert [orjson.loads(r)["eventID"] for r in cols.records] == ["a", "b", "c", "d", "e"]
    assert [cols.partition_names[p] for p in cols.partitions] == [
        (ACCT, REGION, "Management"), (OTHER, REGION, "Management"), (ACCT, "eu-west-1", "Data"),
        (ACCT, REGION, "Management"), (ACCT, REGION, "Insight")]
    assert cols.partitions[0] == cols.partitions[3] != cols.partitions[1]
    for seq, limit in [(0, 2), (1, 2), (2, 10), (4, 1)]:
        events = store.read_since(seq, limit)
        part = store.read_columns(seq, limit)
        assert (list(part.seqs), list(part.records)) == ([e.seq for e in events], [e.record for e in events])
        assert [part.partition_names[p] for p in part.partitions] == [(e.account_id, e.region, e.category) for e in events]
    assert len(store.read_columns(5, 10)) == 0
    assert store.purge_before(2) == 1  # "b": a gap in the seqs
    assert list(store.read_columns(0, 3).seqs) == [e.seq for e in store.read_since(0, 3)] == [1, 3, 4]


def test_purge_before(store: EventStore) -> None:
    store.append([ev(f"e{t}", t, lookup=(("EventId", f"e{t}"), ("Username", "bob"))) for t in range(100, 110)])
    assert store.purge_before(105) == 5
    assert store.count() == 5
    assert ids(store) == [f"e{t}" for t in range(109, 104, -1)]
    assert ids(store, attribute=("Username", "bob")) == [f"e{t}" for t in range(109, 104, -1)]
    assert ids(store, attribute=("EventId", "e100")) == []
    assert [e.event_id for e in store.read_since(0, 100)] == [f"e{t}" for t in range(105, 110)]
    assert store.purge_before(105) == 0
    # a purged eventID may be stored again
    assert store.append([ev("e100", 100)]) == AppendResult(1, 0, ())


def test_retention_counts_from_receipt(store_factory) -> None:  # type: ignore[no-untyped-def]
    """Event history retention passes (cutoff, received_seq(cutoff)): old eventTimes received
    after the cutoff stay, and lookups given ``expired`` leave out exactly what the purge deletes."""
    store = store_factory()
    bob = lambda e: (("EventId", e), ("Username", "bob"))  # noqa: E731
    store.append([ev(f"a{t}", 100 + t, lookup=bob(f"a{t}")) for t in range(10)])  # seqs 1..10
    now = int(time.time())
    assert store.received_seq(now - 300) == 0  # received after that cutoff: nothing to purge
    assert store.purge_before(now - 300, 0) == 0
    assert store.count() == 10
    through = store.received_seq(now + 120)
    assert through == 10
    store.append([ev(f"b{t}", 100 + t, lookup=bob(f"b{t}")) for t in range(10)])  # seqs 11..20
    assert store.received_seq(now + 120) in (10, 20)  # 20 unless a minute boundary was crossed
    newest = [f"{p}{t}" for t in range(9, -1, -1) for p in "ba"]
    assert ids(store) == newest
    hidden = [f"{p}{t}" for t in range(9, 4, -1) for p in "ba"] + [f"b{t}" for t in range(4, -1, -1)]
    assert ids(store, expired=(105, through)) == hidden
    assert ids(store, attribute=("Username", "bob"), expired=(105, through), limit=3) == hidden
    assert ids(store, attribute=("EventId", "a1"), expired=(105, through)) == []
    assert ids(store, attribute=("EventId", "b1"), expired=(105, through)) == ["b1"]
    assert store.purge_before(105, through) == 5
    assert store.count() == 15
    assert ids(store) == hidden
    assert ids(store, attribute=("Username", "bob"), limit=4) == hidden
    assert [e.event_id for e in store.read_since(0, 100)] == [f"a{t}" for t in range(5, 10)] + [f"b{t}" for t in range(10)]
    if store_factory.durable:
        store = store_factory.reopen()
        assert store.received_seq(now - 300) == 0
        assert store.received_seq(now + 120) in (10, 20)
    assert store.purge_before(now + 300, store.received_seq(now + 300)) == 15
    assert ids(store) == []


def test_purge_many_in_chunks(store: EventStore) -> None:
    store.append([ev(f"e{i}", 1000 + i % 7) for i in range(5000)])
    assert store.purge_before(1003) == sum(1 for i in range(5000) if i % 7 < 3)
    assert store.count() == sum(1 for i in range(5000) if i % 7 >= 3)


def test_count(store: EventStore) -> None:
    store.append([ev("a"), ev("b")])
    store.submit([ev("c"), ev("a")])
    store.append([ev("d")])  # the writer is FIFO: the submit is committed before this returns
    assert store.count() == 4


def test_durable_across_reopen(store_factory) -> None:  # type: ignore[no-untyped-def]
    if not store_factory.durable:
        pytest.skip(f"{store_factory.name} is not durable")
    s = store_factory()
    s.append([ev("a", 10), ev("b", 20, category="Insight")])
    s.submit([ev("c", 30)])
    s = store_factory.reopen()
    assert s.count() == 3
    assert [e.event_id for e in s.read_since(0, 10)] == ["a", "b", "c"]
    assert ids(s) == ["c", "a"]
    assert s.append([ev("a"), ev("d", 40)]) == AppendResult(1, 1, (0,))
    assert [e.seq for e in s.read_since(3, 10)] == [4]


def test_concurrent_appends(store: EventStore) -> None:
    results: list[AppendResult] = []

    def work(n: int) -> None:
        for b in range(20):
            # every thread also sends ids that another thread sends: exactly one of each wins
            batch = [ev(f"t{n}-{b}-{i}", 1000 + b) for i in range(10)] + [ev(f"shared-{b}", 1000 + b)]
            results.append(store.append(batch))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 4 * 20 * 10 + 20
    assert sum(r.accepted for r in results) == 820 and sum(r.duplicates for r in results) == 60
    assert [e.seq for e in store.read_since(0, 10_000)] == list(range(1, 821))
    assert len(set(ids(store))) == 820


_event = st.tuples(
    st.integers(0, 30),  # eventTime (many ties)
    st.sampled_from(["Management", "Management", "Insight", "Data"]),
    st.sampled_from(["GetObject", "PutObject", "ListBuckets"]),
    st.sampled_from([ACCT, OTHER]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.lists(_event, min_size=1, max_size=15), min_size=1, max_size=5),
    page_size=st.integers(1, 12),
    name=st.sampled_from([None, "GetObject", "PutObject"]),
    window=st.tuples(st.none() | st.integers(0, 30), st.none() | st.integers(0, 30)),
)
def test_pagination_property(store_factory, batches, page_size, name, window) -> None:  # type: ignore[no-untyped-def]
    store = store_factory()
    expected: list[tuple[int, int, str]] = []
    seq = 0
    for b, batch in enumerate(batches):
        events = []
        for i, (t, cat, event_name, account) in enumerate(batch):
            eid = f"{b}-{i}"
            events.append(ev(eid, 1000 + t, account=account, category=cat,
                             lookup=(("EventId", eid), ("EventName", event_name))))
            seq += 1
            start, end = window
            if (account == ACCT and cat == "Management" and name in (None, event_name)
                    and (start is None or t >= start) and (end is None or t <= end)):
                expected.append((1000 + t, seq, eid))
        store.append(events)
    expected.sort(reverse=True)
    start, end = window
    got = ids(store, limit=page_size, attribute=None if name is None else ("EventName", name),
              start_time=None if start is None else 1000 + start, end_time=None if end is None else 1000 + end)
    assert got == [eid for _t, _s, eid in expected]


def test_extreme_event_times_and_query_bounds(store: EventStore) -> None:
    first = NewEvent("first", 0, "111111111111", "us-east-1", "Management", b'{"eventID":"first"}', (("EventName", "X"),))
    last = NewEvent("last", 2**32 - 1, "111111111111", "us-east-1", "Management", b'{"eventID":"last"}', (("EventName", "X"),))
    assert store.append([first, last]).accepted == 2
    for start, end in [(None, None), (-10**12, 10**13), (0, 2**32 - 1)]:
        q = LookupQuery("111111111111", "us-east-1", ("EventName", "X"), start_time=start, end_time=end)
        assert [e.event_id for e in store.lookup(q).events] == ["last", "first"]
    q = LookupQuery("111111111111", "us-east-1", None, start_time=2**40, end_time=2**41)
    assert store.lookup(q).events == []


def test_flush_makes_submitted_events_visible(store: EventStore) -> None:
    store.submit([NewEvent(f"s{i}", 1000 + i, "111111111111", "us-east-1", "Management", b"{}", (("EventName", "S"),))
                  for i in range(30)])
    store.flush()
    page = store.lookup(LookupQuery("111111111111", "us-east-1", ("EventName", "S")))
    assert [e.event_id for e in page.events] == [f"s{i}" for i in reversed(range(30))]
    assert store.count() == 30
    store.flush()  # nothing pending: returns at once


def test_append_without_waiting_reports_indexed_false_or_final_counts(store: EventStore) -> None:
    e = NewEvent("x", 1, "111111111111", "us-east-1", "Management", b"{}", ())
    first = store.append([e, e], wait_visible=False)
    if first.indexed:  # stores that index inline know the duplicate at once
        assert (first.accepted, first.duplicates) == (1, 1)
    else:
        assert (first.accepted, first.duplicates) == (2, 0)
    store.flush()
    assert store.count() == 1
    assert store.append([e]) == AppendResult(0, 1, (0,))


def test_last_seq_follows_the_log(store: EventStore) -> None:
    assert store.last_seq() == 0
    store.append([NewEvent(f"l{i}", 10, "111111111111", "us-east-1", "Data", b"{}") for i in range(5)])
    assert store.last_seq() == store.read_since(0, 100)[-1].seq == 5
    store.submit([NewEvent("l9", 10, "111111111111", "us-east-1", "Data", b"{}")])
    store.flush()
    assert store.last_seq() == 6
    store.append([NewEvent("l0", 10, "111111111111", "us-east-1", "Data", b"{}")])  # a duplicate takes no seq
    assert store.last_seq() == 6
