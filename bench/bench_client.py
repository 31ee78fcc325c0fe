"""Benchmark the application SDK: EventClient put and delivery rates, and the latency the audit
middleware adds to a request.

    python3 bench/bench_client.py --events 100000 --requests 3000 --dir /tmp/ot-bench-client

1. Starts `opentrail serve` (bench/bench_http.py's seeded credentials, retention 0).
2. put: builds ``--events`` records with ``audit_event`` (not timed), then times ``put()`` of all
   of them (the caller's cost: events/s and p50/p99 per put) and the time until ``flush()``
   returns (delivered: acknowledged durable by the server), once with a spool directory and once
   without (memory queue of 100,000).
3. Middleware, in process: a Starlette endpoint called directly through ASGI (no sockets), with
   and without ``AuditMiddleware`` (with a spooling client), ``--requests`` calls each,
   interleaved: p50/p99 per call and the difference.
4. Middleware, over a socket: the same app under uvicorn in this process, driven by one
   keep-alive http.client connection from a second process: p50/p99 with and without.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bench_http import ACCESS_KEY_ID, ACCOUNT, SECRET, free_port, start_server  # noqa: E402
from opentrail.client import EventClient, audit_event  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def records(n: int) -> list[dict[str, Any]]:
    now = time.time()
    return [
        audit_event(
            event_source="myapp.example.com", event_name="UpdateProject",
            user_identity={"type": "Unknown", "principalId": f"user-{i % 500}", "userName": f"user{i % 500}",
                           "accountId": ACCOUNT},
            recipient_account_id=ACCOUNT,
            request_parameters={"httpMethod": "POST", "path": f"/projects/{i}", "queryParameters": {"x": "1"}},
            additional_event_data={"statusCode": 200, "bytesTransferredOut": 512},
            source_ip="198.51.100.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) bench", event_time=now,
        )
        for i in range(n)
    ]


def bench_put(url: str, n: int, spool: Path | None) -> dict[str, Any]:
    recs = records(n)
    client = EventClient(url, ACCESS_KEY_ID, SECRET, spool_dir=spool, close_at_exit=False)
    per_put: list[float] = []
    start = time.perf_counter()
    for r in recs:
        t = time.perf_counter()
        client.put(r)
        per_put.append(time.perf_counter() - t)
    put_s = time.perf_counter() - start
    ok = client.flush(timeout_s=600)
    delivered_s = time.perf_counter() - start
    stats = client.stats()
    client.close()
    return {
        "events": n,
        "put_events_per_s": round(n / put_s),
        "put_p50_us": round(pct(per_put, 0.5) * 1e6, 1),
        "put_p99_us": round(pct(per_put, 0.99) * 1e6, 1),
        "delivered_events_per_s": round(n / delivered_s),
        "flushed": ok,
        "sent": stats["sent"],
        "dropped": stats["dropped"],
    }


def make_app(client: EventClient | None) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from opentrail.middleware.asgi import AuditMiddleware

    async def get_project(request: Request) -> JSONResponse:
        request.state.user = "alice"
        return JSONResponse({"id": request.path_params["pid"], "name": "demo"})

    app: Any = Starlette(routes=[Route("/projects/{pid}", get_project)])
    if client is not None:
        app = AuditMiddleware(app, client, event_source="myapp.example.com", account_id=ACCOUNT,
                              identity=lambda scope: {"userName": scope["state"]["user"]})
    return app


def bench_asgi_direct(apps: dict[str, Any], n: int) -> dict[str, Any]:
    async def call(app: Any, i: int) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": f"/projects/{i}", "raw_path": f"/projects/{i}".encode(),
                 "query_string": b"verbose=1", "root_path": "", "client": ("198.51.100.7", 50000),
                 "server": ("127.0.0.1", 8000), "headers": [(b"host", b"app"), (b"user-agent", b"bench")]}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        await app(scope, receive, send)

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {k: [] for k in apps}
        for i in range(n):
            for name, app in apps.items():
                t = time.perf_counter()
                await call(app, i)
                times[name].append(time.perf_counter() - t)
        return times

    times = asyncio.run(run())
    out = {f"{k}_p50_us": round(pct(v, 0.5) * 1e6, 1) for k, v in times.items()}
    out.update({f"{k}_p99_us": round(pct(v, 0.99) * 1e6, 1) for k, v in times.items()})
    out["added_p50_us"] = round(out["audited_p50_us"] - out["bare_p50_us"], 1)
    out["added_p99_us"] = round(out["audited_p99_us"] - out["bare_p99_us"], 1)
    return out


def _socket_worker(queue: Any, ports: dict[str, int], n: int) -> None:
    conns = {k: HTTPConnection("127.0.0.1", p) for k, p in ports.items()}
    times: dict[str, list[float]] = {k: [] for k in ports}
    for i in range(n):
        for name, conn in conns.items():
            t = time.perf_counter()
            conn.request("GET", f"/projects/{i}?verbose=1", headers={"User-Agent": "bench"})
            conn.getresponse().read()
            times[name].append(time.perf_counter() - t)
    queue.put(times)


def bench_socket(apps: dict[str, Any], n: int) -> dict[str, Any]:
    import uvicorn

    servers = []
    ports: dict[str, int] = {}
    for name, app in apps.items():
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False, lifespan="off"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        servers.append(server)
        ports[name] = port
    queue: Any = mp.Queue()
    proc = mp.Process(target=_socket_worker, args=(queue, ports, n))
    proc.start()
    times = queue.get()
    proc.join()
    for server in servers:
        server.should_exit = True
    out = {f"{k}_p50_ms": round(pct(v, 0.5) * 1e3, 3) for k, v in times.items()}
    out.update({f"{k}_p99_ms": round(pct(v, 0.99) * 1e3, 3) for k, v in times.items()})
    out["added_p50_ms"] = round(out["audited_p50_ms"] - out["bare_p50_ms"], 3)
    out["added_p99_ms"] = round(out["audited_p99_ms"] - out["bare_p99_ms"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ot-bench-client"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(args.dir / "data", port)
    try:
        result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
        result["put_with_spool"] = bench_put(url, args.events, args.dir / "spool1")
        result["put_without_spool"] = bench_put(url, args.events, None)
        client = EventClient(url, ACCESS_KEY_ID, SECRET, spool_dir=args.dir / "spool2", close_at_exit=False)
        apps = {"bare": make_app(None), "audited": make_app(client)}
        result["middleware_asgi_direct"] = bench_asgi_direct(apps, args.requests)
        result["middleware_socket"] = bench_socket(apps, args.requests)
        client.flush(timeout_s=120)
        result["middleware_events_sent"] = client.stats()["sent"]
        client.close()
        result["load_after"] = os.getloadavg()[0]
        print(json.dumps(result, indent=2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
