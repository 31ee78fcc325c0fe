"""Trail -> CloudWatch Logs benchmark: sustained events/s into the log group, and acknowledgement ->
log event readable latency under that load.

    python3 bench/bench_trail_cwl.py [--backlog 300000] [--rate 20000] [--seconds 20] [--dataset DIR]
        [--interval-s 2.0]

In process, as ``opentrail serve`` wires it: a :class:`SqliteEventStore`, the :class:`LogsService`
(``logs.db``, SQLite, synchronous FULL), a :class:`DeliveringTrailService` with one trail (default
selection) sending to one log group, and the :class:`CloudWatchLogsWorker` thread with the default
``--delivery-interval-s`` (2.0). Records are the invictus-ir dataset's (real CloudTrail, ~1.26 KB
each) with fresh eventIDs, recipient account and Region set to the trail's.

- Backlog: ``--backlog`` events are in the store first (appended while the trail was logging),
  then the worker starts and is timed until every one is a log event: the rate at which it
  catches up (reading the log, routing, planning, appending 1 MB batches to ``logs.db``), and the
  process's CPU time per event.
- Sustained: ``--producers`` threads append ``--rate`` events/s in all (batches of 500 made
  beforehand, paced by the wall clock, ``EventStore.append(wait_visible=False)``: acknowledged =
  durable in the store's log, as the ingest endpoint acknowledges) for ``--seconds`` while the
  worker runs; the store indexes them behind its log, and the worker reads them from there.
  An event is *readable* when the ``append_events`` call holding it has returned (its
  transaction committed: any GetLogEvents/FilterLogEvents sees it); latency = that moment minus the
  moment its append was acknowledged. Reports the offered and achieved rates, p50/p99/max
  latency, and the events still unsent when the producer stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentrail.delivery import CloudWatchLogsState, CloudWatchLogsWorker, DeliveringTrailService, DeliveryState  # noqa: E402
from opentrail.events.record import read_record  # noqa: E402
from opentrail.monitoring.logs import LogsService  # noqa: E402
from opentrail.objectstore import LocalFolderStorage  # noqa: E402
from opentrail.store.base import NewEvent  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402
from opentrail.trails import TrailSettings  # noqa: E402

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "bench-bucket"
GROUP = "trail-events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
ID_TEMPLATE = "00000000-0000-4000-8000-{:012d}"
#: Extra CloudWatchLogsWorker arguments (--max-batch-bytes).
WORKER_OPTIONS: dict[str, int] = {}


class TimedLogs(LogsService):
    """The CloudWatch Logs service, noting when each appended batch became readable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appended: list[tuple[float, list[tuple[int, str]]]] = []

    def append_events(self, *args: Any, **kwargs: Any) -> None:
        super().append_events(*args, **kwargs)
        self.appended.append((time.time(), args[4]))


class Events:
    """Fresh events from the dataset's records: each template's stored bytes with a new eventID
    (same length, so a bytes replace, ~1 µs) -- the producer must not be the bottleneck."""

    def __init__(self, dataset: Path) -> None:
        recs = [r for f in sorted(dataset.glob("*.json")) for r in orjson.loads(f.read_bytes())["Records"]]
        self._templates: list[tuple[NewEvent, bytes]] = []
        for i, r in enumerate(recs):
            r = dict(r, recipientAccountId=ACCOUNT, awsRegion=REGION, eventCategory="Management", managementEvent=True)
            if r.get("eventSource") in ("iam.amazonaws.com", "sts.amazonaws.com"):
                r["eventSource"] = "ec2.amazonaws.com"
            r["eventID"] = ID_TEMPLATE.format(i)
            event = read_record(r)
            self._templates.append((event, r["eventID"].encode()))
        self._next = 10**9

    def take(self, n: int) -> list[NewEvent]:
        out = []
        for _ in range(n):
            self._next += 1
            event, old = self._templates[self._next % len(self._templates)]
            new_id = ID_TEMPLATE.format(self._next)
            out.append(dataclasses.replace(event, event_id=new_id, record=event.record.replace(old, new_id.encode(), 1)))
        return out


def setup(root: Path, store: SqliteEventStore) -> tuple[TimedLogs, DeliveryState, CloudWatchLogsState, DeliveringTrailService]:
    storage = LocalFolderStorage(root / "buckets")
    storage.create_bucket(BUCKET)
    logs = TimedLogs(root, time.time)
    logs.create_log_group(ACCOUNT, REGION, GROUP)
    state = DeliveryState(root / "delivery.db")
    cwl_state = CloudWatchLogsState(root / "cloudwatch-logs.db")
    trails = DeliveringTrailService(root, storage, time.time, state=state, store=store, log_groups=logs)
    trail = trails.create_trail(ACCOUNT, REGION, "bench-trail", TrailSettings(
        s3_bucket_name=BUCKET, cloud_watch_logs_log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*",
        cloud_watch_logs_role_arn=ROLE))
    state.add_mark(trail.arn, 0, True)  # logging (and sending) since before any event was appended
    state.add_log_group_mark(trail.arn, 0, trail.cloud_watch_logs_log_group_arn)
    trails.start_logging(ACCOUNT, REGION, "bench-trail")
    return logs, state, cwl_state, trails


