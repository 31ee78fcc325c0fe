"""The console's EventBridge rule pages in Debian's chromium, driven by Playwright, against a real
`opentrail serve`: a rule watching PutRule calls, with a file target, matches a later PutRule; the
browser signs in, opens Rules, the rule (its target and its match, which opens the CloudTrail
event), and the pattern tester, which says
why an event does not match."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest

from .browser import ACCOUNT, KEY_ID, SCREENSHOTS, SECRET, Served, browser_page, client

PATTERN = {"source": ["aws.events"], "detail": {"eventName": ["PutRule"],
                                                "requestParameters": {"name": [{"prefix": "watched-"}]}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("rules-console") / "data")
    yield server
    server.stop()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with browser_page(served.url) as page:
        yield page


def test_rule_page_and_pattern_tester_in_the_browser(page: Any, served: Served) -> None:
    events = client(served, "events")
    alerts = served.data_dir / "targets" / "alerts.jsonl"  # file targets live in --file-targets-dir
    events.put_rule(Name="rule-changes", EventPattern=json.dumps(PATTERN), Description="New watched rules")
    events.put_targets(Rule="rule-changes", Targets=[{"Id": "log", "Arn": "arn:opentrail:file:::alerts.jsonl"}])
    events.put_rule(Name="watched-1", EventPattern=json.dumps({"source": ["aws.iam"]}))
    deadline = time.monotonic() + 10
    while not (alerts.exists() and alerts.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alerts.exists() and alerts.read_text(), "the bus did not write the PutRule event to the file target"
    sent = json.loads(alerts.read_text().splitlines()[0])
    assert (sent["detail"]["eventName"], sent["detail"]["requestParameters"]["name"]) == ("PutRule", "watched-1")

    page.goto("/console/rules")
    page.fill("#access_key_id", KEY_ID)
    page.fill("#secret_access_key", SECRET)
    with page.expect_navigation():
        page.click("button[type=submit] >> text=Sign in")
    assert page.url.endswith("/console/rules")
    assert page.text_content("tr[data-rule=rule-changes] .targets") == "1"
    assert page.text_content("tr[data-rule=rule-changes] .summary") == "source: aws.events; eventName: PutRule"
    with page.expect_navigation():
        page.click("tr[data-rule=rule-changes] a")
    assert page.text_content("#rule-description") == "New watched rules"
    assert page.text_content("tr[data-target=log] .where") == "alerts.jsonl"
    assert page.eval_on_selector_all("#matches tbody code", "els => els.map(e => e.textContent)")[0] == sent["id"]
    page.screenshot(path=str(SCREENSHOTS / "rule.png"), full_page=True)
    with page.expect_navigation():  # the match opens the CloudTrail event it came from
        page.click("#matches tbody tr:first-child a")
    assert page.text_content("#event-id") == sent["detail"]["eventID"]
    with page.expect_navigation():
        page.click("text=Back to the event history")  # back to the rule, which the link came from
    assert page.url.endswith("/console/rules/view?name=rule-changes")

    with page.expect_navigation():
        page.click("#test-pattern")
    assert json.loads(page.input_value("#pattern")) == PATTERN
    prefilled = json.loads(page.input_value("#event"))  # the newest CloudTrail event, in its envelope
    assert prefilled["account"] == ACCOUNT and prefilled["detail-type"].endswith(" via CloudTrail")
    other = {**sent, "detail": {**sent["detail"], "requestParameters": {"name": "other-rule"}}}
    page.fill("#event", json.dumps(other, indent=2))
    with page.expect_navigation():
        page.click("#run-test")
    assert page.get_attribute("#test-result", "data-matched") == "no"
    assert page.text_content("#test-reason") == \
        'detail.requestParameters.name: "other-rule" does not match [{"prefix":"watched-"}]'
    page.fill("#event", json.dumps(sent))
    with page.expect_navigation():
        page.click("#run-test")
    assert page.text_content("#test-result") == "The event matches the pattern."
    page.screenshot(path=str(SCREENSHOTS / "rule-test.png"), full_page=True)
