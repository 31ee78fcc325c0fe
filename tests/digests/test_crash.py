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
from opentrail.objectstore import LocalFolderStorage
from opentrail.objectstore.base import StorageUnavailable

from .conftest import ACCOUNT as ENV_ACCOUNT, BUCKET as ENV_BUCKET, Env, make_env

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


def wait_final(moto: Moto, region: str, stopped_at: int, timeout: float = 15) -> dict[str, bytes]:
    """Objects once ``region``'s final digest is there -- one ending at or after ``stopped_at``
    (epoch seconds taken just before StopLogging), with no log file waiting for a digest -- polled
    until nothing changes. (The StopLogging call is itself delivered by the trail, so a regular
    digest can list every log file a moment before the final one follows.)"""
    last: dict[str, bytes] = {}
    same_for = 0

    def settled() -> bool:
        nonlocal last, same_for
        now = objects(moto)
        same_for = same_for + 1 if now.keys() == last.keys() else 0
        last = now
        if same_for < 2:  # unchanged for two polls in a row (a loaded machine delivers late)
            return False
        docs = digests_of(now, region)
        listed = {f["s3Object"] for d in docs for f in d["logFiles"]}
        final = any(datetime.strptime(d["digestEndTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                    .timestamp() >= stopped_at for d in docs)
        return final and all(k in listed for k in now if f"/CloudTrail/{region}/" in k)

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
        time.sleep(rng.uniform(1.0, 3.0))
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
        stopped_at = int(time.time())
        ct.stop_logging(Name="main")
        found = wait_final(moto, "us-east-1", stopped_at)
        n_digests, n_logs = check_bucket(found, "us-east-1", chain_starts=1)
        assert n_logs >= 4, f"seed {seed}"  # (the seed replays the kill moments)
        backfill = sum(k.endswith("_backfill.json.gz") for k in found)
        validate(srv.url, moto, data, arn, "us-east-1", start, n_digests, n_logs, backfill)
    finally:
        srv.stop()



# --- 2. storage down across a digest's due time ---------------------------------------------------

def snapshot(moto: Moto, bucket: str = BUCKET) -> list[tuple[str, bytes, dict[str, str]]]:
    s3 = moto.client("s3")
    out = []
    for key in objects(moto, bucket):
        obj = s3.get_object(Bucket=bucket, Key=key)
        out.append((key, obj["Body"].read(), obj["Metadata"]))
    return out


def test_storage_down_digest_delivered_when_it_returns_and_status_reports_it(tmp_path: Path) -> None:
    moto = Moto(tmp_path)
    moto.client("s3").create_bucket(Bucket=BUCKET)
    data = tmp_path / "data"
    start = time.time()
    srv = serve(data, moto)
    try:
        ct = srv.cloudtrail()
        arn = ct.create_trail(Name="main", S3BucketName=BUCKET, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name="main")
        assert wait_for(lambda: "LatestDigestDeliveryTime" in ct.get_trail_status(Name="main"), timeout=10)
        # storage goes away (its content kept aside: moto's server keeps nothing across a restart)
        srv.proc.send_signal(signal.SIGSTOP)
        kept = snapshot(moto)
        moto.stop()
        srv.proc.send_signal(signal.SIGCONT)
        down_at = time.time()
        status = wait_for(lambda: (st := ct.get_trail_status(Name="main")).get("LatestDigestDeliveryError") and st,
                          timeout=10)
        assert status, srv.log.read_text()
        assert status["LatestDigestDeliveryError"] == "ServiceUnavailable"
        assert status["LatestDigestDeliveryTime"].timestamp() < down_at
        ct.lookup_events(MaxResults=1)  # an event to deliver while storage is down
        time.sleep(max(0.0, down_at + 2.5 - time.time()))  # past a digest's due time
        moto = Moto(tmp_path, moto.port)
        s3 = moto.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for key, body, metadata in kept:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata)
        back_at = time.time()
        status = wait_for(lambda: (st := ct.get_trail_status(Name="main")).get("LatestDigestDeliveryTime", 0)
                          and st["LatestDigestDeliveryTime"].timestamp() >= int(back_at) and st, timeout=20)
        assert status, srv.log.read_text()
        assert "LatestDigestDeliveryError" not in status
        stopped_at = int(time.time())
        ct.stop_logging(Name="main")
        found = wait_final(moto, "us-east-1", stopped_at)
        n_digests, n_logs = check_bucket(found, "us-east-1", chain_starts=1)
        ends = [d["digestEndTime"] for d in digests_of(found, "us-east-1")]
        assert any(down_at < datetime.strptime(e, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() < back_at
                   for e in ends), ends  # a digest fell due while storage was down
        validate(srv.url, moto, data, arn, "us-east-1", start, n_digests, n_logs)
    finally:
        srv.stop()
        moto.stop()


# --- 3, 4. a multi-Region trail; StopLogging then StartLogging ----------------------------------

def test_multi_region_trail_one_chain_per_region_and_a_stop_start_gap_both_validators_accept(
        tmp_path: Path, moto: Moto) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    data = tmp_path / "data"
    start = time.time()
    srv = serve(data, moto)
    try:
        ct = srv.cloudtrail()
        arn = ct.create_trail(Name="main", S3BucketName=BUCKET, EnableLogFileValidation=True,
                              IsMultiRegionTrail=True)["TrailARN"]
        regions = ("us-east-1", "eu-west-1")
        for _ in range(2):  # logging, a gap, logging again
            ct.start_logging(Name="main")
            producer = Producer(srv.url, regions)
            producer.start()
            time.sleep(1.5)
            producer.stop()
            stopped_at = int(time.time())
            ct.stop_logging(Name="main")
            for region in regions:
                found = wait_final(moto, region, stopped_at)
        for region in regions:
            n_digests, n_logs = check_bucket(found, region, chain_starts=2)
            keys = [d["digestS3Object"] for d in digests_of(found, region)]
            assert all(k.startswith(f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/") and
                       f"_CloudTrail-Digest_{region}_main_us-east-1_" in k for k in keys), keys
            validate(srv.url, moto, data, arn, region, start, n_digests, n_logs)
    finally:
        srv.stop()

# --- 5. a log file delivered before the digest worker noticed the change ----------------------------

def _deliver_before_the_worker_looks(env: Env) -> tuple[str, int]:
    """Ingest one event and step *delivery only* until its log file is uploaded: its key and
    delivery time."""
    before = set(env.log_keys(ENV_BUCKET))
    env.ingest(int(env.clock.now))
    while not set(env.log_keys(ENV_BUCKET)) - before:
        env.clock.now += 1
        env.delivery.step()
    (key,) = set(env.log_keys(ENV_BUCKET)) - before
    return key, int(env.clock.now)


def test_file_delivered_right_after_start_logging_is_in_the_starting_digest(env: Env) -> None:
    env.digests.step()  # the worker looked before the trail existed
    env.trail()  # CreateTrail with validation, StartLogging
    key, delivered = _deliver_before_the_worker_looks(env)
    env.run(3600 + 5, every=60)
    (digest_key,) = env.digest_keys(ENV_BUCKET)
    doc, _, _ = env.digest(digest_key, ENV_BUCKET)
    assert doc["previousDigestS3Object"] is None
    assert doc["digestStartTime"] == F.format_time(delivered)  # the file's delivery (the recorder opened the chain)
    assert [f["s3Object"] for f in doc["logFiles"]] == [key]
    assert env.digest_state.file_digest_keys() == {(ENV_BUCKET, key): digest_key}


def test_file_delivered_right_after_enabling_validation_is_digested_and_one_before_is_not(env: Env) -> None:
    from opentrail.trails import TrailSettings

    env.trail(enable_log_file_validation=False)
    env.run(1)
    before, _ = _deliver_before_the_worker_looks(env)
    env.run(5)  # the worker sees a trail without validation
    env.trails.update_trail(ENV_ACCOUNT, "us-east-1", "main", TrailSettings(enable_log_file_validation=True))
    after, _ = _deliver_before_the_worker_looks(env)
    env.run(3600 + 5, every=60)
    (digest_key,) = env.digest_keys(ENV_BUCKET)
    doc, _, _ = env.digest(digest_key, ENV_BUCKET)
    assert doc["previousDigestS3Object"] is None
    assert [f["s3Object"] for f in doc["logFiles"]] == [after]
    assert (ENV_BUCKET, before) not in env.digest_state.file_digest_keys()


class FlakyFolder(LocalFolderStorage):
    """A folder bucket whose uploads fail while ``down``."""

    down = False

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        if self.down:
            raise StorageUnavailable("storage down")
        super().put_object(bucket, key, body, metadata)


def test_validation_turned_off_the_final_digest_waits_for_files_planned_before(tmp_path: Path) -> None:
    """A log file planned while validation was on but uploaded after UpdateTrail turned it off is
    listed in the final digest (its delivery minute lies inside the chain's periods: unlisted,
    ``opentrail validate-logs`` would call it added)."""
    from opentrail.trails import TrailSettings

    storage = FlakyFolder(tmp_path / "buckets")
    storage.create_bucket(ENV_BUCKET)
    env = make_env(tmp_path, storage=storage)
    try:
        env.trail()
        env.run(60)
        storage.down = True
        env.ingest(int(env.clock.now))
        env.run(5)  # planned, upload failing
        assert env.delivery.pending_files() == 1 and env.log_keys(ENV_BUCKET) == []
        env.trails.update_trail(ENV_ACCOUNT, "us-east-1", "main", TrailSettings(enable_log_file_validation=False))
        env.run(5)
        assert env.digest_state.digest_count() == 0  # the final digest waits for the planned file
        storage.down = False
        env.run(40)
        (log_key,) = env.log_keys(ENV_BUCKET)
        (digest_key,) = env.digest_keys(ENV_BUCKET)
        doc, _, _ = env.digest(digest_key, ENV_BUCKET)
        assert [f["s3Object"] for f in doc["logFiles"]] == [log_key]
        assert env.digest_state.chains()[0].active is False
    finally:
        env.close()
