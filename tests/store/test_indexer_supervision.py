"""The SQLite store restarts its indexer process when it dies, and every acknowledged event is
indexed exactly once whatever moment the indexer was killed at (real child processes, SIGKILL)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from opentrail.client.ingest import IngestClient

from opentrail.store.base import AppendResult, LookupQuery, NewEvent
from opentrail.store.sqlite import IndexerFailedError, IndexerUnavailableError, RestartPolicy, SqliteEventStore
from opentrail.store.sqlite_indexer import IndexWriter, connect_events
from opentrail.store.sqlite_log import connect_log, encode_batch
from tests.serving import free_port

ACCOUNT = "111111111111"
REGION = "us-east-1"
#: Restart at once, never give up: the tests kill many times a second.
EAGER = RestartPolicy(max_restarts=1000, window_s=60.0, first_backoff_s=0.005, max_backoff_s=0.02)


def event(event_id: str, t: int, name: str = "Put") -> NewEvent:
    return NewEvent(event_id, t, ACCOUNT, REGION, "Management", b'{"eventID":"%s"}' % event_id.encode(),
                    (("EventName", name),))


def kill(pid: int | None) -> None:
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


def wait_for_new_pid(store: SqliteEventStore, old: int | None, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while store.indexer_pid == old:
        assert time.monotonic() < deadline, "the indexer was not restarted"
        time.sleep(0.002)
    pid = store.indexer_pid
    assert pid is not None
    return pid


def all_events_by_lookup(store: SqliteEventStore, attribute: tuple[str, str] | None = None) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = store.lookup(LookupQuery(ACCOUNT, REGION, attribute=attribute, limit=50, after=after))
        ids += [e.event_id for e in page.events]
        if page.next_cursor is None:
            return ids
        after = page.next_cursor


def test_sigkill_at_random_moments_while_appending_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Four producer threads append (three waiting to be visible, with repeated eventIDs; one not
    waiting) while the indexer is SIGKILLed at random moments, also while a restarted one is still
    replaying the log. Every acknowledged event is then stored, looked up and read exactly once,
    and the visible appends' accepted/duplicate counts add up exactly."""
    rng = random.Random(20261121)
    store = SqliteEventStore(tmp_path / "s", cache_mb=16, block_ords=16, merge_at_ids=300, restart_policy=EAGER)
    results: dict[int, list[tuple[list[str], AppendResult]]] = {w: [] for w in range(4)}
    stop = threading.Event()
    errors: list[BaseException] = []

    def produce(w: int) -> None:
        try:
            b = 0
            while not stop.is_set():
                ids = [f"w{w}-b{b}-{i}" for i in range(20)]
                if b and w < 3:
                    ids += [f"w{w}-b{b - 1}-0", f"w{w}-b{b - 1}-1", ids[0]]  # two earlier, one in-batch repeat
                batch = [event(i, 1_700_000_000 + b, f"Op{w}") for i in ids]
                results[w].append((ids, store.append(batch, wait_visible=w < 3)))
                b += 1
                if w == 3:
                    time.sleep(0.002)  # not waiting, it would outrun the others a hundredfold
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    kills = 0
    pid = store.indexer_pid
    try:
        for _ in range(12):  # a third while the new indexer starts and replays, the rest later
            time.sleep(rng.uniform(0.0, 0.1) if rng.random() < 1 / 3 else rng.uniform(0.15, 0.5))
            kill(pid)
            kills += 1
            pid = wait_for_new_pid(store, pid)
    finally:
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    store.flush()
    assert store.indexer_restarts == kills == 12

    acked = {i for w in range(4) for ids, _ in results[w] for i in ids}
    assert sum(len(results[w]) for w in range(4)) > 40  # the producers did run through the kills
    seen = [e.event_id for e in store.read_since(0, 10**7)]
    assert Counter(seen).most_common(1)[0][1] == 1
    assert set(seen) == acked
    assert store.count() == len(acked) == store.last_seq()
    columns = store.read_columns(0, 10**7)
    assert list(columns.seqs) == list(range(1, len(acked) + 1))
    assert sorted(all_events_by_lookup(store)) == sorted(acked)
    for w in range(4):
        mine = {i for ids, _ in results[w] for i in ids}
        assert sorted(all_events_by_lookup(store, ("EventName", f"Op{w}"))) == sorted(mine)
    for w in range(3):  # the visible appends: exact counts although some reports died with an indexer
        sent = sum(len(ids) for ids, _ in results[w])
        unique = len({i for ids, _ in results[w] for i in ids})
        assert all(r.indexed for _, r in results[w])
        assert sum(r.accepted for _, r in results[w]) == unique
        assert sum(r.duplicates for _, r in results[w]) == sent - unique
        for ids, r in results[w][1:]:
            assert r.duplicate_indexes == (20, 21, 22)
    store.close()

    with SqliteEventStore(tmp_path / "s", cache_mb=16) as again:  # and nothing is applied twice on reopen
        assert again.count() == len(acked)
        assert sorted(e.event_id for e in again.read_since(0, 10**7)) == sorted(acked)


