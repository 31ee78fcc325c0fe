"""Trail delivery benchmark: acknowledgement -> readable latency and log file throughput.

    python3 bench/bench_delivery.py [--events 2000000] [--latency-seconds 20] [--store-dir DIR] [--repeat 1]
        [--trail default|no-global|write-only|advanced-write]

In process, as ``opentrail serve`` wires it: a :class:`SqliteEventStore`, folder buckets, a
:class:`DeliveringTrailService` and the :class:`DeliveryWorker` thread with the default
``--delivery-interval-s`` (2.0). Records are the invictus-ir dataset's (real CloudTrail, ~1.26 KB
each) with fresh eventIDs, recipient account and Region set to the trail's.

- Throughput: a backlog of ``--events`` events is in the store first (appended by the trail's own
  account while it was logging), then the worker is started and timed until every event is in an
  uploaded log file (reading the log, routing, ISA-L gzip, fsync'd file writes). Two rates: *full
  files* -- events in every file but the last / time until the second-to-last file was written
  (the catching-up rate); *everything* -- all events / time until the last file was written,
  which includes the last, partial batch waiting its ``--delivery-interval-s``. Also the
  process's CPU time per event (all threads), which other load on the machine inflates far less
  than wall time. ``--trail`` picks the trail's selection (see TRAIL_KINDS). ``--store-dir`` keeps the filled event store there and reuses it on the next run (filling 2M events takes a few
  minutes); the trail then gets a logging mark at seq 0, as if StartLogging had come first.
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
from opentrail.trails import AdvancedEventSelector, AdvancedFieldSelector, EventSelector, TrailSettings  # noqa: E402

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


class TimedStorage(LocalFolderStorage):
    """Folder buckets that note when each object was written."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.written: list[tuple[float, str]] = []

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        super().put_object(bucket, key, body, metadata)
        self.written.append((time.perf_counter(), key))


def filled_store(directory: Path, n: int, tpls: list[dict[str, object]]) -> SqliteEventStore:
    """The event store in ``directory`` holding ``n`` events (appended now unless it already does)."""
    store = SqliteEventStore(directory)
    have = store.count()
    if have not in (0, n):
        store.close()
        raise SystemExit(f"{directory} holds {have} events, not {n}: use another --store-dir")
    t0 = time.perf_counter()
    for i in range(have, n, 100_000):
        events = make(tpls, min(100_000, n - i))
        for j in range(0, len(events), 2000):
            store.append(events[j:j + 2000], wait_visible=True)
        print(f"  filled {i + len(events)} events in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return store


#: --trail: how the benchmarked trail selects events. ``default``: no selectors (decided per
#: partition, no record parsed); ``no-global``: IncludeGlobalServiceEvents false (every record's
#: bytes scanned for an eventSource naming a global service); ``write-only``: a basic selector for write management events
#: (decided from the record's readOnly, read from the bytes: see opentrail/delivery/routing.py;
#: about a fifth of the backlog is taken); ``advanced-write``: the same as advanced selectors
#: (eventCategory Management, readOnly false) leaving out kms.amazonaws.com.
TRAIL_KINDS: dict[str, tuple[dict[str, bool], tuple[EventSelector, ...] | tuple[AdvancedEventSelector, ...] | None]] = {
    "default": ({}, None),
    "no-global": ({"include_global_service_events": False}, None),
    "write-only": ({}, (EventSelector("WriteOnly"),)),
    "advanced-write": ({}, (AdvancedEventSelector((
        AdvancedFieldSelector("eventCategory", equals=("Management",)), AdvancedFieldSelector("readOnly", equals=("false",)),
        AdvancedFieldSelector("eventSource", not_equals=("kms.amazonaws.com",)))),)),
}


def throughput(n: int, tpls: list[dict[str, object]], store_dir: Path | None, kind: str = "default") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = filled_store(store_dir or root / "events", n, tpls)
        storage = TimedStorage(root / "buckets")
        storage.create_bucket(BUCKET)
        state = DeliveryState(root / "delivery.db")
        trails = DeliveringTrailService(root, storage, time.time, state=state, store=store)
        settings, selectors = TRAIL_KINDS[kind]
        trail = trails.create_trail(ACCOUNT, "us-east-1", "bench-trail", TrailSettings(s3_bucket_name=BUCKET, **settings))
        if selectors and isinstance(selectors[0], AdvancedEventSelector):
            trails.put_event_selectors(ACCOUNT, "us-east-1", "bench-trail", None, selectors)
        elif selectors is not None:
            trails.put_event_selectors(ACCOUNT, "us-east-1", "bench-trail", selectors, None)
        state.add_mark(trail.arn, 0, True)  # logging since before the backlog was appended
        trails.start_logging(ACCOUNT, "us-east-1", "bench-trail")
        worker = DeliveryWorker(store, trails, storage, state, clock=time.time)
        t0, cpu0 = time.perf_counter(), time.process_time()
        worker.start()
        while worker.open_events() + worker.pending_files() > 0 or worker._pos < store.last_seq():  # noqa: SLF001
            time.sleep(0.01)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        worker.stop()
        worker.join()
        counts = {k: len(orjson.loads(gzip.decompress(storage.get_object(BUCKET, k).body))["Records"])
                  for _, k in storage.written}
        compressed = sum((storage.bucket_path(BUCKET) / k).stat().st_size for k in counts)
        full = sum(counts[k] for _, k in storage.written[:-1])
        full_s = storage.written[-2][0] - t0 if len(storage.written) > 1 else float("nan")
        store.close(); state.close(); trails.close()
        delivered = sum(counts.values())
        assert delivered == n if kind == "default" else 0 < delivered <= n, (delivered, n)
        # rates count the events read from the log (delivered or not)
        full_read = n if len(storage.written) < 2 else full * n / delivered
        return {"trail": kind, "events": n, "delivered": delivered, "files": len(counts),
                "full_files_events_per_s": round(full_read / full_s),
                "all_seconds": round(elapsed, 2), "all_events_per_s": round(n / elapsed),
                "cpu_us_per_event": round(cpu / n * 1e6, 2),
                "compressed_mb": round(compressed / 1e6, 1)}


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
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--store-dir", type=Path, help="keep the filled event store here and reuse it")
    ap.add_argument("--repeat", type=int, default=1, help="throughput runs")
    ap.add_argument("--trail", choices=sorted(TRAIL_KINDS), default="default", help="the trail's selection (throughput)")
    args = ap.parse_args()
    tpls = templates()
    for _ in range(args.repeat):
        print("throughput", throughput(args.events, tpls, args.store_dir, args.trail), flush=True)
    if args.latency_seconds > 0:
        print("latency", latency(args.latency_seconds, tpls), flush=True)


if __name__ == "__main__":
    main()
