"""Posting blocks of the PostgreSQL event store (opentrail/store/postgres_postings.py): the pure
parts table-driven, then lookups on the real database against the in-memory store as the oracle,
with blocks small enough that every lookup walks several, out-of-order event times, pages and
purges."""

from __future__ import annotations

import random
from typing import Iterator

import psycopg
import pytest

from opentrail.store import postgres_postings as pp
from opentrail.store.base import LookupQuery, NewEvent
from opentrail.store.memory import MemoryEventStore
from opentrail.store.postgres import PostgresEventStore
from tests import postgres as pg

ACCT, REGION = "123456789012", "us-east-1"
NONE = ((-(1 << 62), -(1 << 62)),)
BIG = 1 << 62


@pytest.mark.parametrize(("values", "packed"), [
    ([], b""),
    ([1], b"\x00" * 7 + b"\x01"),
    ([-1, 256], b"\xff" * 8 + b"\x00" * 6 + b"\x01\x00"),
])
def test_pack_is_big_endian_int64_and_unpacks(values: list[int], packed: bytes) -> None:
    assert pp.pack(values) == packed
    assert pp.unpack(packed) == values


@pytest.mark.parametrize(("t", "end"), [(0, 3600), (3599, 3600), (3600, 7200), (-1, 0), (-3600, -3600 + 3600)])
def test_hour_end(t: int, end: int) -> None:
    assert pp.hour_end(t) == end


def test_blocks_split_by_key_hour_and_size_sorted_and_deduplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pp, "BLOCK_MAX", 3)
    entries = [(7, 3601, 5), (7, 10, 1), (7, 3599, 2), (7, 10, 1), (8, 20, 3), (7, 5, 4), (7, 6, 6), (7, 3602, 9)]
    blocks = [(b.key_id, b.max_time, b.min_time, b.max_seq, pp.unpack(b.times), pp.unpack(b.seqs))
              for b in pp.blocks_of(*zip(*entries))]
    assert sorted(blocks) == [
        (7, 10, 5, 6, [5, 6, 10], [4, 6, 1]),
        (7, 3599, 3599, 2, [3599], [2]),
        (7, 3602, 3601, 9, [3601, 3602], [5, 9]),
        (8, 20, 20, 3, [20], [3]),
    ]
    assert list(pp.blocks_of([], [], [])) == []


def test_blocks_max_seq_is_the_blocks_own_and_times_may_be_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pp, "BLOCK_MAX", 2)
    # one key, one hour: split after 2 entries by (time, seq); the later block's max_seq is lower
    blocks = list(pp.blocks_of([1, 1, 1, 2], [-3600, -3599, -3598, -1], [9, 3, 1, 8]))
    assert [(b.key_id, b.max_time, b.min_time, b.max_seq, pp.unpack(b.times), pp.unpack(b.seqs)) for b in blocks] == [
        (1, -3599, -3600, 9, [-3600, -3599], [9, 3]),
        (1, -3598, -3598, 1, [-3598], [1]),
        (2, -1, -1, 8, [-1], [8]),
    ]


@pytest.mark.parametrize(("window", "limit", "expected"), [
    (pp.Window(-BIG, BIG, (BIG, BIG), NONE), 10, [(30, 3), (20, 4), (20, 2), (10, 1)]),
    (pp.Window(-BIG, BIG, (BIG, BIG), NONE), 2, [(30, 3), (20, 4)]),
    (pp.Window(15, 25, (BIG, BIG), NONE), 10, [(20, 4), (20, 2)]),
    (pp.Window(-BIG, BIG, (20, 4), NONE), 10, [(20, 2), (10, 1)]),  # after is exclusive
    (pp.Window(-BIG, 20, (30, 3), NONE), 10, [(20, 4), (20, 2), (10, 1)]),
    (pp.Window(-BIG, BIG, (BIG, BIG), ((21, 2),)), 10, [(30, 3), (20, 4)]),  # purged: t < 21 and seq <= 2
    (pp.Window(-BIG, BIG, (BIG, BIG), ((21, 2), (31, 3))), 10, [(20, 4)]),
])
def test_matches_in_one_block(window: pp.Window, limit: int, expected: list[tuple[int, int]]) -> None:
    assert pp.matches([10, 20, 20, 30], [1, 2, 4, 3], window, limit) == expected


def test_best_keeps_the_newest_and_knows_when_older_blocks_cannot_matter() -> None:
    best = pp.Best(3)
    best.add([(50, 5), (40, 4)])
    assert not best.full_above(10)  # not full yet
    best.add([(45, 9), (30, 1)])
    assert best.newest_first() == [(50, 5), (45, 9), (40, 4)]
    assert best.full_above(39) and not best.full_above(40)  # a block reaching 40 may hold (40, 6)


@pytest.fixture
def url(postgres_database: str) -> Iterator[str]:
    pg.create_schema(postgres_database, "t_postings")
    yield pg.url_of(postgres_database.rsplit("/", 1)[1], "t_postings")
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute('DROP SCHEMA "t_postings" CASCADE')


def test_lookups_walk_many_overlapping_blocks_like_the_oracle(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pp, "BLOCK_MAX", 4)
    rng = random.Random(5)
    users = ["alice", "bob", "carol"]
    store, oracle = PostgresEventStore(url, group_max_events=7), MemoryEventStore()
    try:
        n = 0
        for _ in range(40):  # batches of 1-12 events, eventTimes rising with disorder and hour jumps
            batch = []
            for _ in range(rng.randint(1, 12)):
                n += 1
                t = 1_700_000_000 + (n * rng.choice((1, 1, 5, 900)) - rng.randrange(4000)) // 50 * 50  # ties
                # now and then a copy of an earlier eventID (this batch's or older; dropped, with its
                # lookup entries), and a value named twice (one entry)
                event_id = f"e{rng.randint(1, n)}" if rng.random() < 0.15 else f"e{n}"
                user = rng.choice(users)
                lookup = (("EventId", event_id), ("Username", user), ("EventName", f"N{n % 4}"),
                          *((("Username", user),) if rng.random() < 0.2 else ()))
                batch.append(NewEvent(event_id, t, ACCT, REGION, "Management", b'{"n":%d}' % n, lookup))
            assert store.append(batch) == oracle.append(batch)
        times = sorted(e.event_time for e in oracle.read_since(0, 10_000))
        cut_time, cut_seq = times[len(times) // 3], n // 2
        for round_ in ("before purge", "after purge"):
            for _ in range(60):
                lo, hi = sorted(rng.sample(times, 2))
                attribute = rng.choice([("Username", rng.choice(users)), ("EventName", f"N{rng.randrange(5)}"), None])
                query = dict(account_id=ACCT, region=REGION, attribute=attribute, limit=rng.choice((1, 3, 7, 50)),
                             start_time=rng.choice((None, lo)), end_time=rng.choice((None, hi)),
                             expired=rng.choice((None, (cut_time, cut_seq))))
                after = None
                while True:  # every page, as LookupEvents follows NextToken
                    want = oracle.lookup(LookupQuery(**query, after=after))  # type: ignore[arg-type]
                    got = store.lookup(LookupQuery(**query, after=after))  # type: ignore[arg-type]
                    assert ([e.event_id for e in got.events], got.next_cursor) == (
                        [e.event_id for e in want.events], want.next_cursor), (round_, query, after)
                    if want.next_cursor is None:
                        break
                    after = want.next_cursor
            if round_ == "before purge":
                assert store.purge_before(cut_time, cut_seq) == oracle.purge_before(cut_time, cut_seq) > 0
    finally:
        store.close()
