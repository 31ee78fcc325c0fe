"""Event store benchmark: ingest (burst, sustained per million), visibility latency, lookup latency
(warm and cold), bytes per stored event.

    python3 bench/bench_store.py --events 1000000 --dir /tmp/x

Producer threads append batches concurrently (like API handlers); event generation is not timed.
Cold lookups drop the OS page cache (``/proc/sys/vm/drop_caches``, else ``posix_fadvise
DONTNEED``) and open a fresh SQLite reader connection before every timed query.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_ACCOUNTS, DEFAULT_REGIONS, DEFAULT_START_TIME, synthetic_events  # noqa: E402
from opentrail.store.base import LookupQuery, NewEvent  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

CHUNK = 100_000


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def ingest(store: SqliteEventStore, events: list[NewEvent], threads: int, batch: int) -> float:
    """Append ``events`` from ``threads`` producers in batches; return seconds."""
    batches = [events[i : i + batch] for i in range(0, len(events), batch)]
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not batches:
                    return
                b = batches.pop()
            store.append(b, wait_visible=False)  # acknowledged = durable in the log

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


class VisibilityProbe(threading.Thread):
    """Every 50 ms: append one event (acknowledged once durable), then poll lookup(EventId) from
    this thread until it shows: the acknowledgement-to-visible latency."""

    def __init__(self, store: SqliteEventStore) -> None:
        super().__init__(daemon=True)
        self.store, self.stop, self.latencies = store, threading.Event(), []  # type: list[float]
        self.n = 0

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.n += 1
            eid = f"probe-{time.time_ns()}-{self.n}"
            self.store.append([NewEvent(eid, DEFAULT_START_TIME, DEFAULT_ACCOUNTS[0], DEFAULT_REGIONS[0],
                                        "Management", b'{"probe":true}', (("EventName", "Probe"),))],
                              wait_visible=False)
            t0 = time.perf_counter()
            q = LookupQuery(DEFAULT_ACCOUNTS[0], DEFAULT_REGIONS[0], attribute=("EventId", eid))
            while not self.store.lookup(q).events:
                time.sleep(0.0005)
            self.latencies.append(time.perf_counter() - t0)


def visibility_at_rate(store: SqliteEventStore, rate: int, seconds: float, batch: int) -> list[float]:
    """Append ``rate`` events/s (batches of ``batch``, paced) for ``seconds`` while a probe measures
    acknowledgement-to-visible latency: the "visible within 1 s at that load" figure."""
    events = list(synthetic_events(int(rate * seconds), seed=11, start_time=DEFAULT_START_TIME + 86400 * 30))
    probe = VisibilityProbe(store)
    probe.start()
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        store.append(events[i : i + batch], wait_visible=False)
    probe.stop.set()
    probe.join()
    return probe.latencies


def drop_caches(directory: Path) -> str:
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "drop_caches"
    except OSError:
        for p in directory.iterdir():
            fd = os.open(p, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        return "fadvise"


def lookup_queries(sample: list[NewEvent], t_lo: int, t_hi: int, n: int, seed: int) -> dict[str, list[LookupQuery]]:
    rng = random.Random(seed)
    out: dict[str, list[LookupQuery]] = {}
    for kind in ("none", "EventName", "Username", "ResourceName", "EventId"):
        qs = []
        while len(qs) < n:
            e = rng.choice(sample)
            pairs = dict(e.lookup)
            if kind != "none" and kind not in pairs:
                continue
            start = rng.randrange(t_lo, max(t_lo + 1, t_hi - 3600))
            if kind == "EventId":
                start, end = e.event_time - 3600, e.event_time + 3600
            else:
                end = start + rng.choice((3600, 86400, 7 * 86400))
            attr = None if kind == "none" else (kind, pairs[kind])
            qs.append(LookupQuery(e.account_id, e.region, attribute=attr, start_time=start, end_time=end))
        out[kind] = qs
    return out


def run_lookups(store: SqliteEventStore, queries: dict[str, list[LookupQuery]], cold: bool) -> dict[str, tuple[float, float, float]]:
    res = {}
    for kind, qs in queries.items():
        times, found = [], 0
        for q in qs:
            if cold:
                reader = store._reader
                conn = getattr(reader._local, "conn", None)  # a fresh reader connection: no SQLite cache
                if conn is not None:
                    conn.close()
                    reader._local.conn = None
                drop_caches(store.directory)
                reader._reader().execute("SELECT count(*) FROM meta").fetchone()
            t0 = time.perf_counter()
            page = store.lookup(q)
            times.append(time.perf_counter() - t0)
            found += len(page.events)
        res[kind] = (pct(times, 50) * 1e3, pct(times, 99) * 1e3, found / len(qs))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, required=True, help="store directory (emptied first)")
    ap.add_argument("--threads", type=int, default=4, help="producer threads")
    ap.add_argument("--batch", type=int, default=500, help="events per append()")
    ap.add_argument("--cache-mb", type=int, default=256)
    ap.add_argument("--rate", type=int, default=20_000, help="steady load for the visibility phase, events/s")
    ap.add_argument("--rate-seconds", type=float, default=15.0)
    ap.add_argument("--queries", type=int, default=200, help="lookups per kind (warm); cold uses a quarter")
    args = ap.parse_args()

    shutil.rmtree(args.dir, ignore_errors=True)
    print(f"# {platform.platform()} / {os.cpu_count()} CPUs / Python {platform.python_version()}")
    print(f"# command: python3 bench/bench_store.py {' '.join(sys.argv[1:])}")
    store = SqliteEventStore(args.dir, cache_mb=args.cache_mb)
    rng = random.Random(1)
    sample: list[NewEvent] = []
    gen = synthetic_events(args.events, seed=7)
    done, per_million, vis = 0, [], []
    chunk_time = chunk_events = 0.0
    first = None
    probes = 0
    while done < args.events:
        events = [e for _, e in zip(range(min(CHUNK, args.events - done)), gen)]
        sample.extend(rng.sample(events, min(200, len(events))))
        probe = VisibilityProbe(store)
        probe.start()
        t0 = time.perf_counter()
        secs = ingest(store, events, args.threads, args.batch)
        probe.stop.set()
        probe.join()
        probes += probe.n
        vis.extend(probe.latencies)
        done += len(events)
        while store.count() < done + probes:  # sustained = until the indexer has caught up
            time.sleep(0.01)
        indexed_secs = time.perf_counter() - t0
        if first is None:
            first = len(events) / secs
            print(f"burst (first {len(events):,} events into an empty store): {first:,.0f} events/s acknowledged"
                  f" (durable), {len(events) / indexed_secs:,.0f} events/s indexed", flush=True)
        chunk_time += indexed_secs
        chunk_events += len(events)
        if done % 1_000_000 == 0 or done == args.events:
            rate = chunk_events / chunk_time
            per_million.append(rate)
            print(f"sustained up to {done:,}: {rate:,.0f} events/s (acknowledged and indexed)", flush=True)
            chunk_time = chunk_events = 0.0
    print(f"visibility after ack, at full ingest speed (the indexer lags by design): p50 {pct(vis, 50) * 1e3:.0f} ms,"
          f" p99 {pct(vis, 99) * 1e3:.0f} ms ({len(vis)} probes)")
    vis_rate = visibility_at_rate(store, args.rate, args.rate_seconds, args.batch)
    print(f"visibility after ack, at a steady {args.rate:,} events/s for {args.rate_seconds:.0f} s:"
          f" p50 {pct(vis_rate, 50) * 1e3:.1f} ms, p99 {pct(vis_rate, 99) * 1e3:.1f} ms ({len(vis_rate)} probes)",
          flush=True)
    done += int(args.rate * args.rate_seconds)
    store.close()
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    print(f"stored: {done:,} events, {size / 1e6:,.0f} MB, {size / done:.0f} bytes/event")

    t_lo = DEFAULT_START_TIME
    t_hi = max(e.event_time for e in sample)
    store = SqliteEventStore(args.dir, cache_mb=args.cache_mb)
    warm_q = lookup_queries(sample, t_lo, t_hi, args.queries, seed=3)
    run_lookups(store, warm_q, cold=False)  # warm-up pass
    warm = run_lookups(store, warm_q, cold=False)
    cold = run_lookups(store, lookup_queries(sample, t_lo, t_hi, max(10, args.queries // 4), seed=4), cold=True)
    store.close()
    print(f"cold method: {drop_caches(args.dir)} + fresh reader connection per query")
    print("| lookup (with time range) | warm p50 ms | warm p99 ms | cold p50 ms | cold p99 ms | events/page |")
    print("|---|---|---|---|---|---|")
    for kind in warm:
        w, c = warm[kind], cold[kind]
        print(f"| {kind} | {w[0]:.2f} | {w[1]:.2f} | {c[0]:.2f} | {c[1]:.2f} | {w[2]:.1f} |")


if __name__ == "__main__":
    main()
