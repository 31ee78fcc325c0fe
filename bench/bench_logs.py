"""CloudWatch Logs benchmark: ingest (append_events and PutLogEvents through HTTP) and FilterLogEvents
over a log group of real-sized CloudTrail records.

    python3 bench/bench_logs.py --events 1000000 --dir /tmp/bench-logs

1. ``append_events`` (the trail -> CloudWatch Logs delivery's entry point), in-process, batches of
   ``--batch`` events, each batch one committed transaction; record generation is not timed. Run
   once without metric filters and once more (a second stream, a tenth of the events) with the 14
   CIS CloudTrail metric filters of reference monitoring.md B3, their data points written to a
   CloudWatch metric store (``metric_store_sink``: one transaction per batch).
2. FilterLogEvents scans of the whole group, in-process (``LogsReads.filter_log_events``, one call,
   no scan budget) for a rare JSON match, a frequent JSON match and a term pattern.
3. Through HTTP against ``opentrail serve`` on the same data directory: FilterLogEvents paged with
   boto3 over the whole group (JSON pattern; pages end at the server's 500,000-event scan budget),
   and PutLogEvents from ``--clients`` processes posting pre-signed batches of ``--put-batch``
   events (current timestamps, as PutLogEvents needs).

Records are bench/common.py's copies of the invictus-ir dataset's real ones (~1.3 KB of JSON).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_http import ACCESS_KEY_ID, ACCOUNT, SECRET, free_port, signed, start_server  # noqa: E402
from bench import common  # noqa: E402
from bench.common import synthetic_events  # noqa: E402
from opentrail.monitoring.logs import LogsService  # noqa: E402
from opentrail.monitoring.logs_metrics import metric_store_sink  # noqa: E402
from opentrail.monitoring.logs_model import MetricTransformation  # noqa: E402
from opentrail.monitoring.metric_store import SqliteMetricStore  # noqa: E402

REGION = "us-east-1"
GROUP = "trail-events"
STREAM = f"{ACCOUNT}_CloudTrail_{REGION}"
#: The CIS AWS Foundations CloudTrail metric filters (Security Hub CloudWatch.1-14 text).
CIS_PATTERNS = [
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
    '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    '{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || '
    '($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || '
    '($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || '
    '($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || '
    '($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || '
    '($.eventName=DetachGroupPolicy) }',
    '{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || '
    '($.eventName = StartLogging) || ($.eventName = StopLogging) }',
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    '{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }',
    '{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || '
    '($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || '
    '($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) '
    '|| ($.eventName = DeleteBucketReplication)) }',
    '{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || '
    '($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || '
    '($.eventName=PutConfigurationRecorder)) }',
    '{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || '
    '($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || '
    '($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }',
    '{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) '
    '|| ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || '
    '($.eventName = ReplaceNetworkAclAssociation) }',
    '{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || '
    '($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || '
    '($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }',
    '{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || '
    '($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) '
    '|| ($.eventName = DisassociateRouteTable) }',
    '{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || '
    '($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || '
    '($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || '
    '($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || '
    '($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }',
]
SCANS = [("JSON, no match (CIS root use)", CIS_PATTERNS[0]),
         ("JSON, needles common, no match", '{ $.eventName = "Decrypt" && $.errorCode = "AccessDenied" }'),
         ("JSON, 6% match", '{ $.eventName = "Decrypt" }'),
         ("terms, 2% match", '?AccessDenied ?UnauthorizedOperation'),
         ("JSON, no needle (numeric)", '{ $.eventVersion > 2 }')]


def calibration() -> float:
    """Seconds for 10M Python additions: how much CPU the run gets (about 0.45 s on an idle core of
    this VM); the machine is shared, so rates are reported with it."""
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t0


def _find_dataset() -> None:
    """bench/common.py looks for ../shared next to the repository; a git worktree sits one level
    deeper, so look further up."""
    if common.DATASET.exists():
        return
    relative = common.DATASET.relative_to(Path(__file__).resolve().parents[2])
    for parent in Path(__file__).resolve().parents:
        if (parent / relative).exists():
            common.DATASET = parent / relative
            return


def batches(n: int, batch: int, seed: int) -> Any:
    """(timestamp ms, message) batches of real-sized CloudTrail records, in time order."""
    out: list[tuple[int, str]] = []
    for ev in synthetic_events(n, seed=seed, accounts=(ACCOUNT,), regions=(REGION,)):
        out.append((ev.event_time * 1000, ev.record.decode()))
        if len(out) == batch:
            out.sort(key=lambda e: e[0])
            yield out
            out = []
    if out:
        out.sort(key=lambda e: e[0])
        yield out


def timed_append(logs: LogsService, stream: str, n: int, batch: int, seed: int) -> tuple[float, int]:
    """Seconds spent in append_events for ``n`` events, and their message bytes."""
    spent, size = 0.0, 0
    for chunk in batches(n, batch, seed):
        size += sum(len(m) for _, m in chunk)
        t0 = time.perf_counter()
        logs.append_events(ACCOUNT, REGION, GROUP, stream, chunk)
        spent += time.perf_counter() - t0
    return spent, size


def _put_worker(barrier: Any, queue: Any, port: int, stream: str, requests: int, per: int) -> None:
    url = f"http://127.0.0.1:{port}"
    from botocore.credentials import Credentials

    creds = Credentials(ACCESS_KEY_ID, SECRET)
    template = [orjson.loads(e.record) for e in synthetic_events(per, seed=len(stream))]
    prepared = []
    now = int(time.time() * 1000)
    for r in range(requests):
        body = orjson.dumps({"logGroupName": GROUP, "logStreamName": stream, "logEvents": [
            {"timestamp": now + r, "message": orjson.dumps(rec).decode()} for rec in template]})
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents"}
        prepared.append((body, signed(url, "/", body, headers, creds, "logs", REGION)))
    conn = HTTPConnection("127.0.0.1", port, timeout=120)
    barrier.wait()
    t0 = time.perf_counter()
    failures = 0
    for body, headers in prepared:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        failures += response.status != 200
    queue.put((time.perf_counter() - t0, failures, sum(len(b) for b, _ in prepared)))


def put_log_events_http(port: int, clients: int, requests: int, per: int) -> tuple[float, int, int]:
    """(wall seconds, events, failures) for ``clients`` processes each posting ``requests``
    PutLogEvents of ``per`` events to its own stream."""
    import boto3

    logs = boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET)
    for c in range(clients):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=f"put-{c}")
    barrier = mp.Barrier(clients)
    queue: Any = mp.Queue()
    procs = [mp.Process(target=_put_worker, args=(barrier, queue, port, f"put-{c}", requests, per))
             for c in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return max(r[0] for r in results), clients * requests * per, sum(r[1] for r in results)


def filter_http(port: int, pattern: str) -> tuple[float, int, int]:
    """(seconds, matches, pages) of FilterLogEvents paged to the end with boto3."""
    import boto3
    from botocore.config import Config

    logs = boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET,
                        config=Config(read_timeout=300, retries={"max_attempts": 1}))
    t0 = time.perf_counter()
    found = pages = 0
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=GROUP, filterPattern=pattern):
        found += len(page["events"])
        pages += 1
    return time.perf_counter() - t0, found, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-logs"))
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--put-requests", type=int, default=100)
    parser.add_argument("--put-batch", type=int, default=500)
    args = parser.parse_args()
    _find_dataset()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    print(f"load average at start: {os.getloadavg()}; {calibration():.2f} s for 10M Python additions")

    logs = LogsService(args.dir)
    logs.create_log_group(ACCOUNT, REGION, GROUP)
    spent, size = timed_append(logs, STREAM, args.events, args.batch, seed=1)
    print(f"append_events, no metric filter: {args.events:,} events ({size / 1e6:,.0f} MB) in {spent:.1f} s = "
          f"{args.events / spent:,.0f} events/s, {size / 1e6 / spent:,.1f} MB/s")

    metrics = SqliteMetricStore(args.dir / "metrics.db")
    store_sink = metric_store_sink(metrics)
    matched = [0]

    def sink(account_id: str, region: str, points: list[Any]) -> None:
        matched[0] += len(points)
        store_sink(account_id, region, points)

    logs.metric_batch_sink = sink
    for i, pattern in enumerate(CIS_PATTERNS):
        logs.put_metric_filter(ACCOUNT, REGION, GROUP, f"cis-{i + 1}", pattern, MetricTransformation(f"Cis{i + 1}", "CIS", "1"))
    n = args.events // 10
    spent, _ = timed_append(logs, "with-filters", n, args.batch, seed=2)
    print(f"append_events, {len(CIS_PATTERNS)} CIS metric filters, data points into the metric store: {n:,} events"
          f" in {spent:.1f} s = {n / spent:,.0f} events/s ({matched[0]:,} data points)")
    metrics.close()
    for i in range(len(CIS_PATTERNS)):
        logs.delete_metric_filter(ACCOUNT, REGION, GROUP, f"cis-{i + 1}")
    total = args.events + n

    group = logs.group(ACCOUNT, REGION, GROUP)
    logs.reads.scan_budget = 10**9
    for label, pattern in SCANS:
        t0 = time.perf_counter()
        matches = pages = 0
        cursor = None
        while True:  # page to the end, as a client does
            found, cursor = logs.reads.filter_log_events(group, pattern=pattern, cursor=cursor)
            matches += len(found)
            pages += 1
            if cursor is None:
                break
        spent = time.perf_counter() - t0
        print(f"FilterLogEvents in-process, {label} {pattern!r}: {matches:,} matches in {pages} pages, {spent:.2f} s"
              f" = {total / spent:,.0f} events/s scanned")
    logs.close()

    port = free_port()
    server = start_server(args.dir, port)
    try:
        label, pattern = SCANS[0]
        spent, hits, pages = filter_http(port, pattern)
        print(f"FilterLogEvents over HTTP (boto3 paginator), {label}: {hits:,} matches, {pages} pages, "
              f"{spent:.2f} s = {total / spent:,.0f} events/s scanned")
        spent, events, failures = put_log_events_http(port, args.clients, args.put_requests, args.put_batch)
        print(f"PutLogEvents over HTTP: {args.clients} clients x {args.put_requests} requests x {args.put_batch} "
              f"events = {events:,} events in {spent:.1f} s = {events / spent:,.0f} events/s ({failures} failed)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average at end: {os.getloadavg()}; {calibration():.2f} s for 10M Python additions")
    print(f"data directory: {sum(f.stat().st_size for f in args.dir.rglob('*') if f.is_file()) / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
