"""CloudTrail Insights: what counting costs ingest, how fast imported history is analysed, and how
soon a Start is in the event store.

    python3 bench/insights_ingest.py [--events 200000] [--apis 1000] [--days 30] [--latency]

In process, real parts (a :class:`~opentrail.store.sqlite.SqliteEventStore` and
``insights.db`` in a temporary folder):

1. **Ingest, Insights off vs on.** ``--events`` records built from the datasets' CloudTrail
   records (templates of each kind, fresh eventIDs, eventTime now) in a typical mix: 85 %
   read-only calls without an error, 10 % write calls, 5 % calls with an errorCode. Appended in
   batches of ``--batch`` (1,000) into a fresh store, once without and once with an
   :class:`~opentrail.insights.worker.InsightsWorker` thread running (time until the worker has
   committed the last event). Also: the counting cost alone, µs/event (``count_new`` over the
   whole log minus ``read_columns`` alone).
2. **Imported history.** ``--days`` days of per-minute counts for ``--apis`` write APIs (one call
   every 30 minutes on average, a few bursts) committed as an import would, then one analysis
   round over all series (``analyse``). The detector is :func:`opentrail.insights.detector.detect`
   as it is in the tree; ``--detector null`` replaces it by one that finds nothing, to time the
   worker's own part (reading the counts, the state), ``--detector threshold`` by a linear one that
   flags every minute with 20 calls or more (the bursts: the Start/End records, attributions and
   appends timed too).
3. **Latency** (``--latency``, about a minute of wall time): a week of baseline imported, then
   a burst in the current minute; seconds from the end of that minute until the Start event is
   in the event store (worker defaults: grace 10 s, settle 5 s, analysis every second).

Prints the figures with the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.eventbridge_match import dataset_records  # noqa: E402
from opentrail.events.record import read_record  # noqa: E402
from opentrail.insights import detector, records  # noqa: E402
from opentrail.insights.counts import INSIGHTS_DB, SqliteInsightCounts  # noqa: E402
from opentrail.insights.model import CALL_RATE, MANAGEMENT, Anomaly, SeriesKey  # noqa: E402
from opentrail.insights.worker import InsightsWorker, Watch  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

ACCOUNT, REGION = "111122223333", "us-east-1"
WEEK = 7 * 1440


class Scope:
    def __init__(self, *watches: Watch) -> None:
        self.list = list(watches)

    def watches(self) -> list[Watch]:
        return self.list


def _simple_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[records.Attribution], state: str) -> dict[str, Any]:
    start_id, end_id, shared = records.event_ids(key, anomaly.start)
    minute = anomaly.start if state == "Start" else anomaly.end or anomaly.start
    return {"eventVersion": "1.08", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute * 60)),
            "awsRegion": key.region, "eventID": start_id if state == "Start" else end_id,
            "eventType": "AwsCloudTrailInsight", "recipientAccountId": key.account_id, "sharedEventID": shared,
            "eventCategory": "Insight", "insightDetails": {"state": state, "eventSource": key.event_source,
                                                           "eventName": key.event_name, "insightType": key.insight_type}}


def ensure_records() -> str:
    """records.start_record/end_record, or simple stand-ins while they are placeholders."""
    key = SeriesKey(ACCOUNT, REGION, MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE)
    try:
        records.start_record(key, Anomaly(1, None, 0.1, WEEK, 10.0, 1, 10.0), [])
        return "records.py"
    except NotImplementedError:
        records.start_record = lambda k, a, at: _simple_record(k, a, at, "Start")  # type: ignore[assignment]
        records.end_record = lambda k, a, at: _simple_record(k, a, at, "End")  # type: ignore[assignment]
        return "simple stand-ins (records.py is a placeholder)"


def mixed_events(count: int) -> tuple[list, dict[str, float]]:
    """``count`` NewEvents in the 85/10/5 mix (module docstring)."""
    base = [r for r in dataset_records() if isinstance(r.get("eventSource"), str) and isinstance(r.get("eventName"), str)]
    reads = [r for r in base if r.get("readOnly") is True and "errorCode" not in r]
    writes = [r for r in base if r.get("readOnly") is False and "errorCode" not in r]
    errors = [r for r in base if "errorCode" in r]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rng = random.Random(7)
    out = []
    for i in range(count):
        x = rng.random()
        pool = reads if x < 0.85 else writes if x < 0.95 else errors
        rec = dict(pool[i % len(pool)])
        rec.update(eventID=str(uuid.UUID(int=i + 1)), recipientAccountId=ACCOUNT, awsRegion=REGION, eventTime=now,
                   eventCategory="Management", managementEvent=True)
        out.append(read_record(rec))
    return out, {"reads": len(reads), "writes": len(writes), "errors": len(errors)}


def ingest(root: Path, events: list, with_insights: bool, batch: int) -> tuple[float, float]:
    """(seconds to append everything, seconds until Insights committed the last event or 0)."""
    data = Path(tempfile.mkdtemp(dir=root))
    store = SqliteEventStore(data / "events")
    w = None
    if with_insights:
        w = InsightsWorker(store, Scope(), data, time.time, poll_s=0.05)
        w.start()
    try:
        start = time.perf_counter()
        for i in range(0, len(events), batch):
            store.append(events[i:i + batch])
        appended = time.perf_counter() - start
        caught = 0.0
        if w is not None:
            store.flush()
            last = store.last_seq()
            while w.caught_up_seq() < last:
                time.sleep(0.01)
            caught = time.perf_counter() - start
        return appended, caught
    finally:
        if w is not None:
            w.stop()
            w.join()
        store.close()


def counting_cost(root: Path, events: list) -> tuple[float, float]:
    """(µs/event of count_new including the read, µs/event of read_columns alone), best of 3 each."""
    data = Path(tempfile.mkdtemp(dir=root))
    store = SqliteEventStore(data / "events")
    for i in range(0, len(events), 5000):
        store.append(events[i:i + 5000])
    store.flush()
    reads, counts = [], []
    for run in range(3):
        pos, t = 0, time.perf_counter()
        while True:
            cols = store.read_columns(pos, 10000)
            if not len(cols):
                break
            pos = cols.seqs[-1]
        reads.append(time.perf_counter() - t)
        w = InsightsWorker(store, Scope(), Path(tempfile.mkdtemp(dir=data)), time.time, read_limit=10000)
        t = time.perf_counter()
        while w.count_new():
            pass
        counts.append(time.perf_counter() - t)
        w.close()
    store.close()
    n = len(events)
    return min(counts) / n * 1e6, min(reads) / n * 1e6


def threshold_detect(minutes: Sequence[int], counts: Sequence[int], history_start: int, analyse_from: int,
                     analyse_to: int, params: Any = None) -> list[Anomaly]:
    """A linear stand-in: every minute with at least 20 calls is a one-minute anomaly."""
    lo = max(analyse_from, history_start + WEEK)
    return [Anomaly(m, m + 1 if m + 1 < analyse_to else None, 0.03, WEEK, float(n), 1, float(n))
            for m, n in zip(minutes, counts) if n >= 20 and lo <= m < analyse_to]


def history(root: Path, apis: int, days: int, kind: str) -> tuple[float, float, int, int]:
    """(seconds to commit the counts, seconds of the analysis round, series analysed, Insights events)."""
    data = Path(tempfile.mkdtemp(dir=root))
    store = SqliteEventStore(data / "events")
    counts = SqliteInsightCounts(data / INSIGHTS_DB)
    rng = random.Random(11)
    now = time.time()
    end = int(now // 60) - 60
    first = end - days * 1440
    t = time.perf_counter()
    rows = 0
    for k in range(apis):
        series = (ACCOUNT, REGION, MANAGEMENT, f"svc{k % 50}.amazonaws.com", f"Put{k}", CALL_RATE, "")
        cells: dict = {}
        attrs: dict = {}
        for m in range(first, end):
            if rng.random() < 1 / 30:
                cells[series, m] = 1
                attrs[series, m, 0, "arn:aws:iam::111122223333:user/app"] = 1
        for j in range(3):  # a few bursts after the first week
            b = first + WEEK + rng.randrange((days - 7) * 1440 - 30)
            cells[series, b] = cells.get((series, b), 0) + 40
        rows += len(cells)
        counts.apply(cells, attrs, k + 1, now - 3600, end)
    filled = time.perf_counter() - t
    if kind == "null":
        detector.detect = lambda *a, **kw: []  # type: ignore[assignment]
    elif kind == "threshold":
        detector.detect = threshold_detect  # type: ignore[assignment]
    w = InsightsWorker(store, Scope(Watch(ACCOUNT, None, CALL_RATE, MANAGEMENT)), counts, time.time)
    t = time.perf_counter()
    analysed = w.analyse(now)
    took = time.perf_counter() - t
    n = store.count()
    counts.close()
    store.close()
    return filled, took, analysed, n


def latency(root: Path) -> float:
    """Seconds from the end of the burst's minute until its Start is in the store."""
    data = Path(tempfile.mkdtemp(dir=root))
    store = SqliteEventStore(data / "events")
    now = time.time()
    minute = int(now // 60)
    base = [read_record({"eventVersion": "1.11", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m * 60)),
                         "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": REGION,
                         "readOnly": False, "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall",
                         "recipientAccountId": ACCOUNT, "userIdentity": {"arn": "arn:aws:iam::1:user/a"}})
            for m in range(minute - WEEK - 60, minute, 10)]
    store.append(base)
    w = InsightsWorker(store, Scope(Watch(ACCOUNT, REGION, CALL_RATE, MANAGEMENT)), data, time.time)
    w.start()
    try:
        time.sleep(7)  # the import settles and is analysed
        minute = int(time.time() // 60)
        burst = [read_record({"eventVersion": "1.11", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute * 60 + i % 50)),
                              "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": REGION,
                              "readOnly": False, "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall",
                              "recipientAccountId": ACCOUNT}) for i in range(200)]
        store.append(burst)
        while True:
            found = [e for e in store.read_since(len(base) + len(burst), 100) if e.category == "Insight"]
            if found:
                return time.time() - (minute + 1) * 60
            time.sleep(0.1)
    finally:
        w.stop()
        w.join()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--apis", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--detector", choices=("tree", "null", "threshold"), default="tree")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-history", action="store_true")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs; Insights records: {ensure_records()}")
    root = Path(tempfile.mkdtemp(prefix="opentrail-insights-bench-"))
    try:
        if not args.skip_ingest:
            events, pools = mixed_events(args.events)
            print(f"1. ingest of {len(events):,} events (templates {pools}), batches of {args.batch:,}")
            per_event, read = counting_cost(root, events)
            print(f"   counting: {per_event - read:.2f} µs/event (count_new {per_event:.2f} incl. read_columns {read:.2f})")
            for on in (False, True, False, True):
                appended, caught = ingest(root, events, on, args.batch)
                extra = f", worker committed the last event after {caught:.2f} s ({len(events) / caught:,.0f} events/s)" if on else ""
                print(f"   Insights {'on ' if on else 'off'}: appended in {appended:.2f} s = {len(events) / appended:,.0f} events/s{extra}")
        if not args.skip_history:
            filled, took, analysed, n = history(root, args.apis, args.days, args.detector)
            print(f"2. {args.days} days of history for {args.apis} APIs (committed in {filled:.1f} s): one analysis round "
                  f"of {analysed} series in {took:.1f} s, {n} Insights events (detector: {args.detector})")
        if args.latency:
            print(f"3. Start in the store {latency(root):.1f} s after the end of the first anomalous minute")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
