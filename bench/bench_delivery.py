"""Trail delivery benchmark: acknowledgement -> readable latency and log file throughput.

    python3 bench/bench_delivery.py [--events 200000] [--latency-seconds 20]

In process, as ``opentrail serve`` wires it: a :class:`SqliteEventStore`, folder buckets, a
:class:`DeliveringTrailService` and the :class:`DeliveryWorker` thread with the default
``--delivery-interval-s`` (2.0). Records are the invictus-ir dataset's (real CloudTrail, ~1.4 KB
each) with fresh eventIDs, recipient account and Region set to the trail's.

- Throughput: ``--events`` events are appended first, then the worker is started and timed until
  every event is in an uploaded log file (read_since, routing, ISA-L gzip, fsync'd file writes).
- Latency: a producer appends 100 events every 50 ms (2,000 events/s) while the worker runs; a
  poller lists the bucket every 20 ms and reads new files; latency = time the file was first seen
  minus the time the event's append returned (acknowledged).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentrail.delivery import DeliveringTrailService, DeliveryState, DeliveryWorker  # noqa: E402
from opentrail.events.record import read_record  # noqa: E402
from opentrail.objectstore import LocalFolderStorage  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402
from opentrail.trails import TrailSettings  # noqa: E402

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
ACCOUNT = "111122223333"
BUCKET = "bench-bucket"


def templates() -> list[dict[str, object]]:
    recs = [r for f in sorted(DATASET.glob("*.json")) for r in orjson.loads(f.read_bytes())["Records"]]
    out = []
    for r in recs:
        r = dict(r)
        r["recipientAccountId"] = ACCOUNT
        r["awsRegion"] = "us-east-1"
        r["eventCategory"] = "Management"
        r["managementEvent"] = True
        r.pop("eventSource", None) if r.get("eventSource") in ("iam.amazonaws.com", "sts.amazonaws.com") else None
        r["eventSource"] = r.get("eventSource") or "ec2.amazonaws.com"
        out.append(r)
    return out


def make(tpls: list[dict[str, object]], n: int) -> list:
    events = []
    for i in range(n):
        r = dict(tpls[i % len(tpls)])
        r["eventID"] = str(uuid.uuid4())
        events.append(read_record(r))
    return events


def setup(root: Path) -> tuple[SqliteEventStore, LocalFolderStorage, DeliveryState, DeliveringTrailService]:
    store = SqliteEventStore(root / "events")
    storage = LocalFolderStorage(root / "buckets")
    storage.create_bucket(BUCKET)
    state = DeliveryState(root / "delivery.db")
    trails = DeliveringTrailService(root, storage, time.time, state=state, store=store)
    trails.create_trail(ACCOUNT, "us-east-1", "bench-trail", TrailSettings(s3_bucket_name=BUCKET))
    trails.start_logging(ACCOUNT, "us-east-1", "bench-trail")
    return store, storage, state, trails


def throughput(n: int, tpls: list[dict[str, object]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, storage, state, trails = setup(root)
        events = make(tpls, n)
        for i in range(0, n, 2000):
            store.append(events[i:i + 2000], wait_visible=True)
        worker = DeliveryWorker(store, trails, storage, state, clock=time.time)
        t0 = time.perf_counter()
        worker.start()
        while worker.open_events() + worker.pending_files() > 0 or worker._pos < n:  # noqa: SLF001
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        worker.stop()
        worker.join()
        files = storage.list_objects(BUCKET)
        delivered = sum(len(orjson.loads(gzip.decompress(storage.get_object(BUCKET, k).body))["Records"]) for k in files)
        compressed = sum((storage.bucket_path(BUCKET) / k).stat().st_size for k in files)
        raw = sum(len(e.record) for e in events)
        store.close(); state.close(); trails.close()
        assert delivered == n, (delivered, n)
        return {"events": n, "seconds": elapsed, "events_per_s": n / elapsed, "files": len(files),
                "raw_mb": raw / 1e6, "compressed_mb": compressed / 1e6}


def latency(seconds: float, tpls: list[dict[str, object]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, storage, state, trails = setup(root)
        worker = DeliveryWorker(store, trails, storage, state, clock=time.time)
        worker.start()
        acked: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def poll() -> None:
            known: set[str] = set()
            while not done.is_set() or len(seen) < len(acked):
                for key in storage.list_objects(BUCKET):
                    if key in known:
                        continue
                    known.add(key)
                    now = time.time()
                    for r in orjson.loads(gzip.decompress(storage.get_object(BUCKET, key).body))["Records"]:
                        seen[r["eventID"]] = now
                time.sleep(0.02)

        poller = threading.Thread(target=poll)
        poller.start()
        end = time.time() + seconds
        while time.time() < end:
            batch = make(tpls, 100)
            store.append(batch)
            t = time.time()
            for e in batch:
                acked[e.event_id] = t
            time.sleep(0.05)
        done.set()
        poller.join(timeout=60)
        worker.stop()
        worker.join()
        store.close(); state.close(); trails.close()
        lat = sorted(seen[i] - acked[i] for i in acked if i in seen)
        assert len(lat) == len(acked), (len(lat), len(acked))
        q = statistics.quantiles(lat, n=100)
        return {"events": len(lat), "p50_s": q[49], "p99_s": q[98], "max_s": lat[-1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    args = ap.parse_args()
    tpls = templates()
    print("throughput", throughput(args.events, tpls), flush=True)
    print("latency", latency(args.latency_seconds, tpls), flush=True)


if __name__ == "__main__":
    main()
