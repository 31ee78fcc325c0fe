"""Benchmark the capture proxy: latency it adds, throughput, memory during a 1 GB upload.

    python3 bench/bench_proxy.py --requests 3000 --seconds 10 --upload-mb 1024

Starts moto's server (the upstream), `opentrail serve` and `opentrail proxy` as processes, then:

1. latency: one keep-alive client sends the same SigV4-signed S3 GetObject (1 KiB object) directly
   to moto and through the proxy, alternating request by request, so both see the same machine
   load; reports p50/p99 of each and of the difference;
2. throughput: ``--clients`` client processes send that request for ``--seconds`` to moto, then
   the same through the proxy; requests/s of each;
3. memory: a ``--upload-mb`` PutObject (boto3, from a generated seekable stream) and the matching
   GetObject through the proxy while the proxy's RSS is sampled every 50 ms.

Every proxied call is also recorded: the events sent to opentrail are counted at the end.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILBENCH01"
SECRET = "bench/bench/bench/bench/bench/bench/abcd"
BUCKET = "proxy-bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


def _start(args: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    _wait(url)
    return proc


def _signed_get(base: str, path: str) -> tuple[str, dict[str, str]]:
    req = AWSRequest(method="GET", url=base + path, headers={})
    SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    return path, dict(prepared.headers)


def _one(conn: HTTPConnection, path: str, headers: dict[str, str]) -> float:
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise SystemExit(f"GET answered {resp.status}")
    return time.perf_counter() - t0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def latency(moto: str, proxy: str, n: int) -> dict[str, Any]:
    conns, reqs = {}, {}
    for name, base in (("direct", moto), ("proxy", proxy)):
        u = urlsplit(base)
        conns[name] = HTTPConnection(u.hostname, u.port)
        reqs[name] = _signed_get(base, f"/{BUCKET}/small")
    for _ in range(200):  # warm-up: connections, model loading
        for name in conns:
            _one(conns[name], *reqs[name])
    times: dict[str, list[float]] = {"direct": [], "proxy": []}
    for i in range(n):
        order = ("direct", "proxy") if i % 2 == 0 else ("proxy", "direct")
        for name in order:
            times[name].append(_one(conns[name], *reqs[name]))
    diffs = [p - d for p, d in zip(times["proxy"], times["direct"])]
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "requests_each": n,
        "direct_p50_ms": ms(_pct(times["direct"], 0.5)), "direct_p99_ms": ms(_pct(times["direct"], 0.99)),
        "proxy_p50_ms": ms(_pct(times["proxy"], 0.5)), "proxy_p99_ms": ms(_pct(times["proxy"], 0.99)),
        "added_p50_ms": ms(_pct(times["proxy"], 0.5) - _pct(times["direct"], 0.5)),
        "added_p99_ms": ms(_pct(times["proxy"], 0.99) - _pct(times["direct"], 0.99)),
        "paired_difference_median_ms": ms(statistics.median(diffs)),
    }


def _client(base: str, seconds: float, out: Any) -> None:
    u = urlsplit(base)
    conn = HTTPConnection(u.hostname, u.port)
    path, headers = _signed_get(base, f"/{BUCKET}/small")
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        _one(conn, path, headers)
        count += 1
    out.put(count)


def throughput(base: str, clients: int, seconds: float) -> float:
    q: Any = mp.Queue()
    procs = [mp.Process(target=_client, args=(base, seconds, q)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return round(total / seconds, 1)


class _Stream(io.RawIOBase):
    """``size`` generated bytes, seekable (botocore computes a checksum, then rewinds)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pos = 0
        self._block = bytes(range(256)) * 4096

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else (self._pos + offset if whence == 1 else self._size + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._size - self._pos, len(self._block))
        if n <= 0:
            return 0
        start = self._pos % len(self._block)
        chunk = (self._block[start:] + self._block[:start])[:n]
        b[:n] = chunk
        self._pos += n
        return n


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(proxy: str, pid: int, size_mb: int) -> dict[str, Any]:
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(_rss_kib(pid))
            time.sleep(0.05)

    s3 = boto3.client("s3", endpoint_url=proxy, region_name="us-east-1", aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))
    before = _rss_kib(pid)
    t = threading.Thread(target=sample)
    t.start()
    size = size_mb * 1024 * 1024
    t0 = time.perf_counter()
    s3.put_object(Bucket=BUCKET, Key="large", Body=io.BufferedReader(_Stream(size), buffer_size=1 << 20),
                  ContentLength=size)
    up_s = time.perf_counter() - t0
    up_max = max(samples)
    t0 = time.perf_counter()
    got = sum(len(c) for c in s3.get_object(Bucket=BUCKET, Key="large")["Body"].iter_chunks(1 << 20))
    down_s = time.perf_counter() - t0
    stop.set()
    t.join()
    assert got == size, (got, size)
    return {"size_mb": size_mb, "rss_before_mib": round(before / 1024, 1),
            "rss_max_during_upload_mib": round(up_max / 1024, 1),
            "rss_max_during_up_and_download_mib": round(max(samples) / 1024, 1),
            "upload_s": round(up_s, 2), "download_s": round(down_s, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="latency requests per side")
    ap.add_argument("--clients", type=int, default=4, help="client processes for throughput")
    ap.add_argument("--seconds", type=float, default=10.0, help="throughput run per side")
    ap.add_argument("--upload-mb", type=int, default=1024)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ot-bench-proxy-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mport, oport, pport = _free_port(), _free_port(), _free_port()
        moto, ot, proxy = (f"http://127.0.0.1:{p}" for p in (mport, oport, pport))
        procs.append(_start([sys.executable, "-m", "moto.server", "-p", str(mport)], moto + "/moto-api/",
                            tmp / "moto.log"))
        data = tmp / "data"
        procs.append(_start([sys.executable, "-m", "opentrail.cli", "serve", "--port", str(oport), "--data-dir",
                             str(data)], ot + "/_opentrail/health", tmp / "server.log",
                            {"OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
                             "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}))
        procs.append(_start([sys.executable, "-m", "opentrail.cli", "proxy", "--upstream", moto, "--port", str(pport),
                             "--data-dir", str(data), "--endpoint-url", ot, "--log-level", "warning"],
                            proxy + "/", tmp / "proxy.log"))
        s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="small", Body=b"x" * 1024)
        result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
        result["latency"] = latency(moto, proxy, args.requests)
        result["throughput_direct_rps"] = throughput(moto, args.clients, args.seconds)
        result["throughput_proxy_rps"] = throughput(proxy, args.clients, args.seconds)
        result["memory"] = memory(proxy, procs[2].pid, args.upload_mb)
        result["load_after"] = os.getloadavg()[0]
        print(json.dumps(result, indent=2))
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        proxy_log = (tmp / "proxy.log").read_text() if (tmp / "proxy.log").exists() else ""
        print(proxy_log[-600:], file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
