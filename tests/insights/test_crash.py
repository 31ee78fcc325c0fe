"""Exactly once across kill -9: a process counting a real SQLite event store and writing Insights
events is SIGKILLed after a number of its rounds, several times, then runs to the end: no Insights
event is written twice and every Start has its End."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from opentrail.store.sqlite import SqliteEventStore
from tests import crash_child

from .counts_fixtures import T0, append, insights_events, iso, record

REPO = Path(__file__).resolve().parents[2]
WEEK = 7 * 1440
M0 = T0 // 60 // 60 * 60
APIS = [f"Put{i}" for i in range(8)]
CHILD = """
import sys, time
from pathlib import Path
from opentrail.insights import records
from opentrail.insights.model import CALL_RATE, ERROR_RATE, MANAGEMENT
from opentrail.insights.worker import InsightsWorker, Watch
from opentrail.store.sqlite import SqliteEventStore
from tests.insights.counts_fixtures import ACCOUNT, FixedScope, end_record, start_record

records.start_record, records.end_record = start_record, end_record
data = Path(sys.argv[1])
offset = float(sys.argv[2]) - 1_700_000_000  # a clock after every imported event, moving with time
store = SqliteEventStore(data / "events")
scope = FixedScope(Watch(ACCOUNT, None, CALL_RATE, MANAGEMENT), Watch(ACCOUNT, None, ERROR_RATE, MANAGEMENT))
w = InsightsWorker(store, scope, data, lambda: time.time() + offset, interval_s=0.0, read_limit=60,
                   settle_s=0.0, analyse_every_s=0.0, poll_s=0.0)
print("started", flush=True)
while True:
    n = w.run_once()
    print("step", n, w.analysed, flush=True)
    if n == 0 and w.analysed == 0 and not w.counts.outbox():
        break
print("done", flush=True)
w.close()
store.close()
"""


def run_child(data: Path, kill_after: int | None) -> str:
    """The child's output; killed (with its process group) after ``kill_after`` rounds of work."""
    return crash_child.run_child(CHILD, [str(data), str(T0 + 60 * 86400)], kill_after, env={"PYTHONPATH": str(REPO)},
                                 timeout_s=120)


def test_no_duplicate_and_no_start_without_end_across_kill_9(tmp_path: Path) -> None:
    recs = []
    bursts = {}
    for k, name in enumerate(APIS):
        error = "AccessDenied" if k % 2 else None
        recs += [record(m * 60 + k, name, error=error) for m in range(M0, M0 + WEEK + 1440, 60)]
        bursts[name] = [M0 + WEEK + 120 + 240 * j + 7 * k for j in range(4)]
        for b in bursts[name]:
            recs += [record(b * 60 + i % 60, name, error=error) for i in range(25)]
            recs += [record((b + 1) * 60 + i % 60, name, error=error) for i in range(15)]
    recs.sort(key=lambda r: r["eventTime"])  # an import in time order: bursts are read over several rounds
    store = SqliteEventStore(tmp_path / "events")
    append(store, recs)
    store.close()
    outputs = [run_child(tmp_path, kill_after) for kill_after in (3, 11, 7, 9, 5)]
    assert all("done" not in out for out in outputs), outputs  # the kills landed mid-work
    run_child(tmp_path, None)
    store = SqliteEventStore(tmp_path / "events")
    events = insights_events(store)
    store.close()
    ids = Counter(e["eventID"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == []
    states: dict[str, list[str]] = {}
    for e in events:
        states.setdefault(e["sharedEventID"], []).append(e["insightDetails"]["state"])
    assert all(s == ["Start", "End"] for s in states.values()), states
    starts = {(e["insightDetails"]["eventName"], e["insightDetails"]["insightType"], e["eventTime"])
              for e in events if e["insightDetails"]["state"] == "Start"}
    for k, name in enumerate(APIS):
        kind = "ApiErrorRateInsight" if k % 2 else "ApiCallRateInsight"
        assert {(name, kind, iso(b * 60)) for b in bursts[name]} <= starts
