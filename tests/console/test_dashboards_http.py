"""The console's dashboard pages and sample query search over HTTP (httpx against a real socket)
over a store of real records, compared with what the records hold: the list, the built-in managed
dashboard refreshed on demand and drawn as a line chart, bar charts and tables, a custom dashboard,
errors, and the sample query search of the query editor."""

from __future__ import annotations

import collections
import html
import re
import time
from typing import Any, Iterator

import httpx
import pytest

from opentrail.lake.managed_dashboard import NAME as MANAGED
from tests.lake.dashboard_server import DashboardServer, dashboard_server

from .conftest import CSRF_RE, csrf_of


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    with dashboard_server(tmp_path_factory.mktemp("dash-console")) as srv:
        yield srv


@pytest.fixture
def c(server: DashboardServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
        form = client.get("/console/signin")
        token = CSRF_RE.search(form.text).group(1)  # type: ignore[union-attr]
        r = client.post("/console/signin", data={"csrf_token": token, "access_key_id": server.key.access_key_id,
                                                   "secret_access_key": server.key.secret_access_key,
                                                   "region": "us-east-1", "next": "/console/lake"})
        assert r.status_code == 303
        yield client


def settled(c: httpx.Client, url: str) -> str:
    """The page once no widget query is QUEUED or RUNNING (it stops reloading itself)."""
    deadline = time.monotonic() + 30
    while True:
        page = c.get(url).text
        if 'http-equiv="refresh"' not in page:
            return page
        assert time.monotonic() < deadline, "the refresh did not end"
        time.sleep(0.05)


def section(page: str, title: str) -> str:
    match = re.search(rf'<section class="widget"[^>]*>\s*<h2 id="widget-\d+-title">{re.escape(title)}</h2>(.*?)</section>',
                      page, re.S)
    assert match is not None, title
    return match.group(1)


def test_list_and_managed_dashboard_refresh(c: httpx.Client, server: DashboardServer) -> None:
    listed = c.get("/console/lake/dashboards").text
    assert f'<a href="/console/lake/dashboards/{MANAGED}">{MANAGED}</a></td><td>MANAGED</td>' in listed
    page = c.get(f"/console/lake/dashboards/{MANAGED}").text
    assert page.count("Not refreshed yet.") == 6
    assert f'<option value="{server.eds_id}" selected>records ({server.eds_id})</option>' in page
    r = c.post(f"/console/lake/dashboards/{MANAGED}/refresh",
               data={"csrf_token": csrf_of(page), "range": "all", "store": server.eds_id})
    assert r.status_code == 303
    page = settled(c, r.headers["location"])
    refresh_id = re.search(r'<dd id="last-refresh">(\d+)</dd>', page).group(1)  # type: ignore[union-attr]
    assert f"Refresh {refresh_id} started." in page
    # top event sources: a bar chart with the records' counts, largest first
    bars = section(page, "Top event sources")
    assert 'class="bar-chart"' in bars
    counts = collections.Counter(r["eventSource"] for r in server.records)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert re.findall(r"<title>([^<]+): (\d+)</title>", bars) == [(s, str(n)) for s, n in top]
    # events over time: a line chart whose points add up to every record (one day)
    line = section(page, "Events over time")
    assert 'class="line-chart"' in line
    assert re.findall(r"<title>([^<]+)</title>", line) == [f"2023-07-10 00:00 UTC: {len(server.records)}"]
    # console sign-ins: a table of the two sign-ins
    table = section(page, "Console sign-ins")
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [re.findall(r"<td>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    logins = sorted((r for r in server.records if r["eventName"] == "ConsoleLogin"), key=lambda r: r["eventTime"],
                    reverse=True)
    assert [[row[2], row[3]] for row in rows] == [[r["sourceIPAddress"], r["responseElements"]["ConsoleLogin"]]
                                                  for r in logins]


def test_custom_dashboard_and_errors(c: httpx.Client, server: DashboardServer) -> None:
    ct = server.client()
    ct.create_dashboard(Name="console-1", Widgets=[{
        "QueryStatement": f"SELECT awsRegion, count(*) AS n FROM {server.eds_id} WHERE eventTime >= '?' AND "
                          "eventTime < '?' GROUP BY awsRegion ORDER BY n DESC, awsRegion",
        "QueryParameters": ["$StartTime$", "$EndTime$"], "ViewProperties": {"Title": "Regions", "View": "Table"}}],
        RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 12}, "Status": "ENABLED", "TimeOfDay": "06:00"})
    try:
        page = c.get("/console/lake/dashboards/console-1").text
        assert '<dd id="schedule">every 12 hours at 06:00 UTC (ENABLED)</dd>' in page
        assert 'id="refresh-store"' not in page  # a custom dashboard names its stores itself
        r = c.post("/console/lake/dashboards/console-1/refresh", data={"csrf_token": csrf_of(page), "range": "all"})
        page = settled(c, r.headers["location"])
        regions = collections.Counter(r["awsRegion"] for r in server.records)
        body = section(page, "Regions").split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows = [re.findall(r"<td>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
        assert rows == [[g, str(n)] for g, n in sorted(regions.items(), key=lambda kv: (-kv[1], kv[0]))]
    finally:
        ct.delete_dashboard(DashboardId="console-1")
    assert c.get("/console/lake/dashboards/nope").status_code == 404
    r = c.post("/console/lake/dashboards/nope/refresh", data={"csrf_token": "wrong", "range": "24h"})
    assert r.status_code == 403


def test_sample_query_search_fills_the_editor(c: httpx.Client, server: DashboardServer) -> None:
    page = c.get(f"/console/lake?find=failed+console+logins&store={server.eds_id}").text
    results = page.split('<ol id="sample-results">', 1)[1].split("</ol>", 1)[0]
    names = re.findall(r'data-sample="[^"]*">([^<]+)</a>', results)
    assert names[:3] == ["Failed console sign-ins", "Console sign-ins", "Console sign-ins without MFA"]
    assert "(relevance 1.0)" in results
    href = html.unescape(re.search(r'<a href="([^"]+)" data-sample', results).group(1))  # type: ignore[union-attr]
    editor = c.get(href).text
    statement = html.unescape(editor.split('id="query-statement" name="statement" rows="7" spellcheck="false" required>', 1)[1].split("</textarea>", 1)[0])
    assert statement.startswith("SELECT userIdentity.arn AS callerArn, sourceIPAddress, count(*) AS attempts "
                                f"FROM {server.eds_id} WHERE eventName = 'ConsoleLogin'")
    none = c.get("/console/lake?find=zzzz").text
    assert 'No sample query matches "zzzz".' in none
    server.store.flush()
    calls: Any = server.client().lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                                  "AttributeValue": "SearchSampleQueries"}])
    assert len(calls["Events"]) >= 2

