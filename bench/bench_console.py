"""Console benchmark: page times of the web console over a large SQLite event store.

    python3 bench/bench_console.py --events 10000000 --dir /tmp/bc10m

Fills ``--dir`` with synthetic events (bench/common.py: copies of real records, 50 events/s from
2024-01-01, spread over 3 accounts x 3 Regions) unless it already holds at least ``--events``,
then serves the console (uvicorn in a thread, the real app, retention off) and times, through
HTTP with a signed-in session:

- the event history, first page (no filter) and page 20 (following Next links);
- the history filtered by EventName and by ResourceType;
- one event's page;
- the activity chart over the newest day of events (reaches the 10,000-event counting cap);
- a CSV download of the first 50,000 rows of a filter (rows/s; the download is cut there).

Each page is timed ``--repeat`` times; p50 and max are printed in milliseconds.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from bench.common import DEFAULT_ACCOUNTS, DEFAULT_START_TIME, synthetic_events  # noqa: E402
from opentrail.api.app import build_app  # noqa: E402
from opentrail.auth.accounts import AccountStore  # noqa: E402
from opentrail.settings import Settings  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

ACCOUNT = DEFAULT_ACCOUNTS[0]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def fill(store: SqliteEventStore, n: int) -> None:
    have = store.count()
    if have >= n:
        print(f"store holds {have:,} events; not filling", flush=True)
        return
    t0 = time.perf_counter()
    batch = []
    for i, event in enumerate(synthetic_events(n - have, seed=have)):
        batch.append(event)
        if len(batch) == 5000:
            store.append(batch, wait_visible=False)
            batch = []
        if (i + 1) % 1_000_000 == 0:
            print(f"  {have + i + 1:,} appended ({time.perf_counter() - t0:.0f} s)", flush=True)
    if batch:
        store.append(batch, wait_visible=False)
    store.flush()
    print(f"filled to {store.count():,} events in {time.perf_counter() - t0:.0f} s", flush=True)


def timed(client: httpx.Client, url: str, repeat: int) -> tuple[float, float, httpx.Response]:
    times = []
    response = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
    assert response is not None
    return statistics.median(times), max(times), response


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    store = SqliteEventStore(args.dir / "events")
    fill(store, args.events)
    accounts = AccountStore(args.dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    app = build_app(settings=Settings(data_dir=args.dir, event_history_retention_days=0), store=store, accounts=accounts)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    newest = DEFAULT_START_TIME + int(store.count() / 50)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as c:
            token = CSRF.search(c.get("/console/signin").text).group(1)  # type: ignore[union-attr]
            c.post("/console/signin", data={"csrf_token": token, "access_key_id": key.access_key_id,
                                             "secret_access_key": key.secret_access_key, "region": "us-east-1"})
            print(f"{store.count():,} events stored; console page times (ms, p50 / max of {args.repeat}):")
            rows = []
            p50, worst, first = timed(c, "/console/events", args.repeat)
            rows.append(("history, first page (50 events)", p50, worst))
            url = "/console/events"
            page = first
            for _ in range(19):
                url = unquote(re.search(r'<a href="([^"]+)" rel="next"', page.text).group(1)).replace("&amp;", "&")  # type: ignore[union-attr]
                page = c.get(url)
            p50, worst, _ = timed(c, url, args.repeat)
            rows.append(("history, page 20", p50, worst))
            p50, worst, page = timed(c, "/console/events?attr=EventName&value=Decrypt", args.repeat)
            rows.append(("history, EventName=Decrypt", p50, worst))
            p50, worst, _ = timed(c, "/console/events?attr=ResourceType&value=AWS::KMS::Key", args.repeat)
            rows.append(("history, ResourceType=AWS::KMS::Key", p50, worst))
            event = re.search(r'href="(/console/events/[0-9a-f-]{36})\?', page.text).group(1)  # type: ignore[union-attr]
            p50, worst, _ = timed(c, event, args.repeat)
            rows.append(("one event", p50, worst))
            day = f"/console/activity?t0={newest - 86400}&t1={newest}"
            p50, worst, chart = timed(c, day, max(1, args.repeat // 2))
            capped = "not counted" in chart.text
            rows.append((f"activity chart, newest day ({'capped at 10,000' if capped else 'complete'})", p50, worst))
            for name, a, b in rows:
                print(f"  {name:<52} {a:8.1f} / {b:8.1f}")
            t0 = time.perf_counter()
            n = 0
            with c.stream("GET", "/console/events/download?format=csv&attr=EventName&value=Decrypt") as r:
                for line in r.iter_lines():
                    n += 1
                    if n > 50_000:
                        break
            secs = time.perf_counter() - t0
            print(f"  CSV download, EventName=Decrypt: {n - 1:,} rows in {secs:.1f} s = {(n - 1) / secs:,.0f} rows/s")
    finally:
        server.should_exit = True
        time.sleep(0.5)
        store.close()
        accounts.close()


if __name__ == "__main__":
    main()
