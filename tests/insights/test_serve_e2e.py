"""Insights end to end through `opentrail serve` (a real process), boto3 and `opentrail import`:
imported history is analysed at once; the Insights events are in LookupEvents, in the trail's bucket
under CloudTrail-Insight/, in the Insights destination event data store (Lake SQL), and
ListInsightsMetricData answers the counts they came from.

The oracle is the imported file itself: its per-minute counts, and the detector run over them."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.config import Config

from opentrail.events.record import read_record
from opentrail.insights.detector import detect
from tests.test_e2e_cli import Server

ACCOUNT = "111122223333"
pytestmark = pytest.mark.slow


def _expected(history: Path) -> tuple[dict[tuple[str, str, str], Counter[int]], set[tuple[str, str, str, int, int]]]:
    """Per-minute counts of every series in ``history`` and the anomalies the detector finds there."""
    records = orjson.loads(gzip.decompress(history.read_bytes()))["Records"]
    series: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
    first = None
    for r in records:
        minute = read_record(r).event_time // 60
        first = minute if first is None else min(first, minute)
        if not r["readOnly"]:
            series[(r["eventSource"], r["eventName"], "")][minute] += 1
        if "errorCode" in r:
            series[(r["eventSource"], r["eventName"], r["errorCode"])][minute] += 1
    assert first is not None
    found = set()
    for (source, name, error), counts in series.items():
        minutes = sorted(counts)
        for a in detect(minutes, [counts[m] for m in minutes], first, first, max(minutes) + 60):
            assert a.end is not None
            found.add((source, name, error, a.start, a.end))
    return series, found


def _wait(what: str, check: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.time() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _run(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "opentrail.cli", *args], capture_output=True, text=True, check=True).stdout


def test_imported_history_gives_insights_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    srv = Server(data, None, "--lake-ingest-interval-s", "0.2", "--delivery-interval-s", "1")
    try:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(data / "credentials"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        _run("create-access-key", "--data-dir", str(data), "--account-id", ACCOUNT, "--profile", "acct")
        _run("create-bucket", "--data-dir", str(data), "insights-logs")
        session = boto3.Session(profile_name="acct", region_name="us-east-1")
        ct = session.client("cloudtrail", endpoint_url=srv.url, config=Config(retries={"total_max_attempts": 1}))

        trail = ct.create_trail(Name="insights", S3BucketName="insights-logs")["TrailARN"]
        ct.start_logging(Name="insights")
        ct.put_insight_selectors(TrailName="insights", InsightSelectors=[
            {"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}])
        source = ct.create_event_data_store(Name="source")["EventDataStoreArn"]
        destination = ct.create_event_data_store(Name="insights", AdvancedEventSelectors=[
            {"Name": "Insights events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}])["EventDataStoreArn"]
        ct.put_insight_selectors(EventDataStore=source, InsightsDestination=destination,
                                 InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])

        end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        history = tmp_path / "history.json.gz"
        _run("insights", "example-history", "--account-id", ACCOUNT, "--out", str(history), "--end", end.isoformat())
        series, anomalies = _expected(history)
        stop = int(end.timestamp()) // 60
        assert {(s, n, e, a - stop, b - stop) for s, n, e, a, b in anomalies} == {
            ("ec2.amazonaws.com", "RunInstances", "", -180, -168),
            ("secretsmanager.amazonaws.com", "GetSecretValue", "AccessDenied", -90, -82)}
        _run("import", "--data-dir", str(data), str(history))

        # LookupEvents: a Start and an End per anomaly, within a minute of the import
        events = _wait("4 Insights events", lambda: (lambda e: e if len(e) >= 4 else None)(
            ct.lookup_events(LookupAttributes=[], EventCategory="insight")["Events"]))
        records = [orjson.loads(e["CloudTrailEvent"]) for e in events]
        iso = lambda minute: datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        want = set()
        for s, n, e, a, b in anomalies:
            want |= {("Start", s, n, e or None, iso(a)), ("End", s, n, e or None, iso(b))}
        got = {(r["insightDetails"]["state"], r["insightDetails"]["eventSource"], r["insightDetails"]["eventName"],
                r["insightDetails"].get("errorCode"), r["eventTime"]) for r in records}
        assert len(records) == 4 and got == want
        for r in records:
            details = r["insightDetails"]
            key = (details["eventSource"], details["eventName"], details.get("errorCode", ""))
            a, b = next((a, b) for s, n, e, a, b in anomalies if (s, n, e) == key)
            stats = details["insightContext"]["statistics"]
            baseline = sum(c for m, c in series[key].items() if a - 10080 <= m < a) / 10080
            assert stats["baseline"]["average"] == round(baseline, 10)
            whole = sum(c for m, c in series[key].items() if a <= m < b) / (b - a)
            assert stats["insight"]["average"] == round(whole if details["state"] == "End" else series[key][a], 10)
        by_id = {r["eventID"]: r for r in records}

        # the trail's bucket: the four records, in CloudTrail-Insight files only
        folder = data / "buckets" / "insights-logs" / "AWSLogs" / ACCOUNT / "CloudTrail-Insight" / "us-east-1"

        def delivered() -> list[dict[str, Any]] | None:
            found = [rec for f in sorted(folder.rglob("*.json.gz")) for rec in orjson.loads(gzip.decompress(f.read_bytes()))["Records"]]
            return found if len(found) >= 4 else None

        files = _wait("the Insights log file", delivered)
        assert sorted(orjson.dumps(r) for r in files) == sorted(orjson.dumps(r) for r in records)
        assert all(f.name.startswith(f"{ACCOUNT}_CloudTrail-Insight_us-east-1_") for f in folder.rglob("*.json.gz"))
        assert trail.endswith(":trail/insights")

        # the Insights destination store: the call-rate Insights of its source (not the error-rate ones)
        eds_id = destination.rsplit("/", 1)[1]

        def query() -> list[str] | None:
            qid = ct.start_query(QueryStatement=f"SELECT eventID FROM {eds_id} ORDER BY eventTime")["QueryId"]
            while (status := ct.describe_query(QueryId=qid)["QueryStatus"]) in ("QUEUED", "RUNNING"):
                time.sleep(0.05)
            assert status == "FINISHED"
            rows = [row[0]["eventID"] for row in ct.get_query_results(QueryId=qid)["QueryResultRows"]]
            return rows if len(rows) >= 2 else None

        stored = _wait("the Insights event data store", query, 30)
        assert [by_id[i]["insightDetails"]["state"] for i in stored] == ["Start", "End"]
        assert {by_id[i]["insightDetails"]["insightType"] for i in stored} == {"ApiCallRateInsight"}

        # ListInsightsMetricData: the per-minute counts of the file, zeros filled
        burst = next(a for s, n, e, a, b in anomalies if n == "RunInstances")
        answer = ct.list_insights_metric_data(
            EventSource="ec2.amazonaws.com", EventName="RunInstances", InsightType="ApiCallRateInsight", Period=60,
            StartTime=datetime.fromtimestamp((burst - 5) * 60, timezone.utc),
            EndTime=datetime.fromtimestamp((burst + 15) * 60, timezone.utc), DataType="FillWithZeros")
        assert [int(t.timestamp()) // 60 for t in answer["Timestamps"]] == list(range(burst - 5, burst + 15))
        assert answer["Values"] == [float(series[("ec2.amazonaws.com", "RunInstances", "")][m])
                                    for m in range(burst - 5, burst + 15)]
    finally:
        srv.stop()
