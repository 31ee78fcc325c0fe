"""The Insights counts: what a record counts in (from its bytes), the per-minute, 5-minute and
hourly totals, the attributions, retention and the cursor, over a real SQLite event store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from opentrail.events.record import read_record
from opentrail.insights.counts import SqliteInsightCounts
from opentrail.insights.extract import Counted, event_minute, extract, skippable
from opentrail.insights.model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, SeriesKey
from opentrail.insights.worker import InsightsWorker
from opentrail.store.sqlite import SqliteEventStore

from .counts_fixtures import ACCOUNT, T0, Clock, FixedScope, append, record

M0 = T0 // 60
ALICE, BOB = "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"
RUN = SeriesKey(ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE)


def raw(rec: dict) -> bytes:
    return read_record(rec).record


def test_read_only_calls_without_error_are_skipped_from_the_bytes() -> None:
    assert skippable(raw(record(T0, "DescribeInstances", read_only=True)), MANAGEMENT) is True
    # a nested readOnly false or errorCode costs a parse, and does not make the call counted
    nested = record(T0, "DescribeInstances", read_only=True, requestParameters={"readOnly": False})
    assert skippable(raw(nested), MANAGEMENT) is False
    assert extract(raw(nested), ACCOUNT, "us-east-1", MANAGEMENT) == []
    nested = record(T0, "DescribeInstances", read_only=True, requestParameters={"readOnly": True})
    assert skippable(raw(nested), MANAGEMENT) is True
    spaced = b'{"eventSource":"ec2.amazonaws.com","readOnly" :\n "false","eventName":"X"}'
    assert skippable(spaced, MANAGEMENT) is False
    escaped = b'{"eventSource":"ec2.amazonaws.com","read\\u004fnly":false,"eventName":"X"}'
    assert skippable(escaped, MANAGEMENT) is False
    # no readOnly at all: nothing to count
    no_read_only = record(T0)
    del no_read_only["readOnly"]
    assert skippable(raw(no_read_only), MANAGEMENT) is True
    inner_error = record(T0, "DescribeInstances", read_only=True, requestParameters={"errorCode": "x"})
    assert skippable(raw(inner_error), MANAGEMENT) is False
    assert extract(raw(inner_error), ACCOUNT, "us-east-1", MANAGEMENT) == []
    assert skippable(raw(record(T0, read_only=False)), MANAGEMENT) is False
    assert skippable(b'{"eventCategory":"Insight"}', "Insight") is True
    assert skippable(b"{}", "NetworkActivity") is True
    assert skippable(raw(record(T0, "GetObject", read_only=True, data=True)), DATA) is False


def test_what_a_record_counts_in() -> None:
    series = (ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com")
    assert extract(raw(record(T0 + 59)), ACCOUNT, "us-east-1", MANAGEMENT) == [
        Counted((*series, "RunInstances", CALL_RATE, ""), M0, (ALICE, "aws-cli/2.15", "null"))]
    assert extract(raw(record(T0, error="AccessDenied")), ACCOUNT, "us-east-1", MANAGEMENT) == [
        Counted((*series, "RunInstances", CALL_RATE, ""), M0, (ALICE, "aws-cli/2.15", "AccessDenied")),
        Counted((*series, "RunInstances", ERROR_RATE, "AccessDenied"), M0, (ALICE, "aws-cli/2.15"))]
    assert extract(raw(record(T0, "DescribeVpcs", read_only=True, error="Throttling")), ACCOUNT, "us-east-1",
                   MANAGEMENT) == [Counted((*series, "DescribeVpcs", ERROR_RATE, "Throttling"), M0,
                                           (ALICE, "aws-cli/2.15"))]
    # readOnly as a string, no userIdentity.arn nor userAgent
    rec = record(T0, readOnly="false", userIdentity={"type": "AWSService"})
    del rec["userAgent"]
    assert extract(raw(rec), ACCOUNT, "us-east-1", MANAGEMENT) == [
        Counted((*series, "RunInstances", CALL_RATE, ""), M0, ("", "", "null"))]
    # a data event counts read and write
    got = extract(raw(record(T0, "GetObject", read_only=True, data=True, source="s3.amazonaws.com")), ACCOUNT,
                  "us-east-1", DATA)
    assert got == [Counted((ACCOUNT, "us-east-1", DATA, "s3.amazonaws.com", "GetObject", CALL_RATE, ""), M0,
                           (ALICE, "aws-cli/2.15", "null"))]
    # no readOnly: not a write call
    rec = record(T0)
    del rec["readOnly"]
    assert extract(raw(rec), ACCOUNT, "us-east-1", MANAGEMENT) == []


def test_event_minute() -> None:
    assert event_minute("2026-05-28T20:27:59Z") == 1_780_000_020 // 60
    assert event_minute("2026-05-28T20:27:00.123Z") == 1_780_000_020 // 60
    assert event_minute("2026-05-28T21:27:00+01:00") == 1_780_000_020 // 60
    assert event_minute("yesterday") is None
    assert event_minute(17) is None


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "events")
    yield s
    s.close()


def run(store: SqliteEventStore, tmp_path: Path, now: float) -> InsightsWorker:
    w = InsightsWorker(store, FixedScope(), tmp_path, Clock(now), read_limit=1000)
    while w.run_once():
        pass
    w.flush(now)
    return w


def test_counts_periods_and_attributions_exact(store: SqliteEventStore, tmp_path: Path) -> None:
    recs = []
    for minute in range(0, 130):  # RunInstances: minute i has i % 3 calls; reads in between
        for j in range(minute % 3):
            recs.append(record(T0 + minute * 60 + j, arn=ALICE if j == 0 else BOB, error="Throttling" if j == 1 else None))
        recs.append(record(T0 + minute * 60, "DescribeInstances", read_only=True))
    recs.append(record(T0, "RunInstances", region="eu-west-1"))
    recs.append(record(T0, "RunInstances", account="444455556666"))
    append(store, recs)
    w = run(store, tmp_path, T0 + 3 * 3600)
    c = w.counts
    assert c.cursor() == len(recs)
    per_minute = c.counts(RUN, M0, M0 + 130, 60)
    assert per_minute == [(M0 + i, i % 3) for i in range(130) if i % 3]
    assert c.counts(RUN, M0 + 1, M0 + 3, 60) == [(M0 + 1, 1), (M0 + 2, 2)]
    fives = c.counts(RUN, M0 - M0 % 5, M0 + 200, 300)
    expected: dict[int, int] = {}
    for i in range(130):
        m = M0 + i
        expected[m - m % 5] = expected.get(m - m % 5, 0) + i % 3
    assert fives == sorted(expected.items())
    hours = c.counts(RUN, 0, M0 + 1000, 3600)
    assert sum(n for _, n in hours) == sum(i % 3 for i in range(130)) == 129
    assert all(m % 60 == 0 for m, _ in hours)
    errors = SeriesKey(ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", ERROR_RATE, "Throttling")
    assert c.counts(errors, M0, M0 + 130, 60) == [(M0 + i, 1) for i in range(130) if i % 3 == 2]
    assert c.series(ACCOUNT, "us-east-1") == [RUN, errors]
    assert c.series(ACCOUNT, "eu-west-1") == [SeriesKey(ACCOUNT, "eu-west-1", MANAGEMENT, "ec2.amazonaws.com",
                                                        "RunInstances", CALL_RATE)]
    with pytest.raises(ValueError):
        c.counts(RUN, M0, M0 + 1, 120)
    sid = {s.key: s.id for s in c.states()}[RUN]
    totals = c.attribution_totals(sid, M0, M0 + 130)
    assert totals == {0: {ALICE: 86, BOB: 43}, 1: {"aws-cli/2.15": 129}, 2: {"null": 86, "Throttling": 43}}
    assert c.first_minutes() == {(ACCOUNT, "us-east-1"): M0 + 1, (ACCOUNT, "eu-west-1"): M0, ("444455556666", "us-east-1"): M0}
    w.close()


def test_counted_once_across_restarts(store: SqliteEventStore, tmp_path: Path) -> None:
    append(store, [record(T0 + i) for i in range(50)])
    run(store, tmp_path, T0 + 7200).close()
    append(store, [record(T0 + i) for i in range(30)])
    # a worker that counted but never committed: its counts are lost and counted again
    lost = InsightsWorker(store, FixedScope(), tmp_path, Clock(T0 + 7200))
    lost.count_new()
    lost.close()
    w = run(store, tmp_path, T0 + 7200)
    assert w.counts.counts(RUN, M0, M0 + 2, 60) == [(M0, 80)]
    assert w.counts.cursor() == 80
    w.close()


def test_retention_from_the_series_newest_minute(store: SqliteEventStore, tmp_path: Path) -> None:
    day = 1440
    ages = [100, 80, 62, 20, 14, 7, 0]  # days before the newest minute
    newest = M0 + 100 * day
    append(store, [record((newest - a * day) * 60) for a in ages])
    w = run(store, tmp_path, newest * 60 + 120)  # nothing watched: no analysis holds minutes back
    c = w.counts
    c.purge(newest + 2)
    assert c.counts(RUN, 0, newest + 1, 60) == [(newest - a * day, 1) for a in (14, 7, 0)]
    assert [n for _, n in c.counts(RUN, 0, newest + 1, 300)] == [1] * 5  # 62, 20, 14, 7, 0 days
    assert [n for _, n in c.counts(RUN, 0, newest + 1, 3600)] == [1] * 6  # from 80 days
    sid = c.states()[0].id
    assert c.attribution_totals(sid, 0, newest + 1)[0] == {ALICE: 2}  # 7 and 0 days: kept 8 days
    w.close()


def test_retention_keeps_what_the_detector_has_not_analysed(store: SqliteEventStore, tmp_path: Path) -> None:
    day = 1440
    newest = M0 + 30 * day
    append(store, [record((newest - a * day) * 60) for a in (30, 20, 0)])
    w = run(store, tmp_path, newest * 60 + 120)
    c = w.counts
    sid = c.states()[0].id
    c.record_analysed(sid, M0 + 15 * day, None)  # analysis reached day 15: it needs the 7 days before it
    c.purge(newest + 2)
    assert c.counts(RUN, 0, newest + 1, 60) == [(newest - 20 * day, 1), (newest, 1)]
    w.close()


def test_a_future_event_time_does_not_empty_a_series(store: SqliteEventStore, tmp_path: Path) -> None:
    day = 1440
    newest = M0 + 20 * day
    append(store, [record((newest - a * day) * 60) for a in (10, 0)] + [record(4102444800)])  # and one in 2100
    w = run(store, tmp_path, newest * 60 + 120)
    c = w.counts
    c.purge(newest + 2)  # retention counts from now, not from 2100
    assert c.counts(RUN, 0, newest + 1, 60) == [(newest - 10 * day, 1), (newest, 1)]
    assert c.states()[0].kept_from is None  # nothing was purged
    c.purge(newest + 2 + 10 * day)
    assert c.counts(RUN, 0, newest + 1, 60) == [(newest, 1)]
    assert c.states()[0].kept_from == newest + 2 + 10 * day - 15 * day
    w.close()


def test_one_transaction_for_counts_and_cursor(tmp_path: Path) -> None:
    c = SqliteInsightCounts(tmp_path / "insights.db")
    series = (ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE, "")
    with pytest.raises(Exception):
        c.apply({(series, M0): 1}, {(("no", "such", "series", "", "", "", ""), M0, 0, "x"): 1}, 5, T0, M0)
    assert c.cursor() == 0 and c.series(ACCOUNT, "us-east-1") == []
    c.apply({(series, M0): 2}, {(series, M0, 0, ALICE): 2}, 7, T0, M0)
    assert c.cursor() == 7 and c.counts(RUN, M0, M0 + 1, 60) == [(M0, 2)]
    assert orjson.dumps(c.series(ACCOUNT, "us-east-1")[0].event_name) == b'"RunInstances"'
    c.close()
