"""Lake query details through boto3 against a real server: DeliveryS3Uri (CSV result files and a
signed result_sign.json in a local bucket folder and on moto's S3 server, validated the way AWS's
documentation says, independently of the writer), DeliveryStatus, StartQuery's bucket errors,
retries while the storage is down, QueryStatistics, ErrorMessage, GetQueryResults while a query
runs, ListQueries filters and order, and the 7-day expiry with an injected clock."""

from __future__ import annotations

import base64
import collections
import csv
import gzip
import hashlib
import io
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import load_der_public_key

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.digests.keys import KeyStore
from opentrail.lake import Lake
from opentrail.lake.queries import KEEP_S, QueryManager
from opentrail.objectstore import LocalFolderStorage, ObjectStorage, S3Storage, StorageUnavailable
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.api.conftest import ADMIN_ACCOUNT, REGION, Server
from tests.lake.fakes import FakeStores, load_records, write_store
from tests.serving import serving

EDS = "0233062b-51c6-4d18-8dec-a8c90da840d9"
SLOW = f"SELECT count(*) FROM {EDS} a CROSS JOIN {EDS} b CROSS JOIN {EDS} c WHERE a.eventid < b.eventid"
BUCKET = "lake-results"


class FlakyStorage(ObjectStorage):
    """A storage that answers StorageUnavailable while ``down`` is set."""

    def __init__(self, inner: ObjectStorage) -> None:
        self.inner = inner
        self.down = threading.Event()
        self.refused = 0

    def _check(self) -> None:
        if self.down.is_set():
            self.refused += 1
            raise StorageUnavailable("connection refused")

    def bucket_exists(self, bucket: str) -> bool:
        self._check()
        return self.inner.bucket_exists(bucket)

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        self._check()
        self.inner.put_object(bucket, key, body, metadata)

    def get_object(self, bucket: str, key: str) -> Any:
        return self.inner.get_object(bucket, key)

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        return self.inner.list_objects(bucket, prefix)


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))  # whole seconds: the wire times are whole seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return load_records()


def _serve(tmp_path: Path, records: list[dict[str, Any]], storage: ObjectStorage | None = None,
           clock: Callable[[], float] = time.time, **manager_args: Any) -> Iterator[tuple[Server, QueryManager, Any]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    stores = FakeStores()
    stores.add(EDS)
    write_store(data_dir / "lake", EDS, records, files=2)
    if storage is None:
        storage = LocalFolderStorage(data_dir / "buckets")
        storage.create_bucket(BUCKET)
    keys = KeyStore(data_dir / "keys", time.time)
    manager = QueryManager(data_dir / "lake", stores, data_dir / "lake-results", clock, storage=storage, keys=keys,
                           delivery_retry_s=0.05, **manager_args)
    accounts = AccountStore(data_dir / "accounts.db")
    admin_key = accounts.create_access_key(ADMIN_ACCOUNT)
    store = MemoryEventStore()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=time.time, public_keys=keys,
                    lake=Lake(stores=stores, queries=manager, root=data_dir / "lake"))
    try:
        with serving(app) as url:
            yield Server(url, accounts, store, time.time, admin_key, data_dir), manager, storage  # type: ignore[arg-type]
    finally:
        manager.close()
        store.close()
        accounts.close()


@pytest.fixture
def srv(tmp_path: Path, records: list[dict[str, Any]]) -> Iterator[tuple[Server, QueryManager, Any]]:
    # 3000 bytes of CSV a file: the results below span several files.
    yield from _serve(tmp_path, records, result_file_bytes=3000)


def _wait(client: Any, query_id: str, until: Callable[[dict[str, Any]], bool] | None = None,
          timeout: float = 30) -> dict[str, Any]:
    until = until or (lambda d: d["QueryStatus"] not in ("QUEUED", "RUNNING"))
    deadline = time.time() + timeout
    while True:
        out = client.describe_query(QueryId=query_id)
        if until(out) or time.time() > deadline:
            return out
        time.sleep(0.02)


