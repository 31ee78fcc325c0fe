"""Lake imports through `opentrail serve` (a real process): from moto's S3 server, and resumed
after kill -9 with every event in the store exactly once."""

from __future__ import annotations

import gzip
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.servers import Moto, Opentrail

from .test_imports import ALL, REGION, ROLE, TRAIL_DAY, dataset_files

pytestmark = pytest.mark.slow


def _source(uri: str) -> dict[str, Any]:
    return {"S3": {"S3LocationUri": uri, "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}}


def _wait(ct: Any, import_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (got := ct.get_import(ImportId=import_id))["ImportStatus"] in ("INITIALIZING", "IN_PROGRESS"):
        assert time.monotonic() < deadline, got
        time.sleep(0.05)
    return got


def _counts(ct: Any, eds_id: str) -> tuple[int, int]:
    query_id = ct.start_query(QueryStatement=f"SELECT count(*), count(DISTINCT eventid) FROM {eds_id} "
                                          # the store also receives the server's own API calls
                                          "WHERE recipientaccountid <> '111122223333'")["QueryId"]
    deadline = time.monotonic() + 60
    while ct.describe_query(QueryId=query_id)["QueryStatus"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [[n, d]] = ct.get_query_results(QueryId=query_id)["QueryResultRows"]
    return int(n["_col0"]), int(d["_col1"])


def test_import_from_moto_s3(tmp_path: Path) -> None:
    moto = Moto(tmp_path)
    srv = None
    try:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="org-trail")
        for f in dataset_files():
            s3.put_object(Bucket="org-trail", Key=f"AWSLogs/o-abcdef1234/{TRAIL_DAY.removeprefix('AWSLogs/')}{f.name}.gz",
                          Body=gzip.compress(f.read_bytes()))
        s3.put_object(Bucket="org-trail", Key="AWSLogs/o-abcdef1234/218007301253/CloudTrail-Insight/x.json.gz",
                      Body=b"skipped")
        srv = Opentrail(tmp_path / "data", "--s3-endpoint-url", moto.url)
        ct = srv.cloudtrail()
        arn = ct.create_event_data_store(Name="org", RetentionPeriod=3653)["EventDataStoreArn"]
        done = _wait(ct, ct.start_import(Destinations=[arn], ImportSource=_source("s3://org-trail"))["ImportId"])
        assert (done["ImportStatus"], done["ImportStatistics"]) == ("COMPLETED", ALL)
        assert _counts(ct, arn.rsplit("/", 1)[1]) == (2900, 2900)
    finally:
        if srv is not None:
            srv.stop()
        moto.stop()


COPIES = 40


def test_kill_9_mid_import_then_restart_imports_every_event_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    day = data / "buckets" / "big" / TRAIL_DAY
    day.mkdir(parents=True)
    total = 0
    for f in dataset_files():
        doc = json.loads(f.read_bytes())
        for k in range(COPIES):
            for r in doc["Records"]:
                r["eventID"] = f"{k:04d}" + r["eventID"][4:]
            (day / f"{f.stem}_{k}.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode(), 1))
            total += len(doc["Records"])
    srv = Opentrail(data)
    try:
        ct = srv.cloudtrail()
        arn = ct.create_event_data_store(Name="big", RetentionPeriod=3653)["EventDataStoreArn"]
        import_id = ct.start_import(Destinations=[arn], ImportSource=_source("s3://big"))["ImportId"]
        deadline = time.monotonic() + 60
        while (got := ct.get_import(ImportId=import_id))["ImportStatistics"]["FilesCompleted"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        srv.stop(signal.SIGKILL)
        assert got["ImportStatus"] == "IN_PROGRESS", got
        assert got["ImportStatistics"]["FilesCompleted"] < 55 * COPIES
        srv = Opentrail(data)  # resumes by itself
        ct = srv.cloudtrail()
        done = _wait(ct, import_id)
        assert done["ImportStatus"] == "COMPLETED"
        assert done["ImportStatistics"] == {"PrefixesFound": 1, "PrefixesCompleted": 1, "FilesCompleted": 55 * COPIES,
                                            "EventsCompleted": total, "FailedEntries": 0}
        assert _counts(ct, arn.rsplit("/", 1)[1]) == (total, total)
    finally:
        srv.stop()
