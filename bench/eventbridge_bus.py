"""EventBridge bus throughput: events read from the durable event log, wrapped in their envelopes,
matched against every rule and their outbox rows committed, as ``opentrail serve`` does it.

    python3 bench/eventbridge_bus.py [--events 100000] [--rules 10,100,300] [--repeat 3]

In process, real parts: a :class:`~opentrail.store.sqlite.SqliteEventStore` in a temporary folder
holding ``--events`` real CloudTrail records (the datasets' 3,210, repeated with fresh eventIDs, all
in one account and Region so every rule sees every event), a
:class:`~opentrail.eventbridge.rules_service.RulesService` holding the rules (the patterns of
``bench/eventbridge_match.py``, each with one SQS target), and an
:class:`~opentrail.eventbridge.bus.EventBusWorker` without a dispatcher (the outbox rows stay).
Timed: ``step()`` until the log is drained, from a fresh bus state each run (best of ``--repeat``).
Prints events/s, µs/event and the rows written, with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eventbridge_match import dataset_envelopes, dataset_records, generate_patterns  # noqa: E402
from opentrail.eventbridge.bus import EventBusWorker  # noqa: E402
from opentrail.eventbridge.bus_state import BUS_DB, BusState  # noqa: E402
from opentrail.eventbridge.rules_service import RulesService  # noqa: E402
from opentrail.events.record import read_record  # noqa: E402
from opentrail.store.sqlite import SqliteEventStore  # noqa: E402

ACCOUNT = "111122223333"
REGION = "us-east-1"


def fill(store: SqliteEventStore, count: int) -> None:
    """``count`` dataset records in one account and Region, with fresh eventIDs and recent times
    (within the bus's imported-history bound)."""
    base = [r for r in dataset_records() if isinstance(r.get("eventSource"), str)]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    batch = []
    for i in range(count):
        record = dict(base[i % len(base)])
        record.update(eventID=str(uuid.UUID(int=i + 1)), recipientAccountId=ACCOUNT, awsRegion=REGION, eventTime=now)
        batch.append(read_record(record))
        if len(batch) == 5000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)


def run(data: Path, store: SqliteEventStore, rules: RulesService) -> tuple[float, int]:
    """(seconds, outbox rows) of one drain from a fresh bus state."""
    for name in (BUS_DB, BUS_DB + "-wal", BUS_DB + "-shm"):
        (data / name).unlink(missing_ok=True)
    state = BusState(data / BUS_DB)
    worker = EventBusWorker(store, rules, state, None, clock=time.time, read_limit=1000)
    try:
        start = time.perf_counter()
        while worker.step():
            pass
        return time.perf_counter() - start, state.pending()
    finally:
        state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rules", default="10,100,300")  # 300: rules per bus (AWS quota)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opentrail-bus-bench-"))
    try:
        store = SqliteEventStore(root / "events")
        fill(store, args.events)
        envelopes = dataset_envelopes()
        print(f"{args.events} events in the log; load average {os.getloadavg()[0]:.2f}")
        print("| rules | events/s | µs/event | outbox rows |")
        print("|---|---|---|---|")
        for count in (int(n) for n in args.rules.split(",")):
            data = root / f"rules-{count}"
            data.mkdir()
            rules = RulesService(data, time.time, head_seq=lambda: 0)
            for name, pattern in generate_patterns(count, envelopes).items():
                rules.put_rule(ACCOUNT, REGION, name, event_pattern=pattern)
                rules.put_targets(ACCOUNT, REGION, name, [{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}])
            best, rows = min(run(data, store, rules) for _ in range(args.repeat))
            print(f"| {count} | {args.events / best:,.0f} | {best / args.events * 1e6:.1f} | {rows:,} |", flush=True)
            rules.close()
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
