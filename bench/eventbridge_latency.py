"""EventBridge latency benchmark: an API call -> its CloudTrail event matched on the default bus ->
the API destination's webhook received it.

    python3 bench/eventbridge_latency.py [--calls 200] [--gap-ms 50] [--concurrency 1]

Real processes and the real clock: ``opentrail serve`` (a fresh data directory, default settings)
and, in this process, a webhook receiver (stdlib ``http.server`` on 127.0.0.1, answering 200 at
once). Through boto3: a connection (API_KEY), an API destination on the receiver, a rule matching
``{"source": ["aws.logs"], "detail": {"eventName": ["CreateLogGroup"]}}`` with the destination as
its target. Then ``--calls`` CreateLogGroup calls (``--concurrency`` threads, each waiting a random
0-``2 x gap-ms`` between its calls); per call, latency = the time the receiver got the event
(matched by its logGroupName) minus the time the call returned (the event is acknowledged then:
opentrail records the call before it answers). Prints p50 / p99 / max and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import free_port, wait_http  # noqa: E402
from bench.timing import percentile  # noqa: E402

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILBENCH01"
SECRET = "bench/bench/bench/bench/bench/bench/bench1"


def receiver(received: dict[str, float], lock: threading.Lock) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            name = json.loads(body)["detail"]["requestParameters"]["logGroupName"]
            with lock:
                received.setdefault(name, at)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-eventbridge-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    received: dict[str, float] = {}
    lock = threading.Lock()
    hook = receiver(received, lock)
    log = (tmp / "opentrail.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "opentrail.cli", "serve", "--data-dir", str(tmp / "data"), "--port", str(port)],
        env={**os.environ, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
             "OPENTRAIL_SECRET_ACCESS_KEY": SECRET},
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(url + "/_opentrail/health", server)
        creds = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": KEY_ID,
                 "aws_secret_access_key": SECRET, "config": Config(retries={"max_attempts": 1})}
        events = boto3.client("events", **creds)
        conn = events.create_connection(Name="bench", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "bench"}})["ConnectionArn"]
        dest = events.create_api_destination(
            Name="bench", ConnectionArn=conn, HttpMethod="POST",
            InvocationEndpoint=f"http://127.0.0.1:{hook.server_address[1]}/hook")["ApiDestinationArn"]
        events.put_rule(Name="bench", EventPattern=json.dumps(
            {"source": ["aws.logs"], "detail": {"eventName": ["CreateLogGroup"]}}))
        events.put_targets(Rule="bench", Targets=[{"Id": "hook", "Arn": dest,
                                                  "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/bench"}])
        returned: dict[str, float] = {}
        per_thread = [args.calls // args.concurrency + (1 if i < args.calls % args.concurrency else 0)
                      for i in range(args.concurrency)]

        def call(worker: int, count: int) -> None:
            logs = boto3.client("logs", **creds)
            for n in range(count):
                time.sleep(random.uniform(0, 2 * args.gap_ms / 1000))
                name = f"bench-{worker}-{n}"
                logs.create_log_group(logGroupName=name)
                returned[name] = time.time()

        started = time.time()
        threads = [threading.Thread(target=call, args=(i, c)) for i, c in enumerate(per_thread)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                if set(returned) <= set(received):
                    break
            time.sleep(0.05)
        elapsed = time.time() - started
        with lock:
            missing = sorted(set(returned) - set(received))
            latencies = [received[n] - returned[n] for n in returned if n in received]
        print(f"{len(returned)} calls in {elapsed:.1f} s ({args.concurrency} thread(s), gap 0-{2 * args.gap_ms:.0f} ms);"
              f" {len(missing)} not received")
        print(f"call returned -> webhook received: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        log.close()
        hook.shutdown()


if __name__ == "__main__":
    main()