def sent(logs: TimedLogs) -> int:
    return sum(len(events) for _, events in logs.appended)


def backlog(n: int, events: Events, interval_s: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = SqliteEventStore(root / "events")
        for i in range(0, n, 2000):
            store.append(events.take(min(2000, n - i)))
        logs, state, cwl_state, trails = setup(root, store)
        worker = CloudWatchLogsWorker(store, trails, logs, state, cwl_state, clock=time.time, interval_s=interval_s,
                                      **WORKER_OPTIONS)
        t0, cpu0 = time.perf_counter(), time.process_time()
        worker.start()
        while sent(logs) < n:
            time.sleep(0.01)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        worker.stop()
        worker.join()
        batches = len(logs.appended)
        for closable in (trails, cwl_state, state, logs, store):
            closable.close()
        return {"events": n, "seconds": round(elapsed, 2), "events_per_s": round(n / elapsed),
                "batches": batches, "cpu_us_per_event": round(cpu / n * 1e6, 1)}


def sustained(rate: int, seconds: float, events: Events, interval_s: float, producers: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = SqliteEventStore(root / "events")
        logs, state, cwl_state, trails = setup(root, store)
        worker = CloudWatchLogsWorker(store, trails, logs, state, cwl_state, clock=time.time, interval_s=interval_s,
                                      **WORKER_OPTIONS)
        worker.start()
        acked: dict[str, float] = {}
        per_batch = 500
        total = int(rate * seconds)
        share = total // producers
        batches = [[events.take(min(per_batch, share - i)) for i in range(0, share, per_batch)] for _ in range(producers)]
        t0 = time.time()
        cpu0 = time.process_time()

        def produce(mine: list[list[NewEvent]]) -> None:
            done = 0
            for batch in mine:
                due = t0 + done / (rate / producers)
                if due > time.time():
                    time.sleep(due - time.time())
                store.append(batch, wait_visible=False)  # acknowledged: durable in the store's log
                t = time.time()
                for e in batch:
                    acked[e.event_id] = t
                done += len(batch)

        threads = [threading.Thread(target=produce, args=(mine,)) for mine in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = share * producers
        produced_s = time.time() - t0
        unsent_at_stop = total - sent(logs)
        unindexed_at_stop = total - store.last_seq()  # not yet readable from the event log
        deadline = time.time() + 120
        while sent(logs) < total and time.time() < deadline:
            time.sleep(0.01)
        drained_s = time.time() - t0
        cpu = time.process_time() - cpu0
        worker.stop()
        worker.join()
        lat = []
        for readable, batch in logs.appended:
            for _, message in batch:
                lat.append(readable - acked[orjson.loads(message)["eventID"]])
        for closable in (trails, cwl_state, state, logs, store):
            closable.close()
        assert len(lat) == total, (len(lat), total)
        lat.sort()
        q = statistics.quantiles(lat, n=100)
        return {"offered_per_s": rate, "events": total, "produced_per_s": round(total / produced_s),
                "sent_per_s": round(total / drained_s), "unsent_when_producers_stopped": unsent_at_stop,
                "unindexed_when_producers_stopped": unindexed_at_stop,
                "p50_s": round(q[49], 3), "p99_s": round(q[98], 3), "max_s": round(lat[-1], 3),
                "cpu_us_per_event": round(cpu / total * 1e6, 1), "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=300_000, help="events in the store before the worker starts (0: skip)")
    ap.add_argument("--rate", type=int, default=20_000, help="events/s the producer offers while the worker runs")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the producer runs (0: skip)")
    ap.add_argument("--interval-s", type=float, default=2.0, help="--delivery-interval-s")
    ap.add_argument("--max-batch-bytes", type=int, default=0, help="the worker's batch byte limit (0: its default)")
    ap.add_argument("--producers", type=int, default=2, help="producer threads (batches of 500)")
    ap.add_argument("--dataset", type=Path, default=DATASET, help="folder of the invictus-ir CloudTrail files")
    args = ap.parse_args()
    if args.max_batch_bytes:
        WORKER_OPTIONS["max_batch_bytes"] = args.max_batch_bytes
    events = Events(args.dataset)
    if args.backlog:
        print("backlog", backlog(args.backlog, events, args.interval_s), flush=True)
    if args.seconds:
        print("sustained", sustained(args.rate, args.seconds, events, args.interval_s, args.producers), flush=True)


if __name__ == "__main__":
    main()
