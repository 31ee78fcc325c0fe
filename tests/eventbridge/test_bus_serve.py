"""End to end through ``opentrail serve`` and boto3: a trail-tampering rule with an API destination on
a local receiver and an SQS queue on moto's server; a StopLogging call reaches both. Then kill -9
while events flow: every matched event reaches the webhook at least once, repeated only when its
request was under way at a kill."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.eventbridge.dispatch import DEFAULT_CONCURRENCY
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Opentrail
from tests.eventbridge.helpers import TAMPERING, Receiver, start_receiver, wait_for
from tests.serving import free_port

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.close()


def client(srv: Opentrail, service: str) -> Any:
    return boto3.client(service, endpoint_url=srv.url, region_name=REGION, aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def hook_rule(srv: Opentrail, receiver: Receiver, queue_arn: str | None = None, pattern: str = TAMPERING) -> None:
    events = client(srv, "events")
    conn = events.create_connection(Name="hook-auth", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k-secret"}})["ConnectionArn"]
    dest = events.create_api_destination(Name="hook", ConnectionArn=conn, InvocationEndpoint=receiver.url + "/hook",
                                         HttpMethod="POST")["ApiDestinationArn"]
    events.put_rule(Name="trail-tampering", EventPattern=pattern)
    targets = [{"Id": "hook", "Arn": dest, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/eb"}]
    if queue_arn:
        targets.append({"Id": "queue", "Arn": queue_arn})
    assert events.put_targets(Rule="trail-tampering", Targets=targets)["FailedEntryCount"] == 0


def test_stop_logging_reaches_the_webhook_within_a_second_and_the_queue(tmp_path: Path, moto_url: str,
                                                                        receiver: Receiver) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    queue = sqs.create_queue(QueueName="tampering")["QueueUrl"]
    (tmp_path / "data" / "buckets" / "trail-bucket").mkdir(parents=True)
    srv = Opentrail(tmp_path / "data", "--sqs-endpoint-url", moto_url)
    try:
        hook_rule(srv, receiver, f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:tampering")
        ct = srv.cloudtrail()
        ct.create_trail(Name="main", S3BucketName="trail-bucket")
        ct.start_logging(Name="main")
        called = time.time()
        ct.stop_logging(Name="main")
        assert wait_for(lambda: len(receiver.requests) >= 1, timeout=5), srv.log.read_text()
        (got,) = receiver.requests
        assert got.at - called <= 1.0
        event = json.loads(got.body)
        assert (event["source"], event["detail-type"], event["account"], event["region"]) == (
            "aws.cloudtrail", "AWS API Call via CloudTrail", ACCOUNT, REGION)
        assert (event["detail"]["eventName"], event["detail"]["requestParameters"]) == ("StopLogging", {"name": "main"})
        assert got.headers["x-api-key"] == "k-secret"
        assert got.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"

        def queued() -> list[Any]:
            return sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])

        messages: list[Any] = []
        assert wait_for(lambda: bool(messages.extend(queued()) or messages), timeout=5)
        assert [json.loads(m["Body"]) for m in messages] == [event]
    finally:
        srv.stop()


def test_kill_9_while_events_flow_loses_nothing_and_repeats_little(tmp_path: Path, receiver: Receiver) -> None:
    data = tmp_path / "data"
    srv = Opentrail(data)
    hook_rule(srv, receiver, pattern=json.dumps({"source": ["aws.logs"], "detail": {"eventName": ["CreateLogGroup"]}}))
    created: list[str] = []
    stop = threading.Event()
    current = [srv]

    def produce() -> None:
        n = 0
        while not stop.is_set():
            try:
                client(current[0], "logs").create_log_group(logGroupName=f"g-{n}")
                created.append(f"g-{n}")
                n += 1
            except Exception:
                time.sleep(0.05)  # the server is down (being killed or restarting)

    t = threading.Thread(target=produce)
    t.start()
    kills = 3
    try:
        for _ in range(kills):
            assert wait_for(lambda: len(receiver.requests) >= 5 + len(created) // 2, timeout=20), srv.log.read_text()
            srv.stop(signal.SIGKILL)
            srv = Opentrail(data)
            current[0] = srv
        assert wait_for(lambda: len(created) > 60, timeout=20)
    finally:
        stop.set()
        t.join()
    try:
        def names() -> Counter[str]:
            return Counter(b["detail"]["requestParameters"]["logGroupName"] for b in receiver.bodies())

        assert wait_for(lambda: set(created) <= set(names()), timeout=20), srv.log.read_text()
        counts = names()
        repeats = sum(c - 1 for c in counts.values())
        assert repeats <= kills * DEFAULT_CONCURRENCY, counts.most_common(5)  # at most the requests under way
        ids = Counter(b["id"] for b in receiver.bodies())
        assert len(ids) == len(counts)  # one envelope id per event: repeats carry the same id
    finally:
        srv.stop()