def _delivered(client: Any, query_id: str) -> dict[str, Any]:
    return _wait(client, query_id, lambda d: d.get("DeliveryStatus") not in (None, "PENDING"))


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def _all_rows(client: Any, query_id: str) -> list[list[dict[str, str]]]:
    rows: list[Any] = []
    token = None
    while True:
        page = client.get_query_results(QueryId=query_id, **({"NextToken": token} if token else {}))
        rows += page["QueryResultRows"]
        token = page.get("NextToken")
        if not token:
            return rows


# --- an independent validator: AWS User Guide, "Custom implementations of CloudTrail query result
# file integrity validation" (steps: get the sign file; get the public keys for a range holding
# queryCompleteTime with ListPublicKeys; pick the one whose fingerprint is publicKeyFingerprint;
# recreate the data signing string from the fileHashValue list, space separated; verify the
# hashSignature with SHA256withRSA; hash every result file and compare with its fileHashValue).

def validate_results(cloudtrail: Any, read: Callable[[str], bytes]) -> dict[str, Any]:
    """Validate the sign file and result files read by ``read(file name)``; returns the sign file.
    Raises AssertionError on any mismatch."""
    sign = orjson.loads(read("result_sign.json"))
    assert sign["hashAlgorithm"] == "SHA-256" and sign["signatureAlgorithm"] == "SHA256withRSA"
    completed = datetime.strptime(sign["queryCompleteTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    keys = cloudtrail.list_public_keys(StartTime=completed - timedelta(hours=1),
                                       EndTime=completed + timedelta(hours=1))["PublicKeyList"]
    matching = [k for k in keys if k["Fingerprint"] == sign["publicKeyFingerprint"]]
    assert len(matching) == 1, (keys, sign["publicKeyFingerprint"])
    public_key = load_der_public_key(matching[0]["Value"])
    message = " ".join(f["fileHashValue"] for f in sign["files"]).encode()
    try:
        public_key.verify(bytes.fromhex(sign["hashSignature"]), message, PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    except InvalidSignature:
        raise AssertionError("invalid signature in sign file") from None
    assert sign["files"], "no result file in the sign file"
    for f in sign["files"]:
        assert hashlib.sha256(read(f["fileName"])).hexdigest() == f["fileHashValue"], f["fileName"]
    return sign


def _csv_rows(bodies: list[bytes]) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for body in bodies:
        text = gzip.decompress(body).decode("utf-8")
        assert all(line.startswith('"') for line in text.splitlines())  # every field quoted
        parsed = list(csv.reader(io.StringIO(text)))
        assert not header or parsed[0] == header  # every file has the header line
        header = parsed[0]
        rows += parsed[1:]
    return header, rows


def _folder(account: str, completed: float, query_id: str, prefix: str = "") -> str:
    day = datetime.fromtimestamp(completed, timezone.utc).strftime("%Y/%m/%d")
    return f"{prefix}AWSLogs/{account}/CloudTrail-Lake/Query/{day}/{query_id}/"


def test_results_delivered_to_a_local_bucket_and_validated(srv: Any, records: list[dict[str, Any]]) -> None:
    server, _, storage = srv
    client = server.client()
    statement = f"SELECT eventID, eventName, eventTime, readOnly FROM {EDS} ORDER BY eventID"
    uri = f"s3://{BUCKET}/team/lake/"
    query_id = client.start_query(QueryStatement=statement, DeliveryS3Uri=uri)["QueryId"]
    running = client.describe_query(QueryId=query_id)
    assert running["DeliveryS3Uri"] == uri and running["DeliveryStatus"] == "PENDING"
    described = _delivered(client, query_id)
    assert described["QueryStatus"] == "FINISHED" and described["DeliveryStatus"] == "SUCCESS"
    bucket = storage.bucket_path(BUCKET)
    keys = sorted(str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file())
    folder = _folder(ADMIN_ACCOUNT, time.time(), query_id, "team/lake/")
    count = len(keys) - 1
    assert count >= 2  # split at 3000 bytes of CSV
    assert keys == sorted([folder + "result_sign.json"] + [f"{folder}result_{n}.csv.gz" for n in range(1, count + 1)])
    sign = validate_results(client, lambda name: (bucket / folder / name).read_bytes())
    assert sign["version"] == "1.0" and sign["region"] == REGION
    assert [f["fileName"] for f in sign["files"]] == [f"result_{n}.csv.gz" for n in range(1, count + 1)]
    header, rows = _csv_rows([(bucket / folder / f["fileName"]).read_bytes() for f in sign["files"]])
    assert header == ["eventID", "eventName", "eventTime", "readOnly"]
    api_rows = [[next(iter(cell.values())) for cell in row] for row in _all_rows(client, query_id)]
    assert rows == api_rows and len(rows) == len(records)
    assert rows[0] == [min(r["eventID"] for r in records), *rows[0][1:]]
    # A changed result file no longer validates.
    first = bucket / folder / "result_1.csv.gz"
    first.write_bytes(gzip.compress(b'"eventID"\n"forged"\n'))
    with pytest.raises(AssertionError):
        validate_results(client, lambda name: (bucket / folder / name).read_bytes())


def test_a_query_without_rows_delivers_the_header_only(srv: Any) -> None:
    server, _, storage = srv
    client = server.client()
    query_id = client.start_query(QueryStatement=f"SELECT eventName AS name FROM {EDS} WHERE eventName = 'none'",
                                  DeliveryS3Uri=f"s3://{BUCKET}")["QueryId"]
    assert _delivered(client, query_id)["DeliveryStatus"] == "SUCCESS"
    folder = storage.bucket_path(BUCKET) / _folder(ADMIN_ACCOUNT, time.time(), query_id)
    sign = validate_results(client, lambda name: (folder / name).read_bytes())
    assert [f["fileName"] for f in sign["files"]] == ["result_1.csv.gz"]
    assert gzip.decompress((folder / "result_1.csv.gz").read_bytes()) == b'"name"\n'


def test_start_query_checks_the_delivery_uri(srv: Any) -> None:
    server, _, _ = srv
    client = server.client()
    statement = f"SELECT eventName FROM {EDS}"
    assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri="s3://no-such-bucket/x") == (
        "S3BucketDoesNotExistException", "S3 bucket no-such-bucket does not exist!")
    # The model's pattern is checked first (ValidationException, as AWS's request validation answers) ...
    pattern = "s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?"
    for uri in ("s3://Bad_Bucket", "https://lake-results/x"):
        assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri=uri) == (
            "ValidationException", f"1 validation error detected: Value '{uri}' at 'deliveryS3Uri' failed to "
            f"satisfy constraint: Member must satisfy regular expression pattern: {pattern}")
    # ... then S3's bucket naming rules and the prefix.
    assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri="s3://lake..results") == (
        "InvalidS3BucketNameException",
        "Bucket name lake..results is not valid: it cannot have two adjacent periods, or a hyphen next to a period.")
    assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri="s3://192.168.5.4/x") == (
        "InvalidS3BucketNameException", "Bucket name 192.168.5.4 is not valid: it cannot be formatted as an IP address.")
    assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri=f"s3://{BUCKET}/a//b") == (
        "InvalidS3PrefixException",
        "Prefix a//b is not valid: it cannot have empty, '.' or '..' segments or control characters.")
    assert _error(client.start_query, QueryStatement=statement, DeliveryS3Uri=f"s3://{BUCKET}/" + "p" * 1000)[0] == (
        "InvalidS3PrefixException")
    # Nothing was queued by the refused calls.
    assert client.list_queries(EventDataStore=EDS)["Queries"] == []


