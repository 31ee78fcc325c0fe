"""Lake ingestion benchmark: events/s into one event data store and bytes per stored event.

    python3 bench/bench_lake_ingest.py [--events 300000] [--store-dir DIR]

In process: a :class:`SqliteEventStore` holding a backlog of ``--events`` real-derived records
(bench/common.py: the invictus-ir dataset's records, ~1.24 KB of JSON each, fresh eventIDs, one
account, three Regions, eventTimes over a few days), one multi-Region event data store with the
default selection (every management event) created before them, and
:class:`~opentrail.lake.ingest.LakeIngestWorker` with its defaults (``--lake-ingest-interval-s``
1.0) timed with ``run_once`` until its cursor reaches the log's head: reading the log, parsing,
record -> columns, zstd Parquet, fsync'd files. Reports events/s (wall and CPU time of the
process), the store's bytes on disk per event, and the files written. ``--store-dir`` keeps the
filled event store and reuses it.

    python3 bench/bench_lake_ingest.py --latency-rate 5000 [--latency-seconds 60]

measures the acknowledged-event-to-queryable latency instead (see :func:`latency`).

    python3 bench/bench_lake_ingest.py --s3 moto|<endpoint URL> [--events 300000]

ingests into a lake on S3 instead (``--lake-storage-url s3://bench-lake/lake``: moto's server
started in this process, or the S3-compatible service at the URL with the AWS credential chain;
the bucket is created when missing), then times the download of every file into an emptied cache
(what a query over the whole store does first after a restart) and a ``count(*)`` over them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from opentrail.lake import layout  # noqa: E402
from opentrail.lake.ingest import INGEST_DB, IngestState, LakeIngestWorker  # noqa: E402
from opentrail.lake.model import EventDataStore  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

EDS_ID = "0b6f2c3e-0000-4000-8000-000000000001"


def _dataset() -> None:
    if common.DATASET.is_dir():
        return
    for parent in Path(__file__).resolve().parents:  # a git worktree sits one level deeper
        candidate = parent / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
        if candidate.is_dir():
            common.DATASET = candidate
            return


class _Stores:
    version = 1

    def __init__(self, store: EventDataStore) -> None:
        self._all = [store]

    def all(self) -> list[EventDataStore]:
        return self._all

    def purge_deleted(self, now: float, owns: object = None) -> list[str]:
        return []


def latency(rate: int, seconds: float) -> None:
    """Acknowledged-to-queryable latency: events appended at ``rate``/s (a batch every 50 ms) for
    ``seconds`` into a SqliteEventStore while the LakeIngestWorker runs on its thread with its
    defaults; an event is queryable once the worker's committed cursor passes its seq (its file
    is then committed and listed by :func:`layout.data_files`, which every query lists when it
    starts). Prints p50/p99/max seconds from append()'s return to that moment."""
    import threading
    work = Path(tempfile.mkdtemp(prefix="bench-lake-latency-"))
    try:
        events = SqliteEventStore(work / "events")
        lake = work / "lake"
        state = IngestState(lake / INGEST_DB)
        state.add_store(EDS_ID, 0)
        state.close()
        store = EventDataStore(EDS_ID, "123456789012", "us-east-1", "bench", "ENABLED", (),
                               retention_period_days=3653)
        worker = LakeIngestWorker(events, _Stores(store), lake, time.time)
        worker.start()
        acked: dict[int, float] = {}
        seen: dict[int, float] = {}
        done = threading.Event()

        def watch() -> None:
            last = 0
            while not done.is_set() or last < events.last_seq():
                cursor = worker.caught_up_seq()
                if cursor > last:
                    now = time.perf_counter()
                    for seq in range(last + 1, cursor + 1):
                        seen[seq] = now
                    last = cursor
                time.sleep(0.005)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        gen = common.synthetic_events(int(rate * seconds) + rate, accounts=("123456789012",),
                                      start_time=int(time.time()) - 60, events_per_s=float(rate))
        per_batch = max(1, rate // 20)
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds:
            batch = [next(gen) for _ in range(per_batch)]
            events.append(batch)
            now = time.perf_counter()
            for seq in range(n + 1, n + per_batch + 1):
                acked[seq] = now
            n += per_batch
            time.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        elapsed = time.perf_counter() - t0
        done.set()
        watcher.join(timeout=60)
        worker.stop()
        worker.join(timeout=60)
        lat = sorted(seen[s] - acked[s] for s in acked if s in seen)
        missing = len(acked) - len(lat)
        print(f"{n} events at {rate}/s ({n / elapsed:,.0f}/s achieved) for {seconds:.0f} s: acknowledged -> queryable p50 {lat[len(lat) // 2]:.2f} s, "
              f"p99 {lat[int(len(lat) * 0.99)]:.2f} s, max {lat[-1]:.2f} s ({missing} not seen)")
        events.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _s3_lake(target: str, work: Path) -> tuple[object, object]:
    """``(ObjectFiles over s3://bench-lake/lake/, the moto server or None)``."""
    import os

    import boto3

    from opentrail.lake.objectfiles import ObjectFiles
    from opentrail.objectstore import S3Storage

    server = None
    if target == "moto":
        import socket

        from moto.server import ThreadedMotoServer

        for k, v in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            os.environ.setdefault(k, v)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        target = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=target)
    if "bench-lake" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket="bench-lake")
    files = ObjectFiles(S3Storage(target), "bench-lake", "lake/", work / "lake-cache", work / "lake-ingest.db", 10 << 30)
    return files, server