def test_an_indexer_that_keeps_dying_is_not_restarted_and_appends_stay_durable(tmp_path: Path) -> None:
    policy = RestartPolicy(max_restarts=2, window_s=60.0, first_backoff_s=0.01, max_backoff_s=0.02)
    store = SqliteEventStore(tmp_path / "s", cache_mb=16, restart_policy=policy)
    store.append([event("before", 1000)])
    killed: list[int] = []

    def killer() -> None:  # every new indexer dies as soon as it exists, three times in all
        while len(killed) < 3:
            pid = store.indexer_pid
            if pid is not None and pid not in killed:
                kill(pid)
                killed.append(pid)
            time.sleep(0.001)

    thread = threading.Thread(target=killer)
    thread.start()
    acked = ["before"]
    with pytest.raises(IndexerFailedError) as info:
        for n in range(10_000):
            store.append([event(f"e{n}", 1000 + n)])
            acked.append(f"e{n}")
    thread.join()
    acked.append(f"e{n}")  # the append that raised is durable too
    gave_up = (f"the event store's indexer process (pid {killed[-1]}) was killed by SIGKILL; it ended 3 times"
               " within 60 s, so it is not restarted. Appends are still durable in the event log and are"
               " indexed when the store is opened again.")
    assert str(info.value) == gave_up + " (this batch is durable in the log)"
    assert type(info.value) is IndexerFailedError
    assert store.indexer_restarts == 2

    assert store.append([event("after-1", 5000)], wait_visible=False) == AppendResult(1, 0, (), indexed=False)
    store.submit([event("after-2", 5001)])
    acked += ["after-1", "after-2"]
    with pytest.raises(IndexerFailedError, match="^the event store's indexer process .* not restarted"):
        store.flush()
    with pytest.raises(IndexerFailedError, match="^the event store's indexer process .* not restarted"):
        store.purge_before(2000)
    with pytest.raises(IndexerFailedError) as info:
        store.append([event("after-3", 5002)])
    acked.append("after-3")
    assert str(info.value) == gave_up + " (this batch is durable in the log)"
    store.close()

    with SqliteEventStore(tmp_path / "s", cache_mb=16) as again:
        assert sorted(e.event_id for e in again.read_since(0, 10**6)) == sorted(acked)
        assert again.count() == len(acked)


def test_visible_append_times_out_while_no_indexer_runs(tmp_path: Path) -> None:
    slow = RestartPolicy(max_restarts=5, window_s=60.0, first_backoff_s=2.0, max_backoff_s=2.0)
    store = SqliteEventStore(tmp_path / "s", cache_mb=16, restart_policy=slow, visible_timeout_s=0.3)
    try:
        pid = store.indexer_pid
        kill(pid)
        t0 = time.monotonic()
        with pytest.raises(IndexerUnavailableError) as info:
            store.append([event("a", 1000)])
        assert 0.3 <= time.monotonic() - t0 < 1.5
        assert str(info.value) == ("the event store's indexer has not run for 0.3 s (restart 1 pending); the batch"
                                   " is durable in the log and is indexed once it runs again")
        assert isinstance(info.value, IndexerFailedError)
        with pytest.raises(IndexerUnavailableError, match="; what was appended is durable in the log and is"):
            store.flush()
        wait_for_new_pid(store, pid)  # after the 2 s backoff
        assert time.monotonic() - t0 >= 2.0
        store.flush()  # the restarted indexer replayed the log: the batch is there
        assert [e.event_id for e in store.read_since(0, 10)] == ["a"]
        assert store.append([event("a", 1000), event("b", 1001)]) == AppendResult(1, 1, (0,))
        assert store.indexer_restarts == 1
    finally:
        store.close()


def test_purge_lost_with_a_killed_indexer_is_resent(tmp_path: Path) -> None:
    policy = RestartPolicy(max_restarts=5, window_s=60.0, first_backoff_s=0.3, max_backoff_s=0.3)
    store = SqliteEventStore(tmp_path / "s", cache_mb=16, restart_policy=policy)
    try:
        store.append([event(f"e{i}", 1000 + i) for i in range(100)])
        kill(store.indexer_pid)
        assert store.purge_before(1040) == 40  # sent to the dying indexer or to none: resent
        assert store.indexer_restarts == 1
        assert [e.event_id for e in store.read_since(0, 1000)] == [f"e{i}" for i in range(40, 100)]
        assert store.count() == 60
    finally:
        store.close()


