"""SqliteInsightCounts (opentrail/insights/counts.py) on both backends (``state_dir``: SQLite files
or schemas of the real PostgreSQL): counts and their rollups, attributions, the cursor, analysis
state, anomalies, the outbox and retention with exact values, and two stores on one data directory
(two nodes, as when the counting worker moves) adding into the same series."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from opentrail.insights.counts import ATTR_RETENTION_MINUTES, INSIGHTS_DB, Outgoing, SqliteInsightCounts
from opentrail.insights.detector import LOOKBACK_MINUTES
from opentrail.insights.model import CALL_RATE, MANAGEMENT, SeriesKey

A, B = "111122223333", "444455556666"
RUN = (A, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE, "")
STOP = (A, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "StopInstances", CALL_RATE, "")
OTHER = (B, "eu-west-1", MANAGEMENT, "s3.amazonaws.com", "PutBucketPolicy", CALL_RATE, "")
M = 29_666_667 // 60 * 60  # an hour boundary, in epoch minutes


@pytest.fixture
def counts(state_dir: Path) -> Iterator[SqliteInsightCounts]:
    c = SqliteInsightCounts(state_dir / INSIGHTS_DB)
    yield c
    c.close()


def test_apply_counts_rollups_and_attributions(counts: SqliteInsightCounts) -> None:
    assert counts.cursor() == 0
    counts.apply({(RUN, M + 1): 2, (RUN, M + 6): 3, (STOP, M + 2): 1}, {(RUN, M + 1, 0, "alice"): 2}, 10, 100.0, M)
    counts.apply({(RUN, M + 1): 1, (OTHER, M + 61): 4}, {(RUN, M + 1, 0, "alice"): 1, (RUN, M + 1, 1, "cli"): 1},
                 12, 200.0, M + 5)
    assert counts.cursor() == 12
    key = SeriesKey(*RUN)
    assert counts.counts(key, M, M + 120, 60) == [(M + 1, 3), (M + 6, 3)]
    assert counts.counts(key, M, M + 120, 300) == [(M, 3), (M + 5, 3)]
    assert counts.counts(key, M, M + 120, 3600) == [(M, 6)]
    assert counts.counts(SeriesKey(*RUN[:4], "Nope", CALL_RATE), M, M + 120, 60) == []
    with pytest.raises(ValueError, match="period_s must be one of 60, 300, 3600, got 120"):
        counts.counts(key, M, M + 120, 120)
    assert counts.series(A, "us-east-1") == [SeriesKey(*RUN), SeriesKey(*STOP)]
    assert counts.first_minutes() == {(A, "us-east-1"): M + 1, (B, "eu-west-1"): M + 61}
    states = {s.key.event_name: s for s in counts.states()}
    run = states["RunInstances"]
    assert (run.newest, run.dirty_from, run.changed_at, run.analysed_until, run.open_start) == (M + 6, None, 200.0,
                                                                                                   None, None)
    assert states["StopInstances"].changed_at == 0.0  # M + 2 was not a closed minute (before M) when counted
    sid = run.id
    assert counts.minute_counts(sid, M, M + 6) == ([M + 1], [3])
    assert counts.attribution_totals(sid, M, M + 10) == {0: {"alice": 3}, 1: {"cli": 1}}
    assert [s.key.account_id for s in counts.states([B])] == [B]


def test_analysis_state_anomalies_and_outbox(counts: SqliteInsightCounts) -> None:
    counts.apply({(RUN, M + 1): 2}, {}, 1, 100.0, M)
    [state] = counts.states()
    counts.record_analysed(state.id, M + 10, None)
    assert counts.states(horizon=0) == []
    counts.apply({(RUN, M + 3): 1}, {}, 2, 150.0, M + 20)  # a change before analysed_until: dirty
    [dirty] = counts.states()
    assert (dirty.dirty_from, dirty.changed_at, dirty.analysed_until) == (M + 3, 150.0, M + 10)
    counts.record_analysed(state.id, M + 12, M + 99)  # it changed since: dirty_from stays
    assert counts.states()[0].dirty_from == M + 3
    counts.record_analysed(state.id, M + 12, M + 3)
    assert counts.states(horizon=0) == []
    start = Outgoing("e1", A, "us-east-1", 60 * (M + 3), "RunInstances", "ec2.amazonaws.com", b'{"s":1}')
    counts.record_events(state.id, M + 3, None, [start])
    assert [s.open_start for s in counts.states()] == [M + 3]
    end = Outgoing("e0", A, "us-east-1", 60 * (M + 3), "RunInstances", "ec2.amazonaws.com", b'{"e":1}')
    counts.record_events(state.id, M + 3, M + 8, [end, start])  # start again: ignored
    assert counts.anomalies(state.id) == {M + 3: M + 8}
    assert counts.states(horizon=0) == []  # open_start cleared
    assert counts.outbox() == [end, start]
    counts.appended(["e1", "nope"])
    assert counts.outbox() == [end]


def test_purge(counts: SqliteInsightCounts) -> None:
    old = M - ATTR_RETENTION_MINUTES - 10
    counts.apply({(RUN, old): 1, (RUN, M): 2}, {(RUN, old, 0, "a"): 1, (RUN, M, 0, "a"): 2}, 1, 1.0, M + 1)
    [state] = counts.states()
    counts.record_analysed(state.id, M + 1, None)
    # m1 keeps 15 days before newest; attr 8 days: the old attribution and nothing else go
    assert counts.purge(M + 1) == 1
    assert counts.attribution_totals(state.id, old - 1, M + 1) == {0: {"a": 2}}
    far = M + 16 * 1440
    counts.apply({(RUN, far): 5}, {}, 2, 2.0, far + 1)
    counts.record_analysed(state.id, far + 1, counts.states()[0].dirty_from)
    # the m1 rows before far - 15 days (old and M) and the attribution at M (8 days) go
    assert counts.purge(far + 1) == 3
    [after] = counts.states(horizon=10**6)
    cutoff = min(far - 15 * 1440, far + 1 - LOOKBACK_MINUTES - 1)
    assert after.kept_from == cutoff
    assert counts.minute_counts(state.id, old - 1, far + 1) == ([far], [5])
    assert counts.attribution_totals(state.id, old - 1, far + 1) == {}
    assert counts.counts(SeriesKey(*RUN), old - 60, far + 1, 3600) == [(old - old % 60, 1), (M, 2), (far - far % 60, 5)]
    assert counts.purge(far + 1) == 0


def test_two_stores_on_one_data_directory_add_into_the_same_series(state_dir: Path) -> None:
    one, two = SqliteInsightCounts(state_dir / INSIGHTS_DB), SqliteInsightCounts(state_dir / INSIGHTS_DB)
    try:
        one.apply({(RUN, M): 1}, {}, 5, 1.0, M)
        two.apply({(RUN, M): 2, (STOP, M): 1}, {}, 7, 1.0, M)  # RUN is new to two's ids: found, not added again
        one.apply({(STOP, M): 4}, {}, 9, 1.0, M)
        for counts in (one, two):
            assert counts.counts(SeriesKey(*RUN), M, M + 1, 60) == [(M, 3)]
            assert counts.counts(SeriesKey(*STOP), M, M + 1, 60) == [(M, 5)]
            assert counts.cursor() == 9
        assert len(one.states()) == 2
    finally:
        one.close()
        two.close()
