"""The console's log group and alarm pages in Debian's chromium, driven by Playwright, against a
real `opentrail serve`: a trail sends its events to a log group, a metric filter counts StopLogging
and StartLogging calls, an alarm with a 10-second period goes to ALARM; the pages show the
events, the explain mode, the alarm's state and its chart; everything compared with boto3."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest

from .browser import ACCOUNT, KEY_ID, SCREENSHOTS, SECRET, Served, browser_page, client, opentrail

PATTERN = '{ ($.eventName = StopLogging) || ($.eventName = StartLogging) }'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("monitoring-console") / "data")
    yield server
    server.stop()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with browser_page(served.url) as page:
        yield page


def test_trail_events_metric_filter_and_alarm_in_the_console(page: Any, served: Served) -> None:
    logs, cw, ct = client(served, "logs"), client(served, "cloudwatch"), served.cloudtrail()
    opentrail("create-bucket", "--data-dir", str(served.data_dir), "console-cwl")
    logs.create_log_group(logGroupName="trail-events")
    logs.put_metric_filter(logGroupName="trail-events", filterName="logging-changes", filterPattern=PATTERN,
                           metricTransformations=[{"metricName": "LoggingChanges", "metricNamespace": "CIS",
                                                   "metricValue": "1"}])
    cw.put_metric_alarm(AlarmName="logging-changes", Namespace="CIS", MetricName="LoggingChanges", Statistic="Sum",
                        Period=10, EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    ct.create_trail(Name="main", S3BucketName="console-cwl",
                    CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail-events:*",
                    CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role")
    ct.start_logging(Name="main")
    ct.stop_logging(Name="main")
    ct.start_logging(Name="main")

    deadline = time.monotonic() + 60
    while cw.describe_alarms(AlarmNames=["logging-changes"])["MetricAlarms"][0]["StateValue"] != "ALARM":
        assert time.monotonic() < deadline, "the alarm did not go to ALARM"
        time.sleep(0.5)
    matching = logs.filter_log_events(logGroupName="trail-events", filterPattern=PATTERN)["events"]
    names = [json.loads(e["message"])["eventName"] for e in matching]
    # the StopLogging call is sent by its trail, as trail delivery writes it to the bucket
    assert "StopLogging" in names and set(names) <= {"StartLogging", "StopLogging"}

    page.goto("/console/logs")
    page.fill("#access_key_id", KEY_ID)
    page.fill("#secret_access_key", SECRET)
    with page.expect_navigation():
        page.click("button[type=submit] >> text=Sign in")
    assert page.url.endswith("/console/logs")
    assert page.text_content("tr[data-group=trail-events] .filters") == "1"
    with page.expect_navigation():
        page.click("tr[data-group=trail-events] a")
    page.fill("#pattern", PATTERN)
    with page.expect_navigation():
        page.click("button >> text=Search")
    shown = page.eval_on_selector_all("tr.log-event code.message", "els => els.map(e => JSON.parse(e.innerText).eventName)")
    assert sorted(shown) == sorted(names)
    assert page.text_content("#metric-filters tbody th") == "logging-changes"

    page.check("#explain")
    with page.expect_navigation():
        page.click("button >> text=Search")
    verdicts = page.eval_on_selector_all(
        "tr.log-event", "rows => rows.map(r => [JSON.parse(r.querySelector('code.message').innerText).eventName,"
                        " r.dataset.matched])")
    assert verdicts and all((name in ("StartLogging", "StopLogging")) == (matched == "yes") for name, matched in verdicts)
    assert len(verdicts) > len(names)  # non-matching events are listed too, with their failed clauses
    page.screenshot(path=str(SCREENSHOTS / "log-group-explain.png"), full_page=True)

    page.goto("/console/alarms")
    assert page.text_content("tr[data-alarm=logging-changes] .state") == "ALARM"
    with page.expect_navigation():
        page.click("tr[data-alarm=logging-changes] a")
    assert page.text_content("#alarm-state") == "ALARM"
    reason = cw.describe_alarms(AlarmNames=["logging-changes"])["MetricAlarms"][0]["StateReason"]
    assert page.text_content("#alarm-reason") == reason
    assert page.locator("#alarm-chart circle.datapoint").count() >= 1
    assert page.locator("#alarm-chart line.threshold").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "alarm.png"), full_page=True)
