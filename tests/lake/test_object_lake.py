"""An object-stored lake (``--lake-storage-url s3://bucket/prefix``) on moto's S3 server: ingestion
uploads the files in the documented layout, queries download them into the cache (only the files
the query reads, evicting the least recently used), compaction, retention and crash recovery work
on objects, and an S3 outage delays ingestion without losing an event while queries that need a
file they cannot download fail with a clear error."""

from __future__ import annotations

import gzip
import io
import itertools
import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from opentrail.events.record import read_record
from opentrail.lake import layout
from opentrail.lake.ingest import LakeIngestWorker
from opentrail.lake.files import LakeFileGone
from opentrail.lake.objectfiles import ObjectFiles
from opentrail.lake.queries import TERMINAL, QueryManager
from opentrail.lake.schema import SCHEMA
from opentrail.objectstore import S3Storage
from opentrail.store.memory import MemoryEventStore
from tests.serving import free_port

from .ingest_fakes import ACCOUNT, FakeStores, eds, record

NOW = 1_714_600_000.0  # 2024-05-01T21:46:40Z
PREFIX = "cloudtrail-lake/"
_buckets = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Stores(FakeStores):
    """What ingestion uses (all, version, purge_deleted) and what queries use (find)."""

    def find(self, account_id: str, region: str, id_or_arn: str) -> Any:
        return self.stores[id_or_arn.rsplit("/", 1)[-1]]


