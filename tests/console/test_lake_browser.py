"""The console's Lake page in Debian's chromium, driven by Playwright, against a real
`opentrail serve` ingesting into event data stores every 0.2 s: create a store, make API calls
that land in it, run a query from the editor, wait for FINISHED, read the results table, download
the CSV; everything compared with what boto3 gets from the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from .browser import KEY_ID, SCREENSHOTS, SECRET, Served, browser_page

PROTECTED = ("EventDataStoreTerminationProtectedException: The event data store cannot be deleted because "
             "termination protection is enabled for it. Turn termination protection off first, then delete.")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("lake-console") / "data", "--lake-ingest-interval-s", "0.2")
    yield server
    server.stop()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with browser_page(served.url, accept_downloads=True) as page:
        yield page


def sign_in(page: Any) -> None:
    page.goto("/console/lake")
    page.fill("#access_key_id", KEY_ID)
    page.fill("#secret_access_key", SECRET)
    with page.expect_navigation():
        page.click("button[type=submit] >> text=Sign in")
    assert page.url.endswith("/console/lake")


def results(page: Any) -> tuple[list[str], list[list[str]]]:
    headers = page.eval_on_selector_all("#results-table thead th", "els => els.map(e => e.innerText)")
    rows = page.eval_on_selector_all("#results-table tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    return headers, rows


def test_create_store_query_ingested_events_and_download(page: Any, served: Served) -> None:
    sign_in(page)
    assert page.text_content("h1") == "CloudTrail Lake us-east-1"
    page.fill("#store-name", "browser-sec")
    page.fill("#store-retention", "30")
    with page.expect_navigation():
        page.click("text=Create event data store")
    assert page.text_content(".flash.ok") == "Created event data store browser-sec."
    row = "tr[data-store=browser-sec]"
    eds_id = page.text_content(f"{row} .eds-id")
    ct = served.cloudtrail()
    eds = ct.get_event_data_store(EventDataStore=eds_id)
    assert (eds["Name"], eds["RetentionPeriod"], eds["Status"]) == ("browser-sec", 30, "ENABLED")
    assert page.text_content(f"{row} .status") == "ENABLED"
    assert page.text_content(f"{row} .created") == eds["CreatedTimestamp"].strftime("%Y-%m-%d %H:%M:%S UTC")

    for _ in range(3):  # calls after the store exists: ingested into it within 0.2 s and a write
        ct.lookup_events(MaxResults=1)
    ct.describe_trails()
    ct.describe_trails()

    page.fill("#query-statement", "SELECT eventName, count(*) AS n FROM ")
    page.press("#query-statement", "End")
    page.click("#insert-store")  # the picker's store ID at the cursor
    page.type("#query-statement", " WHERE eventName IN ('DescribeTrails', 'LookupEvents') "
                                  "GROUP BY eventName ORDER BY eventName")
    statement = page.input_value("#query-statement")
    assert statement == (f"SELECT eventName, count(*) AS n FROM {eds_id} WHERE eventName IN ('DescribeTrails', "
                         "'LookupEvents') GROUP BY eventName ORDER BY eventName")
    expected = (["eventName", "n"], [["DescribeTrails", "2"], ["LookupEvents", "3"]])
    deadline = time.monotonic() + 30
    while True:
        with page.expect_navigation():
            page.click("#run-query")
        page.wait_for_selector("#download-csv")  # the page reloads itself until the query ended
        assert page.text_content("#query-status") == "FINISHED"
        if page.query_selector("#results-table") and results(page) == expected:
            break
        assert time.monotonic() < deadline, results(page) if page.query_selector("#results-table") else "no rows"
        time.sleep(0.3)
        page.click("#edit-query")
        page.wait_for_selector("#query-statement")
    query_id = page.url.rsplit("/", 1)[1]
    answer = ct.get_query_results(QueryId=query_id)
    assert answer["QueryResultRows"] == [[{"eventName": "DescribeTrails"}, {"n": "2"}],
                                         [{"eventName": "LookupEvents"}, {"n": "3"}]]
    assert page.text_content("#results-count") == "2"
    assert page.text_content("#results-summary") == "Rows 1–2 of 2"
    shot_path = SCREENSHOTS / "lake-query.png"
    page.screenshot(path=str(shot_path), full_page=True)

    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename == f"query-{query_id}.csv"
    assert Path(download.path()).read_bytes() == b"eventName,n\r\nDescribeTrails,2\r\nLookupEvents,3\r\n"

    page.click("text=Back to Lake")
    page.wait_for_selector("#recent-queries")
    assert page.text_content(f"tr[data-query='{query_id}'] .status") == "FINISHED"
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"{row} >> text=Delete")
    assert page.text_content(".flash.error") == PROTECTED
    assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "ENABLED"
    page.screenshot(path=str(SCREENSHOTS / "lake.png"), full_page=True)
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length)).map(el => el.name)""")
    assert unlabeled == []
