"""DataVersionWatch (opentrail/state_watch.py) on both backends: a commit made through another
connection is noticed at once on SQLite and after PG_RECHECK_S on PostgreSQL (injected clock)."""

from __future__ import annotations

from pathlib import Path

from opentrail.state_db import open_state_db
from opentrail.state_watch import PG_RECHECK_S, DataVersionWatch
from tests.state_backends import HandClock as Clock




def test_a_commit_of_another_connection_is_noticed(state_dir: Path, state_backend: str) -> None:
    mine, other = open_state_db(state_dir / "w.db"), open_state_db(state_dir / "w.db")
    try:
        mine.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
        clock = Clock(100.0)
        watch = DataVersionWatch(mine, clock=clock)
        assert watch.recheck_s == (0.0 if state_backend == "sqlite" else PG_RECHECK_S)
        assert watch.changed() is False
        other.execute("INSERT INTO t (v) VALUES ('a')")
        if state_backend == "postgres":
            assert watch.changed() is False  # not read again yet
            clock.now += PG_RECHECK_S - 0.01
            assert watch.changed() is False
            clock.now += 0.01
        assert watch.changed() is True
        assert watch.changed() is False
        clock.now += 10
        assert watch.changed() is False  # nothing committed since
    finally:
        mine.close()
        other.close()


def test_a_fresh_look_reads_at_once(state_dir: Path) -> None:
    mine, other = open_state_db(state_dir / "w.db"), open_state_db(state_dir / "w.db")
    try:
        mine.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
        watch = DataVersionWatch(mine, clock=Clock(100.0))
        other.execute("INSERT INTO t (v) VALUES ('a')")
        assert watch.changed(fresh=True) is True
        assert watch.changed(fresh=True) is False
    finally:
        mine.close()
        other.close()
