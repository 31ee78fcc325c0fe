"""Benchmark through the server, as clients see it: ingest over HTTP and via `opentrail import`,
LookupEvents latency and throughput with SigV4 verification.

    python3 bench/bench_http.py --events 200000 --dir /tmp/ot-bench-http

Starts `opentrail serve` on a free port with a fresh data directory (unless --reuse), ingests
synthetic realistic records (bench/common.py) through the ingest endpoint from several client
processes, times an `opentrail import` of a log-file folder, then measures LookupEvents with
keep-alive connections signed by botocore's SigV4 signer: p50/p99 latency from one client, and
requests/s from several client processes. Prints one JSON object with the results.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import synthetic_events  # noqa: E402

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _ingest_worker(args: tuple[str, int, str, str, int, int, int, str]) -> tuple[int, float]:
    url, port, akid, secret, n, seed, batch, account = args
    creds = Credentials(akid, secret)
    conn = HTTPConnection("127.0.0.1", port)
    sent = 0
    records: list[Any] = []
    start = time.perf_counter()
    for ev in synthetic_events(n, seed=seed, accounts=(account,)):
        records.append(orjson.loads(ev.record))
        if len(records) == batch:
            sent += _post_batch(conn, url, creds, records)
            records = []
    if records:
        sent += _post_batch(conn, url, creds, records)
    return sent, time.perf_counter() - start


def _post_batch(conn: HTTPConnection, url: str, creds: Credentials, records: list[Any]) -> int:
    body = orjson.dumps({"Records": records})
    headers = signed(url, "/_opentrail/ingest?visible=false", body, {"Content-Type": "application/json"}, creds,
                     "opentrail", "us-east-1")
    conn.request("POST", "/_opentrail/ingest?visible=false", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(data)
    return int(json.loads(data)["accepted"])


def _lookup_worker(args: tuple[str, int, str, str, float, int, list[Any]]) -> list[float]:
    url, port, akid, secret, seconds, seed, queries = args
    creds = Credentials(akid, secret)
    rng = random.Random(seed)
    conn = HTTPConnection("127.0.0.1", port)
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        q = rng.choice(queries)
        body = orjson.dumps(q)
        headers = signed(url, "/", body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
                         creds, "cloudtrail", "us-east-1")
        t0 = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise RuntimeError(resp.status)
    return latencies


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
    ap.add_argument("--dir", type=Path, default=Path("/tmp/opentrail-bench-http"))
    args = ap.parse_args()

    shutil.rmtree(args.dir, ignore_errors=True)
    data_dir = args.dir / "data"
    data_dir.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    results: dict[str, Any] = {"events": args.events, "clients": args.clients, "batch": args.batch}
    try:
        akid, secret, account = ACCESS_KEY_ID, SECRET, ACCOUNT

        # 1. Ingest through the HTTP endpoint.
        per = args.events // args.clients
        t0 = time.perf_counter()
        with mp.Pool(args.clients) as pool:
            out = pool.map(_ingest_worker, [(url, port, akid, secret, per, 1000 + i, args.batch, account)
                                            for i in range(args.clients)])
        elapsed = time.perf_counter() - t0
        results["http_ingest_events_per_s"] = round(sum(n for n, _ in out) / elapsed)

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

        # 3. LookupEvents through HTTP with SigV4.
        sample = [orjson.loads(e.record) for e in synthetic_events(2000, seed=1000, accounts=(account,))]
        queries: list[Any] = [{}, {"MaxResults": 50}]
        for r in sample[:200]:
            queries.append({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": r["eventName"]}]})
            queries.append({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": r["eventID"]}]})
            user = r.get("userIdentity", {}).get("userName")
            if user:
                queries.append({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": user}]})
        single = _lookup_worker((url, port, akid, secret, args.seconds, 1, queries))
        results["lookup_one_client"] = {"requests": len(single), "p50_ms": round(pct(single, 0.5), 2),
                                        "p99_ms": round(pct(single, 0.99), 2)}
        t0 = time.perf_counter()
        with mp.Pool(args.clients) as pool:
            lat = pool.map(_lookup_worker, [(url, port, akid, secret, args.seconds, 10 + i, queries)
                                            for i in range(args.clients)])
        total = sum(len(x) for x in lat)
        results["lookup_parallel"] = {"clients": args.clients, "requests_per_s": round(total / (time.perf_counter() - t0)),
                                      "p50_ms": round(pct([v for x in lat for v in x], 0.5), 2),
                                      "p99_ms": round(pct([v for x in lat for v in x], 0.99), 2)}
        results["stored_bytes"] = sum(p.stat().st_size for p in (data_dir / "events").rglob("*") if p.is_file())
    finally:
        server.terminate()
        server.wait()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
