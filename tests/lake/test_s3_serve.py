"""CloudTrail Lake on S3 end to end: `opentrail serve --lake-storage-url s3://bucket/prefix` (a real
process) against moto's S3 server, driven by boto3. The store's files are objects in the documented
layout, StartQuery/GetQueryResults answer over them, and after a restart with the local cache
deleted the same query gives the same rows (the files come back from S3). A missing bucket is
refused at start in one line."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from tests.lake.test_e2e_serve import use_server_credentials
from tests.serving import free_port, moto_server
from tests.test_e2e_cli import Server

BUCKET = "lake-bucket"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _client(srv: Server) -> Any:
    session = boto3.Session(profile_name="opentrail", region_name="us-east-1")
    return session.client("cloudtrail", endpoint_url=srv.url,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def _query(ct: Any, statement: str) -> list[list[dict[str, str]]]:
    query_id = ct.start_query(QueryStatement=statement)["QueryId"]
    deadline = time.time() + 30
    while (described := ct.describe_query(QueryId=query_id))["QueryStatus"] in ("QUEUED", "RUNNING"):
        assert time.time() < deadline, "query did not finish"
        time.sleep(0.05)
    assert described["QueryStatus"] == "FINISHED", described
    return ct.get_query_results(QueryId=query_id)["QueryResultRows"]


def _cached(data: Path) -> list[str]:
    """The complete copies in the cache (a copy being written or downloaded starts with ``.``)."""
    cache = data / "lake-cache"
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.parquet") if not p.name.startswith("."))


def _serve(data: Path, moto: str) -> Server:
    return Server(data, S3_ENV, "--lake-storage-url", f"s3://{BUCKET}/cloudtrail-lake", "--s3-endpoint-url", moto,
                  "--lake-ingest-interval-s", "0.2", "--event-history-retention-days", "0")


def test_a_store_on_s3_answers_queries_and_again_after_a_restart_with_an_empty_cache(
        tmp_path: Path, moto: str, monkeypatch: Any) -> None:
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    data = tmp_path / "data"
    srv = _serve(data, moto)
    try:
        use_server_credentials(monkeypatch, data, tmp_path)
        ct = _client(srv)
        eds_id = ct.create_event_data_store(Name="sec", RetentionPeriod=365)["EventDataStoreArn"].rsplit("/", 1)[1]
        for _ in range(3):
            ct.lookup_events(MaxResults=1)
        ct.describe_trails()
        ct.describe_trails()
        counts = (f"SELECT eventName, count(*) AS n FROM {eds_id} WHERE eventName IN "
                  "('LookupEvents', 'DescribeTrails', 'CreateEventDataStore') GROUP BY eventName ORDER BY eventName")
        expected = [[{"eventName": "DescribeTrails"}, {"n": "2"}], [{"eventName": "LookupEvents"}, {"n": "3"}]]
        deadline = time.time() + 30
        while (rows := _query(ct, counts)) != expected:
            assert time.time() < deadline, rows
            time.sleep(0.2)
    finally:
        srv.stop()
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    # every object is a file of the store in the documented layout (day = the calls' UTC day)
    days = {dt.datetime.now(dt.timezone.utc).date(), (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).date()}
    folders = {f"cloudtrail-lake/{eds_id}/{d:%Y/%m/%d}/" for d in days}
    assert keys and all(k[:k.rindex("/") + 1] in folders and re.fullmatch(r"\d+-\d+(\.v\d+)?\.parquet", k.rsplit("/", 1)[1])
                        for k in keys), keys
    assert not (data / "lake").exists()  # nothing goes to the folder lake
    cached = _cached(data)
    assert cached == [k.removeprefix("cloudtrail-lake/") for k in keys]  # the writer's copies

    shutil.rmtree(data / "lake-cache")
    srv = _serve(data, moto)
    try:
        ct = _client(srv)
        assert _query(ct, counts) == expected
        cached = _cached(data)
        now_keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
        assert cached and set(cached) <= {k.removeprefix("cloudtrail-lake/") for k in now_keys}
    finally:
        srv.stop()


def test_a_lake_bucket_that_does_not_exist_is_refused_at_start(tmp_path: Path, moto: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "opentrail.cli", "serve", "--port", str(free_port()),
                           "--data-dir", str(tmp_path / "data"), "--lake-storage-url", "s3://no-such-lake/x",
                           "--s3-endpoint-url", moto], env={**os.environ, **S3_ENV}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    # (botocore logs where it found credentials first, at the default log level info)
    assert (proc.stdout + proc.stderr).splitlines()[-1] == (
        f"Error: --lake-storage-url s3://no-such-lake/x/: the bucket no-such-lake does not exist at {moto}; create it first")
    assert not (tmp_path / "data" / "lake-cache").exists()