class Moto:
    """moto's S3 server on a fixed port, which can be stopped and started again (its buckets stay:
    they live in this process)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadedMotoServer | None = None
        self.start()

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()
        self.server = None


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)  # S3Storage uses the standard credential chain
    server = Moto()
    yield server
    if server.server is not None:
        server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Env:
    def __init__(self, moto: Moto, tmp: Path) -> None:
        self.moto, self.tmp = moto, tmp
        self.s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
        self.bucket = f"lake-{next(_buckets)}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.clock = Clock()
        self.events = MemoryEventStore()
        self.stores = Stores()
        self.closing: list[Any] = []

    def files(self, cache_bytes: int = 1 << 30) -> ObjectFiles:
        storage = S3Storage(self.moto.url)
        files = ObjectFiles(storage, self.bucket, PREFIX, self.tmp / "lake-cache", self.tmp / "lake-ingest.db", cache_bytes)
        self.closing.append(files)
        return files

    def worker(self, files: ObjectFiles, **kw: Any) -> LakeIngestWorker:
        kw.setdefault("interval_s", 0.0)
        w = LakeIngestWorker(self.events, self.stores, files, self.clock, **kw)
        self.closing.append(w)
        return w

    def queries(self, files: ObjectFiles) -> QueryManager:
        manager = QueryManager(files, self.stores, self.tmp / "results", time.time)
        self.closing.append(manager)
        return manager

    def keys(self) -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", []))

    def object_ids(self, key: str) -> list[str]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return sorted(pq.read_table(io.BytesIO(body)).column("eventid").to_pylist())

    def ingest(self, *records: dict[str, Any]) -> list[str]:
        self.events.append([read_record(r) for r in records])
        return [r["eventID"] for r in records]


@pytest.fixture
def env(moto: Moto, tmp_path: Path) -> Iterator[Env]:
    e = Env(moto, tmp_path)
    yield e
    for thing in reversed(e.closing):
        if isinstance(thing, LakeIngestWorker):
            if thing.is_alive():
                thing.stop()
                thing.join(timeout=30)
            else:
                thing.close()
        else:
            thing.close()


def drain(w: LakeIngestWorker, events: MemoryEventStore) -> None:
    for _ in range(100):
        w.run_once()
        if w.caught_up_seq() >= events.last_seq():
            return
    raise AssertionError("not caught up")


def query(manager: QueryManager, statement: str) -> tuple[str, str | None, list[list[str]]]:
    query_id = manager.start(ACCOUNT, "us-east-1", statement)
    deadline = time.time() + 30
    while (info := manager.describe(ACCOUNT, query_id)).status not in TERMINAL:
        assert time.time() < deadline
        time.sleep(0.01)
    return info.status, info.error, manager.results(ACCOUNT, query_id)[1]


def cached(files: ObjectFiles) -> list[str]:
    return sorted(p.relative_to(files.root).as_posix() for p in files.root.rglob("*") if p.is_file())


def test_ingested_files_are_objects_in_the_layout_and_queries_read_them_back_after_the_cache_is_emptied(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    files = env.files()
    w = env.worker(files, interval_s=1.0)
    w.run_once()  # first sight: the store starts at the log's head
    day1 = env.ingest(*[record(time=f"2024-04-30T23:59:5{i}Z", name="DescribeVpcs") for i in range(5)])
    day2 = env.ingest(*[record(time=f"2024-05-01T00:00:0{i}Z") for i in range(3)])
    w.run_once()
    assert env.keys() == []  # batched, younger than the interval
    env.clock.now += 1.0
    assert w.run_once() == 8
    assert w.caught_up_seq() == 8
    assert env.keys() == [f"{PREFIX}{store.id}/2024/04/30/1-5.parquet", f"{PREFIX}{store.id}/2024/05/01/6-8.parquet"]
    assert env.object_ids(env.keys()[0]) == sorted(day1)
    assert env.object_ids(env.keys()[1]) == sorted(day2)
    body = env.s3.get_object(Bucket=env.bucket, Key=env.keys()[0])["Body"].read()
    meta = pq.ParquetFile(io.BytesIO(body)).metadata
    assert meta.num_rows == 5 and meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(io.BytesIO(body)).remove_metadata() == SCHEMA
    assert env.s3.head_object(Bucket=env.bucket, Key=env.keys()[0])["Metadata"] == {"rows": "5"}
    # the writer keeps a copy of what it uploaded; nothing else is written locally
    assert cached(files) == [f"{store.id}/2024/04/30/1-5.parquet", f"{store.id}/2024/05/01/6-8.parquet"]
    assert {p.name for p in env.tmp.iterdir()} - {"lake-ingest.db-shm", "lake-ingest.db-wal"} == {
        "lake-cache", "lake-ingest.db"}
    counts = f"SELECT eventName, count(*) AS n FROM {store.id} GROUP BY eventName ORDER BY eventName"
    expected = [["DescribeVpcs", "5"], ["RunInstances", "3"]]
    assert query(env.queries(files), counts) == ("FINISHED", None, expected)

    # a restart with an empty cache: the catalog is the bucket's listing, the files come back from S3
    w.close()
    files.close()
    for path in sorted(files.root.rglob("*"), key=lambda p: -len(p.parts)):
        path.unlink() if path.is_file() else path.rmdir()
    files = env.files()
    w = env.worker(files)
    manager = env.queries(files)
    # a query bounded to one day downloads that day's file only
    status, error, rows = query(manager, f"SELECT eventName, count(*) FROM {store.id} "
                                         "WHERE eventTime >= '2024-05-01 00:00:00' GROUP BY eventName")
    assert (status, error, rows) == ("FINISHED", None, [["RunInstances", "3"]])
    assert cached(files) == [f"{store.id}/2024/05/01/6-8.parquet"]
    assert query(manager, counts) == ("FINISHED", None, expected)
    assert cached(files) == [f"{store.id}/2024/04/30/1-5.parquet", f"{store.id}/2024/05/01/6-8.parquet"]
    assert env.keys() == [f"{PREFIX}{store.id}/2024/04/30/1-5.parquet", f"{PREFIX}{store.id}/2024/05/01/6-8.parquet"]


def test_the_cache_keeps_the_most_recently_used_files_within_its_size(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    w = env.worker(env.files())
    w.run_once()
    days = ["2024-04-28", "2024-04-29", "2024-04-30"]
    for day in days:
        env.ingest(*[record(time=f"{day}T12:00:0{i}Z") for i in range(4)])
        drain(w, env.events)
    assert len(env.keys()) == 3
    one = max(o["Size"] for o in env.s3.list_objects_v2(Bucket=env.bucket)["Contents"])
    # a fresh cache that holds one file and a half
    for path in sorted(env.tmp.joinpath("lake-cache").rglob("*"), key=lambda p: -len(p.parts)):
        path.unlink() if path.is_file() else path.rmdir()
    files = env.files(cache_bytes=one + one // 2)
    manager = env.queries(files)

    def on(day: str) -> tuple[str, str | None, list[list[str]]]:
        return query(manager, f"SELECT count(*) FROM {store.id} WHERE eventTime BETWEEN '{day} 00:00:00' AND '{day} 23:59:59'")

    assert on("2024-04-28") == ("FINISHED", None, [["4"]])
    assert on("2024-04-29") == ("FINISHED", None, [["4"]])
    assert cached(files) == [f"{store.id}/2024/04/29/5-8.parquet"]  # the 28th was least recently used
    # a query that needs all three holds them while it runs, then the cache shrinks back
    assert query(manager, f"SELECT count(*) FROM {store.id}") == ("FINISHED", None, [["12"]])
    assert len(cached(files)) == 1
    assert files.cache.total_bytes <= one + one // 2


def test_compaction_and_retention_rewrite_and_delete_objects(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds(retention_period_days=30))
    files = env.files()
    w = env.worker(files, compact_min_files=4, compact_every_s=0.0)
    w.run_once()
    expected = []
    for _ in range(6):
        expected += env.ingest(record(time="2024-04-25T12:00:00Z"), record(time="2024-04-25T23:00:00Z"))
        w.run_once()  # writes a file; from the 4th on, merges a run of 4 small files
    folder = f"{PREFIX}{store.id}/2024/04/25/"
    assert env.keys() == [folder + "1-8.v1.parquet", folder + "11-12.parquet", folder + "9-10.parquet"]
    assert cached(files) == sorted(k.removeprefix(PREFIX) for k in env.keys())
    assert sorted(env.object_ids(folder + "1-8.v1.parquet") + env.object_ids(folder + "9-10.parquet")
                  + env.object_ids(folder + "11-12.parquet")) == sorted(expected)
    # retention 6 days: the cutoff 2024-04-25T21:46:40Z keeps the 23:00 event of each pair
    env.stores.update(store.id, retention_period_days=6)
    w.run_once()
    assert env.keys() == [folder + "1-8.v2.parquet", folder + "11-12.v1.parquet", folder + "9-10.v1.parquet"]
    assert sorted(env.object_ids(folder + "1-8.v2.parquet") + env.object_ids(folder + "9-10.v1.parquet")
                  + env.object_ids(folder + "11-12.v1.parquet")) == sorted(expected[1::2])
    env.clock.now += 86400  # the whole day is past the retention now
    assert w.purge(env.clock.now) == 6
    assert env.keys() == []
    assert cached(files) == []


def test_start_deletes_unpublished_uploads_and_superseded_objects(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds())
    files = env.files()
    w = env.worker(files)
    w.run_once()
    ids = env.ingest(record(), record())
    drain(w, env.events)
    folder = f"{PREFIX}{store.id}/2024/05/01/"
    assert env.keys() == [folder + "1-2.parquet"]
    body = env.s3.get_object(Bucket=env.bucket, Key=folder + "1-2.parquet")["Body"].read()
    env.s3.put_object(Bucket=env.bucket, Key=folder + "3-4.parquet", Body=body)  # uploaded, cursor never committed
    env.s3.put_object(Bucket=env.bucket, Key=folder + "1-2.v1.parquet", Body=body)  # a rewrite that did not delete the original
    env.s3.put_object(Bucket=env.bucket, Key=f"{PREFIX}notes.txt", Body=b"not ours")
    foreign = f"{PREFIX}0b6f2c3e-0000-4000-8000-000000000009/2024/05/01/7-9.parquet"  # another server's store
    env.s3.put_object(Bucket=env.bucket, Key=foreign, Body=body)
    w.close()
    files.close()
    files = env.files()
    env.worker(files)
    assert env.keys() == sorted([f"{PREFIX}notes.txt", foreign, folder + "1-2.v1.parquet"])
    assert env.object_ids(folder + "1-2.v1.parquet") == sorted(ids)
    assert [p.name for p in files.data_files(store.id)] == ["1-2.v1.parquet"]


def test_cache_temporary_files_go_when_the_lake_opens_and_never_under_a_running_write(env) -> None:  # type: ignore[no-untyped-def]
    """A ``.tmp-`` file in the cache is a stopped process's (deleted when the lake opens) or a write
    in flight on this node, of another shard's worker or of an import (a sweep leaves it)."""
    files = env.files()
    left = files.root / "0b6f2c3e-0000-4000-8000-000000000009" / "2024" / "05" / "01" / ".tmp-1-2.parquet"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"left by a stopped process")
    files.close()
    files = env.files()
    assert not left.exists()
    in_flight = left.with_name(".tmp-3-4.parquet")
    in_flight.write_bytes(b"being written")
    assert files.sweep() == 0
    assert in_flight.read_bytes() == b"being written"


