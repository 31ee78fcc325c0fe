"""Several nodes (issue 17): three ``opentrail serve`` processes on one PostgreSQL database and one
S3 (moto's server). Events ingested through one node are found by LookupEvents through another;
the trail's log files hold every acknowledged event exactly once while the node delivering them is
killed with SIGKILL mid-delivery and the next one is paused (SIGSTOP) past its lease and then
resumed; its digest chain stays one chain. A second trail, in another trail shard (another lease,
:mod:`opentrail.shards`), delivers the same events exactly once too, whichever nodes hold its
lease meanwhile. Two event data stores in different Lake shards (two leases, on S3) hold every
acknowledged event exactly once, and a query through each live node counts them all. Two
EventBridge rules in different rule shards (two leases) send every matching event to their SQS
queues at least once (a kill may repeat the sends under way)."""

from __future__ import annotations

import gzip
import io
import json
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import orjson
import pyarrow.parquet as pq
import pytest

from opentrail.client.ingest import IngestClient
from opentrail.lake.layout import parse_file_name, superseded
from opentrail.shards import shard_of
from tests import postgres as pg
from tests.delivery.conftest import record
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Moto, Opentrail, wait_for

BUCKET = "multi-node-trail"
LAKE_BUCKET = "multi-node-lake"
LEASE_TTL_S = "3"

pytestmark = pytest.mark.slow


def health(node: Opentrail) -> dict[str, Any]:
    with urllib.request.urlopen(node.url + "/_opentrail/health", timeout=2) as r:
        return json.loads(r.read())


def holder(nodes: list[Opentrail], lease: str) -> Opentrail | None:
    """The node holding ``lease`` now, as the nodes that answer see it (None: nobody)."""
    for node in nodes:
        if node.proc.poll() is not None:
            continue
        try:
            doc = health(node)
        except OSError:
            continue
        now = time.time()
        for row in doc["cluster"]["leases"]:
            if row["name"] == lease and row["holder"] and row["expiresAt"] > now:
                return next((n for n in nodes if health_id(n) == row["holder"]), None)
    return None


_ids: dict[int, str] = {}


def health_id(node: Opentrail) -> str | None:
    if node.port not in _ids:
        try:
            _ids[node.port] = health(node)["cluster"]["nodeId"]
        except OSError:
            return None
    return _ids[node.port]


@pytest.fixture
def database() -> Iterator[str]:
    with pg.own_database() as url:
        yield url


def delivered(moto: Moto, prefix: str = "AWSLogs/") -> tuple[list[str], list[str]]:
    """(log file keys, the eventIDs in them, repeats kept) of the trail bucket under ``prefix``."""
    s3 = moto.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    files = [k for k in keys if "/CloudTrail/" in k and k.endswith(".json.gz")]
    ids = [r["eventID"] for k in files
           for r in orjson.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()))["Records"]]
    return keys, ids


def lake_ids(moto: Moto, eds_id: str) -> list[str]:
    """The eventIDs in the published (not superseded) Parquet files of ``eds_id``, repeats kept."""
    s3 = moto.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=LAKE_BUCKET, Prefix=f"lake/{eds_id}/"):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
    live = set(map(Path, keys)) - superseded([Path(k) for k in keys])
    # every file of a node names the fencing token of its lake shard lease (tokens start at 1)
    assert all(parse_file_name(p.name) is None or parse_file_name(p.name)[3] >= 1 for p in live), sorted(live)
    return [i for k in sorted(map(str, live)) for i in pq.read_table(
        io.BytesIO(s3.get_object(Bucket=LAKE_BUCKET, Key=k)["Body"].read()), columns=["eventid"]).column(0).to_pylist()]


