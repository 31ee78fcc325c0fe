"""IAM enforcement cost: the Authorizer per request, and LookupEvents throughput over HTTP with an
IAM user's keys against root keys.

    PYTHONPATH=. python bench/bench_authorization.py [--requests 20000] [--seconds 5]

(``OPENTRAIL_BENCH_DATASET``: the CloudTrail dataset folder bench/common.py reads, when this checkout
is not beside ``shared/``.)

1. In process: :meth:`Authorizer.authorize` for an IAM user with 10 attached policies of 20
   statements each (bench/policy_eval.py's documents) plus an inline CloudTrail read-only policy, cached compiled set, requests cycling over
   CloudTrail operations with trail names: mean and p50/p99 in microseconds (target <= 50 us).
2. Over HTTP: a server (uvicorn, one child process; an in-memory IAM directory with the same user)
   with 2,000 events; one client process sends signed LookupEvents (MaxResults 50) on a keep-alive
   connection, alternating ``--rounds`` rounds as root and as the IAM user; requests/s per round and the ratio
   of the medians (target: the user within 10 % of root). Prints the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.policy_eval import policy_doc  # noqa: E402
from bench.timing import percentile  # noqa: E402
from opentrail.api.authorization import Authorizer  # noqa: E402
from opentrail.api.operations import CLOUDTRAIL  # noqa: E402
from opentrail.api.recording import CallInfo  # noqa: E402
from opentrail.auth.sigv4 import Caller  # noqa: E402
from opentrail.settings import Settings  # noqa: E402
from tests.memory_iam import MemoryIamDirectory  # noqa: E402

A = "111122223333"
OPS = [("GetTrail", {"Name": "alice-main"}), ("GetTrailStatus", {"Name": "team3-x"}), ("DescribeTrails", {}),
       ("LookupEvents", {}), ("StopLogging", {"Name": "alice-main"}), ("ListTrails", {}),
       ("PutEventSelectors", {"TrailName": "org"}), ("CreateTrail", {"Name": "alice-new"})]


def directory() -> MemoryIamDirectory:
    iam = MemoryIamDirectory()
    iam.add_user(A, "alice", tags={"team": "ops"})
    for n in range(10):
        arn = iam.create_policy(f"arn:aws:iam::{A}:policy/p{n}", json.dumps(policy_doc(n)))
        iam.attach(A, arn, user="alice")
    iam.put_policy(A, "read-only", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "cloudtrail:Get*", "cloudtrail:Describe*", "cloudtrail:List*", "cloudtrail:LookupEvents"], "Resource": "*"}]}),
        user="alice")
    return iam


def in_process(count: int) -> dict[str, float]:
    auth = Authorizer(Settings(iam_enforcement="log-only"), directory())
    import logging
    logging.getLogger("opentrail.authorization").disabled = True
    caller = Caller(A, "AKIAEXAMPLE", "alice", "us-east-1")
    info = CallInfo("203.0.113.7", "bench", None, is_tls=True)
    now = 1_800_000_000.0
    for op, params in OPS * 20:
        auth.authorize(caller, CLOUDTRAIL, op, params, info, now)
    samples = []
    for i in range(count):
        op, params = OPS[i % len(OPS)]
        t0 = time.perf_counter()
        auth.authorize(caller, CLOUDTRAIL, op, params, info, now)
        samples.append(time.perf_counter() - t0)
    t0 = time.process_time()
    for i in range(count):
        op, params = OPS[i % len(OPS)]
        auth.authorize(caller, CLOUDTRAIL, op, params, info, now)
    mean = (time.process_time() - t0) / count
    return {"p50_us": percentile(samples, 50) * 1e6, "p99_us": percentile(samples, 99) * 1e6, "mean_us": mean * 1e6}


def serve(data_dir: str, port: int, keys: Any) -> None:
    import uvicorn

    import bench.common
    from bench.common import synthetic_events

    bench.common.DATASET = Path(os.environ.get("OPENTRAIL_BENCH_DATASET", bench.common.DATASET))
    from opentrail.api.app import build_app
    from opentrail.auth.accounts import AccountStore
    from opentrail.store.memory import MemoryEventStore

    accounts = AccountStore(Path(data_dir) / "accounts.db")
    root = accounts.create_access_key(A)
    user = accounts.create_access_key(A, "alice")
    keys.put([(root.access_key_id, root.secret_access_key), (user.access_key_id, user.secret_access_key)])
    store = MemoryEventStore()
    store.append(list(synthetic_events(2000, accounts=[A], regions=["us-east-1"])), wait_visible=True)
    app = build_app(settings=Settings(), store=store, accounts=accounts, iam=directory())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def rate(port: int, key: tuple[str, str], seconds: float) -> float:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"MaxResults": 50}'
    conn = HTTPConnection("127.0.0.1", port)
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"})
        SigV4Auth(Credentials(*key), "cloudtrail", "us-east-1").add_auth(req)
        conn.request("POST", "/", body=body, headers=dict(req.headers))
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        done += 1
    return done / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    out: dict[str, Any] = {"load_average": os.getloadavg(), "authorize": in_process(args.requests)}
    import tempfile

    from bench.processes import free_port
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        keys: Any = mp.Queue()
        proc = mp.Process(target=serve, args=(tmp, port, keys), daemon=True)
        proc.start()
        root, user = keys.get(timeout=60)
        for _ in range(100):
            try:
                rate(port, root, 0.05)
                break
            except OSError:
                time.sleep(0.1)
        rounds: dict[str, list[float]] = {"root": [], "iam_user": []}
        for _ in range(args.rounds):
            rounds["root"].append(rate(port, root, args.seconds))
            rounds["iam_user"].append(rate(port, user, args.seconds))
        proc.terminate()
        proc.join()
    out["lookup_events_req_per_s"] = {k: [round(v, 1) for v in vs] for k, vs in rounds.items()}
    r, u = statistics.median(rounds["root"]), statistics.median(rounds["iam_user"])
    out["iam_user_vs_root"] = round(u / r, 3)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