def test_with_other_writers_a_reader_lists_a_store_again_once_its_listing_is_a_second_old(env) -> None:  # type: ignore[no-untyped-def]
    """Two nodes on one prefix: node A ingests (and compacts, purges) a store, node B queries it.
    B's catalog follows A's writes and deletes within LISTING_MAX_AGE_S, and at once when a file
    it was about to read was deleted; without ``other_writers`` (one node) it never lists again."""
    eds_id = "0b6f2c3e-0000-4000-8000-00000000000b"
    clock = Clock()
    storage = S3Storage(env.moto.url)
    a = ObjectFiles(storage, env.bucket, PREFIX, env.tmp / "a-cache", env.tmp / "a.db", 1 << 30,
                    other_writers=True, clock=clock)
    b = ObjectFiles(S3Storage(env.moto.url), env.bucket, PREFIX, env.tmp / "b-cache", env.tmp / "b.db", 1 << 30,
                    other_writers=True, clock=clock)
    alone = ObjectFiles(S3Storage(env.moto.url), env.bucket, PREFIX, env.tmp / "c-cache", env.tmp / "c.db", 1 << 30)
    env.closing += [a, b, alone]
    rows = SCHEMA.empty_table()

    def name(f: Path) -> str:
        return f.name

    first = layout.store_dir(a.root, eds_id) / "2024" / "05" / "01" / "1-10.parquet"
    second = first.with_name("11-20.parquet")
    first.parent.mkdir(parents=True)
    a.write(rows, first)
    assert [name(f) for f in b.data_files(eds_id)] == ["1-10.parquet"]  # b's first listing
    assert [name(f) for f in alone.data_files(eds_id)] == ["1-10.parquet"]
    a.write(rows, second)
    assert [name(f) for f in b.data_files(eds_id)] == ["1-10.parquet"]  # listed less than a second ago
    clock.now += 0.999
    assert [name(f) for f in b.data_files(eds_id)] == ["1-10.parquet"]
    clock.now += 0.001
    assert [name(f) for f in b.data_files(eds_id)] == ["1-10.parquet", "11-20.parquet"]
    assert [name(f) for f in alone.data_files(eds_id)] == ["1-10.parquet"]  # one node: its catalog is exact
    a.delete([second])  # a compacts or purges: b finds the file gone when it downloads it
    b_second = layout.store_dir(b.root, eds_id) / "2024" / "05" / "01" / "11-20.parquet"
    with pytest.raises(LakeFileGone):
        with b.reading([b_second]):
            pass
    assert [name(f) for f in b.data_files(eds_id)] == ["1-10.parquet"]  # listed again at once
    a.remove_store(eds_id)
    clock.now += 1.0
    assert b.data_files(eds_id) == [] and eds_id not in b.store_ids()


