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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--store-dir", type=Path)
    args = ap.parse_args()
    _dataset()
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
