"""``opentrail insights example-history``: the file it writes and the two unusual periods in it."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import orjson

from opentrail.events.record import read_record
from opentrail.insights.detector import detect

END = "2026-12-02T17:00:00Z"


def test_the_history_holds_exactly_the_two_documented_unusual_periods(tmp_path: Path) -> None:
    out = tmp_path / "history.json.gz"
    run = subprocess.run([sys.executable, "-m", "opentrail.cli", "insights", "example-history", "--account-id",
                          "111122223333", "--out", str(out), "--end", END], capture_output=True, text=True, check=True)
    records = orjson.loads(gzip.decompress(out.read_bytes()))["Records"]
    assert run.stdout == f"{len(records)} records of account 111122223333 in us-east-1, 8 days to 2026-12-02T17:00Z: {out}\n"
    events = [read_record(r) for r in records]  # what opentrail import stores
    assert {(e.account_id, e.region, e.category) for e in events} == {("111122223333", "us-east-1", "Management")}
    first = min(e.event_time for e in events) // 60
    assert first == (int(datetime(2026, 11, 24, 17, tzinfo=timezone.utc).timestamp()) // 60)
    series: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
    for r, e in zip(records, events):
        if not r["readOnly"]:
            series[(r["eventSource"], r["eventName"], "")][e.event_time // 60] += 1
        if "errorCode" in r:
            series[(r["eventSource"], r["eventName"], r["errorCode"])][e.event_time // 60] += 1
    end = int(datetime(2026, 12, 2, 17, tzinfo=timezone.utc).timestamp()) // 60
    found = {}
    for key, counts in series.items():
        minutes = sorted(counts)
        for a in detect(minutes, [counts[m] for m in minutes], first, first, end):
            found[key] = (a.start, a.end)
    assert found == {("ec2.amazonaws.com", "RunInstances", ""): (end - 180, end - 168),
                     ("secretsmanager.amazonaws.com", "GetSecretValue", "AccessDenied"): (end - 90, end - 82)}