def test_an_s3_outage_delays_ingestion_without_loss_and_fails_only_queries_that_need_a_download(moto, tmp_path) -> None:  # type: ignore[no-untyped-def]
    down = Moto()  # this test stops its own server
    e = Env(down, tmp_path)
    try:
        _outage(e, down)
    finally:
        for thing in reversed(e.closing):
            if isinstance(thing, LakeIngestWorker) and thing.is_alive():
                thing.stop()
                thing.join(timeout=30)
            else:
                thing.close()
        if down.server is not None:
            down.stop()


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _outage(e: Env, down: Moto) -> None:
    store = e.stores.put(eds())
    files = e.files()
    w = e.worker(files, poll_s=0.02, retry_first_s=0.05, retry_max_s=0.2)
    w.run_once()
    first = e.ingest(*[record(time="2024-04-30T10:00:00Z") for _ in range(3)])
    w.start()
    _wait(lambda: w.caught_up_seq() == 3)
    manager = e.queries(files)
    old_day = f"SELECT count(*) FROM {store.id} WHERE eventTime < '2024-05-01 00:00:00'"
    assert query(manager, old_day) == ("FINISHED", None, [["3"]])
    files.cache.discard(files.data_files(store.id)[0])  # not on the local disk any more

    down.stop()
    second = e.ingest(*[record(time="2024-05-01T10:00:00Z") for _ in range(4)])
    time.sleep(1.0)
    assert w.caught_up_seq() == 3  # nothing is taken from the log while nothing can be written
    assert query(manager, old_day) == (
        "FAILED", f"The lake storage s3://{e.bucket}/{PREFIX} cannot be read now (ServiceUnavailable). "
                  "Run the query again once it can be read.", [])

    down.start()
    _wait(lambda: w.caught_up_seq() == 7)
    folder = f"{PREFIX}{store.id}/2024"
    assert e.keys() == [f"{folder}/04/30/1-3.parquet", f"{folder}/05/01/4-7.parquet"]
    assert e.object_ids(f"{folder}/05/01/4-7.parquet") == sorted(second)
    assert query(manager, f"SELECT eventid FROM {store.id} ORDER BY eventid") == (
        "FINISHED", None, [[i] for i in sorted(first + second)])


