"""``opentrail serve`` killed with SIGKILL while events are ingested and sent to a trail's log group,
then restarted: every acknowledged event of the trail is in the log group exactly once (boto3 for
CloudTrail and CloudWatch Logs, the ingest client as the producer)."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import orjson
from botocore.config import Config

from opentrail.client.ingest import IngestClient
from tests.delivery.conftest import record
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Opentrail, wait_for

BUCKET = "trail-bucket"
GROUP = "trail-events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"


def logs_client(srv: Opentrail) -> Any:
    return boto3.client("logs", endpoint_url=srv.url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def group_event_ids(srv: Opentrail) -> list[str]:
    pages = logs_client(srv).get_paginator("filter_log_events").paginate(logGroupName=GROUP)
    return [orjson.loads(e["message"])["eventID"] for page in pages for e in page["events"]]


def test_kill_9_while_sending_to_a_log_group_loses_and_repeats_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "buckets" / BUCKET).mkdir(parents=True)
    srv = Opentrail(data, "--delivery-interval-s", "0.2")
    logs_client(srv).create_log_group(logGroupName=GROUP)
    group_arn = logs_client(srv).describe_log_groups()["logGroups"][0]["arn"]
    ct = srv.cloudtrail()
    ct.create_trail(Name="main-trail", S3BucketName=BUCKET, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=ROLE)
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
    assert wait_for(lambda: len(group_event_ids(srv)) > 500 and len(acked) > 2000, timeout=30), srv.log.read_text()
    srv.stop(signal.SIGKILL)
    stop.set()
    t.join()
    srv2 = Opentrail(data, "--delivery-interval-s", "0.2")
    try:
        srv2.cloudtrail().stop_logging(Name="main-trail")
        target = set(acked)
        assert wait_for(lambda: target <= set(group_event_ids(srv2)), timeout=30), srv2.log.read_text()
        counts = Counter(group_event_ids(srv2))
        assert max(counts.values()) == 1
        assert not set(unselected) & set(counts)
        status = srv2.cloudtrail().get_trail_status(Name="main-trail")
        assert "LatestCloudWatchLogsDeliveryTime" in status and "LatestCloudWatchLogsDeliveryError" not in status
    finally:
        srv2.stop()