def test_last_group_results_are_kept_for_a_new_indexer(tmp_path: Path) -> None:
    """What a new indexer reports again first: the results of the group the previous one committed
    last (its report may have died with it), for the rows of it still in the log."""
    tmp_path.mkdir(exist_ok=True)
    conn = connect_events(tmp_path / "events.sqlite3", 8, reader=False)
    conn.executescript((Path(__file__).resolve().parents[2] / "opentrail/store/sqlite_schema.sql").read_text())
    writer = IndexWriter(conn)
    log_conn = connect_log(tmp_path, writer=True)
    assert writer.last_group(log_conn) == []
    batches = [[event("a", 1), event("b", 2)], [event("a", 1), event("c", 3), event("c", 3)], [event("d", 4)]]
    payloads = [encode_batch(b, [e.record for e in b]) for b in batches]
    ids = [log_conn.execute("INSERT INTO log (n, payload) VALUES (?, ?)", (len(b), p)).lastrowid
           for b, p in zip(batches, payloads)]
    assert writer.apply([(ids[0], payloads[0])]) == [(ids[0], 2, [])]
    assert writer.last_group(log_conn) == [(ids[0], 2, [])]
    assert writer.apply([(ids[1], payloads[1]), (ids[2], payloads[2])]) == [(ids[1], 1, [0, 2]), (ids[2], 1, [])]
    assert writer.last_group(log_conn) == [(ids[1], 1, [0, 2]), (ids[2], 1, [])]
    assert IndexWriter(conn).last_group(log_conn) == [(ids[1], 1, [0, 2]), (ids[2], 1, [])]  # from meta
    log_conn.execute("DELETE FROM log WHERE id <= ?", (ids[1],))  # the store truncated what it got
    assert writer.last_group(log_conn) == [(ids[2], 1, [])]
    conn.close()
    log_conn.close()


# -- end to end: opentrail serve, the ingest endpoint and boto3 LookupEvents ------------------------

SERVE_ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILTEST001"
SECRET = "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcde"


def indexer_pids(server_pid: int) -> list[int]:
    """Child processes of ``server_pid`` running the indexer (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == server_pid and b"opentrail.store.sqlite_indexer" in cmdline:
            found.append(int(entry.name))
    return found


def one_indexer(server_pid: int, not_pid: int | None = None) -> int:
    deadline = time.monotonic() + 20
    while True:
        pids = [p for p in indexer_pids(server_pid) if p != not_pid]
        if len(pids) == 1:
            return pids[0]
        assert time.monotonic() < deadline, pids
        time.sleep(0.01)


def cloudtrail_record(n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.11", "eventTime": f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "E2ETest", "awsRegion": "us-east-1",
        "eventID": f"00000000-0000-4000-8000-{n:012d}", "eventType": "AwsApiCall", "readOnly": False,
        "managementEvent": True, "eventCategory": "Management", "recipientAccountId": SERVE_ACCOUNT,
        "userIdentity": {"type": "IAMUser", "accountId": SERVE_ACCOUNT, "userName": "alice"},
    }


def test_serve_keeps_ingesting_while_its_indexer_is_killed(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    env = {**os.environ, "OPENTRAIL_ACCOUNT_ID": SERVE_ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
           "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
             "--event-history-retention-days", "0"], stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + "/_opentrail/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        ingest = IngestClient(url, KEY_ID, SECRET)
        answers: list[dict[str, Any]] = []
        acked = threading.Semaphore(0)

        def produce() -> None:  # 30 batches of 10, each answered once visible
            for b in range(30):
                answers.append(ingest.send([cloudtrail_record(b * 10 + i) for i in range(10)]))
                acked.release()

        sender = threading.Thread(target=produce)
        sender.start()
        killed: list[int] = []
        for batches in (5, 10):  # kill after the 5th and after the 15th acknowledged batch
            for _ in range(batches):
                assert acked.acquire(timeout=60)
            pid = one_indexer(proc.pid, not_pid=killed[-1] if killed else None)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        sender.join(timeout=120)
        ok = {"accepted": 10, "duplicates": 0, "expired": 0, "rejected": [], "indexed": True,
              "accounts": {SERVE_ACCOUNT: 10}}
        assert answers == [ok] * 30
        # visible=false: acknowledged once durable; the batch after it waits until both are indexed
        assert ingest.send([cloudtrail_record(300 + i) for i in range(5)], wait_visible=False)["indexed"] is False
        assert ingest.send([cloudtrail_record(305 + i) for i in range(5)] + [cloudtrail_record(0)]) == {
            **ok, "accepted": 5, "duplicates": 1, "accounts": {SERVE_ACCOUNT: 5}}
        assert one_indexer(proc.pid, not_pid=killed[-1]) not in killed

        client = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                              aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))
        ids = [e["EventId"] for page in client.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "E2ETest"}]) for e in page["Events"]]
        assert ids == [f"00000000-0000-4000-8000-{n:012d}" for n in range(309, -1, -1)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    text = log_path.read_text()
    # uvicorn re-raises the signal after a clean shutdown; the server's cleanup then exits with 143
    assert proc.returncode == 128 + signal.SIGTERM, text
    assert "Finished server process" in text
    for n, pid in enumerate(killed, 1):
        assert (f"the event store's indexer process (pid {pid}) was killed by SIGKILL; restarting it in"
                f" {0.1 * 2 ** (n - 1):.2f} s (restart {n})") in text
