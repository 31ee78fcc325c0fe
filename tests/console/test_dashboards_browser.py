"""The dashboards and the sample query search in Debian's chromium, driven by Playwright, against
a real `opentrail serve` ingesting into an event data store every 0.2 s: make API calls, refresh
the built-in dashboard on demand, read its bar chart, line chart and table, compare them with
GetQueryResults of the same widget queries; search the sample queries and run one."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from opentrail.lake.managed_dashboard import NAME as MANAGED

from .browser import KEY_ID, SCREENSHOTS, SECRET, Served, browser_page


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("dash-browser") / "data", "--lake-ingest-interval-s", "0.2")
    yield server
    server.stop()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with browser_page(served.url) as page:
        yield page


def sign_in(page: Any, path: str) -> None:
    page.goto(path)
    page.fill("#access_key_id", KEY_ID)
    page.fill("#secret_access_key", SECRET)
    with page.expect_navigation():
        page.click("button[type=submit] >> text=Sign in")


def widget_rows(ct: Any, alias: str, refresh_id: str) -> list[list[str]]:
    query_id = ct.describe_query(QueryAlias=alias, RefreshId=refresh_id)["QueryId"]
    rows = ct.get_query_results(QueryId=query_id)["QueryResultRows"]
    return [[list(cell.values())[0] for cell in row] for row in rows]


@pytest.mark.slow
def test_refresh_the_built_in_dashboard_and_search_samples(page: Any, served: Served) -> None:
    ct = served.cloudtrail()
    eds_id = ct.create_event_data_store(Name="dash", TerminationProtectionEnabled=False)["EventDataStoreArn"].rsplit(
        "/", 1)[1]
    for _ in range(3):
        ct.describe_trails()
    ct.list_trails()
    expected_calls = {"DescribeTrails": 3, "ListTrails": 1}
    deadline = time.monotonic() + 30
    while True:  # wait until those calls are in the store
        q = ct.start_query(QueryStatement=f"SELECT count(*) AS n FROM {eds_id} WHERE eventName IN "
                                          "('DescribeTrails', 'ListTrails')")["QueryId"]
        while ct.describe_query(QueryId=q)["QueryStatus"] in ("QUEUED", "RUNNING"):
            time.sleep(0.05)
        if ct.get_query_results(QueryId=q)["QueryResultRows"] == [[{"n": str(sum(expected_calls.values()))}]]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)

    sign_in(page, "/console/lake/dashboards")
    with page.expect_navigation():
        page.click(f"text={MANAGED}")
    assert page.text_content("h1").startswith(f"Dashboard {MANAGED}")
    page.select_option("#refresh-store", eds_id)
    page.select_option("#refresh-range", "1h")
    with page.expect_navigation():
        page.click("#refresh-now")
    page.wait_for_selector("section[data-kind=bar] svg.bar-chart")  # the page reloads itself until done
    page.wait_for_function("() => !document.querySelector('meta[http-equiv=refresh]')")
    refresh_id = page.text_content("#last-refresh")
    assert ct.get_dashboard(DashboardId=MANAGED)["LastRefreshId"] == refresh_id

    sources = f"section[data-widget='dashboard.{MANAGED}.6']"
    drawn = page.eval_on_selector_all(f"{sources} g.bar title", "els => els.map(e => e.textContent)")
    api = widget_rows(ct, f"dashboard.{MANAGED}.6", refresh_id)
    assert drawn == [f"{s}: {n}" for s, n in api]
    assert api[0][0] == "cloudtrail.amazonaws.com"
    widths = page.eval_on_selector_all(f"{sources} rect", "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths[0] > 0 and widths == sorted(widths, reverse=True)
    line = f"section[data-widget='dashboard.{MANAGED}.1']"
    assert page.eval_on_selector_all(f"{line} circle.datapoint", "els => els.length") == \
        len(widget_rows(ct, f"dashboard.{MANAGED}.1", refresh_id))
    assert page.query_selector(f"{line} svg.line-chart polyline") is not None
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.goto(f"/console/lake?store={eds_id}")
    page.fill("#sample-find", "most frequent api calls")
    with page.expect_navigation():
        page.click("#sample-search button[type=submit]")
    first = page.query_selector("#sample-results a")
    assert first.text_content() == "Most frequent API calls"
    first.click()  # the script fills the editor with the picked store's ID
    statement = page.input_value("#query-statement")
    assert statement.startswith(f"SELECT eventSource, eventName, count(*) AS eventCount FROM {eds_id} GROUP BY")
    with page.expect_navigation():
        page.click("#run-query")
    page.wait_for_selector("#download-csv")
    assert page.text_content("#query-status") == "FINISHED"
