"""Dashboard refresh benchmark: a dashboard of 6 widgets over a store of ``--events`` events.

    python3 bench/bench_dashboard.py [--events 10000000] [--days 30] [--work DIR] [--repeat 5]
                                     [--poll-ms 20]

1. **The store**: built exactly as bench/bench_lake_query.py builds it (and shared with it: the
   same ``--work`` folder reuses the built files): real-derived records over ``--days`` days ending
   yesterday, written with the ingestion code as one Parquet file a day.
2. ``opentrail serve`` on a fresh data directory; the store is created with boto3 and the files
   are linked into its folder.
3. A custom dashboard with the six widgets of the built-in managed dashboard
   (:mod:`opentrail.lake.managed_dashboard`: events over time, top callers, failed calls by error
   code, console sign-ins, access denied, top event sources) over that store, created with
   CreateDashboard.
4. Each round: StartDashboardRefresh, then DescribeQuery (QueryAlias + RefreshId) of every widget
   at once and every ``--poll-ms`` until each ended, then GetQueryResults of each: the time from
   StartDashboardRefresh to the last widget's results, what a client drawing the dashboard waits
   for. Two ranges: every day of the store (every file is read) and the last day (day pruning).
   The median of ``--repeat`` rounds is printed with the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_lake_ingest import _dataset  # noqa: E402
from bench.bench_lake_query import BUILT, _client, build, served_store  # noqa: E402
from opentrail.lake.managed_dashboard import managed_dashboard  # noqa: E402


def widgets(eds_id: str) -> list[dict[str, Any]]:
    """The managed dashboard's six widgets with the store's ID in place of ``FROM ?``."""
    out = []
    for w in managed_dashboard("123456789012", "us-east-1").widgets:
        params = list(w.parameters)
        statement = w.statement.replace("FROM ?", f"FROM {eds_id}", 1)
        params.remove("$EventDataStoreId$")
        out.append({"QueryStatement": statement, "QueryParameters": params, "ViewProperties": dict(w.view_properties)})
    return out


def refresh(ct: Any, name: str, aliases: list[str], values: dict[str, str], poll_s: float) -> tuple[float, int, int]:
    """StartDashboardRefresh -> every widget query ended -> every widget's results: seconds, rows,
    DescribeQuery rounds."""
    t = time.perf_counter()
    refresh_id = ct.start_dashboard_refresh(DashboardId=name, QueryParameterValues=values)["RefreshId"]
    ids = {a: ct.describe_query(QueryAlias=a, RefreshId=refresh_id)["QueryId"] for a in aliases}
    pending, rounds = set(aliases), 0
    while pending:
        rounds += 1
        for alias in sorted(pending):
            status = ct.describe_query(QueryId=ids[alias])["QueryStatus"]
            if status not in ("QUEUED", "RUNNING"):
                assert status == "FINISHED", (alias, status)
                pending.discard(alias)
        if pending:
            time.sleep(poll_s)
    rows = sum(len(ct.get_query_results(QueryId=ids[a])["QueryResultRows"]) for a in aliases)
    return time.perf_counter() - t, rows, rounds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--work", type=Path, default=Path("/tmp/opentrail-bench-lake-query"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--poll-ms", type=float, default=20)
    args = ap.parse_args()
    _dataset()
    first, last = build(args.work / BUILT, args.events, args.days)
    data = args.work / "dashboard-data"
    shutil.rmtree(data, ignore_errors=True)
    from tests.test_e2e_cli import Server
    srv = Server(data, None)
    try:
        ct = _client(srv.url, data)
        eds_id, files, size = served_store(ct, data, args.work / BUILT)
        print(f"store {eds_id}: {len(files)} files, {size / 2**20:,.0f} MiB, days {first}..{last}", flush=True)
        created = ct.create_dashboard(Name="bench", Widgets=widgets(eds_id))
        aliases = [w["QueryAlias"] for w in created["Widgets"]]
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        ranges = {f"all {args.days} days": (dt.datetime.combine(first, dt.time(), dt.timezone.utc), end),
                  "last day": (end - dt.timedelta(days=1), end)}
        for label, (lo, hi) in ranges.items():
            values = {"$StartTime$": lo.strftime("%Y-%m-%dT%H:%M:%SZ"), "$EndTime$": hi.strftime("%Y-%m-%dT%H:%M:%SZ")}
            refresh(ct, "bench", aliases, values, args.poll_ms / 1000)  # warm-up: files in the page cache
            times, rounds = [], []
            for _ in range(args.repeat):
                secs, rows, n = refresh(ct, "bench", aliases, values, args.poll_ms / 1000)
                times.append(secs)
                rounds.append(n)
            print(f"{label}: 6 widgets refreshed in {statistics.median(times) * 1000:,.0f} ms (median of {args.repeat}; "
                  f"min {min(times) * 1000:,.0f}, max {max(times) * 1000:,.0f} ms; {rows} result rows; "
                  f"DescribeQuery rounds {min(rounds)}-{max(rounds)}; load {os.getloadavg()[0]:.2f})", flush=True)
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