def test_an_import_writes_objects_and_a_second_import_reads_them_back_to_skip_duplicates(env) -> None:  # type: ignore[no-untyped-def]
    from opentrail.lake.imports import ImportManager
    from tests.lake.test_imports import TRAIL_DAY, dataset_files, dataset_records

    env.s3.create_bucket(Bucket=env.bucket + "-trail")
    for f in dataset_files():
        env.s3.put_object(Bucket=env.bucket + "-trail", Key="logs/" + TRAIL_DAY + f.name + ".gz",
                          Body=gzip.compress(f.read_bytes()))
    store = env.stores.put(eds(account="218007301253", retention_period_days=3653))
    source = {"S3": {"S3LocationUri": f"s3://{env.bucket}-trail/logs", "S3BucketRegion": "us-east-1",
                     "S3BucketAccessRoleArn": "arn:aws:iam::218007301253:role/import"}}

    def run_import(files: ObjectFiles) -> tuple[str, int]:
        imports = ImportManager(env.tmp, files, env.stores, S3Storage(env.moto.url), env.clock,
                                batch_seconds=0.1, poll_s=0.05)
        imports.start()
        try:
            info = imports.start_import("218007301253", "us-east-1", [store.arn], source, None, None, None)
            deadline = time.time() + 60
            while (info := imports.get("218007301253", info.id)).status in ("INITIALIZING", "IN_PROGRESS"):
                assert time.time() < deadline
                time.sleep(0.05)
            assert info.status == "COMPLETED"
            return info.id, info.events_completed
        finally:
            imports.close()

    files = env.files()
    first, written = run_import(files)
    assert written == len(dataset_records()) == 2900
    assert env.keys() == [f"{PREFIX}{store.id}/2023/07/10/import-{first}-0.parquet"]
    assert env.object_ids(env.keys()[0]) == sorted(r["eventID"] for r in dataset_records())
    # another process, an empty cache: the store's file is downloaded to find the eventIDs it has
    files.close()
    shutil.rmtree(env.tmp / "lake-cache")
    files = env.files()
    assert run_import(files)[1] == 0
    assert env.keys() == [f"{PREFIX}{store.id}/2023/07/10/import-{first}-0.parquet"]
    assert cached(files) == [f"{store.id}/2023/07/10/import-{first}-0.parquet"]


@pytest.mark.parametrize("backend", ["s3", "folder"])
def test_object_storage_file_methods_on_both_backends(moto, tmp_path, monkeypatch, backend) -> None:  # type: ignore[no-untyped-def]
    from opentrail.objectstore import LocalFolderStorage, NoSuchKey
    from opentrail.objectstore import s3 as s3_module

    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)  # S3's smallest part
    bucket = f"files-{next(_buckets)}"
    if backend == "s3":
        boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(Bucket=bucket)
        storage: Any = S3Storage(moto.url)
    else:
        storage = LocalFolderStorage(tmp_path / "buckets")
        storage.create_bucket(bucket)
    big, small = tmp_path / "big", tmp_path / "small"
    big.write_bytes(os.urandom(11 * 1024 * 1024))  # three parts on S3
    small.write_bytes(b"PAR1 small")
    storage.put_file(bucket, "a/big.parquet", big, {"rows": "7"})
    storage.put_file(bucket, "a/b/small.parquet", small, {})
    assert storage.list_object_sizes(bucket, "a/") == {"a/b/small.parquet": 10, "a/big.parquet": 11 * 1024 * 1024}
    assert storage.object_size(bucket, "a/big.parquet") == 11 * 1024 * 1024
    assert storage.head_object(bucket, "a/big.parquet") == {"rows": "7"}
    storage.get_file(bucket, "a/big.parquet", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == big.read_bytes()
    with pytest.raises(NoSuchKey):
        storage.get_file(bucket, "a/none.parquet", tmp_path / "none")
    with pytest.raises(NoSuchKey):
        storage.object_size(bucket, "a/none.parquet")
    storage.delete_objects(bucket, ["a/big.parquet", "a/b/small.parquet", "a/never-there.parquet"])
    assert storage.list_objects(bucket) == []
    storage.close()
