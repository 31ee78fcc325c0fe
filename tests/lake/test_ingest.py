"""LakeIngestWorker with an injected clock, a memory event store and a fake store service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opentrail.events.record import read_record
from opentrail.lake import layout
from opentrail.lake.ingest import INGEST_DB, IngestState, LakeIngestWorker, write_file
from opentrail.lake.schema import SCHEMA, record_row, record_table
from opentrail.store.memory import MemoryEventStore
from opentrail.trails.model import AdvancedFieldSelector
from tests.paths import INVICTUS

from .ingest_fakes import ACCOUNT, OTHER_ACCOUNT, FakeStores, eds, record, selector

NOW = 1_714_600_000.0  # 2024-05-01T21:46:40Z


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def ingest(store: MemoryEventStore, *records: dict[str, Any]) -> list[str]:
    store.append([read_record(r) for r in records])
    return [r["eventID"] for r in records]


def ids(root: Path, eds_id: str) -> list[str]:
    files = [str(p) for p in layout.data_files(root, eds_id)]
    if not files:
        return []
    rows = duckdb.execute("SELECT eventid FROM read_parquet($f, hive_partitioning=false) ORDER BY eventid",
                          {"f": files}).fetchall()
    return [r[0] for r in rows]


def drain(w: LakeIngestWorker, store: MemoryEventStore) -> None:
    for _ in range(100):
        w.run_once()
        if w.caught_up_seq() >= store.last_seq():
            return
    raise AssertionError("not caught up")


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    class Env:
        clock = Clock()
        events = MemoryEventStore()
        stores = FakeStores()
        root = tmp_path / "lake"
        workers: list[LakeIngestWorker] = []

        def worker(self, **kw: Any) -> LakeIngestWorker:
            kw.setdefault("interval_s", 0.0)
            w = LakeIngestWorker(self.events, self.stores, self.root, self.clock, **kw)
            self.workers.append(w)
            return w
    e = Env()
    yield e
    for w in e.workers:
        w.close()


def test_each_store_gets_exactly_the_events_it_selects(env) -> None:  # type: ignore[no-untyped-def]
    every = env.stores.put(eds())
    describe_eu = env.stores.put(eds(region="eu-west-1", multi_region_enabled=False, advanced_event_selectors=selector(
        AdvancedFieldSelector("eventCategory", equals=("Management",)),
        AdvancedFieldSelector("eventName", starts_with=("Describe",)))))
    other = env.stores.put(eds(account=OTHER_ACCOUNT))
    stopped = env.stores.put(eds(status="STOPPED_INGESTION"))
    data = env.stores.put(eds(advanced_event_selectors=selector(
        AdvancedFieldSelector("eventCategory", equals=("Data",)),
        AdvancedFieldSelector("resources.type", equals=("AWS::S3::Object",)))))
    w = env.worker()
    w.run_once()  # first sight: the stores start at the log's head
    a = ingest(env.events, record())
    b = ingest(env.events, record(region="eu-west-1", name="DescribeInstances"))
    c = ingest(env.events, record(region="eu-west-1", name="RunInstances"))
    d = ingest(env.events, record(account=OTHER_ACCOUNT))
    s3 = ingest(env.events, record(name="GetObject", eventCategory="Data", managementEvent=False,
                                   eventSource="s3.amazonaws.com", readOnly=True,
                                   resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}]))
    drain(w, env.events)
    assert ids(env.root, every.id) == sorted(a + b + c)
    assert ids(env.root, describe_eu.id) == b
    assert ids(env.root, other.id) == d
    assert ids(env.root, stopped.id) == []
    assert ids(env.root, data.id) == s3


def test_a_new_store_does_not_get_events_appended_before_it_existed(env) -> None:  # type: ignore[no-untyped-def]
    ingest(env.events, record(), record())
    w = env.worker()
    w.run_once()
    store = env.stores.put(eds())
    w.run_once()
    later = ingest(env.events, record())
    drain(w, env.events)
    assert ids(env.root, store.id) == later
    # the start point is durable: a new worker does not backfill either
    w2 = env.worker()
    drain(w2, env.events)
    assert ids(env.root, store.id) == later


def test_a_restarted_store_gets_nothing_appended_while_it_was_stopped(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker()
    w.run_once()
    before = ingest(env.events, record())
    drain(w, env.events)
    env.stores.update(store.id, status="STOPPED_INGESTION")
    ingest(env.events, record(), record())  # while stopped; the worker has not looked since
    env.stores.update(store.id, status="ENABLED", resumed_seq=env.events.last_seq())  # StartEventDataStoreIngestion
    after = ingest(env.events, record())
    drain(w, env.events)
    assert ids(env.root, store.id) == sorted(before + after)
    # the floor is the store's: a new worker does not take them either
    w2 = env.worker()
    drain(w2, env.events)
    assert ids(env.root, store.id) == sorted(before + after)


def test_start_ingestion_keeps_the_event_log_head_as_the_resume_point(tmp_path: Path) -> None:
    from opentrail.lake.service import EventDataStoreService, StoreSettings

    head = [41]
    service = EventDataStoreService(tmp_path, lambda: NOW, head_seq=lambda: head[0])
    try:
        created = service.create(ACCOUNT, "us-east-1", StoreSettings(name="s"))
        assert (created.start_seq, created.resumed_seq) == (None, None)  # the start seq is set at commit
        assert service.find(ACCOUNT, "us-east-1", created.id).start_seq == 41
        head[0] = 57
        service.stop_ingestion(ACCOUNT, "us-east-1", created.id)
        assert service.find(ACCOUNT, "us-east-1", created.id).resumed_seq is None
        head[0] = 90
        started = service.start_ingestion(ACCOUNT, "us-east-1", created.id)
        assert (started.status, started.resumed_seq, started.start_seq) == ("ENABLED", 90, 41)
        fresh = EventDataStoreService(tmp_path, lambda: NOW)
        assert fresh.find(ACCOUNT, "us-east-1", created.id).resumed_seq == 90
        fresh.close()
        service.update(ACCOUNT, "us-east-1", created.id, StoreSettings(termination_protection_enabled=False))
        service.delete(ACCOUNT, "us-east-1", created.id)
        head[0] = 120
        restored = service.restore(ACCOUNT, "us-east-1", created.id)
        assert (restored.status, restored.resumed_seq) == ("ENABLED", 120)  # nothing of the deleted time
        service.stop_ingestion(ACCOUNT, "us-east-1", created.id)
        service.delete(ACCOUNT, "us-east-1", created.id)
        head[0] = 150
        restored = service.restore(ACCOUNT, "us-east-1", created.id)
        assert (restored.status, restored.resumed_seq) == ("STOPPED_INGESTION", 120)  # Start sets it later
    finally:
        service.close()


def test_files_are_day_partitioned_zstd_parquet_named_by_seq_range(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker(interval_s=1.0)
    w.run_once()
    ingest(env.events, *[record(time=f"2024-04-30T23:59:5{i}Z") for i in range(5)],
           *[record(time=f"2024-05-01T00:00:0{i}Z") for i in range(3)])
    w.run_once()
    assert layout.data_files(env.root, store.id) == []  # batched, younger than the interval
    assert w.caught_up_seq() == 0
    env.clock.now += 1.0
    assert w.run_once() == 8
    files = layout.data_files(env.root, store.id)
    sd = layout.store_dir(env.root, store.id)
    assert [str(p.relative_to(sd)) for p in files] == ["2024/04/30/1-5.parquet", "2024/05/01/6-8.parquet"]
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.num_rows == 5 and meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(files[0]).remove_metadata() == SCHEMA
    assert w.caught_up_seq() == 8
    assert sorted(p.name for p in env.root.iterdir()) == sorted([store.id, INGEST_DB] + [
        p.name for p in env.root.iterdir() if p.name.startswith(INGEST_DB + "-")])


def test_rows_are_the_record_rows(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker()
    w.run_once()
    rec = record(errorCode="AccessDenied", resources=[{"ARN": "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
                                                          "accountId": ACCOUNT, "type": "AWS::EC2::Instance"}])
    ingest(env.events, rec)
    drain(w, env.events)
    raw = env.events.read_since(0, 1)[0].record
    [row] = pq.read_table(layout.data_files(env.root, store.id)[0]).to_pylist()
    assert row == pa.Table.from_pylist([record_row(orjson.loads(raw), raw)], schema=SCHEMA).to_pylist()[0]
    assert row["requestparameters"] == [("instanceType", "t3.micro"), ("tags", '[{"k":"v"}]')]
    assert row["eventtime"] == dt.datetime(2024, 5, 1, 10, 0, 0)


def test_events_past_retention_are_not_written_and_purge_deletes_older_rows(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds(retention_period_days=30))
    w = env.worker()
    w.run_once()
    old = ingest(env.events, record(time="2024-03-01T00:00:00Z"))  # 61 days before NOW
    day_before = ingest(env.events, record(time="2024-04-25T00:00:00Z"), record(time="2024-04-25T23:00:00Z"))
    recent = ingest(env.events, record(time="2024-04-30T12:00:00Z"), record(time="2024-05-01T12:00:00Z"))
    drain(w, env.events)
    assert old[0] not in ids(env.root, store.id)
    assert ids(env.root, store.id) == sorted(day_before + recent)
    # lowering the retention to 6 days: cutoff 2024-04-25T21:46:40Z cuts the 04/25 file in two
    env.stores.update(store.id, retention_period_days=6)
    w.run_once()
    assert ids(env.root, store.id) == sorted(day_before[1:] + recent)
    sd = layout.store_dir(env.root, store.id)
    assert sorted(str(p.relative_to(sd)) for p in layout.data_files(env.root, store.id)) == [
        "2024/04/25/2-3.v1.parquet", "2024/04/30/4-4.parquet", "2024/05/01/5-5.parquet"]
    # time passes: whole days go, and their folders
    env.clock.now += 5 * 86400
    assert w.purge(env.clock.now) == 2
    assert ids(env.root, store.id) == [recent[1]]
    assert sorted(str(p.relative_to(sd)) for p in sd.rglob("*")) == ["2024", "2024/05", "2024/05/01",
                                                                    "2024/05/01/5-5.parquet"]


def test_a_purged_store_folder_is_deleted(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    keep = env.stores.put(eds())
    w = env.worker()
    w.run_once()
    ingest(env.events, record())
    drain(w, env.events)
    assert layout.store_dir(env.root, store.id).is_dir()
    env.stores.update(store.id, status="PENDING_DELETION", deleted_time=env.clock.now)
    env.clock.now += 7 * 86400 - 1
    w.run_once()
    assert layout.store_dir(env.root, store.id).is_dir()  # restorable for 7 days
    env.clock.now += 1
    w.purge(env.clock.now)
    assert not layout.store_dir(env.root, store.id).exists()
    assert store.id not in IngestState(env.root / INGEST_DB).start_seqs()
    assert len(ids(env.root, keep.id)) == 1


def test_start_removes_what_a_crash_left(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker()
    w.run_once()
    ingest(env.events, record(), record())
    drain(w, env.events)
    [committed] = layout.data_files(env.root, store.id)
    table = pq.read_table(committed)
    day = committed.parent
    write_file(table, day / "3-4.parquet")  # a flush that never committed its cursor
    (day / ".tmp-5-6.parquet").write_bytes(b"half")  # a file being written
    write_file(table, day / "1-2.v1.parquet")  # a rewrite that did not delete the original
    assert len(ids(env.root, store.id)) == 4  # the leftover of the flush is visible until start ...
    w.close()
    env.worker()
    assert sorted(p.name for p in day.iterdir()) == ["1-2.v1.parquet"]
    assert len(ids(env.root, store.id)) == 2


def test_small_files_are_compacted(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker(compact_min_files=4, compact_every_s=0.0)
    w.run_once()
    expected = []
    for _ in range(6):
        expected += ingest(env.events, record(), record())
        w.run_once()  # writes a file; from the 4th on, merges a run of 4 small files
    files = layout.data_files(env.root, store.id)
    assert [p.name for p in files] == ["1-8.v1.parquet", "11-12.parquet", "9-10.parquet"]
    assert sorted(p.name for p in files[0].parent.iterdir()) == [p.name for p in files]
    assert ids(env.root, store.id) == sorted(expected)


def test_superseded_files() -> None:
    d = Path("/x/2024/05/01")
    files = [d / "1-5.parquet", d / "6-9.parquet", d / "1-9.v1.parquet", d / "10-12.parquet", d / "10-12.v2.parquet",
             d / "13-20.v3.parquet", d / "13-20.v1.parquet", Path("/x/2024/05/02/1-9.parquet"), d / "other.parquet"]
    assert layout.superseded(files) == {d / "1-5.parquet", d / "6-9.parquet", d / "10-12.parquet", d / "13-20.v1.parquet"}
    assert layout.parse_file_name("10-12.v2.parquet") == (10, 12, 2, 0)
    assert layout.parse_file_name(".tmp-10-12.parquet") is None


def test_a_file_met_by_a_higher_fencing_token_is_superseded_first() -> None:
    d = Path("/x/2024/05/01")
    kept = [d / "1-9.t2.v1.parquet", d / "10-12.t2.parquet", d / "13-16.t2.parquet", d / "22-24.t2.parquet",
            d / "40-45.parquet", d / "46-50.t3.parquet", d / "60-61.t1.parquet"]
    gone = [d / "1-5.t1.parquet", d / "6-9.t1.parquet",  # compacted by the new holder
            d / "10-14.t1.parquet",  # a late upload of the node that lost the lease
            d / "20-30.t1.parquet",  # the same, covering the new holder's file (the token decides)
            d / "5-9.parquet"]  # token 0 met by a token 2 file
    assert layout.superseded(kept + gone + [Path("/x/2024/05/02/10-14.t1.parquet")]) == set(gone)
    assert layout.parse_file_name("10-12.t2.v3.parquet") == (10, 12, 3, 2)
    assert layout.file_name(10, 12, 3, 2) == "10-12.t2.v3.parquet"
    assert (layout.file_name(10, 12), layout.file_name(10, 12, 0, 7)) == ("10-12.parquet", "10-12.t7.parquet")
    assert layout.parse_file_name("10-12.v1.t2.parquet") is None


def test_record_table_equals_record_rows_over_real_records() -> None:
    folder = INVICTUS
    records: list[dict[str, Any]] = []
    for name in sorted(folder.glob("*.json"))[:40]:
        records.extend(orjson.loads(name.read_bytes())["Records"])
    records += [record(userIdentity="odd", readOnly="TRUE", resources=["x", {"ARN": 1}], tlsDetails={}),
                record(USERIDENTITY={"Type": "IAMUser", "sessionContext": {"attributes": {"creationDate": "bad"}}}),
                record(requestParameters={"n": None, "f": 1.5, "b": True})]
    pairs = [(r, orjson.dumps(r)) for r in records]
    assert len(pairs) > 100
    expected = pa.Table.from_pylist([record_row(r, b) for r, b in pairs], schema=SCHEMA)
    assert record_table(pairs).equals(expected)


def test_integers_beyond_64_bits_keep_their_digits(env) -> None:  # type: ignore[no-untyped-def]
    """A record holding integers orjson cannot hold (>= 2**64, < -2**63) is stored with its digits
    in the map and text columns and in eventjson, by DuckDB's path and by Python's (a float sends a
    record there; a store with selectors hands it the orjson decoding, a float, which is not used)."""
    every = env.stores.put(eds())
    selected = env.stores.put(eds(advanced_event_selectors=selector(
        AdvancedFieldSelector("eventCategory", equals=("Management",)),
        AdvancedFieldSelector("eventName", equals=("Big",)))))
    w = env.worker()
    w.run_once()
    big = {"n": 2**64, "m": -2**63 - 1, "o": {"k": [10**30]}}
    fast = ingest(env.events, record(name="Big", apiVersion=2**64, requestParameters=big))
    slow = ingest(env.events, record(name="Big", requestParameters={**big, "f": 1.5}))
    drain(w, env.events)
    params = [("n", "18446744073709551616"), ("m", "-9223372036854775809"),
              ("o", '{"k":[1000000000000000000000000000000]}')]
    for store in (every, selected):
        rows = {r["eventid"]: r for p in layout.data_files(env.root, store.id) for r in pq.read_table(p).to_pylist()}
        assert rows[fast[0]]["requestparameters"] == params
        assert rows[fast[0]]["apiversion"] == "18446744073709551616"
        assert rows[slow[0]]["requestparameters"] == [*params, ("f", "1.5")]
        assert '"requestParameters":{"n":18446744073709551616,"m":-9223372036854775809,' in rows[fast[0]]["eventjson"]


def insight(kind: str, account: str = ACCOUNT, region: str = "us-east-1") -> dict[str, Any]:
    n = len(insight.__dict__.setdefault("seen", []))
    insight.seen.append(n)  # type: ignore[attr-defined]
    return {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "awsRegion": region,
            "eventID": f"11111111-0000-4000-8000-{n:012d}", "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": account, "sharedEventID": f"22222222-0000-4000-8000-{n:012d}",
            "insightDetails": {"state": "Start", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
                               "insightType": kind,
                               "insightContext": {"statistics": {"baseline": {"average": 0.5}, "insight": {"average": 9.0}}}},
            "eventCategory": "Insight"}


def test_insights_events_go_to_the_insights_destination_of_a_source_store(env) -> None:  # type: ignore[no-untyped-def]
    from opentrail.trails.model import InsightSelector

    only_insights = selector(AdvancedFieldSelector("eventCategory", equals=("Insight",)))
    destination = env.stores.put(eds(advanced_event_selectors=only_insights))
    unused = env.stores.put(eds(advanced_event_selectors=only_insights))
    source = env.stores.put(eds(multi_region_enabled=False, insight_selectors=(InsightSelector("ApiCallRateInsight"),),
                                insights_destination=destination.arn))
    w = env.worker()
    w.run_once()
    calls = ingest(env.events, insight("ApiCallRateInsight"))
    ingest(env.events, insight("ApiErrorRateInsight"))  # the source has no error-rate Insights
    ingest(env.events, insight("ApiCallRateInsight", region="eu-west-1"))  # a Region the source does not log
    ingest(env.events, insight("ApiCallRateInsight", account=OTHER_ACCOUNT))
    management = ingest(env.events, record())
    drain(w, env.events)
    assert ids(env.root, destination.id) == calls
    assert ids(env.root, unused.id) == []
    assert ids(env.root, source.id) == management
    rows = duckdb.execute("SELECT eventcategory, insightdetails['insightType'] FROM read_parquet($f)",
                          {"f": [str(p) for p in layout.data_files(env.root, destination.id)]}).fetchall()
    assert rows == [("Insight", "ApiCallRateInsight")]
