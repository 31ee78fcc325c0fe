"""Lake imports through boto3 against a real API server: the invictus-ir dataset laid out as trail
log files in a local bucket folder, copied into event data stores (StartImport, GetImport,
ListImports, ListImportFailures, StopImport), then counted with StartQuery. Expected values are
computed from the dataset's JSON files, not by the code under test."""

from __future__ import annotations

import calendar
import gzip
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.lake import Lake
from opentrail.lake.imports import ImportManager
from opentrail.lake.queries import QueryManager
from opentrail.lake.service import EventDataStoreService
from opentrail.objectstore import LocalFolderStorage, StoredObject
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving
from tests.paths import INVICTUS

DATASET = INVICTUS
ACCOUNT = "111122223333"
REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/import"
TRAIL_DAY = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"


def dataset_files() -> list[Path]:
    return sorted(DATASET.glob("*.json"))


def dataset_records() -> list[dict[str, Any]]:
    return [r for f in dataset_files() for r in json.loads(f.read_bytes())["Records"]]


def epoch(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def lay_out(bucket_dir: Path, prefix: str = "logs/") -> None:
    """The dataset as a trail writes it: gzip files in the day folder, plus objects an import skips."""
    day = bucket_dir / prefix / TRAIL_DAY
    day.mkdir(parents=True, exist_ok=True)
    for f in dataset_files():
        (day / (f.name + ".gz")).write_bytes(gzip.compress(f.read_bytes()))
    digest = bucket_dir / prefix / "AWSLogs/218007301253/CloudTrail-Digest/us-east-1/2023/07/10"
    digest.mkdir(parents=True)
    (digest / "digest.json.gz").write_bytes(gzip.compress(b'{"digestStartTime": "x"}'))
    (bucket_dir / prefix / "README.txt").write_text("not a log file")


class SlowStorage(LocalFolderStorage):
    """Local folders; objects of the bucket ``slow`` take ``delay`` seconds to read."""

    delay = 0.03

    def get_object(self, bucket: str, key: str) -> StoredObject:
        if bucket == "slow":
            time.sleep(self.delay)
        return super().get_object(bucket, key)


class Env:
    def __init__(self, url: str, storage: SlowStorage, key: AccessKey, imports: ImportManager) -> None:
        self.url, self.storage, self.key, self.imports = url, storage, key, imports
        self.ct = boto3.client("cloudtrail", endpoint_url=url, region_name=REGION,
                               aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                               config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def store(self, name: str, retention: int = 3653) -> str:
        return self.ct.create_event_data_store(Name=name, RetentionPeriod=retention,
                                               TerminationProtectionEnabled=False)["EventDataStoreArn"]

    def start(self, arn: str, bucket: str, prefix: str = "logs", **extra: Any) -> str:
        source = {"S3": {"S3LocationUri": f"s3://{bucket}/{prefix}", "S3BucketRegion": REGION,
                         "S3BucketAccessRoleArn": ROLE}}
        return self.ct.start_import(Destinations=[arn], ImportSource=source, **extra)["ImportId"]

    def wait(self, import_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.ct.get_import(ImportId=import_id)
            if got["ImportStatus"] not in ("INITIALIZING", "IN_PROGRESS"):
                return got
            assert time.monotonic() < deadline, got
            time.sleep(0.05)

    def query(self, statement: str) -> list[list[dict[str, str]]]:
        query_id = self.ct.start_query(QueryStatement=statement)["QueryId"]
        deadline = time.monotonic() + 30
        while (status := self.ct.describe_query(QueryId=query_id)["QueryStatus"]) in ("QUEUED", "RUNNING"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status == "FINISHED", self.ct.describe_query(QueryId=query_id)
        return self.ct.get_query_results(QueryId=query_id)["QueryResultRows"]

    def count(self, arn: str) -> int:
        rows = self.query(f"SELECT count(*) AS n, count(DISTINCT eventid) AS d FROM {arn.rsplit('/', 1)[1]}")
        assert rows[0][0]["n"] == rows[0][1]["d"], rows
        return int(rows[0][0]["n"])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("imports")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    storage = SlowStorage(data_dir / "buckets")
    for bucket in ("trail-logs", "slow"):
        lay_out(storage.create_bucket(bucket))
    clock = time.time
    stores = EventDataStoreService(data_dir, clock)
    root = data_dir / "lake"
    queries = QueryManager(root, stores, data_dir / "lake-results", clock)
    imports = ImportManager(data_dir, root, stores, storage, clock, batch_seconds=0.1, poll_s=0.05)
    imports.start()
    lake = Lake(stores=stores, queries=queries, root=root, imports=imports)
    store = MemoryEventStore()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, lake=lake)
    try:
        with serving(app) as url:
            yield Env(url, storage, key, imports)
    finally:
        imports.close()
        queries.close()
        stores.close()
        store.close()
        accounts.close()


ALL = {"PrefixesFound": 1, "PrefixesCompleted": 1, "FilesCompleted": 55, "EventsCompleted": 2900, "FailedEntries": 0}


def test_dataset_shape() -> None:
    records = dataset_records()
    assert (len(dataset_files()), len(records), len({r["eventID"] for r in records})) == (55, 2900, 2900)


def test_import_then_query_and_a_second_import_adds_nothing(env: Env) -> None:
    arn = env.store("all")
    import_id = env.start(arn, "trail-logs")
    done = env.wait(import_id)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"] == ALL
    assert done["Destinations"] == [arn]
    assert done["ImportSource"]["S3"] == {"S3LocationUri": "s3://trail-logs/logs", "S3BucketRegion": REGION,
                                          "S3BucketAccessRoleArn": ROLE}
    assert env.count(arn) == 2900
    by_name: dict[str, int] = {}
    for r in dataset_records():
        by_name[r["eventName"]] = by_name.get(r["eventName"], 0) + 1
    top = sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    rows = env.query(f"SELECT eventName, count(*) AS n FROM {arn.rsplit('/', 1)[1]} GROUP BY eventName "
                     "ORDER BY n DESC, eventName LIMIT 3")
    assert rows == [[{"eventName": name}, {"n": str(n)}] for name, n in top]
    # de-duplicated by eventID: the same files again write nothing
    again = env.wait(env.start(arn, "trail-logs"))
    assert again["ImportStatus"] == "COMPLETED"
    assert again["ImportStatistics"] == {**ALL, "EventsCompleted": 0}
    assert env.count(arn) == 2900
    listed = env.ct.list_imports(Destination=arn)["Imports"]
    assert [i["ImportId"] for i in listed] == [import_id, again["ImportId"]]
    assert {i["ImportStatus"] for i in listed} == {"COMPLETED"}
    assert env.ct.list_imports(ImportStatus="FAILED", Destination=arn)["Imports"] == []
    assert env.ct.list_import_failures(ImportId=import_id)["Failures"] == []


def test_time_range_filters_files_and_events(env: Env) -> None:
    arn = env.store("range")
    start, end = "2023-07-10T12:00:00Z", "2023-07-10T12:20:00Z"
    expected = sum(1 for r in dataset_records() if start <= r["eventTime"] <= end)
    # files delivered (name's time) before the start minute are not read
    read = [f for f in dataset_files() if f.name.split("_")[3] >= "20230710T1159Z"]
    done = env.wait(env.start(arn, "trail-logs", StartEventTime=epoch(start), EndEventTime=epoch(end)))
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"] == {"PrefixesFound": 1, "PrefixesCompleted": 1, "FilesCompleted": len(read),
                                        "EventsCompleted": expected, "FailedEntries": 0}
    assert done["StartEventTime"].timestamp() == epoch(start)
    assert env.count(arn) == expected
    # a range on another day reads no file
    other = env.wait(env.start(arn, "trail-logs", StartEventTime=epoch("2023-07-11T00:00:00Z")))
    assert other["ImportStatistics"] == {"PrefixesFound": 0, "PrefixesCompleted": 0, "FilesCompleted": 0,
                                         "EventsCompleted": 0, "FailedEntries": 0}


def test_retention_of_the_store_applies(env: Env) -> None:
    arn = env.store("short", retention=7)  # 2023 events are older than 7 days
    done = env.wait(env.start(arn, "trail-logs"))
    assert done["ImportStatistics"] == {**ALL, "EventsCompleted": 0}
    assert env.count(arn) == 0


def test_failures_listed_then_retry_resumes(env: Env, tmp_path: Path) -> None:
    bucket = env.storage.create_bucket("bad-logs")
    day = bucket / TRAIL_DAY
    day.mkdir(parents=True)
    files = dataset_files()[:3]
    (day / (files[0].name + ".gz")).write_bytes(gzip.compress(files[0].read_bytes()))
    (day / files[1].name).write_bytes(files[1].read_bytes())  # not gzip
    (day / "other.json.gz").write_bytes(gzip.compress(b"hello, not json"))
    arn = env.store("bad")
    import_id = env.start(arn, "bad-logs", prefix="")
    done = env.wait(import_id)
    n0 = len(json.loads(files[0].read_bytes())["Records"])
    n1 = len(json.loads(files[1].read_bytes())["Records"])
    assert done["ImportStatus"] == "FAILED"
    assert done["ImportStatistics"] == {"PrefixesFound": 1, "PrefixesCompleted": 1, "FilesCompleted": 1,
                                        "EventsCompleted": n0, "FailedEntries": 2}
    failures = env.ct.list_import_failures(ImportId=import_id)["Failures"]
    assert [(f["Location"], f["Status"], f["ErrorType"]) for f in failures] == [
        (f"s3://bad-logs/{TRAIL_DAY}{files[1].name}", "FAILED", "UncompressedFile"),
        (f"s3://bad-logs/{TRAIL_DAY}other.json.gz", "FAILED", "InvalidFileFormat")]
    assert all(f["ErrorMessage"] and f["LastUpdatedTime"] for f in failures)
    page = env.ct.list_import_failures(ImportId=import_id, MaxResults=1)
    assert len(page["Failures"]) == 1 and page["NextToken"]
    # fix the files, retry by ImportId: only the failed ones are read again
    (day / files[1].name).unlink()
    (day / (files[1].name + ".gz")).write_bytes(gzip.compress(files[1].read_bytes()))
    (day / "other.json.gz").unlink()
    retried = env.ct.start_import(ImportId=import_id)
    assert retried["ImportId"] == import_id and retried["ImportStatus"] == "INITIALIZING"
    done = env.wait(import_id)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"] == {"PrefixesFound": 1, "PrefixesCompleted": 1, "FilesCompleted": 2,
                                        "EventsCompleted": n0 + n1, "FailedEntries": 0}
    assert env.ct.list_import_failures(ImportId=import_id)["Failures"] == []
    assert env.count(arn) == n0 + n1
    with pytest.raises(env.ct.exceptions.InvalidParameterException):
        env.ct.start_import(ImportId=import_id)  # COMPLETED: nothing to retry


def test_stop_then_retry_imports_every_event_once(env: Env) -> None:
    arn = env.store("stopped")
    import_id = env.start(arn, "slow")
    deadline = time.monotonic() + 20
    while env.ct.get_import(ImportId=import_id)["ImportStatistics"]["FilesCompleted"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(env.ct.exceptions.AccountHasOngoingImportException):
        env.start(arn, "trail-logs")
    stopped = env.ct.stop_import(ImportId=import_id)
    assert stopped["ImportStatus"] == "STOPPED"
    assert env.imports.wait_idle(10)
    time.sleep(0.2)  # the thread finishes the file it was reading and commits what it read
    partial = env.ct.get_import(ImportId=import_id)
    assert partial["ImportStatus"] == "STOPPED"
    assert 0 < partial["ImportStatistics"]["FilesCompleted"] < 55
    assert env.ct.list_imports(ImportStatus="STOPPED")["Imports"][0]["ImportId"] == import_id
    env.ct.start_import(ImportId=import_id)
    done = env.wait(import_id)
    assert done["ImportStatus"] == "COMPLETED"
    assert done["ImportStatistics"] == ALL
    assert env.count(arn) == 2900


def test_errors(env: Env) -> None:
    ct = env.ct
    arn = env.store("errors")
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ct.exceptions.ImportNotFoundException):
        ct.get_import(ImportId=unknown)
    with pytest.raises(ct.exceptions.ImportNotFoundException):
        ct.stop_import(ImportId=unknown)
    with pytest.raises(ct.exceptions.ImportNotFoundException):
        ct.start_import(ImportId=unknown)
    with pytest.raises(ct.exceptions.InvalidParameterException):
        ct.list_import_failures(ImportId=unknown)
    with pytest.raises(ct.exceptions.InvalidImportSourceException):
        env.start(arn, "no-such-bucket")
    with pytest.raises(ct.exceptions.InvalidImportSourceException):
        ct.start_import(Destinations=[arn], ImportSource={"S3": {
            "S3LocationUri": "https://trail-logs/x", "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}})
    with pytest.raises(ct.exceptions.InvalidImportSourceException):
        ct.start_import(Destinations=[arn], ImportSource={"S3": {
            "S3LocationUri": "s3://trail-logs/x", "S3BucketRegion": REGION, "S3BucketAccessRoleArn": "nope"}})
    with pytest.raises(ct.exceptions.EventDataStoreNotFoundException):
        env.start(arn.rsplit("/", 1)[0] + "/" + unknown, "trail-logs")
    with pytest.raises(ct.exceptions.EventDataStoreARNInvalidException):
        env.start("arn:aws:cloudtrail:us-east-1:444455556666:eventdatastore/" + unknown, "trail-logs")
    with pytest.raises(ct.exceptions.InvalidParameterException):
        env.start(arn, "trail-logs", StartEventTime=epoch("2023-07-11T00:00:00Z"),
                  EndEventTime=epoch("2023-07-10T00:00:00Z"))
    with pytest.raises(ct.exceptions.InvalidParameterException):
        ct.start_import(Destinations=[arn])
    ct.delete_event_data_store(EventDataStore=arn)
    with pytest.raises(ct.exceptions.InactiveEventDataStoreException):
        env.start(arn, "trail-logs")
    assert ct.list_imports(Destination=arn.rsplit("/", 1)[0] + "/" + unknown)["Imports"] == []


class _OneStore:
    """The store service ImportManager needs (``find``, ``all``) for one event data store."""

    def __init__(self) -> None:
        from opentrail.lake.model import EventDataStore

        self.store = EventDataStore(id="0b6f2c3e-0000-4000-8000-0000000000aa", account_id=ACCOUNT,
                                    home_region=REGION, name="direct", status="ENABLED",
                                    advanced_event_selectors=(), retention_period_days=3653)

    def find(self, account_id: str, region: str, ref: str) -> Any:
        return self.store

    def all(self) -> list[Any]:
        return [self.store]


def _event(event_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": name, "awsRegion": REGION, "eventID": event_id, "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT, **extra}


@pytest.mark.parametrize(("batch_events", "build_events"), [(100_000, None), (2, None), (100_000, 2)])
def test_read_ahead_keeps_file_order_first_event_id_and_statistics(tmp_path: Path, batch_events: int,
                                                                    build_events: int | None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are read ahead on a pool, turned into columns on a builder thread (a batch in one part,
    or -- build_events 2 -- in parts of 2 records: the two copies of an eventID in different parts
    of one batch) and batches written on their own thread; the outcome is that of reading the files
    one by one: the first record of an eventID (in listing order) is the one kept, even when it
    takes DuckDB's slow path (a float) and the later copy the fast one; a bad file in the middle is
    a failure entry; statistics count every file and event once."""
    from opentrail.lake import imports as imports_module, layout

    if build_events is not None:
        monkeypatch.setattr(imports_module, "BUILD_EVENTS", build_events)
    from opentrail.lake.columns import fast_table

    import orjson
    import pyarrow.parquet as pq

    first = _event("dup-0001", "FirstCopy", additionalEventData={"ratio": 1.5})
    later = _event("dup-0001", "LaterCopy")
    _, ok = fast_table([orjson.dumps(first), orjson.dumps(later)])
    assert ok.to_pylist() == [False, True]  # the first copy goes through Python, the later one DuckDB
    storage = SlowStorage(tmp_path / "buckets")
    storage.delay = 0.005
    day = storage.create_bucket("slow") / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/05/01"
    day.mkdir(parents=True)
    files = {"a": [_event("a-1", "A"), first], "c": [later, _event("c-1", "C")]}
    for n in range(20):
        files[f"f{n:02d}"] = [_event(f"f{n:02d}-{i}", "Filler") for i in range(3)]
    for name, records in files.items():
        (day / f"{name}.json.gz").write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    (day / "b.json.gz").write_bytes(b'{"Records": []}')  # not gzip
    stores = _OneStore()
    imports = ImportManager(tmp_path / "data", tmp_path / "lake", stores, storage, time.time,  # type: ignore[arg-type]
                            batch_events=batch_events, batch_seconds=3600, poll_s=0.01)
    imports.start()
    try:
        info = imports.start_import(ACCOUNT, REGION, ["arn"], {"S3": {"S3LocationUri": "s3://slow",
                                    "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}}, None, None, None)
        assert imports.wait_idle(60)
        done = imports.get(ACCOUNT, info.id)
        assert (done.status, done.prefixes_found, done.prefixes_completed, done.files_completed,
                done.events_completed, done.failed_entries) == ("FAILED", 1, 1, 22, 63, 1)
        assert [(f.location, f.error_type) for f in imports.failures(ACCOUNT, info.id)] == [
            (f"s3://slow/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/05/01/b.json.gz", "UncompressedFile")]
        rows = [r for p in layout.data_files(tmp_path / "lake", stores.store.id)
                for r in pq.read_table(p, columns=["eventid", "eventname"]).to_pylist()]
        assert len(rows) == 63 and len({r["eventid"] for r in rows}) == 63
        assert {r["eventname"] for r in rows if r["eventid"] == "dup-0001"} == {"FirstCopy"}
    finally:
        imports.close()


def test_integers_beyond_64_bits_are_imported_exactly(tmp_path: Path) -> None:
    """Integers orjson cannot hold (>= 2**64, < -2**63) are kept as their digits: in the map
    columns, the text columns and eventjson, whether the record takes DuckDB's path or Python's (a
    float or a non-ASCII character sends it there); the import COMPLETES."""
    from opentrail.lake import layout

    import pyarrow.parquet as pq

    big, small, huge = 2**64, -2**63 - 1, 10**30
    records = [
        _event("big-fast", "Fast", apiVersion=big, requestParameters={"n": big, "m": small, "o": {"deep": [huge, 1]}}),
        _event("big-float", "Float", requestParameters={"n": big, "f": 1.5}),
        _event("big-utf8", "Utf8", requestParameters={"n": small, "s": "é"}),
        _event("plain", "Plain", requestParameters={"n": 2**64 - 1}),
    ]
    from opentrail.events.record import record_bytes
    from opentrail.lake.columns import fast_table

    assert fast_table([record_bytes(r) for r in records])[1].to_pylist() == [True, False, False, True]
    storage = LocalFolderStorage(tmp_path / "buckets")
    day = storage.create_bucket("big") / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/05/01"
    day.mkdir(parents=True)
    (day / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    stores = _OneStore()
    imports = ImportManager(tmp_path / "data", tmp_path / "lake", stores, storage, time.time,  # type: ignore[arg-type]
                            poll_s=0.01)
    imports.start()
    try:
        info = imports.start_import(ACCOUNT, REGION, ["arn"], {"S3": {"S3LocationUri": "s3://big",
                                    "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}}, None, None, None)
        assert imports.wait_idle(60)
        done = imports.get(ACCOUNT, info.id)
        assert (done.status, done.files_completed, done.events_completed, done.failed_entries) == ("COMPLETED", 1, 4, 0)
    finally:
        imports.close()
    rows = {r["eventid"]: r for p in layout.data_files(tmp_path / "lake", stores.store.id)
            for r in pq.read_table(p).to_pylist()}
    assert rows["big-fast"]["requestparameters"] == [
        ("n", "18446744073709551616"), ("m", "-9223372036854775809"), ("o", '{"deep":[1000000000000000000000000000000,1]}')]
    assert rows["big-fast"]["apiversion"] == "18446744073709551616"
    assert rows["big-float"]["requestparameters"] == [("n", "18446744073709551616"), ("f", "1.5")]
    assert rows["big-utf8"]["requestparameters"] == [("n", "-9223372036854775809"), ("s", "é")]
    assert rows["plain"]["requestparameters"] == [("n", "18446744073709551615")]
    for record in records:
        row = rows[record["eventID"]]
        assert json.loads(row["eventjson"]) == record  # every digit kept
        assert row["eventjsonchecksum"] == hashlib.sha256(row["eventjson"].encode()).hexdigest()
    assert '"n":18446744073709551616' in rows["big-fast"]["eventjson"]


def test_lookup_events_rows_are_unwrapped(tmp_path: Path) -> None:
    """A file whose Records are LookupEvents rows (the record as the JSON text of CloudTrailEvent)
    imports the records inside them, as ingestion reads such files; a plain record beside them is
    read as it is."""
    from opentrail.lake import layout

    import pyarrow.parquet as pq

    inner = _event("row-1", "Wrapped")
    storage = LocalFolderStorage(tmp_path / "buckets")
    day = storage.create_bucket("rows") / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/05/01"
    day.mkdir(parents=True)
    records = [{"EventId": "row-1", "CloudTrailEvent": json.dumps(inner)}, _event("plain-1", "Plain")]
    (day / "rows.json.gz").write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    stores = _OneStore()
    imports = ImportManager(tmp_path / "data", tmp_path / "lake", stores, storage, time.time,  # type: ignore[arg-type]
                            poll_s=0.01)
    imports.start()
    try:
        info = imports.start_import(ACCOUNT, REGION, ["arn"], {"S3": {"S3LocationUri": "s3://rows",
                                    "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}}, None, None, None)
        assert imports.wait_idle(60)
        done = imports.get(ACCOUNT, info.id)
        assert (done.status, done.files_completed, done.events_completed) == ("COMPLETED", 1, 2)
        rows = sorted((r for p in layout.data_files(tmp_path / "lake", stores.store.id)
                       for r in pq.read_table(p, columns=["eventid", "eventname"]).to_pylist()),
                      key=lambda r: r["eventid"])
        assert rows == [{"eventid": "plain-1", "eventname": "Plain"}, {"eventid": "row-1", "eventname": "Wrapped"}]
    finally:
        imports.close()
