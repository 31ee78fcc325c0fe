"""The SQLite store on a filesystem that fills up for real (a 4 MiB tmpfs): appends raise
DataDirectoryFullError, the indexer waits for space instead of dying (never counted towards the
supervisor's give-up), and once space is freed everything works again without reopening, with every
acknowledged event indexed exactly once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.store.base import DataDirectoryFullError, LookupQuery, NewEvent
from opentrail.store.errors import is_disk_full
from opentrail.store.space import data_directory_status, free_bytes
from opentrail.store.sqlite import RestartPolicy, SqliteEventStore
from tests.small_fs import fill, small_filesystem

ACCOUNT = "111111111111"
REGION = "us-east-1"
#: Any counted indexer death gives up at once: a full disk must never count.
NO_RESTARTS = RestartPolicy(max_restarts=0, window_s=60.0, first_backoff_s=0.01, max_backoff_s=0.1)
ONE_RESTART = RestartPolicy(max_restarts=1, window_s=60.0, first_backoff_s=0.01, max_backoff_s=0.1)


def batch(start: int, n: int = 20) -> list[NewEvent]:
    # random bytes do not compress: each event takes its full ~600 bytes
    return [NewEvent(f"ev-{i}", 1_700_000_000 + i, ACCOUNT, REGION, "Management",
                     b'{"eventID":"ev-%d","pad":"%s"}' % (i, os.urandom(300).hex().encode()),
                     (("EventName", "PutObject"),)) for i in range(start, start + n)]


def stored_ids(store: SqliteEventStore) -> list[str]:
    return [e.event_id for e in store.read_since(0, 1_000_000)]


def looked_up(store: SqliteEventStore) -> int:
    n, after = 0, None
    while True:
        page = store.lookup(LookupQuery(ACCOUNT, REGION, attribute=("EventName", "PutObject"), after=after))
        n += len(page.events)
        if page.next_cursor is None:
            return n
        after = page.next_cursor


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "fs", "4m") as path:
        yield path


def test_append_on_a_full_disk_raises_and_works_again_once_space_is_freed(small: Path) -> None:
    store = SqliteEventStore(small / "events", cache_mb=8, restart_policy=NO_RESTARTS)
    try:
        pid = store.indexer_pid
        acked: list[str] = []
        ballast = fill(small)
        errors: list[DataDirectoryFullError] = []
        n = 0
        while len(errors) < 3:  # the WAL may take a few batches in pages it already has
            events = batch(n)
            n += len(events)
            try:
                store.append(events)
            except DataDirectoryFullError as exc:
                errors.append(exc)
                continue
            acked += [e.event_id for e in events]
            assert n < 20_000, "the disk never filled up"
        assert str(errors[-1]) == f"the data directory {small / 'events'} is full: free space on {small} and retry"
        assert errors[-1].filesystem == str(small)
        assert is_disk_full(errors[-1])
        assert store.is_full() is True
        status = data_directory_status(small / "events", 64 * 1024, store.is_full())
        assert (status.full, status.filesystem) == (True, str(small))

        ballast.unlink()
        again = batch(n)
        result = store.append(again)  # no reopen, no restart
        assert (result.accepted, result.duplicates) == (len(again), 0)
        acked += [e.event_id for e in again]
        store.flush()
        assert store.is_full() is False
        assert free_bytes(small) > 1024 * 1024
        ids = stored_ids(store)
        assert len(ids) == len(set(ids))
        assert set(acked) <= set(ids)  # every acknowledged event; unacknowledged ones may be there too
        assert looked_up(store) == len(ids) == store.count()
        assert (store.indexer_pid, store.indexer_restarts) == (pid, 0)
    finally:
        store.close()
    reopened = SqliteEventStore(small / "events", cache_mb=8)
    try:
        assert set(acked) <= set(stored_ids(reopened))
    finally:
        reopened.close()


def test_indexer_waits_for_space_and_a_full_disk_is_never_counted_as_a_death(tmp_path: Path, small: Path) -> None:
    """Only the events database is on the small filesystem (a symlink; SQLite puts its WAL beside
    the link's target), so the log keeps acknowledging while the indexer has no room."""
    directory = tmp_path / "events"
    directory.mkdir()
    (small / "events.sqlite3").touch()
    (directory / "events.sqlite3").symlink_to(small / "events.sqlite3")
    # one counted death allowed: the SIGKILL below; the failed starts after it must not count
    store = SqliteEventStore(directory, cache_mb=8, restart_policy=ONE_RESTART)
    try:
        pid = store.indexer_pid
        store.append(batch(0))
        ballast = fill(small)
        acked = [f"ev-{i}" for i in range(20)]
        n = 20
        deadline = time.monotonic() + 20
        while not store.is_full():  # acknowledged into the log; the indexer runs out of room
            store.append(batch(n), wait_visible=False)
            acked += [f"ev-{i}" for i in range(n, n + 20)]
            n += 20
            assert time.monotonic() < deadline, "the indexer never ran out of space"
        started = time.monotonic()
        with pytest.raises(DataDirectoryFullError):
            store.append(batch(n))  # durable in the log, not visible: raised after FULL_WAIT_S
        acked += [f"ev-{i}" for i in range(n, n + 20)]
        n += 20
        assert 0.9 < time.monotonic() - started < 5
        assert store.indexer_pid == pid  # still the same process, waiting

        # A (re)start that fails for lack of space is retried, not counted.
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
        deadline = time.monotonic() + 20
        while store.indexer_restarts < 3:
            assert time.monotonic() < deadline, "the indexer was not restarted"
            time.sleep(0.05)
        with pytest.raises(DataDirectoryFullError):
            store.flush()
        assert store.is_full() is True

        ballast.unlink()
        store.flush()  # the next (re)start catches up: no IndexerFailedError
        result = store.append(batch(n))
        assert (result.accepted, result.duplicates) == (20, 0)
        acked += [f"ev-{i}" for i in range(n, n + 20)]
        assert store.is_full() is False
        ids = stored_ids(store)
        assert sorted(ids) == sorted(acked)  # every acknowledged event, once
        assert looked_up(store) == len(acked) == store.count()
    finally:
        store.close()
