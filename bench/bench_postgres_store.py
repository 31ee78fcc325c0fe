"""PostgreSQL event store beside SQLite on the same machine: append throughput (batches of 1000
from producer threads, acknowledged = committed) and LookupEvents latency p50/p99 at N events,
plus stored bytes per event.

    python3 bench/bench_postgres_store.py --events 1000000 --dir /tmp/bench-pg \\
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Events come in chunks of 100,000 (generation is not timed); each chunk goes into SQLite, then into
PostgreSQL, so both see the same load on the machine. SQLite acknowledges once a batch is in its
log and indexes behind it: its "indexed" rate waits for the indexer (flush) after each chunk.
PostgreSQL's acknowledgement is its commit, after which the events are visible. The benchmark
creates its own database (``opentrail_bench_<random>``) and drops it at the end. Lookups are warm
(same queries as bench/bench_store.py: a random account/Region, a 1 h..7 d window).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from bench.bench_store import ingest, lookup_queries, pct, run_lookups  # noqa: E402
from bench.common import DEFAULT_START_TIME, synthetic_events  # noqa: E402
from opentrail.store.base import EventStore, NewEvent  # noqa: E402
from opentrail.store.postgres import PostgresEventStore  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

CHUNK = 100_000
TABLES = ("events", "event_postings", "event_lookup_keys", "event_purged", "event_partitions", "event_seq",
          "event_received", "event_store_meta")


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_cpu_s(url: str, database: str) -> tuple[float, float]:
    """CPU seconds so far of (this database's ``opentrail`` backends, PostgreSQL's background
    processes: WAL writer, checkpointer, background writer). Load-independent, unlike events/s."""
    with psycopg.connect(url, autocommit=True) as conn:
        mine = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'opentrail'", (database,))]
        aux = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')")]
    return sum(map(_proc_cpu_s, mine)), sum(map(_proc_cpu_s, aux))


def pg_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT sum(pg_total_relation_size(c)) FROM unnest(%s::regclass[]) AS c", (list(TABLES),)).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, required=True, help="SQLite store directory (emptied first)")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--threads", type=int, default=4, help="producer threads")
    ap.add_argument("--batch", type=int, default=1000, help="events per append()")
    ap.add_argument("--queries", type=int, default=200, help="lookups per kind")
    ap.add_argument("--stores", default="sqlite,postgres", help="which stores to load and measure")
    ap.add_argument("--database", help="PostgreSQL database name to use and keep (default: a new one, dropped at the end)")
    ap.add_argument("--lookups-only", action="store_true",
                    help="skip loading: measure lookups on the kept --database (loaded earlier with the same --events)")
    args = ap.parse_args()
    if args.lookups_only and not args.database:
        ap.error("--lookups-only needs --database")

    print(f"# {platform.platform()} / {os.cpu_count()} CPUs / Python {platform.python_version()}")
    print(f"# command: python3 bench/bench_postgres_store.py {' '.join(sys.argv[1:])}")
    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.lookups_only:
        shutil.rmtree(args.dir, ignore_errors=True)
    name = args.database or f"opentrail_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        print(f"# {conn.execute('SELECT version()').fetchone()[0]}")  # type: ignore[index]
        if not args.lookups_only:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        wanted = args.stores.split(",")
        stores: dict[str, EventStore] = {}
        if "sqlite" in wanted:
            stores["sqlite"] = SqliteEventStore(args.dir)
        if "postgres" in wanted:
            stores["postgres"] = PostgresEventStore(url)
        acked = {k: 0.0 for k in stores}
        indexed = {k: 0.0 for k in stores}
        rng = random.Random(1)
        sample: list[NewEvent] = []
        gen = synthetic_events(args.events, seed=7)
        done = 0
        while done < args.events:
            events = [e for _, e in zip(range(min(CHUNK, args.events - done)), gen)]
            sample.extend(rng.sample(events, min(200, len(events))))
            line = []
            for kind, store in stores.items() if not args.lookups_only else ():
                cpu0 = time.process_time()
                pg0 = pg_cpu_s(url, name) if kind == "postgres" else (0.0, 0.0)
                t0 = time.perf_counter()
                secs = ingest(store, events, args.threads, args.batch)
                store.flush()
                acked[kind] += secs
                indexed[kind] += time.perf_counter() - t0
                line.append(f"{kind} {len(events) / secs:,.0f} ack / {len(events) / (time.perf_counter() - t0):,.0f} visible")
                # CPU per event (us): this process (producers + writer), and for PostgreSQL its
                # backends and background processes (the pool's backends live through the run)
                cpu = f"cpu us/event: python {(time.process_time() - cpu0) / len(events) * 1e6:.1f}"
                if kind == "postgres":
                    pg1 = pg_cpu_s(url, name)
                    cpu += (f" backends {(pg1[0] - pg0[0]) / len(events) * 1e6:.1f}"
                            f" pg-aux {(pg1[1] - pg0[1]) / len(events) * 1e6:.1f}")
                line.append(cpu)
            done += len(events)
            if line:
                print(f"{done:>9,}: " + "; ".join(line) + " events/s", flush=True)
        print("| store | events | acknowledged events/s | visible events/s | bytes/event | lookup kind | p50 ms | p99 ms | events/page |")
        print("|---|---|---|---|---|---|---|---|---|")
        t_hi = max(e.event_time for e in sample)
        queries = lookup_queries(sample, DEFAULT_START_TIME, t_hi, args.queries, seed=3)
        sizes = {"postgres": pg_bytes(url)} if "postgres" in stores else {}
        if "sqlite" in stores:
            stores["sqlite"].close()
            sizes["sqlite"] = sum(p.stat().st_size for p in args.dir.iterdir())
            stores["sqlite"] = SqliteEventStore(args.dir)
        for kind, store in stores.items():
            count = store.count()  # a kept database may hold a chunk more (a load stopped mid-chunk)
            assert count == args.events or (args.lookups_only and count >= args.events), (kind, count)
            run_lookups(store, queries, cold=False)  # warm-up pass
            res = run_lookups(store, queries, cold=False)
            for i, (q, (p50, p99, per_page)) in enumerate(res.items()):
                rates = (f"{args.events / acked[kind]:,.0f} | {args.events / indexed[kind]:,.0f}" if acked[kind]
                         else "(not loaded here) | ")
                head = (f"| {kind} | {args.events:,} | {rates}"
                        f" | {sizes[kind] / args.events:,.0f}") if i == 0 else "| | | | |"
                print(f"{head} | {q} | {p50:.2f} | {p99:.2f} | {per_page:.1f} |", flush=True)
            store.close()
        print(f"# load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        _ = pct
    finally:
        if args.database:
            print(f"# kept database {name}")
        else:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