def lake_counts(node: Opentrail, eds_id: str) -> tuple[int, int]:
    """(rows, distinct eventIDs) of ``eds_id``, queried through ``node``."""
    ct = node.cloudtrail()
    query_id = ct.start_query(QueryStatement=f"SELECT count(*), count(DISTINCT eventid) FROM {eds_id}")["QueryId"]

    def ended() -> str | None:
        status: str = ct.describe_query(QueryId=query_id)["QueryStatus"]
        return None if status in ("QUEUED", "RUNNING") else status

    assert wait_for(ended, timeout=30) == "FINISHED"
    row = ct.get_query_results(QueryId=query_id)["QueryResultRows"][0]
    return int(next(iter(row[0].values()))), int(next(iter(row[1].values())))


def test_three_nodes_deliver_every_event_once_through_a_kill_and_a_pause(tmp_path: Path, database: str) -> None:
    moto = Moto(tmp_path)
    nodes: list[Opentrail] = []
    try:
        moto.client("s3").create_bucket(Bucket=BUCKET)
        moto.client("s3").create_bucket(Bucket=LAKE_BUCKET)
        args = ("--database-url", database, "--s3-endpoint-url", moto.url, "--sqs-endpoint-url", moto.url,
                "--delivery-interval-s", "0.3",
                "--digest-interval-s", "2", "--lease-ttl-s", LEASE_TTL_S, "--lake-storage-url",
                f"s3://{LAKE_BUCKET}/lake/", "--lake-ingest-interval-s", "0.5")
        for i in range(3):
            nodes.append(Opentrail(tmp_path / f"node{i}", *args))
        ct = nodes[0].cloudtrail()
        arn = ct.create_trail(Name="org-wide", S3BucketName=BUCKET, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name="org-wide")

        def logging_on_node_2() -> bool:  # another node sees the change within about a second
            try:
                return nodes[2].cloudtrail().get_trail_status(Name="org-wide")["IsLogging"] is True
            except nodes[2].cloudtrail().exceptions.TrailNotFoundException:
                return False

        assert wait_for(logging_on_node_2, timeout=5)
        lease = f"delivery/{shard_of(arn)}"
        # a second trail whose shard is another lease
        other = next(n for n in (f"second-{i}" for i in range(100))
                     if shard_of(arn.replace("/org-wide", "/" + n)) != shard_of(arn))
        other_arn = ct.create_trail(Name=other, S3BucketName=BUCKET, S3KeyPrefix="second")["TrailARN"]
        assert shard_of(other_arn) != shard_of(arn)
        ct.start_logging(Name=other)
        stores: dict[int, str] = {}  # two event data stores in different Lake shards
        while len(stores) < 2:
            eds_id = ct.create_event_data_store(Name=f"store-{len(stores)}-{time.monotonic_ns()}",
                                                TerminationProtectionEnabled=False)["EventDataStoreArn"].rsplit("/")[-1]
            if shard_of(eds_id) in stores:
                ct.delete_event_data_store(EventDataStore=eds_id)
            else:
                stores[shard_of(eds_id)] = eds_id
        # two rules in different rule shards, each sending a hundredth of the events to its own queue
        sqs = moto.client("sqs")
        events = boto3.client("events", endpoint_url=nodes[0].url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                              aws_secret_access_key=SECRET)
        rule_arns: dict[str, str] = {}
        for name in (f"hundredth-{i}" for i in range(100)):
            arn = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}"
            if shard_of(arn) in {shard_of(a) for a in rule_arns.values()}:
                continue
            events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.ec2"],
                                                               "detail": {"eventID": [{"suffix": "25"}]}}))
            sqs.create_queue(QueueName=name)
            events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:123456789012:{name}"}])
            rule_arns[name] = arn
            if len(rule_arns) == 2:
                break

        acked: list[str] = []
        stop = threading.Event()

        def produce() -> None:
            client = IngestClient(nodes[1].url, KEY_ID, SECRET, timeout_s=10)
            while not stop.is_set():
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # within the stores' retention
                batch = [record(account=ACCOUNT, eventTime=now) for _ in range(40)]
                client.send(batch)
                acked.extend(r["eventID"] for r in batch)
                time.sleep(0.05)

        producer = threading.Thread(target=produce)
        producer.start()
        try:
            # LookupEvents through another node than the one ingesting
            first = wait_for(lambda: acked[:1], timeout=10)
            assert first
            found = nodes[2].cloudtrail().lookup_events(
                LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": first[0]}])["Events"]
            assert [e["EventId"] for e in found] == [first[0]]

            # the delivering node is killed mid-delivery
            assert wait_for(lambda: len(delivered(moto)[1]) > 200, timeout=30)
            first_holder = wait_for(lambda: holder(nodes, lease), timeout=10)
            assert first_holder is not None
            first_holder.stop(signal.SIGKILL)
            alive = [n for n in nodes if n is not first_holder]
            second_holder = wait_for(lambda: holder(alive, lease), timeout=30)
            assert second_holder is not None and second_holder in alive

            # the next one is paused past its lease, the third takes over, the paused one wakes up
            count = len(delivered(moto)[1])
            assert wait_for(lambda: len(delivered(moto)[1]) > count, timeout=30)
            second_holder.proc.send_signal(signal.SIGSTOP)
            third = next(n for n in alive if n is not second_holder)
            try:
                assert wait_for(lambda: holder([third], lease) is third, timeout=30)
                count = len(delivered(moto)[1])
                assert wait_for(lambda: len(delivered(moto)[1]) > count, timeout=30)
            finally:
                second_holder.proc.send_signal(signal.SIGCONT)
            time.sleep(2)
        finally:
            stop.set()
            producer.join()

        target = set(acked)
        assert wait_for(lambda: target <= set(delivered(moto)[1]), timeout=60)
        keys, ids = delivered(moto)
        mine = [i for i in ids if i in target]
        assert len(mine) == len(target)  # every acknowledged event, exactly once
        assert len(ids) == len(set(ids))
        # the second trail's files: the same events, exactly once, written under its own lease
        assert wait_for(lambda: target <= set(delivered(moto, "second/AWSLogs/")[1]), timeout=60)
        _, second_ids = delivered(moto, "second/AWSLogs/")
        assert len([i for i in second_ids if i in target]) == len(target)
        assert len(second_ids) == len(set(second_ids))
        # one digest chain: every digest file names the one before it, none signed twice
        s3 = moto.client("s3")
        digests = sorted(k for k in keys if "/CloudTrail-Digest/" in k)
        assert digests
        bodies = [json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())) for k in digests]
        starts = [b["digestStartTime"] for b in bodies]
        assert len(starts) == len(set(starts))
        # each event data store: every acknowledged event once, and a query through any live node
        # counts at least as many rows (the test's own calls go on adding events), none twice
        live = [n for n in nodes if n.proc.poll() is None]
        for eds_id in stores.values():
            assert wait_for(lambda: target <= set(lake_ids(moto, eds_id)), timeout=60)
            ids = lake_ids(moto, eds_id)
            assert len(ids) == len(set(ids))
            for node in live:
                rows, distinct = lake_counts(node, eds_id)  # the test's own calls go on adding events
                assert rows == distinct and rows >= len(ids), (node.url, rows, distinct, len(ids))
        # each rule: every acknowledged event whose ID ends in 25 reached its queue
        hundredth = {i for i in target if i.endswith("25")}
        assert hundredth
        for name in rule_arns:
            queue = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            got: list[str] = []

            def received() -> bool:
                messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                got.extend(json.loads(m["Body"])["detail"]["eventID"] for m in messages)
                if messages:
                    sqs.delete_message_batch(QueueUrl=queue, Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
                return hundredth <= set(got)

            assert wait_for(received, timeout=60, every=0.0), (name, len(hundredth - set(got)))
            assert len(got) - len(set(got)) <= 40  # repeats: only sends under way at the kill
    finally:
        for node in nodes:
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGCONT)
            node.stop()
        moto.stop()
