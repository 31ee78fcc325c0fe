"""The Insights worker end to end over a real SQLite event store with a fake clock: live bursts,
imported history, error-rate series, the grace and settle times, and where Insights is enabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opentrail.insights.model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, SeriesKey
from opentrail.insights.records import event_ids
from opentrail.insights.worker import InsightsWorker, TrailInsightsScope, Watch
from opentrail.store.base import LookupQuery
from opentrail.store.sqlite import SqliteEventStore
from opentrail.trails.model import InsightSelector, Trail, TrailStatus

from .counts_fixtures import ACCOUNT, OTHER, T0, Clock, FixedScope, append, insights_events, iso, record, use_simple_records

WEEK = 7 * 1440
M0 = T0 // 60 // 10 * 10  # baseline calls on minutes divisible by 10: exactly 0.1 per minute over a week
CAROL = "arn:aws:iam::111122223333:user/carol"
ALICE, BOB = "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    use_simple_records(monkeypatch)
    s = SqliteEventStore(tmp_path / "events")
    yield s
    s.close()


def baseline(first: int, end: int, name: str = "RunInstances", **kw: Any) -> list[dict[str, Any]]:
    """One call on each minute divisible by 10 in [first, end)."""
    return [record(m * 60 + 5, name, arn=CAROL, **kw) for m in range(first, end) if m % 10 == 0]


def burst(minute: int, n: int, name: str = "RunInstances", **kw: Any) -> list[dict[str, Any]]:
    """``n`` calls in ``minute``: 70 % by alice with boto3, the rest by bob."""
    return [record(minute * 60 + i % 60, name, arn=ALICE if i < n * 7 // 10 else BOB, agent="Boto3/1.34", **kw)
            for i in range(n)]


def stats(rec: dict[str, Any]) -> tuple[Any, ...]:
    d = rec["insightDetails"]
    s = d["insightContext"]["statistics"]
    return (d["state"], rec["eventTime"], d["eventName"], d["insightType"], d.get("errorCode"), s["baseline"]["average"],
            s["insight"]["average"], s["insightDuration"], s["baselineDuration"])


def test_live_burst_gives_one_start_then_one_end(store: SqliteEventStore, tmp_path: Path) -> None:
    clock = Clock(0)
    b = M0 + WEEK + 60  # the burst's first minute
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT))
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=5, grace_s=10, max_wait_s=3600)
    append(store, baseline(M0, b) + [record(m * 60, "DescribeInstances", read_only=True) for m in range(M0, b, 7)])
    clock.now = b * 60 + 20  # live: during the burst's minute
    w.run_once()
    clock.now += 6
    w.run_once()
    assert insights_events(store) == []
    append(store, burst(b, 100))
    w.run_once()
    clock.now = (b + 1) * 60 + 9  # the minute is closed 10 s after its end
    w.run_once()
    assert insights_events(store) == []
    clock.now = (b + 1) * 60 + 10
    for m in (b + 1, b + 2):
        w.run_once()
        assert [stats(r) for r in insights_events(store)] == [
            ("Start", iso(b * 60), "RunInstances", CALL_RATE, None, 0.1, 100.0, 1, WEEK)]
        clock.now = m * 60 + 20
        append(store, burst(m, 100))
        w.run_once()
        clock.now = (m + 1) * 60 + 10
    w.run_once()
    append(store, baseline(b + 3, b + 20))
    clock.now = (b + 20) * 60 + 10
    w.run_once()  # late events of closed minutes: analysed once they stop for settle_s
    assert len(insights_events(store)) == 1
    clock.now += 5
    w.run_once()
    start, end = insights_events(store)
    assert stats(end) == ("End", iso((b + 3) * 60), "RunInstances", CALL_RATE, None, 0.1, 100.0, 3, WEEK)
    key = SeriesKey(ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE)
    start_id, end_id, shared = event_ids(key, b)
    assert (start["eventID"], end["eventID"], start["sharedEventID"], end["sharedEventID"]) == (start_id, end_id, shared, shared)
    assert start["insightDetails"]["insightContext"]["attributions"] == [
        {"attribute": "userIdentityArn", "insight": [{"value": ALICE, "average": 70.0}, {"value": BOB, "average": 30.0}],
         "baseline": [{"value": CAROL, "average": 0.1}]},
        {"attribute": "userAgent", "insight": [{"value": "Boto3/1.34", "average": 100.0}],
         "baseline": [{"value": "aws-cli/2.15", "average": 0.1}]},
        {"attribute": "errorCode", "insight": [{"value": "null", "average": 100.0}],
         "baseline": [{"value": "null", "average": 0.1}]}]
    assert end["insightDetails"]["insightContext"]["attributions"][0]["insight"] == [
        {"value": ALICE, "average": 70.0}, {"value": BOB, "average": 30.0}]
    page = store.lookup(LookupQuery(ACCOUNT, "us-east-1", insight=True))
    assert [e.event_id for e in page.events] == [end_id, start_id]
    page = store.lookup(LookupQuery(ACCOUNT, "us-east-1", attribute=("EventName", "RunInstances"), insight=True))
    assert len(page.events) == 2
    # later rounds, and a new worker on the same files, write nothing again
    clock.now += 3600
    w.run_once()
    w.close()
    w2 = InsightsWorker(store, scope, tmp_path, clock)
    w2.run_once()
    w2.close()
    assert len(insights_events(store)) == 2


def test_imported_history_is_analysed_once_it_settles(store: SqliteEventStore, tmp_path: Path) -> None:
    clock = Clock(T0 + 90 * 86400)  # long after the imported events
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT), Watch(ACCOUNT, None, ERROR_RATE, MANAGEMENT))
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=5)
    b = M0 + WEEK + 600
    errors = dict(name="GetRolePolicy", read_only=True, error="NoSuchEntityException", source="iam.amazonaws.com")
    first = (baseline(M0, b, "CreateUser", source="iam.amazonaws.com") + baseline(M0, b + 30, **errors)
             + baseline(M0, b + 30, region="eu-west-1") + baseline(M0, b + 30, account=OTHER))
    append(store, first)
    w.run_once()
    clock.now += 4
    append(store, burst(b, 40, "CreateUser", source="iam.amazonaws.com") + burst(b + 1, 20, "CreateUser", source="iam.amazonaws.com")
           + baseline(b + 2, b + 30, "CreateUser", source="iam.amazonaws.com") + burst(b + 5, 30, **errors)
           + burst(b, 40, region="eu-west-1") + burst(b, 40, account=OTHER))
    w.run_once()
    clock.now += 4  # still settling: the import wrote closed minutes 4 s ago
    w.run_once()
    assert insights_events(store) == []
    clock.now += 1
    w.run_once()
    got = sorted(stats(r) for r in insights_events(store))
    assert got == sorted([
        ("Start", iso(b * 60), "CreateUser", CALL_RATE, None, 0.1, 40.0, 1, WEEK),
        ("End", iso((b + 2) * 60), "CreateUser", CALL_RATE, None, 0.1, 30.0, 2, WEEK),
        ("Start", iso((b + 5) * 60), "GetRolePolicy", ERROR_RATE, "NoSuchEntityException", 0.1, 30.0, 1, WEEK),
        ("End", iso((b + 6) * 60), "GetRolePolicy", ERROR_RATE, "NoSuchEntityException", 0.1, 30.0, 1, WEEK)])
    error_start = next(r for r in insights_events(store) if r["insightDetails"]["insightType"] == ERROR_RATE)
    assert [a["attribute"] for a in error_start["insightDetails"]["insightContext"]["attributions"]] == [
        "userIdentityArn", "userAgent"]
    # events imported later into the analysed past are analysed again, without repeating an insight
    append(store, burst(b - 100, 50, "CreateUser", source="iam.amazonaws.com"))
    clock.now += 1
    w.run_once()
    clock.now += 6
    w.run_once()
    assert sorted(stats(r)[:2] for r in insights_events(store)) == sorted([
        ("Start", iso(b * 60)), ("End", iso((b + 2) * 60)), ("Start", iso((b + 5) * 60)), ("End", iso((b + 6) * 60)),
        ("Start", iso((b - 100) * 60)), ("End", iso((b - 99) * 60))])
    w.close()


def test_data_event_insights_need_the_data_category(store: SqliteEventStore, tmp_path: Path) -> None:
    clock = Clock(T0 + 90 * 86400)
    b = M0 + WEEK + 60
    get = dict(name="GetObject", read_only=True, data=True, source="s3.amazonaws.com")
    append(store, baseline(M0, b + 5, **get) + burst(b, 50, **get) + baseline(M0, b + 5) + burst(b, 50))
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, DATA))
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=0)
    w.run_once()
    assert [(stats(r)[:3], r["insightDetails"]["eventSource"]) for r in insights_events(store)] == [
        (("Start", iso(b * 60), "GetObject"), "s3.amazonaws.com"), (("End", iso((b + 1) * 60), "GetObject"), "s3.amazonaws.com")]
    w.close()


def test_trail_scope() -> None:
    def trail(name: str, region: str, multi: bool, selectors: tuple[InsightSelector, ...], logging: bool = True) -> Trail:
        return Trail(ACCOUNT, region, name, "bucket", is_multi_region_trail=multi, insight_selectors=selectors,
                     status=TrailStatus(is_logging=logging))

    class Trails:
        def trails(self) -> list[Trail]:
            return [trail("a", "us-east-1", False, (InsightSelector(CALL_RATE),)),
                    trail("b", "eu-west-1", True, (InsightSelector(ERROR_RATE, ("Management", "Data")),)),
                    trail("c", "eu-west-1", True, (InsightSelector(CALL_RATE),), logging=False),
                    trail("d", "eu-west-1", False, ())]

    assert TrailInsightsScope(Trails()).watches() == [
        Watch(ACCOUNT, None, ERROR_RATE, DATA), Watch(ACCOUNT, None, ERROR_RATE, MANAGEMENT),
        Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT)]


def test_a_series_with_late_events_all_the_time_is_analysed_after_max_wait(store: SqliteEventStore, tmp_path: Path) -> None:
    clock = Clock(0)
    b = M0 + WEEK + 60
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT))
    append(store, baseline(M0, b))
    clock.now = b * 60 + 20
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=5, grace_s=10, max_wait_s=60)
    w.run_once()
    clock.now += 6
    w.run_once()  # the import settled: analysed at b * 60 + 26
    append(store, burst(b, 100))
    w.run_once()
    clock.now = (b + 1) * 60 + 10
    for i in range(8):  # an event of a closed minute every 2 s: never settled
        append(store, [record((b - 5 - 10 * i) * 60, "RunInstances", arn=CAROL)])
        w.run_once()
        assert insights_events(store) == []
        clock.now += 2
    append(store, [record((b - 85) * 60, "RunInstances", arn=CAROL)])
    w.run_once()  # 60 s after the last analysis
    assert [stats(r)[:2] for r in insights_events(store)] == [("Start", iso(b * 60))]
    w.close()


def test_purged_minutes_are_not_read_as_zeros(store: SqliteEventStore, tmp_path: Path) -> None:
    """24 days of 6 calls a minute, counted while nothing was watched, then purged (per-minute
    counts are kept 15 days): turning Insights on must not see the purged days as a quiet baseline."""
    day = 1440
    series = (ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE, "")
    newest = M0 + 24 * day - 1
    clock = Clock((newest + 1) * 60 + 30)
    scope = FixedScope()
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=0)
    w.counts.apply({(series, m): 6 for m in range(M0, newest + 1)}, {}, 0, clock.now, newest + 1)
    w.counts.purge(int(clock.now // 60))
    assert w.counts.states()[0].kept_from == newest - 15 * day
    scope.list.append(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT))
    clock.now += 10
    w.run_once()
    assert w.analysed == 1 and insights_events(store) == []
    w.close()


def test_an_open_insight_ends_when_insights_are_turned_off(store: SqliteEventStore, tmp_path: Path) -> None:
    clock = Clock(0)
    b = M0 + WEEK + 60
    scope = FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT))
    append(store, baseline(M0, b) + burst(b, 100) + burst(b + 1, 100))
    clock.now = (b + 2) * 60 + 10
    w = InsightsWorker(store, scope, tmp_path, clock, settle_s=0)
    w.run_once()
    assert [stats(r)[:2] for r in insights_events(store)] == [("Start", iso(b * 60))]
    scope.list.clear()  # PutInsightSelectors with an empty list, StopLogging, DeleteTrail...
    clock.now += 1
    w.run_once()
    assert [stats(r)[:2] for r in insights_events(store)] == [("Start", iso(b * 60)), ("End", iso((b + 2) * 60))]
    clock.now += 60
    w.run_once()
    assert len(insights_events(store)) == 2
    w.close()


def test_a_record_dated_long_ago_is_analysed_as_a_stretch_of_its_own(store: SqliteEventStore, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from opentrail.insights import detector

    spans: list[int] = []
    detect = detector.detect

    def spy(minutes: Any, counts: Any, history_start: int, analyse_from: int, analyse_to: int, params: Any) -> Any:
        spans.append(analyse_to - max(analyse_from, history_start) + detector.LOOKBACK_MINUTES)
        return detect(minutes, counts, history_start, analyse_from, analyse_to, params)

    monkeypatch.setattr(detector, "detect", spy)
    clock = Clock(0)
    b = M0 + WEEK + 60
    append(store, [record(86400, arn=CAROL)])  # 1970-01-02: the account's history starts then
    append(store, baseline(M0, b) + burst(b, 100))
    clock.now = (b + 20) * 60
    w = InsightsWorker(store, FixedScope(Watch(ACCOUNT, "us-east-1", CALL_RATE, MANAGEMENT)), tmp_path, clock,
                       settle_s=0)
    w.run_once()
    assert spans and max(spans) < 15 * 1440  # the dense minutes the detector walks: not 56 years of them
    assert [stats(r)[:2] for r in insights_events(store)] == [("Start", iso(b * 60)), ("End", iso((b + 1) * 60))]
    w.close()


def test_organization_trail_watches_every_member_account(store: SqliteEventStore, tmp_path: Path) -> None:
    """Insights on the management account's organization trail: a member account's burst gives the
    member's own Insights event (recipientAccountId the member); removed from the organization, the
    member is no longer watched."""
    from opentrail.organizations.service import OrganizationsService

    orgs = OrganizationsService(tmp_path / "orgs")
    try:
        orgs.create_organization(ACCOUNT)
        orgs.enable_service_access(ACCOUNT, "cloudtrail.amazonaws.com")
        member = str(orgs.create_account(ACCOUNT, "dev@example.com", "dev", {}).account_id)

        class Trails:
            organizations = orgs

            def trails(self) -> list[Trail]:
                return [Trail(ACCOUNT, "us-east-1", "org", "bucket", is_multi_region_trail=True, is_organization_trail=True,
                              insight_selectors=(InsightSelector(CALL_RATE),), status=TrailStatus(is_logging=True))]

        scope = TrailInsightsScope(Trails())
        assert scope.watches() == sorted([Watch(ACCOUNT, None, CALL_RATE, MANAGEMENT),
                                          Watch(member, None, CALL_RATE, MANAGEMENT)], key=lambda w: w.account_id)
        clock = Clock(0)
        b = M0 + WEEK + 60
        w = InsightsWorker(store, scope, tmp_path / "insights", clock, settle_s=5, grace_s=10, max_wait_s=3600)
        try:
            append(store, baseline(M0, b, account=member))
            clock.now = b * 60 + 20
            w.run_once()
            clock.now += 6
            w.run_once()
            append(store, burst(b, 100, account=member))
            w.run_once()
            clock.now = (b + 1) * 60 + 9
            w.run_once()
            clock.now = (b + 1) * 60 + 10
            w.run_once()
            events = insights_events(store)
            assert [(r["recipientAccountId"], stats(r)) for r in events] == [
                (member, ("Start", iso(b * 60), "RunInstances", CALL_RATE, None, 0.1, 100.0, 1, WEEK))]
        finally:
            w.close()
        orgs.remove_account(ACCOUNT, member)
        assert scope.watches() == [Watch(ACCOUNT, None, CALL_RATE, MANAGEMENT)]
    finally:
        orgs.close()
