"""Exactly once across kill -9: a process ingesting from a real SQLite event store into Lake files
is SIGKILLed at random moments, several times, then runs to the end; every selected event is in
its store exactly once (DuckDB over layout.data_files)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from opentrail.events.record import read_record
from opentrail.lake import layout
from opentrail.lake.ingest import INGEST_DB, IngestState
from opentrail.store.sqlite import SqliteEventStore

from .ingest_fakes import ACCOUNT, OTHER_ACCOUNT, record

REPO = Path(__file__).resolve().parents[2]
STORES = [  # id, account, home Region, multi-Region, eventName prefix (None: default selection)
    ("11111111-1111-4111-8111-111111111111", ACCOUNT, "us-east-1", True, None),
    ("22222222-2222-4222-8222-222222222222", ACCOUNT, "eu-west-1", False, "Describe"),
    ("33333333-3333-4333-8333-333333333333", OTHER_ACCOUNT, "us-east-1", True, None),
]
CHILD = """
import sys, time, json
from pathlib import Path
from opentrail.lake.ingest import LakeIngestWorker
from opentrail.lake.model import EventDataStore
from opentrail.store.sqlite import SqliteEventStore
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector
from tests.lake.ingest_fakes import FakeStores

data, specs = Path(sys.argv[1]), json.loads(sys.argv[2])
stores = []
for eds_id, account, region, multi, prefix in specs:
    sel = () if prefix is None else (AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("Management",)),
                                                            AdvancedFieldSelector("eventName", starts_with=(prefix,)))),)
    stores.append(EventDataStore(eds_id, account, region, "s", "ENABLED", sel, multi_region_enabled=multi,
                                 retention_period_days=3653))
events = SqliteEventStore(data / "events")
w = LakeIngestWorker(events, FakeStores(*stores), data / "lake", time.time, interval_s=0.0, read_limit=300,
                     compact_min_files=6, compact_every_s=0.0)
print("started", w.caught_up_seq(), flush=True)
while w.caught_up_seq() < events.last_seq():
    w.run_once()
print("done", flush=True)
w.close()
events.close()
"""


def expected(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for eds_id, account, region, multi, prefix in STORES:
        out[eds_id] = {r["eventID"] for r in records if r["recipientAccountId"] == account
                       and (multi or r["awsRegion"] == region) and (prefix is None or r["eventName"].startswith(prefix))}
    return out


def run_child(data: Path, kill_after: float | None) -> str:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(data), json.dumps(STORES)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    if kill_after is None:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return out
    time.sleep(kill_after)
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and the event store's indexer
    out, _ = proc.communicate(timeout=30)
    return out


def test_every_selected_event_is_stored_exactly_once_across_kill_9(tmp_path: Path) -> None:
    rng = random.Random(11)
    names = ["RunInstances", "DescribeInstances", "DescribeVpcs", "CreateBucket", "GetCallerIdentity"]
    records = [record(region=rng.choice(["us-east-1", "eu-west-1"]), name=rng.choice(names),
                      account=rng.choice([ACCOUNT, OTHER_ACCOUNT]),
                      time=f"2024-05-0{1 + i * 3 // 30000}T{rng.randrange(24):02d}:00:00Z") for i in range(30000)]
    events = SqliteEventStore(tmp_path / "events")
    for i in range(0, len(records), 2000):
        events.append([read_record(r) for r in records[i:i + 2000]])
    events.close()
    state = IngestState(tmp_path / "lake" / INGEST_DB)
    for eds_id, *_ in STORES:
        state.add_store(eds_id, 0)  # the stores existed before these events
    state.close()

    interrupted = 0
    for _ in range(6):
        out = run_child(tmp_path, rng.uniform(0.8, 2.5))
        interrupted += "done" not in out
    out = run_child(tmp_path, None)
    assert "done" in out
    assert interrupted >= 3  # most kills landed while it was ingesting

    want = expected(records)
    assert all(len(v) > 1000 for v in want.values())
    for eds_id, ids in want.items():
        files = [str(p) for p in layout.data_files(tmp_path / "lake", eds_id)]
        n, distinct = duckdb.execute("SELECT count(*), count(DISTINCT eventid) FROM read_parquet($f, hive_partitioning=false)",
                                     {"f": files}).fetchone()
        got = {r[0] for r in duckdb.execute("SELECT eventid FROM read_parquet($f, hive_partitioning=false)",
                                             {"f": files}).fetchall()}
        assert (n, distinct) == (len(ids), len(ids))
        assert got == ids
        # nothing left behind: no temporary or superseded file stays after the last run
        root = layout.store_dir(tmp_path / "lake", eds_id)
        assert sorted(map(str, root.rglob("*.parquet"))) == sorted(files)
