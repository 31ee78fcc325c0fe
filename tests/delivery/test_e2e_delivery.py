"""Delivery end to end: ``opentrail serve`` processes, boto3, moto's server for S3/SNS/SQS, DuckDB."""

from __future__ import annotations

import gzip
import json
import signal
import threading
from datetime import timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import orjson
import pytest

from opentrail.client.ingest import IngestClient

from .conftest import AWS_KEY, SIEM_KEY, record
from .servers import ACCOUNT, KEY_ID, SECRET, HangingEndpoint, Moto, Opentrail, wait_for

BUCKET = "trail-bucket"


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    m = Moto(tmp_path)
    yield m
    m.stop()


def s3_records(moto: Moto, bucket: str = BUCKET) -> tuple[list[str], list[dict[str, Any]]]:
    s3 = moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    recs = [r for k in keys for r in orjson.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))["Records"]]
    return keys, recs


def test_boto3_trail_delivers_to_s3_and_notifies_sns(moto: Moto, tmp_path: Path) -> None:
    s3, sns, sqs = moto.client("s3"), moto.client("sns"), moto.client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    topic = sns.create_topic(Name="trail-topic")["TopicArn"]
    queue = sqs.create_queue(QueueName="trail-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    srv = Opentrail(tmp_path / "data", "--s3-endpoint-url", moto.url, "--sns-endpoint-url", moto.url,
                    "--delivery-interval-s", "0.5")
    try:
        ct = srv.cloudtrail()
        ct.create_trail(Name="main-trail", S3BucketName=BUCKET, S3KeyPrefix="audit", SnsTopicName=topic)  # moto's topics live in its own account
        ct.start_logging(Name="main-trail")
        recs = [record(account=ACCOUNT) for _ in range(5)]
        out = IngestClient(srv.url, KEY_ID, SECRET).send(recs)
        assert out["accepted"] == 5
        # CreateTrail and StartLogging are recorded too: wait for our five
        ids = {r["eventID"] for r in recs}
        got = wait_for(lambda: ids <= {r["eventID"] for r in s3_records(moto)[1]}, timeout=10)
        assert got, srv.log.read_text()
        keys, delivered = s3_records(moto)
        assert all(SIEM_KEY.fullmatch(k) and AWS_KEY.fullmatch(k) and k.startswith(f"audit/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/") for k in keys)
        assert len(delivered) == len({r["eventID"] for r in delivered})
        assert [r for r in delivered if r["eventID"] in ids] == recs
        status = ct.get_trail_status(Name="main-trail")
        assert status["IsLogging"] is True
        # LatestDeliveryAttemptTime is a string in the model; LatestDeliveryTime a timestamp
        delivered_at = status["LatestDeliveryTime"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert status["LatestDeliveryAttemptTime"] == delivered_at
        assert status["LatestDeliveryAttemptSucceeded"] == delivered_at
        assert "LatestDeliveryError" not in status
        messages: list[dict[str, Any]] = []

        def drain() -> bool:
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                messages.append(json.loads(json.loads(m["Body"])["Message"]))
            return {k for m in messages for k in m["s3ObjectKey"]} == set(s3_records(moto)[0])

        assert wait_for(drain, timeout=10)
        assert all(m == {"s3Bucket": BUCKET, "s3ObjectKey": [m["s3ObjectKey"][0]]} for m in messages)
        assert "LatestNotificationError" not in ct.get_trail_status(Name="main-trail")
    finally:
        srv.stop()


def test_destination_down_then_back_delivers_everything_once(moto: Moto, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    srv = Opentrail(tmp_path / "data", "--s3-endpoint-url", moto.url, "--delivery-interval-s", "0.3")
    try:
        ct = srv.cloudtrail()
        ct.create_trail(Name="main-trail", S3BucketName=BUCKET)
        ct.start_logging(Name="main-trail")
        moto.stop()
        client = IngestClient(srv.url, KEY_ID, SECRET)
        recs = [record(account=ACCOUNT) for _ in range(300)]
        for i in range(0, 300, 100):
            assert client.send(recs[i:i + 100])["accepted"] == 100
        assert wait_for(lambda: ct.get_trail_status(Name="main-trail").get("LatestDeliveryError") == "ServiceUnavailable")
        status = ct.get_trail_status(Name="main-trail")
        assert "LatestDeliveryTime" not in status and "LatestDeliveryAttemptTime" in status
        back = Moto(tmp_path, moto.port)  # moto keeps nothing: the user recreates the bucket
        try:
            back.client("s3").create_bucket(Bucket=BUCKET)
            ids = {r["eventID"] for r in recs}
            assert wait_for(lambda: ids <= {r["eventID"] for r in s3_records(back)[1]}, timeout=25)
            delivered = [r["eventID"] for r in s3_records(back)[1]]
            assert len(delivered) == len(set(delivered))
            assert "LatestDeliveryError" not in ct.get_trail_status(Name="main-trail")
        finally:
            back.stop()
    finally:
        srv.stop()


def test_hanging_destination_times_out_is_reported_then_delivers_everything_once(moto: Moto, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    endpoint = HangingEndpoint(moto.port)
    srv = Opentrail(tmp_path / "data", "--s3-endpoint-url", endpoint.url, "--delivery-interval-s", "0.3",
                    "--destination-connect-timeout-s", "1", "--destination-read-timeout-s", "0.5")
    try:
        ct = srv.cloudtrail()
        ct.create_trail(Name="main-trail", S3BucketName=BUCKET)  # the bucket check goes through to moto
        ct.start_logging(Name="main-trail")
        endpoint.hang()  # from now on the destination takes connections and never answers
        client = IngestClient(srv.url, KEY_ID, SECRET)
        recs = [record(account=ACCOUNT) for _ in range(300)]
        for i in range(0, 300, 100):
            assert client.send(recs[i:i + 100])["accepted"] == 100
        assert wait_for(lambda: ct.get_trail_status(Name="main-trail").get("LatestDeliveryError") == "RequestTimeout",
                        timeout=15), srv.log.read_text()
        assert endpoint.held >= 2  # the first attempt and botocore's retry
        status = ct.get_trail_status(Name="main-trail")
        assert status["LatestDeliveryAttemptTime"] != status.get("LatestDeliveryAttemptSucceeded")
        assert "Read timeout on endpoint URL" in srv.log.read_text()
        endpoint.answer()  # the destination answers again (through to moto)
        ids = {r["eventID"] for r in recs}
        assert wait_for(lambda: ids <= {r["eventID"] for r in s3_records(moto)[1]}, timeout=25), srv.log.read_text()
        delivered = [r["eventID"] for r in s3_records(moto)[1]]
        assert len(delivered) == len(set(delivered))
        assert wait_for(lambda: "LatestDeliveryError" not in ct.get_trail_status(Name="main-trail"))
    finally:
        srv.stop()
        endpoint.close()


def _duckdb_event_ids(bucket_dir: Path) -> list[str]:
    files = sorted(bucket_dir.glob("AWSLogs/**/*.json.gz"))
    if not files:
        return []
    rows = duckdb.sql(
        f"SELECT CAST(r.eventID AS VARCHAR) FROM (SELECT unnest(Records) AS r FROM read_json('{bucket_dir}/AWSLogs/**/*.json.gz', "
        "format='auto', union_by_name=true))").fetchall()
    return [row[0] for row in rows]


def test_kill_9_while_ingesting_and_delivering_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bucket_dir = data / "buckets" / BUCKET
    bucket_dir.mkdir(parents=True)
    srv = Opentrail(data, "--delivery-interval-s", "0.2")
    ct = srv.cloudtrail()
    ct.create_trail(Name="main-trail", S3BucketName=BUCKET)
    ct.start_logging(Name="main-trail")
    acked: list[str] = []
    unselected: list[str] = []
    stop = threading.Event()

    def produce(url: str) -> None:
        client = IngestClient(url, KEY_ID, SECRET, timeout_s=10)
        while not stop.is_set():
            batch = [record(account=ACCOUNT) for _ in range(50)] + [record(account=ACCOUNT, region="eu-west-1")]
            try:
                client.send(batch)
            except Exception:
                return
            acked.extend(r["eventID"] for r in batch[:-1])
            unselected.append(batch[-1]["eventID"])

    t = threading.Thread(target=produce, args=(srv.url,))
    t.start()
    assert wait_for(lambda: len(_duckdb_event_ids(bucket_dir)) > 500 and len(acked) > 2000, timeout=20)
    srv.stop(signal.SIGKILL)
    stop.set()
    t.join()
    srv2 = Opentrail(data, "--delivery-interval-s", "0.2")
    try:
        ct2 = srv2.cloudtrail()
        ct2.stop_logging(Name="main-trail")  # the server's own calls after this are not delivered
        target = set(acked)
        assert wait_for(lambda: target <= set(_duckdb_event_ids(bucket_dir)), timeout=20)
        ids = _duckdb_event_ids(bucket_dir)
        assert len(ids) == len(set(ids))
        assert not set(unselected) & set(ids)
        keys = [str(p.relative_to(bucket_dir)) for p in bucket_dir.glob("AWSLogs/**/*.json.gz")]
        assert keys and all(SIEM_KEY.fullmatch(k) and AWS_KEY.fullmatch(k) for k in keys)
    finally:
        srv2.stop()