def test_delivery_waits_for_the_storage_and_blocks_nothing(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    local = LocalFolderStorage(tmp_path / "buckets")
    local.create_bucket(BUCKET)
    flaky = FlakyStorage(local)
    for server, _, _ in _serve(tmp_path, records, flaky):
        client = server.client()
        flaky.down.set()  # StartQuery cannot ask whether the bucket exists: accepted, delivered later
        query_id = client.start_query(QueryStatement=f"SELECT eventName FROM {EDS}",
                                      DeliveryS3Uri=f"s3://{BUCKET}/p")["QueryId"]
        assert _wait(client, query_id)["QueryStatus"] == "FINISHED"
        deadline = time.time() + 10
        while flaky.refused < 4 and time.time() < deadline:
            time.sleep(0.02)
        assert flaky.refused >= 4  # retried
        assert client.describe_query(QueryId=query_id)["DeliveryStatus"] == "PENDING"
        # Other queries run and finish meanwhile.
        other = client.start_query(QueryStatement=f"SELECT count(*) AS n FROM {EDS}")["QueryId"]
        assert _wait(client, other)["QueryStatus"] == "FINISHED"
        assert client.get_query_results(QueryId=other)["QueryResultRows"] == [[{"n": str(len(records))}]]
        flaky.down.clear()
        assert _delivered(client, query_id)["DeliveryStatus"] == "SUCCESS"
        folder = local.bucket_path(BUCKET) / ("p/" + _folder(ADMIN_ACCOUNT, time.time(), query_id))
        validate_results(client, lambda name: (folder / name).read_bytes())


def test_bucket_removed_before_delivery_is_resource_not_found(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    local = LocalFolderStorage(tmp_path / "buckets")
    local.create_bucket(BUCKET)
    flaky = FlakyStorage(local)
    for server, _, _ in _serve(tmp_path, records, flaky):
        client = server.client()
        query_id = client.start_query(QueryStatement=f"SELECT eventName FROM {EDS}",
                                      DeliveryS3Uri=f"s3://{BUCKET}")["QueryId"]
        flaky.down.set()
        assert _wait(client, query_id)["QueryStatus"] == "FINISHED"
        local.bucket_path(BUCKET).rmdir()
        flaky.down.clear()
        assert _delivered(client, query_id)["DeliveryStatus"] == "RESOURCE_NOT_FOUND"


def test_timed_out_and_cancelled_queries_are_not_delivered(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    for server, manager, storage in _serve(tmp_path, records, timeout_s=0.3):
        client = server.client()
        timed_out = client.start_query(QueryStatement=SLOW, DeliveryS3Uri=f"s3://{BUCKET}")["QueryId"]
        out = _wait(client, timed_out)
        assert (out["QueryStatus"], out["DeliveryStatus"]) == ("TIMED_OUT", "FAILED")
        manager.timeout_s = 3600
        cancelled = client.start_query(QueryStatement=SLOW, DeliveryS3Uri=f"s3://{BUCKET}")["QueryId"]
        _wait(client, cancelled, lambda d: d["QueryStatus"] == "RUNNING")
        client.cancel_query(QueryId=cancelled)
        out = _wait(client, cancelled)
        assert (out["QueryStatus"], out["DeliveryStatus"]) == ("CANCELLED", "CANCELLED")
        assert list(storage.bucket_path(BUCKET).rglob("*")) == []


def test_results_delivered_to_moto_s3(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    from tests.delivery.servers import Moto

    moto = Moto(tmp_path)
    try:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        storage = S3Storage(moto.url, client=s3)
        for server, _, _ in _serve(tmp_path, records, storage):
            client = server.client()
            query_id = client.start_query(
                QueryStatement=f"SELECT eventName, count(*) AS n FROM {EDS} GROUP BY eventName ORDER BY n DESC, eventName",
                DeliveryS3Uri=f"s3://{BUCKET}/exports")["QueryId"]
            assert _delivered(client, query_id)["DeliveryStatus"] == "SUCCESS"
            folder = "exports/" + _folder(ADMIN_ACCOUNT, time.time(), query_id)
            listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
            assert listed == [folder + "result_1.csv.gz", folder + "result_sign.json"]

            def read(name: str) -> bytes:
                return s3.get_object(Bucket=BUCKET, Key=folder + name)["Body"].read()

            validate_results(client, read)
            header, rows = _csv_rows([read("result_1.csv.gz")])
            counts = collections.Counter(r["eventName"] for r in records)
            assert header == ["eventName", "n"]
            assert rows == [[name, str(n)] for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            assert _error(client.start_query, QueryStatement=f"SELECT eventName FROM {EDS}",
                          DeliveryS3Uri="s3://missing-bucket")[0] == "S3BucketDoesNotExistException"
    finally:
        moto.stop()


# --- query result details -------------------------------------------------------------------

def test_statistics_error_message_and_results_while_running(srv: Any, records: list[dict[str, Any]]) -> None:
    server, _, _ = srv
    client = server.client()
    name = collections.Counter(r["eventName"] for r in records).most_common(1)[0][0]
    matched = sum(1 for r in records if r["eventName"] == name)
    query_id = client.start_query(QueryStatement=f"SELECT eventID FROM {EDS} WHERE eventName = '{name}'")["QueryId"]
    stats = _wait(client, query_id)["QueryStatistics"]
    assert (stats["EventsScanned"], stats["EventsMatched"]) == (len(records), matched)
    assert "DeliveryStatus" not in client.describe_query(QueryId=query_id)
    page = client.get_query_results(QueryId=query_id)
    assert page["QueryStatistics"]["TotalResultsCount"] == matched == page["QueryStatistics"]["ResultsCount"]
    # A GROUP BY matches the filtered events, whatever the number of groups.
    grouped = client.start_query(QueryStatement=f"SELECT eventName, count(*) FROM {EDS} WHERE readOnly GROUP BY 1")
    stats = _wait(client, grouped["QueryId"])["QueryStatistics"]
    assert stats["EventsMatched"] == sum(1 for r in records if r.get("readOnly") is True)

    # A runtime failure: FAILED with the ErrorMessage in DescribeQuery and GetQueryResults.
    failed = client.start_query(QueryStatement=f"SELECT CAST(eventName AS integer) FROM {EDS}")["QueryId"]
    out = _wait(client, failed)
    assert out["QueryStatus"] == "FAILED" and "Could not convert string" in out["ErrorMessage"]
    page = client.get_query_results(QueryId=failed)
    assert (page["QueryStatus"], page["QueryResultRows"], page["ErrorMessage"]) == ("FAILED", [], out["ErrorMessage"])

    # While RUNNING: no rows yet (AWS: results once the query finishes), the run time so far.
    # four-way: the three-way SLOW sometimes finished before the second look at it
    slow = client.start_query(QueryStatement=SLOW.replace(" WHERE", f" CROSS JOIN {EDS} d WHERE"))["QueryId"]
    _wait(client, slow, lambda d: d["QueryStatus"] == "RUNNING")
    time.sleep(0.3)
    running = client.describe_query(QueryId=slow)
    page = client.get_query_results(QueryId=slow)
    assert page["QueryStatus"] == "RUNNING" and page["QueryResultRows"] == [] and "NextToken" not in page
    assert page["QueryStatistics"]["ResultsCount"] == page["QueryStatistics"]["TotalResultsCount"] == 0
    assert running["QueryStatistics"]["ExecutionTimeInMillis"] >= 250
    client.cancel_query(QueryId=slow)
    _wait(client, slow)


def test_list_queries_filters_order_and_seven_day_expiry(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    clock = Clock()
    for server, manager, _ in _serve(tmp_path, records, clock=clock):
        client = server.client()
        ids = []
        for i in range(3):
            ids.append(client.start_query(QueryStatement=f"SELECT {i} AS n FROM {EDS} LIMIT 1")["QueryId"])
            _wait(client, ids[-1])
            clock.now += 3600
        failed = client.start_query(QueryStatement=f"SELECT CAST(eventName AS integer) FROM {EDS}")["QueryId"]
        _wait(client, failed)
        t0 = clock.now - 3 * 3600  # creation time of ids[0]
        listed = client.list_queries(EventDataStore=EDS)["Queries"]
        assert [q["QueryId"] for q in listed] == [failed, *reversed(ids)]  # newest first
        assert [q["CreationTime"].timestamp() for q in listed] == pytest.approx([t0 + 3 * 3600, t0 + 7200, t0 + 3600, t0])
        window = client.list_queries(EventDataStore=EDS, StartTime=datetime.fromtimestamp(t0 + 1800, timezone.utc),
                                     EndTime=datetime.fromtimestamp(t0 + 7200, timezone.utc))["Queries"]
        assert [q["QueryId"] for q in window] == [ids[2], ids[1]]
        only_failed = client.list_queries(EventDataStore=EDS, QueryStatus="FAILED")["Queries"]
        assert [(q["QueryId"], q["QueryStatus"]) for q in only_failed] == [(failed, "FAILED")]
        assert _error(client.list_queries, EventDataStore=EDS, QueryStatus="DONE")[0] == "ValidationException"
        assert _error(client.list_queries, EventDataStore=EDS, StartTime=datetime.fromtimestamp(t0 + 10, timezone.utc),
                      EndTime=datetime.fromtimestamp(t0, timezone.utc))[0] == "InvalidDateRangeException"

        # Results are kept 7 days after the query ended, then forgotten with their files.
        results = server.data_dir / "lake-results" / ids[0]
        assert results.is_dir()
        clock.now = t0 + KEEP_S - 1
        assert client.describe_query(QueryId=ids[0])["QueryStatus"] == "FINISHED"
        assert client.get_query_results(QueryId=ids[0])["QueryResultRows"] == [[{"n": "0"}]]
        clock.now = t0 + KEEP_S + 1
        assert _error(client.describe_query, QueryId=ids[0])[0] == "QueryIdNotFoundException"
        assert _error(client.get_query_results, QueryId=ids[0])[0] == "QueryIdNotFoundException"
        assert [q["QueryId"] for q in client.list_queries(EventDataStore=EDS)["Queries"]] == [failed, ids[2], ids[1]]
        assert manager.purge() == [ids[0]] and not results.exists()


def test_a_pending_delivery_resumes_after_a_restart(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    local = LocalFolderStorage(tmp_path / "buckets")
    local.create_bucket(BUCKET)
    flaky = FlakyStorage(local)
    flaky.down.set()
    for server, _, _ in _serve(tmp_path, records, flaky):
        client = server.client()
        query_id = client.start_query(QueryStatement=f"SELECT eventName FROM {EDS}",
                                      DeliveryS3Uri=f"s3://{BUCKET}")["QueryId"]
        out = _wait(client, query_id)
        assert (out["QueryStatus"], out["DeliveryStatus"]) == ("FINISHED", "PENDING")
    # The server stopped with the delivery pending; the next one delivers it.
    data_dir = tmp_path / "data"
    stores = FakeStores()
    stores.add(EDS)
    manager = QueryManager(data_dir / "lake", stores, data_dir / "lake-results", time.time, storage=local,
                           keys=KeyStore(data_dir / "keys", time.time))
    try:
        deadline = time.time() + 10
        while manager.describe(ADMIN_ACCOUNT, query_id).delivery_status == "PENDING" and time.time() < deadline:
            time.sleep(0.02)
        assert manager.describe(ADMIN_ACCOUNT, query_id).delivery_status == "SUCCESS"
        folder = local.bucket_path(BUCKET) / _folder(ADMIN_ACCOUNT, time.time(), query_id)
        assert sorted(p.name for p in folder.iterdir()) == ["result_1.csv.gz", "result_sign.json"]
    finally:
        manager.close()
