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
from typing import Any

import boto3
from botocore.config import Config

from opentrail.eventbridge.dispatch import DEFAULT_CONCURRENCY
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Opentrail
from tests.eventbridge.helpers import TAMPERING, Receiver, wait_for

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"


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

        # alarm state changes are on the bus too
        events = client(srv, "events")
        events.put_rule(Name="alarms", EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
        events.put_targets(Rule="alarms", Targets=[{"Id": "hook", "Arn": events.list_targets_by_rule(
            Rule="trail-tampering")["Targets"][0]["Arn"], "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/eb"}])
        cw = client(srv, "cloudwatch")
        cw.put_metric_alarm(AlarmName="root-use", Namespace="CIS", MetricName="RootUse", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
        cw.set_alarm_state(AlarmName="root-use", StateValue="ALARM", StateReason="test")
        assert wait_for(lambda: len(receiver.requests) >= 2, timeout=5), srv.log.read_text()
        alarm = json.loads(receiver.requests[1].body)
        assert (alarm["detail-type"], alarm["source"], alarm["detail"]["alarmName"], alarm["detail"]["state"]["value"]) \
            == ("CloudWatch Alarm State Change", "aws.cloudwatch", "root-use", "ALARM")
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
        n, clients = 0, {}
        while not stop.is_set():
            url = current[0].url
            if url not in clients:
                clients[url] = boto3.client("logs", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY_ID,
                                            aws_secret_access_key=SECRET, config=Config(
                                                retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
            try:
                clients[url].create_log_group(logGroupName=f"g-{n}")
            except Exception:
                time.sleep(0.05)  # the server is down (being killed or restarting), or the name was taken
                n += 1
                continue
            created.append(f"g-{n}")
            n += 1

    t = threading.Thread(target=produce)
    t.start()
    kills = 3
    try:
        for _ in range(kills):
            floor = len(receiver.requests) + 10
            assert wait_for(lambda: len(receiver.requests) >= floor, timeout=20), srv.log.read_text()
            srv.stop(signal.SIGKILL)
            srv = Opentrail(data)
            current[0] = srv
        floor = len(created) + 20
        assert wait_for(lambda: len(created) >= floor, timeout=20), (len(created), srv.log.read_text())
    finally:
        stop.set()
        t.join()
    try:
        def bodies() -> list[Any]:
            return receiver.bodies()

        def names() -> set[str]:
            return {b["detail"]["requestParameters"]["logGroupName"] for b in bodies()}

        assert wait_for(lambda: set(created) <= names(), timeout=20), srv.log.read_text()
        ids = Counter(b["id"] for b in bodies())
        repeats = sum(c - 1 for c in ids.values())
        assert repeats <= kills * DEFAULT_CONCURRENCY, ids.most_common(5)  # at most the requests under way
        by_event = {b["id"]: b["detail"]["eventID"] for b in bodies()}
        assert len(set(by_event.values())) == len(ids)  # a repeat carries the same envelope id
    finally:
        srv.stop()
