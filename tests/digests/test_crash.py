"""Digest guarantees with real processes: ``opentrail serve`` killed with SIGKILL and restarted while
events are ingested and log files and digests delivered to moto's S3 server; storage down across
a digest's due time; a multi-Region trail; StopLogging/StartLogging. Afterwards every delivered
log file is listed in exactly one digest, each chain is unbroken, and both the stock
``aws cloudtrail validate-logs`` and ``opentrail validate-logs`` exit 0 with every file valid.
The chain-start race (a log file delivered before the digest worker noticed StartLogging or
UpdateTrail) is checked exactly on a hand-moved clock."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from delivery.servers import ACCOUNT, KEY_ID, SECRET, Moto, Opentrail, wait_for  # tests/ is on sys.path
from opentrail.client.ingest import IngestClient
from opentrail.digests import format as F

from .conftest import ACCOUNT as ENV_ACCOUNT, BUCKET as ENV_BUCKET, Env

BUCKET = "crash-trail-logs"
SERVE = ("--digest-interval-s", "2", "--delivery-interval-s", "0.2")


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(region: str = "us-east-1") -> dict[str, Any]:
    return {"eventVersion": "1.11", "userIdentity": {"type": "Root", "accountId": ACCOUNT},
            "eventTime": when(time.time()), "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "awsRegion": region, "readOnly": False, "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management"}


class Producer(threading.Thread):
    """Sends batches of records to the server at ``url`` until stopped; survives the server's death."""

    def __init__(self, url: str, regions: tuple[str, ...] = ("us-east-1",)) -> None:
        super().__init__(daemon=True)
        self.client = IngestClient(url, KEY_ID, SECRET, timeout_s=5)
        self.regions = regions
        self.halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.client.send([record(r) for r in self.regions for _ in range(5)])
                self.sent += 1
            except Exception:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    m = Moto(tmp_path)
    yield m
    m.stop()


def serve(data: Path, moto: Moto) -> Opentrail:
    return Opentrail(data, "--s3-endpoint-url", moto.url, *SERVE)


# --- what is in the bucket ---------------------------------------------------------------------

def objects(moto: Moto, bucket: str = BUCKET) -> dict[str, bytes]:
    s3 = moto.client("s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def digests_of(found: dict[str, bytes], region: str) -> list[dict[str, Any]]:
    """The region's digests (regular and backfill), by end time then key."""
    marker = f"/CloudTrail-Digest/{region}/"
    docs = [F.parse_digest(gzip.decompress(body)) for key, body in found.items() if marker in key]
    return sorted(docs, key=lambda d: (d["digestEndTime"], d["digestS3Object"]))


def check_bucket(found: dict[str, bytes], region: str, chain_starts: int) -> tuple[int, int]:
    """Every log file of ``region`` listed in exactly one digest with its hash; the regular chain
    unbroken except at ``chain_starts`` starting digests. Returns (digests, log files)."""
    logs = {k: hashlib.sha256(gzip.decompress(b)).hexdigest() for k, b in found.items()
            if f"/CloudTrail/{region}/" in k}
    docs = digests_of(found, region)
    listed = Counter(f["s3Object"] for d in docs for f in d["logFiles"])
    assert set(listed) == set(logs), (sorted(set(logs) - set(listed)), sorted(set(listed) - set(logs)))
    assert set(listed.values()) == {1}, [k for k, n in listed.items() if n > 1]
    for d in docs:
        for f in d["logFiles"]:
            assert f["hashValue"] == logs[f["s3Object"]], f["s3Object"]
    regular = [d for d in docs if not d["digestS3Object"].endswith("_backfill.json.gz")]
    starts = 0
    for before, d in zip([None, *regular], regular):
        if d["previousDigestS3Object"] is None:
            assert d["previousDigestS3Bucket"] is d["previousDigestSignature"] is d["previousDigestHashValue"] is None
            starts += 1
            continue
        assert before is not None and d["previousDigestS3Object"] == before["digestS3Object"], d["digestS3Object"]
        assert d["digestStartTime"] == before["digestEndTime"], d["digestS3Object"]
    assert starts == chain_starts, [d["digestS3Object"] for d in regular if d["previousDigestS3Object"] is None]
    return len(docs), len(logs)


def validate(srv_url: str, moto: Moto, data: Path, arn: str, region: str, start: float,
             digests: int, logs: int, backfill: int = 0) -> None:
    """Both validators exit 0 over ``region``'s files and count every one valid."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": region,
           "AWS_ENDPOINT_URL_S3": moto.url, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_PROFILE", None)
    common = ["--trail-arn", arn, "--start-time", when(start - 60), "--endpoint-url", srv_url]
    runs = {
        "aws": [sys.executable, "-m", "awscli", "cloudtrail", "validate-logs", "--region", region, *common],
        "opentrail": [sys.executable, "-m", "opentrail.cli", "validate-logs", "--region", region,
                      "--data-dir", str(data), *common],
    }
    expected = f"\n{digests - backfill}/{digests - backfill} digest files valid"
    if backfill:
        expected += f"\n{backfill}/{backfill} backfill digest files valid"
    expected += f"\n{logs}/{logs} log files valid\n"
    for name, args in runs.items():
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, (name, proc.stdout, proc.stderr)
        assert proc.stdout.endswith(expected), (name, proc.stdout, proc.stderr)
        assert "INVALID" not in proc.stderr, (name, proc.stderr)


def wait_final(moto: Moto, region: str, timeout: float = 15) -> dict[str, bytes]:
    """Objects once the newest regular digest of ``region`` is a final one (ends after the last
    log file's delivery: no log file waits for a digest) -- polled until nothing changes."""
    last: dict[str, bytes] = {}

    def settled() -> bool:
        nonlocal last
        now = objects(moto)
        same = now.keys() == last.keys()
        last = now
        if not same:
            return False
        docs = digests_of(now, region)
        listed = {f["s3Object"] for d in docs for f in d["logFiles"]}
        return bool(docs) and all(k in listed for k in now if f"/CloudTrail/{region}/" in k)

    wait_for(settled, timeout=timeout, every=1.0)  # check_bucket then says what is missing
    return last


# --- 1. kill -9 while ingesting, delivering and digesting -----------------------------------------

def test_kill_9_repeatedly_every_log_file_in_one_digest_and_both_validators_pass(tmp_path: Path, moto: Moto) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    moto.client("s3").create_bucket(Bucket=BUCKET)
    data = tmp_path / "data"
    start = time.time()
    srv = serve(data, moto)
    arn = srv.cloudtrail().create_trail(Name="main", S3BucketName=BUCKET, EnableLogFileValidation=True)["TrailARN"]
    srv.cloudtrail().start_logging(Name="main")
    for _ in range(3):
        producer = Producer(srv.url)
        producer.start()
        time.sleep(rng.uniform(1.5, 4.0))
        srv.stop(signal.SIGKILL)
        producer.stop()
        time.sleep(rng.uniform(0, 2.5))  # periods may pass with no server running
        srv = serve(data, moto)
    try:
        ct = srv.cloudtrail()
        producer = Producer(srv.url)
        producer.start()
        time.sleep(2)
        producer.stop()
        ct.stop_logging(Name="main")
        found = wait_final(moto, "us-east-1")
        n_digests, n_logs = check_bucket(found, "us-east-1", chain_starts=1)
        assert n_logs >= 4, f"seed {seed}"
        backfill = sum(k.endswith("_backfill.json.gz") for k in found)
        validate(srv.url, moto, data, arn, "us-east-1", start, n_digests, n_logs, backfill)
    finally:
        srv.stop()
