"""`opentrail serve` on a data directory that fills up for real (a 16 MiB tmpfs): the ingest endpoint
and the CloudTrail API answer HTTP 503 ServiceUnavailable naming the filesystem (botocore retries
it by itself), health says "degraded"; once space is freed the same server takes events and calls
again, and every acknowledged event is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.client.ingest import IngestClient, IngestError
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Opentrail
from tests.small_fs import fill, small_filesystem


def record(n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.11", "eventTime": f"2024-05-01T10:{n // 3600 % 60:02d}:{n % 60:02d}Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "DiskFullTest", "awsRegion": "us-east-1",
        "eventID": f"00000000-0000-4000-8000-{n:012d}", "eventType": "AwsApiCall", "readOnly": False,
        "managementEvent": True, "eventCategory": "Management", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": "alice"},
        "requestParameters": {"padding": f"{n:x}" * 200},
    }


def cloudtrail(server: Opentrail, config: Config) -> Any:
    return boto3.client("cloudtrail", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, config=config)


def health(server: Opentrail) -> tuple[str, bool]:
    body = httpx.get(server.url + "/_opentrail/health").json()
    assert set(body) == {"status", "dataDirectory"} and set(body["dataDirectory"]) == {"freeBytes", "full"}
    return body["status"], body["dataDirectory"]["full"]


def test_full_data_directory_answers_503_and_recovers_without_restart(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "data", "16m") as data_dir:
        (data_dir / "buckets" / "trail-bucket").mkdir(parents=True)
        server = Opentrail(data_dir, "--min-free-bytes", str(1024 * 1024))
        try:
            _full_then_freed(server, data_dir)
        finally:
            server.stop()
        log = server.log.read_text()
    assert "Traceback" not in log, log
    assert "ingest refused (request " in log and "ServiceUnavailable: The data directory is full" in log


def _full_then_freed(server: Opentrail, data_dir: Path) -> None:
    message = f"The data directory is full: free space on {data_dir} and retry."
    once = cloudtrail(server, Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    ingest = IngestClient(server.url, KEY_ID, SECRET)
    acked: list[int] = []
    n = 0

    def send(batch_size: int = 20) -> None:
        nonlocal n
        records = [record(n + i) for i in range(batch_size)]
        n += batch_size
        out = ingest.send(records)
        assert (out["accepted"], out["duplicates"], out["rejected"]) == (batch_size, 0, [])
        acked.extend(range(n - batch_size, n))

    for _ in range(3):
        send()
    assert health(server) == ("ok", False)

    ballast = fill(data_dir)
    refused = 0
    while refused < 3:  # the logs' WAL files may take a few more batches in pages they have
        try:
            send()
        except IngestError as exc:
            assert (exc.status, exc.code, exc.message) == (503, "ServiceUnavailable", message)
            refused += 1
        assert n < 5000, "the data directory never filled up"
    assert health(server) == ("degraded", True)

    with pytest.raises(ClientError) as info:
        once.create_trail(Name="full", S3BucketName="trail-bucket")
    err = info.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ServiceUnavailable", message, 503)
    # botocore treats the 503 as transient and retries by itself
    retrying = cloudtrail(server, Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    with pytest.raises(ClientError) as info:
        retrying.create_trail(Name="full", S3BucketName="trail-bucket")
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert str(info.value) == f"An error occurred (ServiceUnavailable) when calling the CreateTrail operation (reached max retries: 2): {message}"
    assert once.lookup_events(MaxResults=1)["Events"]  # reads go on

    ballast.unlink()  # no restart from here on
    send()
    assert once.create_trail(Name="full", S3BucketName="trail-bucket")["Name"] == "full"
    assert health(server) == ("ok", False)
    found = [e["EventId"] for page in once.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DiskFullTest"}]) for e in page["Events"]]
    assert len(found) == len(set(found))
    assert {f"00000000-0000-4000-8000-{i:012d}" for i in acked} <= set(found)  # every acknowledged event
