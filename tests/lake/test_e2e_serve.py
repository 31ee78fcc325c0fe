"""CloudTrail Lake end to end through `opentrail serve` (a real process) and boto3: a new event data
store receives the calls made after it was created, and StartQuery / DescribeQuery /
GetQueryResults answer Lake's SQL over them with rows in AWS's shape."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.test_e2e_cli import Server


def _client(srv: Server) -> Any:
    session = boto3.Session(profile_name="opentrail", region_name="us-east-1")
    return session.client("cloudtrail", endpoint_url=srv.url,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def use_server_credentials(monkeypatch: Any, data: Path, tmp_path: Path) -> None:
    """boto3 in this test uses the credentials file `opentrail serve` wrote into ``data`` (and no
    AWS_* variable or config file of the machine)."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(data / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def _query(ct: Any, statement: str) -> list[list[dict[str, str]]]:
    query_id = ct.start_query(QueryStatement=statement)["QueryId"]
    deadline = time.time() + 30
    while True:
        status = ct.describe_query(QueryId=query_id)["QueryStatus"]
        if status not in ("QUEUED", "RUNNING"):
            break
        assert time.time() < deadline, "query did not finish"
        time.sleep(0.05)
    assert status == "FINISHED", ct.describe_query(QueryId=query_id)
    return ct.get_query_results(QueryId=query_id)["QueryResultRows"]


def test_a_new_store_receives_later_calls_and_answers_sql(tmp_path: Path, monkeypatch: Any) -> None:
    data = tmp_path / "data"
    srv = Server(data, None, "--lake-ingest-interval-s", "0.2")
    try:
        use_server_credentials(monkeypatch, data, tmp_path)
        ct = _client(srv)
        ct.describe_trails()  # before the store: not in it
        created = ct.create_event_data_store(Name="sec", RetentionPeriod=365)
        eds_id = created["EventDataStoreArn"].rsplit("/", 1)[1]
        account = created["EventDataStoreArn"].split(":")[4]
        for _ in range(3):
            ct.lookup_events(MaxResults=1)
        ct.describe_trails()
        ct.describe_trails()
        try:
            ct.get_trail_status(Name="no-such-trail")
        except ct.exceptions.TrailNotFoundException:
            pass
        counts = (f"SELECT eventName, count(*) AS n FROM {eds_id} WHERE eventName IN "
                  "('LookupEvents', 'DescribeTrails', 'GetTrailStatus', 'CreateEventDataStore') "
                  "GROUP BY eventName ORDER BY eventName")
        expected = [[{"eventName": "DescribeTrails"}, {"n": "2"}], [{"eventName": "GetTrailStatus"}, {"n": "1"}],
                    [{"eventName": "LookupEvents"}, {"n": "3"}]]
        deadline = time.time() + 30
        while (rows := _query(ct, counts)) != expected:
            assert time.time() < deadline, rows
            time.sleep(0.2)
        assert _query(ct, f"SELECT eventName, errorCode, useridentity.accountid FROM {eds_id} "
                          "WHERE errorCode IS NOT NULL") == [
            [{"eventName": "GetTrailStatus"}, {"errorCode": "TrailNotFoundException"}, {"accountid": account}]]
    finally:
        srv.stop()


def test_sigterm_on_the_embedded_default_writes_the_open_batches_before_exiting(tmp_path: Path,
                                                                                 monkeypatch: Any) -> None:
    """uvicorn stops on SIGTERM and raises the signal again: the server's cleanup still runs (exit
    status 143, server.json removed), so the Lake ingestion's open batch (held for an hour here)
    is written as the store's file before the process ends."""
    import signal

    import pyarrow.parquet as pq

    data = tmp_path / "data"
    srv = Server(data, None, "--lake-ingest-interval-s", "3600")
    try:
        use_server_credentials(monkeypatch, data, tmp_path)
        ct = _client(srv)
        eds_id = ct.create_event_data_store(Name="sec", RetentionPeriod=365)["EventDataStoreArn"].rsplit("/", 1)[1]
        ct.describe_trails()
        ct.describe_trails()
        time.sleep(1.0)  # the ingestion routes them into its open batch (it polls every 0.1 s)
    finally:
        srv.stop(signal.SIGTERM)
    assert srv.proc.returncode == 143
    assert not (data / "server.json").exists()
    names = [n for f in sorted((data / "lake" / eds_id).rglob("*.parquet"))
             for n in pq.read_table(f, columns=["eventname"]).column("eventname").to_pylist()]
    assert names.count("DescribeTrails") == 2, names
