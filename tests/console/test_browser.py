"""The console in Debian's chromium, driven by Playwright, against `opentrail serve` holding the
invictus-ir CloudTrail dataset (real records of account 123837392027) and a few recent records.

One server and one browser for the module; each test gets a fresh browser context (cookies).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from opentrail.events.times import format_event_time

from .browser import (ACCOUNT, CHROMIUM, CHROMIUM_ARGS, INVICTUS, KEY_ID, SCREENSHOTS, SECRET, Served,
                      opentrail)

DECRYPT = [{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("console")
    data_dir = root / "data"
    now = int(time.time())
    recent = [{"eventVersion": "1.08", "userIdentity": {"type": "Root", "accountId": ACCOUNT},
               "eventTime": format_event_time(now - 600 * i), "eventSource": "ec2.amazonaws.com",
               "eventName": "RunInstances", "awsRegion": region, "eventID": f"11111111-0000-4000-8000-{i:012d}",
               "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
               "recipientAccountId": ACCOUNT, "eventCategory": "Management"}
              for i, region in enumerate(["eu-west-1"] * 3 + ["us-east-1"] * 5)]
    (root / "recent.json").write_text(json.dumps({"Records": recent}))
    opentrail("import", "--data-dir", str(data_dir), "--event-history-retention-days", "0",
              str(INVICTUS), str(root / "recent.json"))
    (data_dir / "buckets" / "console-logs").mkdir(parents=True)
    server = Served(data_dir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True,
                                  base_url=served.url)
    context.set_default_timeout(30_000)  # generous: the machine is shared; healthy runs take ~2 s a test
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page: Any, secret: str = SECRET) -> None:
    """Sign in with the keyboard only: the key field has focus, Tab to the secret, Enter submits."""
    page.goto("/")
    assert page.url.endswith("/console/signin?next=%2Fconsole%2Fevents")
    # Chromium applies autofocus at its next rendering update, which may come after "load".
    page.wait_for_function("document.activeElement && document.activeElement.id === 'access_key_id'")
    page.keyboard.type(KEY_ID)
    page.keyboard.press("Tab")
    page.keyboard.type(secret)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if "/console/signin" in page.url:  # refused: the form shows again with the key id typed
        assert page.input_value("#access_key_id") == KEY_ID


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def event_ids(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("table.events tbody a", "els => els.map(e => e.getAttribute('href'))")
    return [h.split("/console/events/")[1].split("?")[0] for h in hrefs]


def test_sign_in_filter_open_event_and_download(page: Any, served: Served) -> None:
    page.goto("/console/signin")
    shot(page, "signin")
    sign_in(page)
    assert page.url.endswith("/console/events")
    assert page.text_content("h1") == "Event history us-east-1"
    shot(page, "events")

    page.select_option("#attr", "EventName")
    page.fill("#value", "Decrypt")
    with page.expect_navigation():
        page.click("text=Apply filter")
    expected = served.lookup_all(LookupAttributes=DECRYPT)
    assert len(expected) == 178
    assert event_ids(page) == [e["EventId"] for e in expected[:50]]
    assert set(page.eval_on_selector_all("table.events tbody tr td:first-child", "els => els.map(e => e.innerText)")) == {"Decrypt"}
    shot(page, "events-filtered")

    with page.expect_navigation():
        page.click("#next-page")
    assert event_ids(page) == [e["EventId"] for e in expected[50:100]]
    with page.expect_navigation():
        page.click("text=Previous page")
    assert event_ids(page) == [e["EventId"] for e in expected[:50]]

    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename == "event_history.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [(r["Event ID"], r["Event name"], r["Event time"], r["User name"], r["AWS access key"]) for r in rows] == [
        (e["EventId"], e["EventName"], e["EventTime"].strftime("%Y-%m-%dT%H:%M:%SZ"), e.get("Username", ""),
         e.get("AccessKeyId", "")) for e in expected]

    page.click("table.events tbody a >> nth=0")
    page.wait_for_selector("#event-record")
    first = expected[0]
    assert page.text_content("#event-id") == first["EventId"]
    assert json.loads(page.text_content("#event-record")) == json.loads(first["CloudTrailEvent"])
    resources = page.eval_on_selector_all("table.resources tbody tr", "rows => rows.map(r => r.innerText)")
    assert resources == [f"{r['ResourceType']}\t{r['ResourceName']}" for r in first["Resources"]]
    shot(page, "event")
    page.click("text=Back to the event history")
    assert event_ids(page) == [e["EventId"] for e in expected[:50]]


def test_columns_and_region(page: Any, served: Served) -> None:
    sign_in(page)
    page.goto("/console/events?attr=EventName&value=RunInstances")
    page.click("summary:has-text('Columns')")
    page.check("input[type=checkbox][name=cols][value=event_id]")
    page.uncheck("input[type=checkbox][name=cols][value=resource_type]")
    with page.expect_navigation():
        page.click("text=Show columns")
    headers = page.eval_on_selector_all("table.events thead th", "els => els.map(e => e.innerText)")
    assert headers == ["Event name", "Event time", "User name", "Event source", "Resource name", "Event ID"]
    run_instances = [{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}]
    assert event_ids(page) == [e["EventId"] for e in served.lookup_all(LookupAttributes=run_instances)]
    page.select_option("#region-select", "eu-west-1")
    with page.expect_navigation():
        page.click("text=Switch Region")
    assert page.text_content("h1") == "Event history eu-west-1"
    page.goto("/console/events?attr=EventName&value=RunInstances")
    ireland = [e["EventId"] for e in served.lookup_all("eu-west-1", LookupAttributes=run_instances)]
    assert event_ids(page) == ireland
    assert len(ireland) == 3
    assert page.eval_on_selector_all("table.events thead th", "els => els.length") == 6  # columns kept


def test_activity_chart(page: Any, served: Served) -> None:
    sign_in(page)
    page.goto("/console/activity?range=custom&start=2023-07-10T11:00&end=2023-07-10T12:59")
    page.wait_for_selector("#activity-chart")
    expected = served.lookup_all(StartTime=1688986800, EndTime=1688993999)
    per_hour = {}
    for e in expected:
        hour = e["EventTime"].strftime("%Y-%m-%d %H:00 UTC")
        per_hour[hour] = per_hour.get(hour, 0) + 1
    bars = page.eval_on_selector_all("#activity-chart rect.bar title", "els => els.map(e => e.textContent)")
    assert bars == [f"{h}: {per_hour.get(h, 0)}" for h in ("2023-07-10 11:00 UTC", "2023-07-10 12:00 UTC")]
    assert sum(per_hour.values()) == len(expected) > 2000
    shot(page, "activity")


def test_create_trail_see_status_stop_delete(page: Any, served: Served) -> None:
    sign_in(page)
    page.goto("/console/trails")
    page.fill("#trail-name", "console-trail")
    page.fill("#trail-bucket", "console-logs")
    page.fill("#trail-prefix", "from-console")
    page.uncheck("#trail-multi")
    page.click("text=Create trail")
    page.wait_for_selector(".flash.ok")
    assert page.text_content(".flash.ok") == "Created trail console-trail (logging started)."
    row = "tr[data-trail=console-trail]"
    assert page.text_content(f"{row} .logging") == "Logging"
    trail = served.cloudtrail().get_trail(Name="console-trail")["Trail"]
    assert (trail["S3BucketName"], trail["S3KeyPrefix"], trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]) == (
        "console-logs", "from-console", False, True)
    deadline = time.monotonic() + 15  # the console's own calls are events the trail delivers
    while page.text_content(f"{row} .last-delivery") == "—":
        assert time.monotonic() < deadline, "no delivery shown"
        time.sleep(0.3)
        page.reload()
    status = served.cloudtrail().get_trail_status(Name="console-trail")
    assert page.text_content(f"{row} .last-delivery") == status["LatestDeliveryTime"].strftime("%Y-%m-%d %H:%M:%S UTC")
    assert page.text_content(f"{row} .last-error") == "—"
    shot(page, "trails")
    page.click(f"{row} >> text=Stop logging")
    page.wait_for_selector(".flash.ok")
    assert page.text_content(f"{row} .logging") == "Not logging"
    assert served.cloudtrail().get_trail_status(Name="console-trail")["IsLogging"] is False
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"{row} >> text=Delete")
    page.wait_for_selector(".flash.ok")
    assert page.text_content(".flash.ok") == "Deleted trail console-trail."
    assert served.cloudtrail().describe_trails()["trailList"] == []


def test_failed_sign_in_is_recorded(page: Any, served: Served) -> None:
    sign_in(page, secret="not-the-secret")
    assert page.text_content("#signin-error") == "Your authentication information is incorrect. Please try again."

    def failures() -> list[dict[str, Any]]:
        events = served.lookup_all(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}])
        records = [orjson.loads(e["CloudTrailEvent"]) for e in events]
        return [r for r in records if r["responseElements"] == {"ConsoleLogin": "Failure"}]

    deadline = time.monotonic() + 5
    while not failures():
        assert time.monotonic() < deadline, "no failed ConsoleLogin recorded"
        time.sleep(0.1)
    (record,) = failures()
    assert record["errorMessage"] == "Failed authentication"
    assert record["userAgent"].startswith("Mozilla/5.0")
    assert record["additionalEventData"]["LoginTo"] == served.url + "/console/events"


def test_form_post_without_csrf_token_is_rejected(page: Any, served: Served) -> None:
    sign_in(page)
    response = page.request.post("/console/trails", form={"name": "sneaky", "bucket": "console-logs"})
    assert response.status == 403
    assert "CSRF" in response.text()
    assert served.cloudtrail().describe_trails()["trailList"] == []
    page.goto("/console/events")
    assert page.text_content("h1") == "Event history us-east-1"  # the session is intact


def test_keyboard_skip_link_and_labels(page: Any, served: Served) -> None:
    sign_in(page)
    page.goto("/console/events")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length)).map(el => el.name)""")
    assert unlabeled == []
