"""EventClient against a real opentrail server: delivery, outage, spool bound, replay, rejections."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from opentrail.client import EventClient, SpoolLockedError, audit_event
from opentrail.settings import Settings

from .conftest import ACCOUNT, OpentrailServer, make_client

#: Event times a day ago: inside the server's 90-day event-history window.
BASE_TIME = int(time.time()) - 86400


def _event(n: int, name: str = "PutThing") -> dict:
    return audit_event(
        event_source="myapp.example.com",
        event_name=name,
        user_identity={"type": "Unknown", "principalId": f"user-{n}", "userName": f"user{n % 3}"},
        recipient_account_id=ACCOUNT,
        request_parameters={"n": n},
        event_time=BASE_TIME + n,
        event_id=f"00000000-0000-4000-8000-{n:012d}",
        request_id=f"10000000-0000-4000-8000-{n:012d}",
    )


def _lookup_ids(srv: OpentrailServer, name: str) -> list[str]:
    events = srv.lookup_all(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                            StartTime=0)
    return sorted(e["EventId"] for e in events)


def _ids(ns: range) -> list[str]:
    return sorted(f"00000000-0000-4000-8000-{n:012d}" for n in ns)


def test_put_flush_delivers_each_record_unchanged(server: OpentrailServer, tmp_path: Path) -> None:
    client = make_client(server, spool_dir=tmp_path / "spool")
    sent = [_event(n) for n in range(250)]
    for record in sent:
        client.put(record)
    assert client.flush(timeout_s=20) is True
    assert client.stats() == {"sent": 250, "spooled": 0, "pending": 0, "dropped": 0, "accepted": 250,
                              "duplicates": 0, "expired": 0, "rejected": 0, "retries": 0}
    client.close()
    assert [p.name for p in (tmp_path / "spool").iterdir()] == ["lock"]
    assert _lookup_ids(server, "PutThing") == _ids(range(250))
    one = server.lookup_all(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": sent[7]["eventID"]}])
    assert len(one) == 1
    assert json.loads(one[0]["CloudTrailEvent"]) == sent[7]
    assert one[0]["Username"] == "user1"
    assert one[0]["EventSource"] == "myapp.example.com"
    assert one[0]["ReadOnly"] == "false"


def test_put_adds_an_event_id_without_changing_the_callers_dict(server: OpentrailServer) -> None:
    record = _event(1, "NoId")
    del record["eventID"]
    before = dict(record)
    with make_client(server) as client:
        client.put(record)
        assert client.flush(timeout_s=10) is True
    assert record == before
    events = server.lookup_all(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "NoId"}],
                               StartTime=0)
    assert len(events) == 1
    stored = json.loads(events[0]["CloudTrailEvent"])
    assert stored.pop("eventID") == events[0]["EventId"]
    assert stored == before


def test_outage_nothing_raised_events_spooled_then_delivered_exactly_once(
    server: OpentrailServer, tmp_path: Path
) -> None:
    client = make_client(server, spool_dir=tmp_path / "spool")
    for n in range(50):
        client.put(_event(n, "Outage"))
    assert client.flush(timeout_s=10) is True
    server.stop()
    for n in range(50, 350):
        client.put(_event(n, "Outage"))
    assert client.flush(timeout_s=0.5) is False
    stats = client.stats()
    assert (stats["sent"], stats["spooled"], stats["pending"], stats["dropped"]) == (50, 300, 300, 0)
    assert stats["retries"] >= 1
    # on disk, one JSON line each, after the 50 delivered ones (the open segment keeps them until it closes)
    lines = b"".join(p.read_bytes() for p in sorted((tmp_path / "spool").glob("*.seg"))).splitlines()
    assert [json.loads(line)["eventID"] for line in lines] == [_event(n)["eventID"] for n in range(350)]
    server.start()
    assert client.flush(timeout_s=20) is True
    stats = client.stats()
    assert (stats["sent"], stats["spooled"], stats["pending"], stats["dropped"]) == (350, 0, 0, 0)
    client.close()
    assert _lookup_ids(server, "Outage") == _ids(range(350))


def test_unsent_records_stay_in_the_spool_and_are_replayed_in_order_after_restart(
    server: OpentrailServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    server.stop()
    first = make_client(server, spool_dir=spool)
    for n in range(120):
        first.put(_event(n, "Replay"))
    started = time.monotonic()
    first.close()  # close(None) with the server down: one failed attempt, then stop
    assert time.monotonic() - started < 5
    assert first.stats()["spooled"] == 120
    server.start()
    second = make_client(server, spool_dir=spool)
    assert second.stats()["pending"] == 120
    assert second.flush(timeout_s=20) is True
    assert second.stats()["sent"] == 120
    second.close()
    assert _lookup_ids(server, "Replay") == _ids(range(120))
    assert [p.name for p in spool.iterdir()] == ["lock"]


def test_replaying_records_the_server_already_has_stores_them_once(server: OpentrailServer, tmp_path: Path) -> None:
    with make_client(server, wait_visible=True) as client:
        for n in range(10):
            client.put(_event(n, "Twice"))
        assert client.flush(timeout_s=10) is True
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "00000000000000000007.seg").write_bytes(b"".join(json.dumps(_event(n, "Twice")).encode() + b"\n"
                                                              for n in range(10)))
    with make_client(server, spool_dir=spool, wait_visible=True) as client:
        assert client.flush(timeout_s=10) is True
        assert client.stats()["duplicates"] == 10
    assert _lookup_ids(server, "Twice") == _ids(range(10))


def test_torn_and_damaged_spool_lines_are_skipped(server: OpentrailServer, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    good = [json.dumps(_event(n, "Torn")).encode() for n in range(3)]
    (spool / "00000000000000000001.seg").write_bytes(good[0] + b"\n" + b"\x00" * 40 + b"\n" + good[1] + b"\n")
    (spool / "00000000000000000002.seg").write_bytes(good[2] + b"\n" + good[0][:30])  # torn last write
    with make_client(server, spool_dir=spool) as client:
        assert client.flush(timeout_s=10) is True
        stats = client.stats()
    assert (stats["sent"], stats["dropped"], stats["pending"]) == (3, 0, 0)
    assert _lookup_ids(server, "Torn") == _ids(range(3))


def test_spool_bound_drops_and_counts_never_blocks(server: OpentrailServer, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    server.stop()
    size = len(json.dumps(_event(0, "Bound"), separators=(",", ":")).encode()) + 1
    client = make_client(server, spool_dir=tmp_path / "spool", spool_max_bytes=size * 40 + size // 2)
    with caplog.at_level(logging.ERROR, logger="opentrail.client"):
        for n in range(100):
            client.put(_event(n, "Bound"))
    stats = client.stats()
    assert (stats["spooled"], stats["dropped"], stats["sent"]) == (40, 60, 0)
    drops = [r.getMessage() for r in caplog.records if "full" in r.getMessage()]
    assert len(drops) == 1  # rate-limited: one message for the burst
    assert "(1 dropped since the last message, 1 in all)" in drops[0]
    server.start()
    assert client.flush(timeout_s=20) is True
    client.close()
    assert _lookup_ids(server, "Bound") == _ids(range(40))


def test_one_process_per_spool_directory(server: OpentrailServer, tmp_path: Path) -> None:
    with make_client(server, spool_dir=tmp_path / "spool"):
        with pytest.raises(SpoolLockedError):
            make_client(server, spool_dir=tmp_path / "spool")
    with make_client(server, spool_dir=tmp_path / "spool"):  # free again after close
        pass


def test_without_spool_put_blocks_when_the_queue_is_full_until_the_server_answers(
    server: OpentrailServer,
) -> None:
    server.stop()
    client = make_client(server, queue_max_events=5, batch_max_events=5)
    for n in range(5):
        client.put(_event(n, "Pressure"))
    client.put(_event(5, "Pressure"), block=False)  # full: dropped, not waited for
    assert client.stats()["dropped"] == 1
    done = threading.Event()

    def blocked_put() -> None:
        client.put(_event(6, "Pressure"))
        done.set()

    thread = threading.Thread(target=blocked_put)
    thread.start()
    assert done.wait(0.5) is False  # back-pressure: still waiting
    server.start()
    assert done.wait(20) is True
    thread.join()
    assert client.flush(timeout_s=20) is True
    client.close()
    assert _lookup_ids(server, "Pressure") == _ids(range(0, 5)) + _ids(range(6, 7))


def test_without_spool_close_drops_and_counts_what_is_unsent(server: OpentrailServer) -> None:
    server.stop()
    client = make_client(server)
    for n in range(4):
        client.put(_event(n, "Lost"))
    client.close(timeout_s=0.2)
    assert client.stats()["dropped"] == 4
    assert client.stats()["pending"] == 0
    client.put(_event(9, "Lost"))  # after close: counted, not raised
    assert client.stats()["dropped"] == 5


def test_rejected_records_are_counted_not_retried(server: OpentrailServer, caplog: pytest.LogCaptureFixture) -> None:
    no_account = _event(1, "Reject")
    del no_account["recipientAccountId"]
    with caplog.at_level(logging.ERROR, logger="opentrail.client"), make_client(server) as client:
        client.put(_event(0, "Reject"))
        client.put(no_account)
        client.put(_event(2, "Reject"))
        assert client.flush(timeout_s=10) is True
        stats = client.stats()
    assert (stats["sent"], stats["rejected"], stats["dropped"], stats["retries"]) == (2, 1, 1, 0)
    assert any(f"rejected event {no_account['eventID']}: MissingAccount" in r.getMessage() for r in caplog.records)
    assert _lookup_ids(server, "Reject") == _ids(range(0, 1)) + _ids(range(2, 3))


def test_default_account_id_fills_records_without_one(server: OpentrailServer) -> None:
    record = _event(3, "Defaulted")
    del record["recipientAccountId"]
    with make_client(server, default_account_id=ACCOUNT) as client:
        client.put(record)
        assert client.flush(timeout_s=10) is True
    assert _lookup_ids(server, "Defaulted") == _ids(range(3, 4))


def test_batches_over_the_server_limit_are_split(tmp_path: Path) -> None:
    srv = OpentrailServer(tmp_path / "small", Settings(max_request_bytes=20_000))
    srv.start()
    try:
        big = []
        for n in range(30):
            record = _event(n, "Split")
            record["requestParameters"] = {"blob": "x" * 3000}
            big.append(record)
        huge = _event(99, "Split")
        huge["requestParameters"] = {"blob": "y" * 30_000}
        with make_client(srv) as client:
            for record in big:
                client.put(record)
            client.put(huge)
            assert client.flush(timeout_s=20) is True
            stats = client.stats()
        assert (stats["sent"], stats["rejected"], stats["dropped"]) == (30, 1, 1)
        assert _lookup_ids(srv, "Split") == _ids(range(30))
    finally:
        srv.close()


def test_records_over_256_kb_are_dropped_at_put(server: OpentrailServer) -> None:
    record = _event(1, "Huge")
    record["requestParameters"] = {"blob": "z" * (256 * 1024)}
    with make_client(server) as client:
        client.put(record)
        assert client.stats()["rejected"] == 1
        assert client.stats()["pending"] == 0


def test_wrong_key_keeps_events_pending_and_retries(server: OpentrailServer, tmp_path: Path) -> None:
    client = EventClient(server.url, server.key.access_key_id, "wrong" * 8, spool_dir=tmp_path / "spool",
                         retry_base_s=0.05, retry_max_backoff_s=0.1, flush_interval_s=0.05, close_at_exit=False)
    client.put(_event(1, "WrongKey"))
    assert client.flush(timeout_s=0.6) is False
    stats = client.stats()
    assert (stats["pending"], stats["dropped"], stats["sent"]) == (1, 0, 0)
    assert stats["retries"] >= 2
    client.close(timeout_s=0)
    with make_client(server, spool_dir=tmp_path / "spool") as fixed:
        assert fixed.flush(timeout_s=10) is True
    assert _lookup_ids(server, "WrongKey") == _ids(range(1, 2))


def test_put_refuses_what_is_not_a_json_object(server: OpentrailServer) -> None:
    with make_client(server) as client:
        with pytest.raises(TypeError):
            client.put(["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            client.put({"eventTime": "2025-01-01T00:00:00Z", "bad": {1, 2}})


def test_records_put_survive_the_application_being_killed(server: OpentrailServer, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    spool = tmp_path / "spool"
    server.stop()
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from pathlib import Path
from tests.client.test_event_client import _event
from opentrail.client import EventClient
client = EventClient({server.url!r}, "AKIAUNUSED0000000000", "x" * 40, spool_dir=Path({str(spool)!r}),
                     flush_interval_s=60)
for n in range(100):
    client.put(_event(n, "Killed"))
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    server.start()
    with make_client(server, spool_dir=spool) as client:
        assert client.stats()["pending"] == 100
        assert client.flush(timeout_s=20) is True
    assert _lookup_ids(server, "Killed") == _ids(range(100))
    assert os.listdir(spool) == ["lock"]
