"""PutAuditEvents benchmark: accepted events/s and request latency from 2 clients through HTTP.

    python3 bench/bench_put_audit_events.py [--clients 2] [--seconds 20] [--batch 100]
                                            [--rate EVENTS_PER_S] [--profile FILE]

1. ``opentrail serve`` on a free port with a fresh data directory and default settings (the
   credentials it writes on first start, profile ``opentrail``).
2. With boto3 ``cloudtrail``: an event data store collecting ``eventCategory`` ActivityAuditLog and a
   ``Custom`` channel sending to it.
3. ``--clients`` client **processes** (not threads: boto3 spends ~3 ms of CPU per 100-event call serialising
   and signing, and two threads of one process would share one GIL, so the clients would measure
   themselves), each with one boto3 ``cloudtrail-data`` client (keep-alive, no retries), send
   batches of ``--batch`` audit events with ``put_audit_events`` back to back for ``--seconds``.
   Events follow the integration event schema, ~700 bytes of eventData each (480-1,000), with
   varied eventName, userIdentity, sourceIPAddress, requestParameters; they are built before the
   clock starts. Every batch must answer ``failed: []``.
4. Reports accepted events/s (the sum of the clients: accepted events over the common window from
   the first client's start to the last client's end), request latency p50/p95/p99/max, failed
   entries, the CPU seconds of the server and of the clients per request (/proc/<pid>/stat and
   ``time.process_time``), and the load average before and after.
5. Then ``SELECT count(*)`` on the store (StartQuery/DescribeQuery/GetQueryResults, every 0.2 s)
   until it holds exactly the accepted count: prints the time from the last answer until it did.

``--rate EVENTS_PER_S`` (open loop, paced): instead of back to back, each client sends its requests
on a fixed schedule, ``rate / clients / batch`` requests per second each (the clients' schedules
offset from one another by a period divided by the clients), and a request's latency is measured from its
**scheduled** send time, not from when it was actually sent: a request held up behind a slow one
counts the time it waited to be sent (no coordinated omission). Reports also the offered rate, the
requests sent late (over 1 ms after their scheduled time: the client could not keep up, e.g. an
earlier answer still pending), the largest lag of a send behind its schedule, and ``kept_up``
(every scheduled request was sent, none a whole period behind its schedule, and the achieved rate
is at least 98% of the offered one).
The issue 16 target check is ``--rate 5000``: p99 <= 50 ms.

``--server-arg=--lake-ingest-interval-s=3600`` (any ``serve`` option, repeatable) gives the cost of the
request path alone (Lake ingestion then waits; the count check is skipped with any such option).

``--threads FILE`` runs the server with a sampler thread (:mod:`bench.thread_cpu`) and prints, for
the window, each server thread's CPU, DuckDB's threads' CPU, and how late a thread waking every
5 ms got the GIL and a core (p50/p99/max), with the threads that ran meanwhile (JSON kept in FILE).

``--profile FILE`` runs the server under cProfile (``python -m cProfile -o FILE``, every thread
that runs a PutAuditEvents handler is profiled too: see ``_PROFILE_SERVER``) and prints the top
functions by cumulative and by own time when it stops; ``--profile-timer cpu`` times each thread
by its own CPU clock (``time.thread_time``) instead of wall time, so waiting costs nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.processes import free_port, wait_http  # noqa: E402
from bench.thread_cpu import SERVER as THREADS_SERVER  # noqa: E402
from bench.timing import percentile  # noqa: E402

REGION = "us-east-1"
NAMES = ("CreateDocument", "GetDocument", "UpdateDocument", "DeleteDocument", "ShareDocument", "ListDocuments",
         "Login", "Logout", "ChangePassword", "CreateInvoice", "ApproveInvoice", "ExportReport")
IDENTITY_TYPES = ("Employee", "ServiceAccount", "Customer", "Admin")
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
          "acme-billing/2.14.1 python-requests/2.31.0", "acme-mobile/5.2 (iOS 17.2; iPhone14,2)")

#: The server under cProfile, every thread: CPython's cProfile only profiles the thread that enabled
#: it, so threading.setprofile gives each new thread (the handlers' thread pool) its own Profile on
#: its first call; all are merged into one stats file when the server exits.
_PROFILE_SERVER = r"""
import cProfile, os, pstats, signal, sys, threading, time
timer = time.thread_time if os.environ.get("BENCH_PROFILE_TIMER") == "cpu" else time.perf_counter
profiles = [cProfile.Profile(timer)]
def _hook(*a):
    p = cProfile.Profile(timer)
    profiles.append(p)
    p.enable()
threading.setprofile(_hook)
out, sys.argv = sys.argv[1], ["opentrail", *sys.argv[2:]]
from opentrail.cli import main
# uvicorn re-raises SIGTERM with the handler it found once it has shut down: exit through finally
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
profiles[0].enable()
try:
    main()
