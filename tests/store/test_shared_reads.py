"""SharedLogReads (:mod:`opentrail.store.shared_reads`): readers following the log through one
shared window get exactly what the store answers -- every event once, in order, with its partition
and record -- whatever their positions, limits and the appends in between; readers at one position
share one fetch; readers behind the window are answered by the store."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.events.record import read_record
from opentrail.store.memory import MemoryEventStore
from opentrail.store.shared_reads import SharedLogReads
from opentrail.store.sqlite import SqliteEventStore

ACCOUNTS = ["111122223333", "444455556666"]
REGIONS = ["us-east-1", "eu-west-1"]
_n = iter(range(1, 10**9))


def _records(k: int, rng: random.Random) -> list[Any]:
    out = []
    for _ in range(k):
        i = next(_n)
        account = rng.choice(ACCOUNTS)
        out.append(read_record({"eventVersion": "1.11", "eventTime": "2024-05-01T10:00:00Z", "eventName": f"Call{i}",
                                "eventSource": "ec2.amazonaws.com", "awsRegion": rng.choice(REGIONS),
                                "eventID": f"00000000-0000-4000-8000-{i:012d}", "recipientAccountId": account,
                                "eventCategory": rng.choice(["Management", "Data"]),
                                "userIdentity": {"type": "Root", "accountId": account}}))
    return out


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store whose partition ids hold for one answer (memory) or for good (SQLite)."""
    s: Any = MemoryEventStore() if request.param == "memory" else SqliteEventStore(tmp_path / "events")
    yield s
    s.close()


def _rows(cols: Any) -> list[tuple[int, tuple[str, str, str], bytes]]:
    return [(seq, cols.partition_names[p], bytes(r)) for seq, p, r in zip(cols.seqs, cols.partitions, cols.records)]


def _everything(store: Any) -> list[tuple[int, tuple[str, str, str], bytes]]:
    return _rows(store.read_columns(0, 10**6))


@pytest.mark.parametrize("seed", range(6))
def test_interleaved_readers_get_exactly_the_log(store: Any, seed: int) -> None:
    rng = random.Random(seed)
    shared = SharedLogReads(store, max_events=rng.choice([5, 40, 1000]), max_bytes=rng.choice([3000, 1 << 30]))
    readers = [{"pos": 0, "rows": []} for _ in range(5)]
    for _ in range(120):
        if rng.random() < 0.3:
            store.append(_records(rng.randint(1, 30), rng))
        reader = rng.choice(readers)
        cols = shared.read_columns(reader["pos"], rng.choice([1, 3, 10, 50, 200]))
        if len(cols):
            assert list(cols.seqs) == sorted(cols.seqs) and cols.seqs[0] > reader["pos"]
            reader["rows"] += _rows(cols)
            reader["pos"] = cols.seqs[-1]
    log = _everything(store)
    for reader in readers:  # each read on to the end
        while True:
            cols = shared.read_columns(reader["pos"], 17)
            if not len(cols):
                break
            reader["rows"] += _rows(cols)
            reader["pos"] = cols.seqs[-1]
        assert reader["rows"] == log
    assert shared.hits > 0


def test_readers_at_one_position_share_one_fetch(store: Any) -> None:
    rng = random.Random(7)
    store.append(_records(100, rng))
    shared = SharedLogReads(store)
    answers = [_rows(shared.read_columns(0, 1000)) for _ in range(4)]
    assert answers == [_everything(store)] * 4
    assert (shared.fetches, shared.hits) == (1, 3)
    assert len(shared.read_columns(100, 1000)) == 0  # caught up: the store is asked (nothing new)
    store.append(_records(5, rng))
    assert [len(shared.read_columns(100, 1000)) for _ in range(3)] == [5, 5, 5]
    assert (shared.fetches, shared.hits) == (2, 5)
    # a reader behind the window (it keeps 20,000 here, so start one anew) goes to the store alone
    small = SharedLogReads(store, max_events=4)
    assert len(small.read_columns(100, 1000)) == 5
    behind = small.read_columns(0, 10)
    assert _rows(behind) == _everything(store)[:10] and small.fetches == 2
    assert len(small.read_columns(100, 1000)) == 5 and small.fetches == 2  # the window is still 100..105


def test_threads_following_the_log_while_it_grows(store: Any) -> None:
    rng = random.Random(3)
    shared = SharedLogReads(store, max_events=400)
    total = 2000
    got: list[list[tuple[int, tuple[str, str, str], bytes]]] = [[] for _ in range(6)]

    def follow(k: int) -> None:
        pos, limit = 0, [7, 50, 300][k % 3]
        while pos < total:
            cols = shared.read_columns(pos, limit)
            if len(cols):
                got[k] += _rows(cols)
                pos = cols.seqs[-1]

    threads = [threading.Thread(target=follow, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    appended = batches = 0
    while appended < total:
        k = min(rng.randint(1, 60), total - appended)
        store.append(_records(k, rng))
        appended += k
        batches += 1
    for t in threads:
        t.join(timeout=60)
    log = _everything(store)
    assert len(log) == total
    assert all(rows == log for rows in got)
    assert shared.hits > 0 and batches > 1  # some reads shared (how many depends on the threads' timing)


def test_the_window_keeps_within_its_bytes(store: Any) -> None:
    rng = random.Random(11)
    store.append(_records(200, rng))
    size = len(_everything(store)[0][2])  # each record is about this long
    shared = SharedLogReads(store, max_bytes=20 * size)
    pos, rows = 0, []
    while True:
        cols = shared.read_columns(pos, 7)
        if not len(cols):
            break
        rows += _rows(cols)
        pos = cols.seqs[-1]
    assert rows == _everything(store)
    fetches, hits = shared.fetches, shared.hits
    kept = shared.read_columns(pos - 1, 10)  # the newest event is in the window: no fetch
    assert len(kept) == 1 and (shared.fetches, shared.hits) == (fetches, hits + 1)
    assert shared._bytes <= 25 * size + size and 15 <= len(shared._seqs) <= 27  # the newest ~20 records
