"""Insights per account shard (:mod:`opentrail.shards`, each shard with its own cursor, so that
shards can be counted by different workers): a worker of some shards counts, analyses and emits for its accounts only and
commits its shards' cursors only; a worker of every shard takes over from shard workers at
different cursors without counting an event twice; a counts database of an earlier release starts
every shard at its single cursor. Both state backends (``state_dir``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.insights.counts import INSIGHTS_DB, SqliteInsightCounts
from opentrail.insights.model import CALL_RATE, MANAGEMENT, SeriesKey
from opentrail.insights.worker import InsightsWorker, Watch
from opentrail.shards import shard_of
from opentrail.sql_files import scripts
from opentrail.state_db import open_state_db
from opentrail.state_migrate import apply_schema
from opentrail.store.sqlite import SqliteEventStore

from .counts_fixtures import ACCOUNT, OTHER, T0, Clock, FixedScope, append, insights_events, record
from .test_worker import WEEK, baseline, burst

M0 = T0 // 60


def _key(account: str) -> SeriesKey:
    return SeriesKey(account, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE)


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "events")
    yield s
    s.close()


def _drain(w: InsightsWorker, now: float) -> None:
    while w.run_once():
        pass
    w.flush(now)


def test_the_accounts_of_the_tests_are_in_different_shards() -> None:
    assert (shard_of(ACCOUNT), shard_of(OTHER)) == (0, 1)  # crc32 of the account ID, modulo 4


def test_each_shard_worker_counts_its_accounts_and_commits_its_cursor_only(store: SqliteEventStore,
                                                                           state_dir: Path) -> None:
    append(store, [record(T0 + i) for i in range(3)] + [record(T0 + i, account=OTHER) for i in range(2)])
    now = T0 + 7200
    w0 = InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(0,))
    _drain(w0, now)
    assert w0.counts.cursors() == {0: 5, 1: 0, 2: 0, 3: 0}
    assert w0.counts.counts(_key(ACCOUNT), M0, M0 + 1, 60) == [(M0, 3)]
    assert w0.counts.counts(_key(OTHER), M0, M0 + 1, 60) == []  # shard 1's account
    w1 = InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(1,))
    _drain(w1, now)
    assert w1.counts.cursors() == {0: 5, 1: 5, 2: 0, 3: 0}
    assert w1.counts.counts(_key(OTHER), M0, M0 + 1, 60) == [(M0, 2)]
    assert w1.counts.counts(_key(ACCOUNT), M0, M0 + 1, 60) == [(M0, 3)]  # still once
    for w in (w0, w1):
        w.close()
    with pytest.raises(ValueError):
        InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(4,))


def test_a_worker_of_every_shard_takes_over_without_counting_twice(store: SqliteEventStore, state_dir: Path) -> None:
    now = T0 + 7200
    append(store, [record(T0), record(T0, account=OTHER)])
    w1 = InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(1,))
    _drain(w1, now)
    append(store, [record(T0), record(T0, account=OTHER), record(T0)])
    w0 = InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(0,))
    _drain(w0, now)  # shard 0 at 5, shard 1 at 2
    assert w0.counts.cursors() == {0: 5, 1: 2, 2: 0, 3: 0}
    append(store, [record(T0), record(T0, account=OTHER)])
    every = InsightsWorker(store, FixedScope(), state_dir, Clock(now))
    assert every.caught_up_seq() == 0
    _drain(every, now)
    assert every.counts.cursors() == {0: 7, 1: 7, 2: 7, 3: 7}
    assert every.counts.counts(_key(ACCOUNT), M0, M0 + 1, 60) == [(M0, 4)]
    assert every.counts.counts(_key(OTHER), M0, M0 + 1, 60) == [(M0, 3)]
    for w in (w0, w1, every):
        w.close()


def test_a_shard_worker_writes_the_insights_events_of_its_accounts_only(store: SqliteEventStore,
                                                                        state_dir: Path) -> None:
    b = M0 // 10 * 10 + WEEK + 60  # a week of baseline, then a burst in both accounts
    append(store, baseline(M0 // 10 * 10, b) + baseline(M0 // 10 * 10, b, account=OTHER))
    append(store, burst(b, 100) + burst(b, 100, account=OTHER))
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT), Watch(OTHER, "us-east-1", CALL_RATE, MANAGEMENT))
    clock = Clock(b * 60 + 30)  # the burst's minute still open: counted, not analysed
    w0 = InsightsWorker(store, scope, state_dir, clock, settle_s=0, shards=(0,))
    while w0.run_once():
        pass
    w0.flush(clock.now)
    assert insights_events(store) == []
    clock.now = (b + 1) * 60 + 20
    w1 = InsightsWorker(store, scope, state_dir, clock, settle_s=0, shards=(1,))
    w1.run_once()
    while w1.run_once():
        pass
    clock.now += 10
    w1.run_once()
    assert [(r["recipientAccountId"], r["insightDetails"]["state"]) for r in insights_events(store)] == [
        (OTHER, "Start")]  # not the Start of shard 0's account, whose counts are there
    assert w1.counts.outbox() == []  # nor is it decided and waiting
    while w0.run_once():
        pass
    clock.now += 10
    w0.run_once()
    assert [(r["recipientAccountId"], r["insightDetails"]["state"]) for r in insights_events(store)] == [
        (OTHER, "Start"), (ACCOUNT, "Start")]
    for w in (w0, w1):
        w.close()


def test_a_counts_database_with_one_cursor_gives_it_to_every_shard(state_dir: Path) -> None:
    conn = open_state_db(state_dir / INSIGHTS_DB)
    try:
        apply_schema(conn, "opentrail.insights", "counts",
                     scripts=[s for s in scripts("opentrail.insights", "sql", "counts") if s.version == 1])
        conn.execute("INSERT INTO cursor (id, seq) VALUES (1, 4321)")
    finally:
        conn.close()
    counts = SqliteInsightCounts(state_dir / INSIGHTS_DB)
    try:
        assert counts.cursors() == {0: 4321, 1: 4321, 2: 4321, 3: 4321}
        assert counts.cursor() == 4321
    finally:
        counts.close()


def test_a_worker_that_lost_its_lease_stops_without_a_final_flush(store: SqliteEventStore, state_dir: Path) -> None:
    """Several nodes: a write under the worker's fence raised LeaseLost (another node took its
    shard over): the thread ends at once, and commits nothing more."""
    from opentrail.state_pg import LeaseLost

    append(store, [record(T0 + i) for i in range(3)])
    now = T0 + 7200
    w = InsightsWorker(store, FixedScope(), state_dir, Clock(now), shards=(0,))
    applied: list[int] = []

    def lost(*args: object) -> None:
        applied.append(1)
        raise LeaseLost("insights/0", 1)

    w.counts.apply = lost  # type: ignore[method-assign]
    w.start()
    w.join(timeout=10)
    assert not w.is_alive()
    assert applied == [1]  # the failed round's commit only: no retry, no final flush
