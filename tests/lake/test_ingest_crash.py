"""Exactly once across kill -9: a process ingesting from a real SQLite event store into Lake files
is SIGKILLed at random moments, several times, then runs to the end; every selected event is in
its store exactly once (DuckDB over the store's data files) -- in a lake folder, and in a lake on
moto's S3 server (objects uploaded by a flush that never committed are deleted and written again)."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import boto3
import duckdb
from moto.server import ThreadedMotoServer

from opentrail.events.record import read_record
from opentrail.lake import layout
from opentrail.lake.ingest import INGEST_DB, IngestState
from opentrail.lake.objectfiles import ObjectFiles
from opentrail.objectstore import S3Storage
from opentrail.store.sqlite import SqliteEventStore
from tests.serving import free_port

from .ingest_fakes import ACCOUNT, OTHER_ACCOUNT, record
from tests import crash_child

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

data, specs, s3 = Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
lake = data / "lake"
if s3:  # {"endpoint": ..., "bucket": ...}: the lake is s3://<bucket>/lake/
    from opentrail.lake.objectfiles import ObjectFiles
    from opentrail.objectstore import S3Storage
    lake = ObjectFiles(S3Storage(s3["endpoint"]), s3["bucket"], "lake/", data / "lake-cache", data / "lake-ingest.db",
                       1 << 30)
stores = []
for eds_id, account, region, multi, prefix in specs:
    sel = () if prefix is None else (AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("Management",)),
                                                            AdvancedFieldSelector("eventName", starts_with=(prefix,)))),)
    stores.append(EventDataStore(eds_id, account, region, "s", "ENABLED", sel, multi_region_enabled=multi,
                                 retention_period_days=3653))
events = SqliteEventStore(data / "events")
w = LakeIngestWorker(events, FakeStores(*stores), lake, time.time, interval_s=0.0, read_limit=300,
                     compact_min_files=6, compact_every_s=0.0)
print("started", w.caught_up_seq(), flush=True)
while w.caught_up_seq() < events.last_seq():
    w.run_once()
    print("step", w.caught_up_seq(), flush=True)
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


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def run_child(data: Path, kill_after: int | None, s3: dict[str, str] | None = None) -> str:
    """The child's output; killed (with its process group) after ``kill_after`` rounds of ingestion,
    so the kill lands while it is ingesting however fast this machine is."""
    return crash_child.run_child(CHILD, [str(data), json.dumps(STORES), json.dumps(s3)], kill_after, env=S3_ENV)


def _crash_and_finish(tmp_path: Path, rng: random.Random, n: int, ingest_db: Path,
                      s3: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """``n`` records ingested by a child killed 6 times, then run to the end; the records."""
    names = ["RunInstances", "DescribeInstances", "DescribeVpcs", "CreateBucket", "GetCallerIdentity"]
    records = [record(region=rng.choice(["us-east-1", "eu-west-1"]), name=rng.choice(names),
                      account=rng.choice([ACCOUNT, OTHER_ACCOUNT]),
                      time=f"2024-05-0{1 + i * 3 // n}T{rng.randrange(24):02d}:00:00Z") for i in range(n)]
    events = SqliteEventStore(tmp_path / "events")
    for i in range(0, len(records), 2000):
        events.append([read_record(r) for r in records[i:i + 2000]])
    events.close()
    state = IngestState(ingest_db)
    for eds_id, *_ in STORES:
        state.add_store(eds_id, 0)  # the stores existed before these events
    state.close()

    interrupted = 0
    for _ in range(6):
        out = run_child(tmp_path, rng.randint(2, 12), s3)
        interrupted += "done" not in out
    out = run_child(tmp_path, None, s3)
    assert "done" in out
    assert interrupted >= 3  # most kills landed while it was ingesting
    return records


def test_every_selected_event_is_stored_exactly_once_across_kill_9(tmp_path: Path) -> None:
    records = _crash_and_finish(tmp_path, random.Random(11), 30000, tmp_path / "lake" / INGEST_DB)
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


def test_every_selected_event_is_stored_exactly_once_in_s3_across_kill_9(tmp_path: Path) -> None:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="crash-lake")
        records = _crash_and_finish(tmp_path, random.Random(12), 8000, tmp_path / "lake-ingest.db",
                                    {"endpoint": endpoint, "bucket": "crash-lake"})
        want = expected(records)
        assert all(len(v) > 300 for v in want.values())
        os.environ.update({k: v for k, v in S3_ENV.items() if k not in os.environ})
        lake = ObjectFiles(S3Storage(endpoint), "crash-lake", "lake/", tmp_path / "check-cache", tmp_path / "unused.db",
                           1 << 30)
        keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash-lake")
                      for o in page.get("Contents", []))
        for eds_id, ids in want.items():
            data = lake.data_files(eds_id)
            with lake.reading(data):
                files = [str(p) for p in data]
                n, distinct = duckdb.execute("SELECT count(*), count(DISTINCT eventid) FROM "
                                             "read_parquet($f, hive_partitioning=false)", {"f": files}).fetchone()
                got = {r[0] for r in duckdb.execute("SELECT eventid FROM read_parquet($f, hive_partitioning=false)",
                                                     {"f": files}).fetchall()}
            assert (n, distinct) == (len(ids), len(ids))
            assert got == ids
            # nothing left behind: no object above the cursor or superseded stays after the last run
            assert [k for k in keys if k.startswith(f"lake/{eds_id}/")] == sorted(lake.key(p) for p in data)
        lake.close()
    finally:
        moto.stop()
