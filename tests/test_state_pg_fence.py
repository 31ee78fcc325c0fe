"""Fenced writes (:func:`opentrail.state_pg.fence`) on the real PostgreSQL: a holder paused past
its lease that wakes after another node took the lease over gets LeaseLost on its next write, and
nothing of it is written; a takeover waits for the fenced transaction under way."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from opentrail.leased_worker import inherit_fences
from opentrail.leases import Leases
from opentrail.state_db import open_state_db, write_statements
from opentrail.state_pg import LeaseLost, current_fence, fence
from tests.state_backends import HandClock as Clock

pytestmark = pytest.mark.parametrize("state_backend", ["postgres"])




def setup(state_dir: Path) -> tuple[Clock, Leases, Leases, object]:
    clock = Clock(1_700_000_000.0)
    a, b = Leases(state_dir, "node-a", clock, ttl_s=10), Leases(state_dir, "node-b", clock, ttl_s=10)
    work = open_state_db(state_dir / "work.db")
    work.executescript("CREATE TABLE IF NOT EXISTS done (id INTEGER PRIMARY KEY, who TEXT NOT NULL);")
    return clock, a, b, work


def rows(work: object) -> list[tuple[int, str]]:
    return [tuple(r) for r in work.execute("SELECT id, who FROM done ORDER BY id").fetchall()]  # type: ignore[attr-defined]


def test_a_paused_holder_cannot_write_after_a_takeover(state_dir: Path) -> None:
    clock, a, b, work = setup(state_dir)
    token = a.acquire("delivery")
    assert token == 1
    stale = a.fence("delivery", 1)
    assert stale is not None
    with fence(stale):
        work.execute("INSERT INTO done (who) VALUES (?)", ("a autocommit",))  # type: ignore[attr-defined]
        write_statements(work, [("INSERT INTO done (who) VALUES (?)", ("a transaction",))])  # type: ignore[arg-type]
    clock.now += 11  # a is paused past its lease; b takes it over
    assert b.acquire("delivery") == 2
    with fence(stale):
        with pytest.raises(LeaseLost, match="lease 'delivery' is no longer held with token 1"):
            work.execute("INSERT INTO done (who) VALUES (?)", ("a late autocommit",))  # type: ignore[attr-defined]
        with pytest.raises(LeaseLost):
            write_statements(work, [("INSERT INTO done (who) VALUES (?)", ("a late transaction",))])  # type: ignore[arg-type]
        with pytest.raises(LeaseLost):
            work.executemany("INSERT INTO done (who) VALUES (?)", [("a late many",)])  # type: ignore[attr-defined]
        assert rows(work)[-1][1] == "a transaction"  # reads are not fenced
    assert stale.lost.is_set()
    assert work.in_transaction is False  # type: ignore[attr-defined]
    with fence(b.fence("delivery", 2)):
        work.execute("INSERT INTO done (who) VALUES (?)", ("b",))  # type: ignore[attr-defined]
    work.execute("INSERT INTO done (who) VALUES (?)", ("unfenced",))  # type: ignore[attr-defined]
    assert [who for _, who in rows(work)] == ["a autocommit", "a transaction", "b", "unfenced"]
    for x in (a, b, work):
        x.close()  # type: ignore[attr-defined]


def test_a_takeover_waits_for_the_fenced_transaction_under_way(state_dir: Path) -> None:
    clock, a, b, work = setup(state_dir)
    assert a.acquire("delivery") == 1
    clock.now += 11
    took: list[int | None] = []
    with fence(a.fence("delivery", 1)):
        work.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
        work.execute("INSERT INTO done (who) VALUES (?)", ("a, committed before the takeover",))  # type: ignore[attr-defined]
        taker = threading.Thread(target=lambda: took.append(b.acquire("delivery")))
        taker.start()
        time.sleep(0.5)
        assert taker.is_alive() and took == []  # the lease row is share-locked by a's transaction
        other = threading.Thread(target=lambda: took.append(b.acquire("lake")))
        other.start()
        other.join(timeout=5)
        assert took == [1]  # meanwhile b's other leases are taken (and renewed) as usual
        work.execute("COMMIT")  # type: ignore[attr-defined]
        taker.join(timeout=10)
        assert took == [1, 2]
        with pytest.raises(LeaseLost):
            work.execute("INSERT INTO done (who) VALUES (?)", ("a, after",))  # type: ignore[attr-defined]
    assert [who for _, who in rows(work)] == ["a, committed before the takeover"]
    for x in (a, b, work):
        x.close()  # type: ignore[attr-defined]


def test_threads_and_pool_tasks_of_a_fenced_thread_inherit_its_fence(state_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, a, _, work = setup(state_dir)
    inherit_fences()
    f = a.fence("delivery", 1)
    seen: list[object] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        with fence(f):
            child = threading.Thread(target=lambda: seen.append(current_fence()))
            child.start()
            pooled = pool.submit(current_fence).result()  # the pool's thread starts here
        assert pool.submit(current_fence).result() is None  # the task of an unfenced thread
        assert list(pool.map(lambda _: current_fence(), [1])) == [None]
    child.join()
    assert seen == [f]
    assert pooled == f  # a task runs under the fence of the thread that submitted it
    orphan = threading.Thread(target=lambda: seen.append(current_fence()))
    orphan.start()
    orphan.join()
    assert seen == [f, None]
    work.close()  # type: ignore[attr-defined]
    a.close()
