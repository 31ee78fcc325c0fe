"""The console's Insights pages over HTTP (httpx against a real socket) and in Debian's chromium:
Insights records appended to a real SqliteEventStore, the counts from a small in-memory
:class:`InsightMetrics`; the list pairs Start and End events, the detail page draws the call rate
with the unusual period shaded at the expected coordinates and lists the attributions."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

import httpx
import pytest

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.console import insights_view as view
from opentrail.events.record import read_record
from opentrail.events.times import format_event_time
from opentrail.insights.model import SeriesKey
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.base import LookupQuery
from opentrail.store.sqlite import SqliteEventStore
from tests.serving import serving

from .conftest import ACCOUNT, OTHER_ACCOUNT, REGION, ConsoleServer
from .test_monitoring_http import cells

#: The first unusual minute of the ended insight: 2025-11-24 16:00 UTC, as an epoch minute.
S = 29_400_000
#: The clock: 100 minutes and 30 s after S.
NOW = (S + 100) * 60 + 30
ENDED_ID = "11111111-2222-4333-8444-555555555555"
ONGOING_ID = "66666666-7777-4888-8999-aaaaaaaaaaaa"
CALL_KEY = SeriesKey(ACCOUNT, REGION, "Management", "ec2.amazonaws.com", "RunInstances", "ApiCallRateInsight", "")
ERROR_KEY = SeriesKey(ACCOUNT, REGION, "Management", "iam.amazonaws.com", "GetRolePolicy", "ApiErrorRateInsight",
                      "NoSuchEntityException")


class MemoryInsightMetrics:
    """The InsightMetrics protocol over a dict of per-minute counts; remembers the calls."""

    def __init__(self, counts: dict[SeriesKey, dict[int, int]]) -> None:
        self._counts = counts
        self.calls: list[tuple[SeriesKey, int, int, int]] = []

    def counts(self, key: SeriesKey, start_minute: int, end_minute: int, period_s: int) -> list[tuple[int, int]]:
        self.calls.append((key, start_minute, end_minute, period_s))
        step = period_s // 60
        totals: dict[int, int] = {}
        for minute, calls in self._counts.get(key, {}).items():
            if start_minute <= minute < end_minute and calls:
                totals[minute - minute % step] = totals.get(minute - minute % step, 0) + calls
        return sorted(totals.items())

    def series(self, account_id: str, region: str) -> Sequence[SeriesKey]:
        return [k for k in self._counts if (k.account_id, k.region) == (account_id, region)]


def insight_record(state: str, *, minute: int, shared: str, key: SeriesKey, baseline: float, average: float,
                   duration: int | None = None, attributions: list[dict[str, Any]] | None = None,
                   account: str = ACCOUNT, region: str = REGION) -> dict[str, Any]:
    """An Insights event as AWS writes it (CloudTrail User Guide, Insights event record)."""
    statistics: dict[str, Any] = {"baseline": {"average": baseline}, "insight": {"average": average},
                                  "baselineDuration": 10080}
    if duration is not None:
        statistics["insightDuration"] = duration
    details: dict[str, Any] = {"state": state, "eventSource": key.event_source, "eventName": key.event_name,
                               "insightType": key.insight_type}
    if key.error_code:
        details["errorCode"] = key.error_code
    details["insightContext"] = {"statistics": statistics, **({"attributions": attributions} if attributions else {})}
    return {"eventVersion": "1.08", "eventTime": format_event_time(minute * 60), "awsRegion": region,
            "eventID": f"{shared[:-4]}{'5a5a' if state == 'Start' else 'e0e0'}", "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": account, "sharedEventID": shared, "insightDetails": details,
            "eventCategory": "Insight"}


ATTRIBUTIONS = [
    {"attribute": "userIdentityArn",
     "insight": [{"value": f"arn:aws:iam::{ACCOUNT}:user/alice", "average": 10.0},
                 {"value": f"arn:aws:iam::{ACCOUNT}:user/bob", "average": 2.0}],
     "baseline": [{"value": f"arn:aws:iam::{ACCOUNT}:user/alice", "average": 0.4},
                  {"value": f"arn:aws:iam::{ACCOUNT}:user/carol", "average": 0.1}]},
    {"attribute": "userAgent", "insight": [{"value": "aws-cli/2.15.0", "average": 12.0}],
     "baseline": [{"value": "aws-cli/2.15.0", "average": 0.5}]},
    {"attribute": "errorCode", "insight": [{"value": "null", "average": 12.0}],
     "baseline": [{"value": "null", "average": 0.5}]},
]

#: RunInstances per minute: two calls in the baseline, 120 in the ten unusual minutes (peak 16 at S).
CALL_COUNTS = {S - 200: 3, S - 120: 1, S - 60: 1, S: 16, **{S + i: 11 for i in range(1, 9)}, S + 9: 16}


def seed(store: SqliteEventStore) -> None:
    records = [
        insight_record("Start", minute=S, shared=ENDED_ID, key=CALL_KEY, baseline=0.5, average=15.0),
        insight_record("End", minute=S + 10, shared=ENDED_ID, key=CALL_KEY, baseline=0.5, average=12.0, duration=10,
                       attributions=ATTRIBUTIONS),
        insight_record("Start", minute=S + 30, shared=ONGOING_ID, key=ERROR_KEY, baseline=0.0000882145, average=664),
        # another Region and another account: not on the pages
        insight_record("Start", minute=S + 40, shared="bbbbbbbb-0000-4000-8000-000000000001", key=CALL_KEY,
                       baseline=1, average=9, region="us-west-2"),
        insight_record("Start", minute=S + 40, shared="bbbbbbbb-0000-4000-8000-000000000002", key=CALL_KEY,
                       baseline=1, average=9, account=OTHER_ACCOUNT),
    ]
    store.append([read_record(r) for r in records])


@contextlib.contextmanager
def console_over(tmp_path: Path, store: SqliteEventStore, insights: Any) -> Iterator[ConsoleServer]:
    accounts = AccountStore(tmp_path / f"accounts-{id(insights)}.db")
    key = accounts.create_access_key(ACCOUNT)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=lambda: NOW,
                    insights=insights)
    try:
        with serving(app) as url:
            yield ConsoleServer(url, store, accounts, LocalFolderStorage(tmp_path / "b"), None, key)  # type: ignore[arg-type]
    finally:
        accounts.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    events = SqliteEventStore(tmp_path / "events")
    seed(events)
    yield events
    events.close()


@contextlib.contextmanager
def signed_in(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        assert server.sign_in(client).status_code == 303
        yield client


def attr(html: str, element: str, css_class: str, name: str) -> str:
    match = re.search(rf'<{element} class="{css_class}"[^>]*?\b{name}="([^"]*)"', html)
    assert match is not None, f"no {element}.{css_class}"
    return match.group(1)


def test_list_pairs_start_and_end_newest_first(tmp_path: Path, store: SqliteEventStore) -> None:
    metrics = MemoryInsightMetrics({CALL_KEY: CALL_COUNTS})
    with console_over(tmp_path, store, metrics) as server, signed_in(server) as client:
        page = client.get("/console/insights")
        assert page.status_code == 200
        assert cells(page.text, "insights") == [
            ["Start", "End", "Event source", "Event name", "Insight type", "Error code", "Baseline average",
             "Insight average"],
            ["2025-11-24 16:30:00 UTC", "ongoing", "iam.amazonaws.com", "GetRolePolicy", "ApiErrorRateInsight",
             "NoSuchEntityException", "0.00008821", "664"],
            ["2025-11-24 16:00:00 UTC", "2025-11-24 16:10:00 UTC", "ec2.amazonaws.com", "RunInstances",
             "ApiCallRateInsight", "", "0.5", "12"],
        ]
        assert re.findall(r'href="/console/insights/([^"]+)"', page.text) == [ONGOING_ID, ENDED_ID]
        assert 'aria-current="page">Insights<' in page.text
        # one page of lookups, recorded once, as the console records LookupEvents
        store.flush()
        recorded = store.lookup(LookupQuery(ACCOUNT, REGION, attribute=("EventName", "LookupEvents"))).events
        assert len(recorded) == 1 and b'"eventCategory":"insight"' in recorded[0].record.replace(b" ", b"")


def test_detail_page_chart_window_baseline_and_attributions(tmp_path: Path, store: SqliteEventStore) -> None:
    metrics = MemoryInsightMetrics({CALL_KEY: CALL_COUNTS})
    with console_over(tmp_path, store, metrics) as server, signed_in(server) as client:
        page = client.get(f"/console/insights/{ENDED_ID}")
        assert page.status_code == 200, page.text
        html = page.text
        # 3 h before the start to 1 h after the end, per minute: 250 minutes over 648 units from x=36
        assert metrics.calls == [(CALL_KEY, S - 180, S + 70, 60)]
        assert attr(html, "rect", "anomaly-window", "x") == "502.6"   # 36 + 180/250 * 648
        assert attr(html, "rect", "anomaly-window", "width") == "25.9"  # 528.5 - 502.6
        assert attr(html, "rect", "anomaly-window", "y") == "36.0"
        assert attr(html, "rect", "anomaly-window", "height") == "148.0"
        # y axis 0..17.6 (peak 16 plus 10 %): baseline 0.5 at y 179.8, insight average 12 at y 83.1
        assert attr(html, "line", "baseline", "y1") == "179.8"
        assert attr(html, "line", "insight-average", "y1") == "83.1"
        assert (attr(html, "line", "insight-average", "x1"), attr(html, "line", "insight-average", "x2")) == (
            "502.6", "528.5")
        points = attr(html, "polyline", "calls", "points").split(" ")
        assert len(points) == 250 and points[0] == "36.0,184.0" and points[180] == "502.6,49.5"
        assert html.count('<circle class="count"') == 12  # the non-zero minutes inside the window
        assert re.search(r'<svg id="insight-chart" role="img" aria-labelledby="insight-chart-title insight-chart-desc"',
                         html)
        assert "<title id=\"insight-chart-title\">RunInstances calls per minute, baseline and unusual period</title>" in html
        summary = re.search(r'<figcaption id="chart-summary">(.*?)</figcaption>', html, re.S).group(1)  # type: ignore[union-attr]
        assert summary == (
            "RunInstances calls per minute from 2025-11-24 13:00:00 UTC to 2025-11-24 17:10:00 UTC, one point per "
            "minute; the unusual period (2025-11-24 16:00:00 UTC to 2025-11-24 16:10:00 UTC) is shaded; baseline "
            "average 0.5 calls/min, insight average 12 calls/min. Peak 16 calls/min at 2025-11-24 16:00:00 UTC; "
            "120 calls in the unusual period, 12 calls/min on average.")
        assert re.search(r'id="insight-end">2025-11-24 16:10:00 UTC<', html)
        assert cells(html, "attribution-userIdentityArn") == [
            ["Value", "Insight average", "Baseline average"],
            [f"arn:aws:iam::{ACCOUNT}:user/alice", "10", "0.4"],
            [f"arn:aws:iam::{ACCOUNT}:user/bob", "2", ""],
            [f"arn:aws:iam::{ACCOUNT}:user/carol", "", "0.1"],
        ]
        assert cells(html, "attribution-userAgent")[1:] == [["aws-cli/2.15.0", "12", "0.5"]]
        assert cells(html, "attribution-errorCode")[1:] == [["null", "12", "0.5"]]

        page = client.get(f"/console/insights/{ONGOING_ID}")
        assert page.status_code == 200
        assert re.search(r'id="insight-end">ongoing<', page.text)
        # ongoing: the unusual period runs to the current minute; the window ends there too
        assert metrics.calls[-1] == (ERROR_KEY, S - 150, S + 101, 60)
        assert attr(page.text, "rect", "anomaly-window", "x") == "500.7"  # 36 + 180/251 * 648
        assert attr(page.text, "rect", "anomaly-window", "width") == "183.3"  # to 684.0
        assert "No calls were counted in this window." in page.text
        assert 'id="no-attributions"' in page.text

        # another Region's insight is not this Region's; an unknown one is 404
        assert client.get("/console/insights/bbbbbbbb-0000-4000-8000-000000000001").status_code == 404
        assert client.get("/console/insights/nope").status_code == 404


def test_without_counts_the_chart_says_so(tmp_path: Path, store: SqliteEventStore) -> None:
    with console_over(tmp_path, store, None) as server, signed_in(server) as client:
        page = client.get(f"/console/insights/{ENDED_ID}")
        assert page.status_code == 200
        assert 'id="no-counts"' in page.text
        assert 'class="calls"' not in page.text
        assert attr(page.text, "rect", "anomaly-window", "x") == "502.6"


def test_signed_out_goes_to_signin(tmp_path: Path, store: SqliteEventStore) -> None:
    with console_over(tmp_path, store, None) as server, server.client() as client:
        answer = client.get("/console/insights")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/signin?next=%2Fconsole%2Finsights"


def test_pairing_rates_and_durations() -> None:
    def event(record: dict[str, Any], minute: int) -> dict[str, Any]:
        import json

        return {"EventTime": minute * 60, "CloudTrailEvent": json.dumps(record)}

    end_only = insight_record("End", minute=S + 10, shared=ENDED_ID, key=CALL_KEY, baseline=0.5, average=12.0,
                              duration=10)
    start = insight_record("Start", minute=S, shared=ENDED_ID, key=CALL_KEY, baseline=0.25, average=15.0)
    # the Start event not read (past the events read): the start is the end less insightDuration
    [alone] = view.insights_of([event(end_only, S + 10)])
    assert (alone.start_s, alone.end_s, alone.insight_average) == (S * 60, (S + 10) * 60, 12.0)
    # End read before Start: the End's averages win, the Start's record comes first
    [both] = view.insights_of([event(end_only, S + 10), event(start, S)])
    assert (both.baseline_average, both.insight_average, both.start_average) == (0.5, 12.0, 15.0)
    assert [r["insightDetails"]["state"] for r in both.records] == ["Start", "End"]
    assert [view.rate(v) for v in (0.0000882145, 85.4202380952, 664, 0.6, 0, None, 1234.56)] == [
        "0.00008821", "85.42", "664", "0.6", "0", "", "1235"]
    assert [view.duration_text(m) for m in (1, 60, 90, 1500, None)] == ["1 min", "1 h", "1 h 30 min", "1 d 1 h", ""]
    assert [view.chart_period_s(m) for m in (720, 721, 3600, 3601)] == [60, 300, 300, 3600]
    # 5-minute points are drawn as calls per minute: 60 calls in a period is 12 a minute (y axis 0..13.2)
    drawn = view.chart(both, [(S, 60), (S + 5, 5)], S - 10, S + 20, 300, (S, S + 10))
    assert drawn["polyline"].split(" ") == ["36.0,184.0", "144.0,184.0", "252.0,49.5", "360.0,172.8",
                                            "468.0,184.0", "576.0,184.0"]
    assert [d["label"] for d in drawn["dots"]] == ["2025-11-24 16:00:00 UTC: 12 calls/min",
                                                    "2025-11-24 16:05:00 UTC: 1 calls/min"]
    assert drawn["window"] == {"x": 252.0, "y": 36.0, "width": 216.0, "height": 148.0}


def test_insights_page_in_chromium(tmp_path: Path, store: SqliteEventStore) -> None:
    from .browser import SCREENSHOTS, browser_page

    metrics = MemoryInsightMetrics({CALL_KEY: CALL_COUNTS})
    with console_over(tmp_path, store, metrics) as server, browser_page(server.url) as page:
        page.goto("/console/insights")
        page.fill("#access_key_id", server.key.access_key_id)
        page.fill("#secret_access_key", server.key.secret_access_key)
        with page.expect_navigation():
            page.click("button[type=submit] >> text=Sign in")
        assert page.url.endswith("/console/insights")
        assert page.locator("#insights tbody tr").count() == 2
        page.get_by_role("link", name="RunInstances").click()
        page.wait_for_url(f"**/console/insights/{ENDED_ID}")
        chart = page.get_by_role("img", name="RunInstances calls per minute, baseline and unusual period")
        assert chart.count() == 1
        box = page.locator("#insight-chart rect.anomaly-window").bounding_box()
        svg = chart.bounding_box()
        # the shaded window sits at 502.6/720 of the drawn chart's width
        assert abs((box["x"] - svg["x"]) / svg["width"] - 502.6 / 720) < 0.01
        assert page.locator("table#attribution-userIdentityArn tbody tr").count() == 3
        page.screenshot(path=str(SCREENSHOTS / "insight.png"), full_page=True)
