"""Ingest through 1, 2 and 3 ``opentrail serve`` nodes on one PostgreSQL database: acknowledged
(committed) events/s through the ingest endpoint, the clients spreading batches over the nodes
round robin, as a load balancer would.

    python3 bench/bench_nodes.py --seconds 20 --clients 6 --batch 1000 [--stores N] [--trails N]

``--stores N`` first creates N event data stores (every management event), each in another event
data store shard (:mod:`opentrail.shards`), so Lake ingestion writes every event N times (a
worker per shard, each reading the log for itself, when shards are leased one by one);
``--trails N`` creates and starts N trails, each in another trail shard (``delivery/<shard>``
leases: one delivery worker per shard, each reading the log), delivering to a bucket folder.

For each node count the benchmark creates its own database (``opentrail_bench_<random>``), starts
the nodes (each with its own data directory), sends for ``--seconds`` from ``--clients`` threads
and drops the database. Every node, the clients and PostgreSQL share this machine's cores, so on
a 2-core machine more nodes add overhead rather than capacity; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from bench.processes import free_port, wait_http  # noqa: E402
from opentrail.client.ingest import IngestClient  # noqa: E402

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILBENCH01"
SECRET = "bench/bench/bench/bench/bench/bench/bench1"


def records(n: int, counter: itertools.count) -> list[dict[str, object]]:  # type: ignore[type-arg]
    out = []
    for _ in range(n):
        i = next(counter)
        out.append({"eventVersion": "1.11", "userIdentity": {"type": "IAMUser", "userName": f"user{i % 50}",
                                                             "accountId": ACCOUNT},
                    "eventTime": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", "eventSource": "ec2.amazonaws.com",
                    "eventName": "RunInstances", "awsRegion": "us-east-1", "readOnly": False,
                    "eventID": f"00000000-0000-4000-8000-{i:012d}", "eventType": "AwsApiCall",
                    "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
                    "sourceIPAddress": "198.51.100.7"})
    return out


def _stores(url: str, n: int) -> None:
    """Create ``n`` event data stores in ``n`` different shards (others made on the way are stopped:
    deleted ones would still count against the 10 stores a Region may have)."""
    import boto3

    from opentrail.shards import shard_of

    ct = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET)
    shards: set[int] = set()
    for i in range(10):
        eds_id = ct.create_event_data_store(Name=f"bench-{i}", TerminationProtectionEnabled=False)[
            "EventDataStoreArn"].rpartition("/")[2]
        if shard_of(eds_id) in shards:
            ct.stop_event_data_store_ingestion(EventDataStore=eds_id)
            continue
        shards.add(shard_of(eds_id))
        if len(shards) == n:
            return
    raise SystemExit(f"could not place {n} event data stores in {n} shards")


def _trails(url: str, data_dir: Path, n: int) -> None:
    """Create and start ``n`` trails in ``n`` different trail shards, delivering to a bucket folder
    of the first node (``n0/buckets/bench-trails``)."""
    import boto3

    from opentrail.shards import shard_of

    (data_dir / "buckets" / "bench-trails").mkdir(parents=True, exist_ok=True)
    ct = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET)
    shards: set[int] = set()
    for i in range(100):
        arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/bench-{i}"
        if shard_of(arn) in shards:
            continue
        ct.create_trail(Name=f"bench-{i}", S3BucketName="bench-trails")
        ct.start_logging(Name=f"bench-{i}")
        shards.add(shard_of(arn))
        if len(shards) == n:
            return
    raise SystemExit(f"could not place {n} trails in {n} shards")


def run(nodes: int, args: argparse.Namespace) -> float:
    name = f"opentrail_bench_{secrets.token_hex(5)}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    env = {**os.environ, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
           "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}
    try:
        for i in range(nodes):
            port = free_port()
            log = (tmp / f"node{i}.log").open("w")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir", str(tmp / f"n{i}"),
                 "--database-url", url, "--event-history-retention-days", "0", "--log-level", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            wait_http(urls[-1] + "/_opentrail/health", procs[-1])
        if args.stores:
            _stores(urls[0], args.stores)
        if args.trails:
            _trails(urls[0], tmp / "n0", args.trails)
        counter = itertools.count()
        lock = threading.Lock()
        acked = [0]
        stop = threading.Event()
        batches = [records(args.batch, counter) for _ in range(64)]

        def client(k: int) -> None:
            clients = [IngestClient(u, KEY_ID, SECRET, timeout_s=60) for u in urls]
            for j in itertools.count(k):
                if stop.is_set():
                    return
                batch = [dict(r, eventID=f"{k:08x}-{(j >> 12) & 0xffff:04x}-4{j & 0xfff:03x}-8000-{n:012x}")
                         for n, r in enumerate(batches[j % 64])]
                result = clients[j % len(clients)].send(batch)
                with lock:
                    acked[0] += int(result["accepted"])

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        return acked[0] / (time.perf_counter() - started)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=6, help="sending threads (one batch in flight each)")
    ap.add_argument("--batch", type=int, default=1000, help="events per ingest request")
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--stores", type=int, default=0, choices=range(0, 5), help="event data stores, each in its own shard")
    ap.add_argument("--trails", type=int, default=0, choices=range(0, 5), help="logging trails, each in its own shard")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    print(f"# {platform.platform()} / {os.cpu_count()} CPUs / Python {platform.python_version()}")
    print(f"# command: python3 bench/bench_nodes.py {' '.join(sys.argv[1:])}")
    print(f"# load before: {os.getloadavg()[0]:.2f}")
    print("| nodes | acknowledged events/s |")
    print("|---|---|")
    for n in (int(x) for x in args.nodes.split(",")):
        rate = run(n, args)
        print(f"| {n} | {rate:,.0f} |", flush=True)
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
