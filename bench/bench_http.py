"""Benchmark through the server, as clients see it: ingest over HTTP and via `opentrail import`,
LookupEvents latency and throughput with SigV4 verification.

    python3 bench/bench_http.py --events 200000 --dir /tmp/ot-bench-http
    python3 bench/bench_http.py --reuse --dir /tmp/ot-bench-http --queries full --max-results 50

Starts `opentrail serve` on a free port with a fresh data directory (unless --reuse), ingests
synthetic realistic records (bench/common.py) through the ingest endpoint from several client
processes, times an `opentrail import` of a log-file folder, then measures LookupEvents with
keep-alive connections signed by botocore's SigV4 signer: p50/p99 latency from one client, and
requests/s from several client processes. Prints one JSON object with the results.

``--reuse`` keeps the data directory of an earlier run and measures LookupEvents only.
``--queries full`` leaves out the EventId lookups (one event each), so every answer is a full
page; ``--max-results`` sets MaxResults on every query. Each client answers every prepared request
once before the clock starts and the results report the mean events per answer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import synthetic_events  # noqa: E402
from bench.processes import free_port  # noqa: E402

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"


ACCOUNT = "111122223333"
ACCESS_KEY_ID = "AKIABENCHMARK0000001"
SECRET = "bench/bench/bench/bench/bench/bench/1234"


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--event-history-retention-days", "0", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": ACCESS_KEY_ID,
             "OPENTRAIL_SECRET_ACCESS_KEY": SECRET},
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_opentrail/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def signed(url: str, path: str, body: bytes, headers: dict[str, str], creds: Credentials, service: str,
           region: str) -> dict[str, str]:
    req = AWSRequest(method="POST", url=url + path, data=body, headers=headers)
    SigV4Auth(creds, service, region).add_auth(req)
    return dict(req.headers.items())


def _run_workers(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(barrier, queue, *a)`` in one process per ``args`` entry; each prepares its
    requests, waits at the barrier so all start together, then reports on the queue."""
    barrier = mp.Barrier(len(args))
    queue: Any = mp.Queue()
    procs = [mp.Process(target=target, args=(barrier, queue, *a)) for a in args]
    for p in procs:
        p.start()
    out = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return out


def _ingest_worker(barrier: Any, queue: Any, port: int, n: int, seed: int, batch: int, account: str,
                   visible: bool) -> None:
    """Post ``n`` records in batches, pre-built and pre-signed (the timed part is only HTTP)."""
    url = f"http://127.0.0.1:{port}"
    creds = Credentials(ACCESS_KEY_ID, SECRET)
    path = f"/_opentrail/ingest?visible={'true' if visible else 'false'}"
    requests = []
    records: list[Any] = []
    for ev in synthetic_events(n, seed=seed, accounts=(account,)):
        records.append(orjson.loads(ev.record))
        if len(records) == batch or len(requests) * batch + len(records) == n:
            body = orjson.dumps({"Records": records})
            requests.append((body, signed(url, path, body, {"Content-Type": "application/json"}, creds,
                                          "opentrail", "us-east-1")))
            records = []
    conn = HTTPConnection("127.0.0.1", port)
    barrier.wait()
    start = time.perf_counter()
    sent = 0
    for body, headers in requests:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(data)
        sent += int(json.loads(data)["accepted"])
    queue.put((sent, start, time.perf_counter()))


