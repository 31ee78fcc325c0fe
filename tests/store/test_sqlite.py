"""SQLite-only behaviour: the directory lock across processes, crash safety, storage layout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from opentrail.store.base import LookupQuery, NewEvent
from opentrail.store.errors import StoreLockedError
from opentrail.store.sqlite import SqliteEventStore, store_locked
from opentrail.store.sqlite_codec import DEFAULT_ZDICT, RecordCodec

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from pathlib import Path
from opentrail.store.sqlite import SqliteEventStore
with SqliteEventStore(Path(sys.argv[1])):
    print("ready", flush=True)
    sys.stdin.readline()
"""

WRITER = """
import sys
from pathlib import Path
from opentrail.store.base import NewEvent
from opentrail.store.sqlite import SqliteEventStore
store = SqliteEventStore(Path(sys.argv[1]))
b = 0
while True:
    batch = [NewEvent(f"{b}-{i}", 1000 + b, "111111111111", "us-east-1", "Management", b'{"n":%d}' % i,
                      (("EventName", "Put"),)) for i in range(50)]
    store.append(batch)
    print(b, flush=True)
    b += 1
"""


def _spawn(code: str, directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, str(directory)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_second_process_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "store"
    assert store_locked(d) is False
    holder = _spawn(HOLDER, d)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        assert store_locked(d) is True
        with pytest.raises(StoreLockedError) as info:
            SqliteEventStore(d)
        assert str(info.value) == f"event store {d} is locked by another process"
        assert isinstance(info.value, RuntimeError)
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert store_locked(d) is False
    SqliteEventStore(d).close()


def test_kill_9_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    d = tmp_path / "store"
    writer = _spawn(WRITER, d)
    assert writer.stdout is not None
    acked = -1
    for line in writer.stdout:
        acked = int(line)
        if acked >= 30:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)
    with SqliteEventStore(d) as store:
        stored = {e.event_id for e in store.read_since(0, 1_000_000)}
        assert {f"{b}-{i}" for b in range(acked + 1) for i in range(50)} <= stored
        assert store.count() == len(stored)
        assert store.count() % 50 == 0  # a batch is committed whole or not at all
        page = store.lookup(LookupQuery("111111111111", "us-east-1", attribute=("EventName", "Put"), limit=1))
        assert page.events[0].event_time == 1000 + store.count() // 50 - 1


def test_close_is_idempotent_and_releases_lock(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path)
    assert store_locked(tmp_path) is True
    store.close()
    store.close()
    assert store_locked(tmp_path) is False
    with pytest.raises(RuntimeError):
        store.append([NewEvent("a", 1, "1", "r", "Management", b"{}")])


def test_records_are_compressed_and_roundtrip() -> None:
    record = orjson.dumps({"eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                           "awsRegion": "us-east-1", "userAgent": "aws-cli/2.13.0 Python/3.11.4 Linux/5.15"})
    codec = RecordCodec(DEFAULT_ZDICT)
    blob = codec.compress(record)
    assert len(blob) < len(record) // 2
    assert codec.decompress(blob) == record
    assert codec.decompress(codec.compress(b"")) == b""