finally:
    for p in profiles:
        p.disable()
    stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        stats.add(p)
    stats.dump_stats(out)
"""


def audit_event(rng: random.Random, account: str, uid: str) -> str:
    """One event of the integration event schema as JSON text (~480-1,000 bytes)."""
    kind = rng.choice(IDENTITY_TYPES)
    user = f"user{rng.randrange(500):03d}"
    name = rng.choice(NAMES)
    data: dict[str, Any] = {
        "version": "1.0",
        "userIdentity": {"type": kind, "principalId": f"{kind.lower()}:{user}@example.com",
                         "details": {"department": rng.choice(("finance", "sales", "it", "legal")),
                                     "tenant": f"t-{rng.randrange(40)}", "mfa": rng.random() < 0.7}},
        "userAgent": rng.choice(AGENTS),
        "eventSource": rng.choice(("documents.acme.example", "billing.acme.example", "auth.acme.example")),
        "eventName": name,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - rng.randrange(600))),
        "UID": uid,
        "requestParameters": {"documentId": f"doc-{rng.getrandbits(48):012x}", "folder": f"/projects/p{rng.randrange(90)}",
                              "tags": [f"tag{rng.randrange(20)}" for _ in range(rng.randrange(1, 5))],
                              "note": "x" * rng.randrange(0, 400)},
        "responseElements": {"status": rng.choice(("OK", "OK", "OK", "Created")), "version": rng.randrange(1, 99)},
        "sourceIPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "recipientAccountId": account,
        "additionalEventData": {"sessionId": f"{rng.getrandbits(64):016x}", "region": "eu-central"},
    }
    if rng.random() < 0.05:
        data["errorCode"], data["errorMessage"] = "AccessDenied", "The user is not allowed to do this."
    return json.dumps(data, separators=(",", ":"))


def _session(data: Path) -> Any:
    import boto3

    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(data / "credentials")
    os.environ["AWS_CONFIG_FILE"] = str(data / "no-config")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)
    return boto3.Session(profile_name="opentrail", region_name=REGION)


def _config() -> Any:
    from botocore.config import Config
    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)


def client(index: int, url: str, data: Path, arn: str, account: str, batch: int, seconds: float,
           start: Any, out: Any, period: float = 0.0, offset: float = 0.0) -> None:
    """One client process: batches for ``seconds`` after ``start`` is set, back to back
    (``period`` 0) or one every ``period`` seconds from ``offset`` seconds after the start (latency
    from the scheduled send time); puts (accepted, failed, latencies, cpu s, t0, t1, late sends,
    largest lag s) on ``out``."""
    cd = _session(data).client("cloudtrail-data", endpoint_url=url, config=_config())
    rng = random.Random(index)
    pool = [[{"id": f"{b}-{i}", "eventData": audit_event(rng, account, f"c{index}-{b}-{i}")} for i in range(batch)]
            for b in range(50)]
    cd.put_audit_events(channelArn=arn, auditEvents=pool[0][:1])  # connect, load the model
    start.wait()
    accepted, failed, latencies, late, lag = 0, 0, [], 0, 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    while True:
        if period:
            t = t0 + offset + n * period  # the scheduled send time
            if t - t0 >= seconds:
                break
            now = time.perf_counter()
            if now < t:
                time.sleep(t - now)
            elif now - t > 0.001:
                late += 1
                lag = max(lag, now - t)
        else:
            t = time.perf_counter()
            if t - t0 >= seconds:
                break
        answer = cd.put_audit_events(channelArn=arn, auditEvents=pool[n % len(pool)])
        latencies.append(time.perf_counter() - t)
        accepted += len(answer["successful"])
        failed += len(answer["failed"])
        n += 1
    out.put((accepted + 1, failed, latencies, time.process_time() - c0, t0, time.perf_counter(), late, lag))


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count(ct: Any, eds_id: str) -> int:
    qid = ct.start_query(QueryStatement=f"SELECT count(*) FROM {eds_id}")["QueryId"]
    while ct.describe_query(QueryId=qid)["QueryStatus"] in ("QUEUED", "RUNNING"):
        time.sleep(0.05)
    rows = ct.get_query_results(QueryId=qid)["QueryResultRows"]
    return int(next(iter(rows[0][0].values())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="open loop: offered events/s in total (each client sends on a fixed schedule)")
    ap.add_argument("--threads", type=Path, help="sample the server's threads (bench/thread_cpu.py), JSON to this file")
    ap.add_argument("--profile", type=Path, help="run the server under cProfile, stats to this file")
    ap.add_argument("--profile-timer", choices=("wall", "cpu"), default="wall",
                    help="cProfile's clock: wall time, or each thread's own CPU time (time.thread_time)")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra `opentrail serve` option (repeatable), e.g. --server-arg=--lake-ingest-interval-s=3600")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pae-"))
    data = work / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir", str(data)]
    if args.profile:
        cmd = [sys.executable, "-c", _PROFILE_SERVER, str(args.profile.resolve()), "serve", "--port", str(port),
               "--data-dir", str(data)]
    elif args.threads:
        cmd = [sys.executable, "-c", THREADS_SERVER, str(args.threads.resolve()), "serve", "--port", str(port),
               "--data-dir", str(data)]
    cmd += args.server_arg
    log = (work / "server.log").open("w")
    os.environ["BENCH_PROFILE_TIMER"] = args.profile_timer
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
    try:
        wait_http(f"{url}/_opentrail/health", proc)
        session = _session(data)
        ct = session.client("cloudtrail", endpoint_url=url, config=_config())
        eds = ct.create_event_data_store(Name="apps", AdvancedEventSelectors=[
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}])["EventDataStoreArn"]
        account = eds.split(":")[4]
        arn = ct.create_channel(Name="app-events", Source="Custom",
                                Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])["ChannelArn"]
        start, out = mp.Event(), mp.Queue()
        period = args.clients * args.batch / args.rate if args.rate else 0.0
        procs = [mp.Process(target=client, args=(i, url, data, arn, account, args.batch, args.seconds, start, out,
                                                 period, period * i / args.clients))
                 for i in range(args.clients)]
        for p in procs:
            p.start()
        time.sleep(3)  # the clients build their events and connect
        load0 = Path("/proc/loadavg").read_text().split()[:3]
        server0 = _cpu(proc.pid)
        if args.threads:
            proc.send_signal(signal.SIGUSR1)
        start.set()
        results = [out.get(timeout=args.seconds + 120) for _ in procs]
        server_cpu = _cpu(proc.pid) - server0
        if args.threads:
            proc.send_signal(signal.SIGUSR2)
        load1 = Path("/proc/loadavg").read_text().split()[:3]
        for p in procs:
            p.join()
        done = time.perf_counter()
        accepted = sum(r[0] for r in results)  # with each client's warm-up event
        failed = sum(r[1] for r in results)
        lat = [x for r in results for x in r[2]]
        window = max(r[5] for r in results) - min(r[4] for r in results)
        requests = len(lat)
        client_cpu = sum(r[3] for r in results)
        sent = accepted - len(procs)
        expected = accepted
        n, waited = _count(ct, eds.rsplit("/", 1)[1]), 0.0
        while n != expected and waited < (300 if not args.server_arg else 0):
            time.sleep(0.2)
            n = _count(ct, eds.rsplit("/", 1)[1])
            waited = time.perf_counter() - done
        ms = [x * 1000 for x in lat]
        mode = {"mode": "closed loop (back to back)"}
        if args.rate:
            scheduled = sum(math.ceil((args.seconds - period * i / args.clients) / period) for i in range(args.clients))
            late = sum(r[6] for r in results)
            achieved = sent / window
            mode = {"mode": "open loop (paced), latency from the scheduled send time", "offered_events_per_s": args.rate,
                    "scheduled_requests": scheduled, "late_sends": late,
                    "max_send_lag_ms": round(max(r[7] for r in results) * 1000, 1),
                    "kept_up": requests == scheduled and achieved >= 0.98 * args.rate
                    and max(r[7] for r in results) < period}
        summary = mode | {
            "clients": args.clients, "batch": args.batch, "seconds": round(window, 2), "requests": requests,
            "accepted_events": sent, "events_per_s": round(sent / window),
            "failed_entries": failed,
            "latency_ms": {p: round(percentile(ms, q), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))}
            | {"max": round(max(ms), 1)},
            "server_cpu_ms_per_request": round(server_cpu / requests * 1000, 2),
            "client_cpu_ms_per_request": round(client_cpu / requests * 1000, 2),
            "server_cpu_s": round(server_cpu, 1), "clients_cpu_s": round(client_cpu, 1),
            "loadavg_before": " ".join(load0), "loadavg_after": " ".join(load1),
            "store_count": n, "store_count_ok": n == expected, "queryable_after_s": round(waited, 2),
        }
        print(json.dumps(summary, indent=1))
        if args.threads:
            for _ in range(50):
                if args.threads.exists() and args.threads.stat().st_size:
                    break
                time.sleep(0.1)
            time.sleep(0.2)
            threads = json.loads(args.threads.read_text())
            threads["thread_cpu_ms_per_request"] = {k: round(v / requests * 1000, 2)
                                                    for k, v in threads["thread_cpu_s"].items() if v / requests > 1e-5}
            threads["native_threads_cpu_ms_per_request"] = round(threads["native_threads_cpu_s"] / requests * 1000, 2)
            print(json.dumps(threads, indent=1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if args.profile and not args.profile.exists():
            print((work / "server.log").read_text()[-3000:])
        if args.profile and args.profile.exists():
            import pstats
            st = pstats.Stats(str(args.profile))
            st.sort_stats("cumulative").print_stats(40)
            st.sort_stats("tottime").print_stats(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