def _lookup_worker(barrier: Any, queue: Any, port: int, seconds: float, seed: int, queries: list[Any]) -> None:
    """Replay pre-signed LookupEvents requests (SigV4 signatures stay valid for 5 minutes, and the
    server verifies each one) for ``seconds``; report every latency."""
    url = f"http://127.0.0.1:{port}"
    creds = Credentials(ACCESS_KEY_ID, SECRET)
    rng = random.Random(seed)
    prepared = []
    for q in rng.sample(queries, min(len(queries), 2000)):
        body = orjson.dumps(q)
        prepared.append((body, signed(url, "/", body, {"Content-Type": "application/x-amz-json-1.1",
                                                       "X-Amz-Target": TARGET}, creds, "cloudtrail", "us-east-1")))
    conn = HTTPConnection("127.0.0.1", port)
    events = 0
    for body, headers in prepared:  # warm-up pass (not timed): also counts the events per answer
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(resp.status, data)
        events += len(orjson.loads(data)["Events"])
    latencies: list[float] = [events / len(prepared)]
    barrier.wait()
    start = time.perf_counter()
    deadline = start + seconds
    i = 0
    while time.perf_counter() < deadline:
        body, headers = prepared[i % len(prepared)]
        i += 1
        t0 = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise RuntimeError(resp.status)
    queue.put((latencies, start, time.perf_counter()))  # latencies[0]: mean events per answer


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="events ingested through HTTP")
    ap.add_argument("--import-events", type=int, default=100_000, help="events written to files and imported")
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--batch", type=int, default=1000, help="records per ingest request")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each lookup phase")
    ap.add_argument("--visible", action="store_true", help="ingest waits for the lookup index too")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/opentrail-bench-http"))
    ap.add_argument("--reuse", action="store_true", help="keep --dir's data from an earlier run; lookups only")
    ap.add_argument("--queries", choices=("mixed", "full"), default="mixed",
                    help="mixed: no attribute, EventName, EventId, Username; full: without EventId")
    ap.add_argument("--max-results", type=int, default=None, help="MaxResults of every lookup")
    args = ap.parse_args()

    data_dir = args.dir / "data"
    if not args.reuse:
        shutil.rmtree(args.dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
    port = free_port()
    server = start_server(data_dir, port)
    results: dict[str, Any] = {"clients": args.clients}
    try:
        if not args.reuse:
            results.update(ingest_and_import(args, port, data_dir))
        results.update(measure_lookups(args, port, data_dir))
    finally:
        server.terminate()
        server.wait()
    print(json.dumps(results, indent=2))


def ingest_and_import(args: Any, port: int, data_dir: Path) -> dict[str, Any]:
    """Phases 1 and 2: HTTP ingest, then `opentrail import` while the server runs."""
    results: dict[str, Any] = {"events": args.events, "batch": args.batch}
    account = ACCOUNT
    # 1. Ingest through the HTTP endpoint (acknowledged = durable; --visible also waits for
    #    the lookup index).
    per = args.events // args.clients
    out = _run_workers(_ingest_worker, [(port, per, 1000 + i, args.batch, account, args.visible)
                                        for i in range(args.clients)])
    elapsed = max(e for _, _, e in out) - min(s for _, s, _ in out)
    results["http_ingest_events_per_s"] = round(sum(n for n, _, _ in out) / elapsed)
    # One more batch with visible=true returns once the log before it is indexed (FIFO):
    # acknowledged-and-indexed rate, and a quiet store for the import below.
    (n, _, end), = _run_workers(_ingest_worker, [(port, 1, 99, 1, account, True)])
    results["http_ingest_indexed_events_per_s"] = round(sum(n for n, _, _ in out) / (end - min(s for _, s, _ in out)))

    # 2. Import of log files while the server runs (goes through its ingest endpoint).
    logs = args.dir / "logs"
    logs.mkdir()
    chunk: list[Any] = []
    files = 0
    for ev in synthetic_events(args.import_events, seed=99, accounts=(account,)):
        chunk.append(orjson.loads(ev.record))
        if len(chunk) == 5000:
            (logs / f"f{files:05d}.json.gz").write_bytes(gzip.compress(orjson.dumps({"Records": chunk}), 1))
            files += 1
            chunk = []
    if chunk:
        (logs / f"f{files:05d}.json.gz").write_bytes(gzip.compress(orjson.dumps({"Records": chunk}), 1))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "opentrail.cli", "import", "--quiet", "--data-dir", str(data_dir),
                    "--event-history-retention-days", "0", str(logs)], check=True, stdout=subprocess.DEVNULL)
    results["import_events_per_s"] = round(args.import_events / (time.perf_counter() - t0))
    return results


def measure_lookups(args: Any, port: int, data_dir: Path) -> dict[str, Any]:
    """Phase 3: LookupEvents through HTTP with SigV4, from 1 and from ``--clients`` processes."""
    results: dict[str, Any] = {"queries": args.queries, "max_results": args.max_results}
    sample = [orjson.loads(e.record) for e in synthetic_events(2000, seed=1000, accounts=(ACCOUNT,))]
    queries: list[Any] = [{}, {"MaxResults": 50}]
    for r in sample[:200]:
        queries.append({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": r["eventName"]}]})
        if args.queries == "mixed":
            queries.append({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": r["eventID"]}]})
        user = r.get("userIdentity", {}).get("userName")
        if user:
            queries.append({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": user}]})
    if args.max_results is not None:
        queries = [{**q, "MaxResults": args.max_results} for q in queries]
    (single, t0, t1), = _run_workers(_lookup_worker, [(port, args.seconds, 1, queries)])
    per_answer, single = single[0], single[1:]
    results["lookup_one_client"] = {"requests_per_s": round(len(single) / (t1 - t0)),
                                    "p50_ms": round(pct(single, 0.5), 2), "p99_ms": round(pct(single, 0.99), 2),
                                    "events_per_answer": round(per_answer, 1)}
    out = _run_workers(_lookup_worker, [(port, args.seconds, 10 + i, queries) for i in range(args.clients)])
    lat = [v for x, _, _ in out for v in x[1:]]
    elapsed = max(e for _, _, e in out) - min(s for _, s, _ in out)
    results["lookup_parallel"] = {"clients": args.clients, "requests_per_s": round(len(lat) / elapsed),
                                  "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2),
                                  "events_per_answer": round(sum(x[0] for x, _, _ in out) / len(out), 1)}
    results["stored_bytes"] = sum(p.stat().st_size for p in (data_dir / "events").rglob("*") if p.is_file())
    return results


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
