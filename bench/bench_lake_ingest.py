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

    def purge_deleted(self, now: float) -> list[str]:
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--store-dir", type=Path)
    ap.add_argument("--latency-rate", type=int, help="measure acknowledged -> queryable latency at this rate instead")
    ap.add_argument("--latency-seconds", type=float, default=60.0)
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
        lake = work / "lake"
        state = IngestState(lake / INGEST_DB)
        state.add_store(EDS_ID, 0)  # created before the backlog
        state.close()
        store = EventDataStore(EDS_ID, "123456789012", "us-east-1", "bench", "ENABLED", (),
                               retention_period_days=3653)
        worker = LakeIngestWorker(events, _Stores(store), lake, time.time)
        t, cpu = time.perf_counter(), time.process_time()
        while worker.caught_up_seq() < head:
            worker.run_once()
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        worker.close()
        files = layout.data_files(lake, EDS_ID)
        size = sum(p.stat().st_size for p in files)
        print(f"ingested {head} events in {wall:.2f} s: {head / wall:,.0f} events/s wall,"
              f" {head / cpu:,.0f} events/s of CPU time; {len(files)} files, {size:,} bytes,"
              f" {size / head:.1f} bytes/event")
        events.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
