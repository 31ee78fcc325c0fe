"""DataVersionWatch (opentrail/state_watch.py), the one "did someone else commit" mechanism of the
state stores, on both backends: a commit made through another connection is noticed at once on
SQLite, after PG_RECHECK_S on PostgreSQL (injected clock), and at once with ``fresh=True`` on both.
FreshRows (opentrail/lake/fresh_rows.py) follows the same policy."""

from __future__ import annotations

from pathlib import Path

from opentrail.lake.fresh_rows import FreshRows
from opentrail.state_db import open_state_db
from opentrail.state_watch import PG_RECHECK_S, DataVersionWatch
from tests.state_backends import HandClock as Clock

#: (backend, seconds the clock moves after another connection's commit, fresh look?) -> noticed?
CASES = [
    ("sqlite", 0.0, False, True),
    ("sqlite", 0.0, True, True),
    ("sqlite", PG_RECHECK_S, False, True),
    ("postgres", 0.0, False, False),
    ("postgres", PG_RECHECK_S - 0.01, False, False),
    ("postgres", PG_RECHECK_S, False, True),
    ("postgres", 0.0, True, True),
    ("postgres", PG_RECHECK_S - 0.01, True, True),
]


def test_when_a_commit_of_another_connection_is_noticed(state_dir: Path, state_backend: str) -> None:
    cases = [c for c in CASES if c[0] == state_backend]
    assert len(cases) in (3, 5)
    for i, (backend, elapsed, fresh, noticed) in enumerate(cases):
        mine, other = open_state_db(state_dir / f"w{i}.db"), open_state_db(state_dir / f"w{i}.db")
        try:
            mine.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
            clock = Clock(100.0)
            watch = DataVersionWatch(mine, clock=clock)
            assert watch.recheck_s == {"sqlite": 0.0, "postgres": PG_RECHECK_S}[backend]
            assert watch.changed() is False
            other.execute("INSERT INTO t (v) VALUES ('a')")
            clock.now += elapsed
            assert watch.due() is (backend == "sqlite" or elapsed >= PG_RECHECK_S)
            assert watch.changed(fresh=fresh) is noticed, (backend, elapsed, fresh)
            clock.now += PG_RECHECK_S
            assert watch.changed() is not noticed  # seen by then in every case, and only once
            clock.now += 10
            assert watch.changed() is False  # nothing committed since
        finally:
            mine.close()
            other.close()


def test_a_recheck_interval_can_be_given(state_dir: Path) -> None:
    mine, other = open_state_db(state_dir / "w.db"), open_state_db(state_dir / "w.db")
    try:
        mine.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
        clock = Clock(100.0)
        watch = DataVersionWatch(mine, clock=clock, recheck_s=60.0)
        before = watch.version()
        other.execute("INSERT INTO t (v) VALUES ('a')")
        clock.now += 59.9
        assert watch.version() == before
        assert watch.version(fresh=True) != before
    finally:
        mine.close()
        other.close()


def test_fresh_rows_follow_the_policy_and_reload_on_lock(state_dir: Path, state_backend: str) -> None:
    mine, other = open_state_db(state_dir / "w.db"), open_state_db(state_dir / "w.db")
    try:
        mine.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)")
        clock = Clock(100.0)
        rows: FreshRows[str, str] = FreshRows(mine, lambda db: dict(db.execute("SELECT k, v FROM t")), clock=clock)
        assert rows.rows() == {} and rows.generation == 0
        other.execute("INSERT INTO t (k, v) VALUES ('a', '1')")
        if state_backend == "postgres":
            assert rows.rows() == {}  # looked at most every PG_RECHECK_S
            clock.now += PG_RECHECK_S
        assert rows.rows() == {"a": "1"} and rows.generation == 1
        other.execute("INSERT INTO t (k, v) VALUES ('b', '2')")
        with rows.lock:  # a read-check-write block looks fresh on entry, on both backends
            assert rows.rows() == {"a": "1", "b": "2"} and rows.generation == 2
        other.execute("INSERT INTO t (k, v) VALUES ('c', '3')")
        with rows.write_transaction() as db:  # and again inside its write transaction
            assert rows.rows() == {"a": "1", "b": "2", "c": "3"} and rows.generation == 3
            db.execute("INSERT INTO t (k, v) VALUES ('d', '4')")
            rows.put("d", "4")
        assert dict(other.execute("SELECT k, v FROM t")) == {"a": "1", "b": "2", "c": "3", "d": "4"}
    finally:
        mine.close()
        other.close()
