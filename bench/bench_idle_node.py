"""The idle cost of one ``opentrail serve --database-url`` node holding every lease: CPU seconds of
the server process and of PostgreSQL's processes over a window, and the server's thread count,
with ``--trails`` logging trails (their delivery, digest and CloudWatch Logs workers poll the
event log; on several nodes each trail shard's workers poll it for themselves) and ``--stores``
event data stores (Lake ingestion: each event data store shard's worker polls for itself).

    python3 bench/bench_idle_node.py --trails 5 --stores 2 --seconds 30 [--code DIR]

``--code`` runs the server from another checkout (a git worktree of an older commit, for a
before/after); the benchmark creates and drops its own database (``ot_idle_<random>``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import psycopg  # noqa: E402

from bench.processes import free_port  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _cpu_s(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_s() -> float:
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                total += _cpu_s(pid)
        except OSError:
            pass
    return total


def _credentials(data: Path) -> tuple[str, str]:
    values = dict(line.split(" = ", 1) for line in (data / "credentials").read_text().splitlines() if " = " in line)
    return values["aws_access_key_id"].strip(), values["aws_secret_access_key"].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trails", type=int, default=5, help="logging trails (at most 5: AWS's limit per Region)")
    parser.add_argument("--stores", type=int, default=0, help="event data stores")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the trails start, not measured")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    db = "ot_idle_" + secrets.token_hex(4)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        (data / "buckets" / "trail-bucket").mkdir(parents=True)
        proc = subprocess.Popen([sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir",
                                 str(data), "--database-url", f"postgresql://postgres@127.0.0.1:5432/{db}"],
                                cwd=args.code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_opentrail/health", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            key_id, secret = _credentials(data)
            ct = boto3.client("cloudtrail", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id=key_id, aws_secret_access_key=secret)
            for i in range(args.trails):
                ct.create_trail(Name=f"trail-{i}", S3BucketName="trail-bucket")
                ct.start_logging(Name=f"trail-{i}")
            for i in range(args.stores):
                ct.create_event_data_store(Name=f"store-{i}", TerminationProtectionEnabled=False)
            time.sleep(args.settle)
            server, postgres = _cpu_s(proc.pid), _postgres_cpu_s()
            time.sleep(args.seconds)
            server, postgres = _cpu_s(proc.pid) - server, _postgres_cpu_s() - postgres
            print(json.dumps({"code": str(args.code), "trails": args.trails, "stores": args.stores, "seconds": args.seconds,
                              "server_cpu_s": round(server, 2), "postgres_cpu_s": round(postgres, 2),
                              "server_threads": len(os.listdir(f"/proc/{proc.pid}/task")),
                              "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}, indent=1))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
