"""SQLite-only retention behaviour: posting blocks of purged events go, the receive-time table
stays small (the conformance suite checks what lookups and reads return)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from opentrail.store.base import NewEvent
from opentrail.store.sqlite import SqliteEventStore


def ev(eid: str, t: int) -> NewEvent:
    return NewEvent(eid, t, "111111111111", "us-east-1", "Management", b'{"eventID":"%s"}' % eid.encode(),
                    (("EventId", eid), ("Username", "bob")))


def _rows(directory: Path, sql: str) -> list[tuple[int, ...]]:
    conn = sqlite3.connect(directory / "events.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_retention_purge_deletes_only_blocks_without_kept_events(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    with SqliteEventStore(directory, cache_mb=16, block_ords=3) as store:
        store.append([ev(f"a{i}", 100 + i) for i in range(9)])  # keys "" and Username: 3 blocks each
        through = store.received_seq(int(time.time()) + 120)
        assert through == 9
        store.append([ev(f"b{i}", 200 + i) for i in range(3)])  # old eventTimes received later: kept
        assert _rows(directory, "SELECT count(*) FROM posting_blocks") == [(8,)]
        assert store.purge_before(1000, through) == 9
        # the 6 blocks of a* go, the 2 of b* stay, and an hour later a purge still keeps them
        assert _rows(directory, "SELECT count(*) FROM posting_blocks") == [(2,)]
        assert store.purge_before(1000, through) == 0
        assert _rows(directory, "SELECT count(*) FROM posting_blocks") == [(2,)]
        assert store.count() == 3
        # one receive-time row per minute with appends: the newest seq received in it
        assert _rows(directory, "SELECT seq FROM received ORDER BY minute DESC LIMIT 1") == [(12,)]
