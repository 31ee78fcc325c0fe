"""Alarm latency benchmark: PutMetricData -> alarm in ALARM -> SNS message published, with Period 10.

    python3 bench/bench_alarms.py [--runs 20] [--period 10]

Real processes and the real clock: ``opentrail serve`` (a fresh data directory,
``--sns-endpoint-url`` pointing at moto) and moto's server (SNS and SQS) on free ports. One topic
with an SQS queue subscribed; ``--runs`` metric alarms (Period ``--period``, EvaluationPeriods 1,
Sum >= 1, the topic as AlarmActions), one metric each. Each run waits a random 0-``period`` s (so the
put lands anywhere in its period, as a root call would), puts one high-resolution data point
(StorageResolution 1, Timestamp now) through boto3 and polls the queue every 50 ms until its alarm's
message arrives. Per run:

- *evaluated*: the message's StateChangeTime (when the alarm went to ALARM) minus the time the put
  returned;
- *published*: the time the message was read from SQS minus the time the put returned (SNS publish
  + SQS delivery + at most 50 ms of polling on top).

The floor is the rest of the period: CloudWatch (and opentrail) evaluate whole periods, so a point
put at the start of a 10 s period is decided about 10 s later. Prints p50 / p99 / max of both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import free_port, wait_http  # noqa: E402
from bench.timing import percentile  # noqa: E402

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILBENCH01"
SECRET = "bench/bench/bench/bench/bench/bench/bench1"
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--period", type=int, default=10)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-alarms-"))
    moto_port, port = free_port(), free_port()
    moto_url, url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{port}"
    env = {**os.environ, **MOTO_ENV}
    logs = (tmp / "moto.log").open("w"), (tmp / "opentrail.log").open("w")
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(moto_port)], env=env,
                            stdout=logs[0], stderr=subprocess.STDOUT)
    server = None
    try:
        wait_http(moto_url + "/moto-api/", moto)
        server = subprocess.Popen(
            [sys.executable, "-m", "opentrail.cli", "serve", "--data-dir", str(tmp / "data"), "--port", str(port),
             "--sns-endpoint-url", moto_url],
            env={**env, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
                 "OPENTRAIL_SECRET_ACCESS_KEY": SECRET},
            stdout=logs[1], stderr=subprocess.STDOUT)
        wait_http(url + "/_opentrail/health", server)
        sns = boto3.client("sns", endpoint_url=moto_url, **_creds(MOTO_ENV))
        sqs = boto3.client("sqs", endpoint_url=moto_url, **_creds(MOTO_ENV))
        topic = sns.create_topic(Name="alarms")["TopicArn"]
        queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        cw = boto3.client("cloudwatch", endpoint_url=url,
                          **_creds({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                                    "AWS_DEFAULT_REGION": "us-east-1"}))
        for i in range(args.runs):
            cw.put_metric_alarm(AlarmName=f"bench-{i}", Namespace="Bench", MetricName=f"m{i}", Statistic="Sum",
                                Period=args.period, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic])
        time.sleep(2 * args.period)  # every alarm evaluated once (INSUFFICIENT_DATA) before the runs
        evaluated: list[float] = []
        published: list[float] = []
        for i in range(args.runs):
            time.sleep(random.uniform(0, args.period))
            cw.put_metric_data(Namespace="Bench", MetricData=[
                {"MetricName": f"m{i}", "Value": 1.0, "StorageResolution": 1,
                 "Timestamp": dt.datetime.now(dt.timezone.utc)}])
            put_done = time.time()
            message = _wait_message(sqs, queue, f"bench-{i}", deadline=put_done + 6 * args.period)
            published.append(time.time() - put_done)
            changed = dt.datetime.strptime(message["StateChangeTime"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            evaluated.append(changed - put_done)
            print(f"run {i + 1:2d}: evaluated {evaluated[-1]:6.2f} s, published {published[-1]:6.2f} s", flush=True)
        for name, values in (("evaluated", evaluated), ("published", published)):
            print(f"{name}: p50 {statistics.median(values):.2f} s, p99 {percentile(values, 99):.2f} s, "
                  f"max {max(values):.2f} s over {len(values)} runs")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        for proc in (server, moto):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        for log in logs:
            log.close()


def _creds(env: dict[str, str]) -> dict[str, Any]:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "region_name": env["AWS_DEFAULT_REGION"]}


def _wait_message(sqs: Any, queue: str, alarm_name: str, deadline: float) -> dict[str, Any]:
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            message = json.loads(json.loads(m["Body"])["Message"])
            if message["AlarmName"] == alarm_name and message["NewStateValue"] == "ALARM":
                return dict(message)
        if not got:
            time.sleep(0.05)
    raise SystemExit(f"no ALARM message for {alarm_name}")


if __name__ == "__main__":
    main()