def _cold_read(files: object) -> None:
    """Empty the cache, download every file of the store, count its rows; prints both times."""
    import duckdb

    data = files.data_files(EDS_ID)  # type: ignore[attr-defined]
    for path in data:
        files.cache.discard(path)  # type: ignore[attr-defined]
    t = time.perf_counter()
    with files.reading(data):  # type: ignore[attr-defined]
        download = time.perf_counter() - t
        size = sum(p.stat().st_size for p in data)
        t = time.perf_counter()
        n = duckdb.execute("SELECT count(*) FROM read_parquet($f)", {"f": [str(p) for p in data]}).fetchone()[0]
        scan = time.perf_counter() - t
    print(f"cold cache: downloaded {len(data)} files, {size:,} bytes in {download:.2f} s "
          f"({size / download / 1e6:,.1f} MB/s); count(*) = {n} in {scan:.3f} s once local")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--store-dir", type=Path)
    ap.add_argument("--latency-rate", type=int, help="measure acknowledged -> queryable latency at this rate instead")
    ap.add_argument("--latency-seconds", type=float, default=60.0)
    ap.add_argument("--s3", help="'moto' (in process) or an S3-compatible endpoint URL: ingest into s3://bench-lake/lake")
    args = ap.parse_args()
    _dataset()
    if args.latency_rate:
        latency(args.latency_rate, args.latency_seconds)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    events_dir = args.store_dir or work / "events"
    try:
        events = SqliteEventStore(events_dir)
        if events.last_seq() < args.events:
            t = time.perf_counter()
            batch = []
            for e in common.synthetic_events(args.events - events.last_seq(), accounts=("123456789012",),
                                             events_per_s=2.0, seed=events.last_seq()):
                batch.append(e)
                if len(batch) == 5000:
                    events.append(batch)
                    batch = []
            if batch:
                events.append(batch)
            print(f"filled {events.last_seq()} events in {time.perf_counter() - t:.1f} s", flush=True)
        head = events.last_seq()
        lake: object = work / "lake"
        server = None
        if args.s3:
            lake, server = _s3_lake(args.s3, work)
        state = IngestState(lake.ingest_db if args.s3 else work / "lake" / INGEST_DB)  # type: ignore[attr-defined]
        state.add_store(EDS_ID, 0)  # created before the backlog
        state.close()
        store = EventDataStore(EDS_ID, "123456789012", "us-east-1", "bench", "ENABLED", (),
                               retention_period_days=3653)
        worker = LakeIngestWorker(events, _Stores(store), lake, time.time)  # type: ignore[arg-type]
        t, cpu = time.perf_counter(), time.process_time()
        while worker.caught_up_seq() < head:
            worker.run_once()
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        worker.close()
        files = lake.data_files(EDS_ID) if args.s3 else layout.data_files(lake, EDS_ID)  # type: ignore[attr-defined, arg-type]
        size = sum(p.stat().st_size for p in files)
        print(f"ingested {head} events in {wall:.2f} s: {head / wall:,.0f} events/s wall,"
              f" {head / cpu:,.0f} events/s of CPU time; {len(files)} files, {size:,} bytes,"
              f" {size / head:.1f} bytes/event")
        if args.s3:
            _cold_read(lake)
            lake.close()  # type: ignore[attr-defined]
            if server is not None:
                server.stop()
        events.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
