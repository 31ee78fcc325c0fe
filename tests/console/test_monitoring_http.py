"""The console's log group and alarm pages over HTTP (httpx against a real socket), with the real
CloudWatch Logs and CloudWatch services behind them, compared with what was put through boto3:
log groups, events filtered by a pattern, the explain mode, metric filters, alarms with state,
history and the chart."""

from __future__ import annotations

import contextlib
import html as html_module
import json
import re
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.monitoring.cloudwatch import CloudWatchService
from opentrail.monitoring.logs import LogsService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving

from .conftest import ACCOUNT, REGION, Clock, ConsoleServer


class MonitoringConsole(ConsoleServer):
    monitoring: CloudWatchService

    def api(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.key.access_key_id, aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def mc(tmp_path: Path) -> Iterator[MonitoringConsole]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    clock = Clock()
    monitoring = CloudWatchService(tmp_path, clock)
    logs = LogsService(tmp_path, clock, metric_sink=monitoring.put_metric_points)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock,
                    logs=logs, monitoring=monitoring)
    try:
        with serving(app) as url:
            server = MonitoringConsole(url, store, accounts, LocalFolderStorage(tmp_path / "b"), clock, key)
            server.monitoring = monitoring
            yield server
    finally:
        monitoring.close()
        logs.close()
        store.close()
        accounts.close()


@contextlib.contextmanager
def signed_in(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        assert server.sign_in(client).status_code == 303
        yield client


def cells(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[html_module.unescape(re.sub(r"<[^>]+>", "", c).strip()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def test_log_group_page_filters_and_explains(mc: MonitoringConsole) -> None:
    logs = mc.api("logs")
    logs.create_log_group(logGroupName="trail-events")
    logs.create_log_stream(logGroupName="trail-events", logStreamName="s1")
    now_ms = int(mc.clock() * 1000)
    messages = [json.dumps({"eventName": name, "userIdentity": {"type": kind}})
                for name, kind in (("StopLogging", "Root"), ("StopLogging", "IAMUser"), ("ListTrails", "Root"))]
    logs.put_log_events(logGroupName="trail-events", logStreamName="s1",
                        logEvents=[{"timestamp": now_ms + i, "message": m} for i, m in enumerate(messages)])
    logs.put_metric_filter(logGroupName="trail-events", filterName="root-stop",
                           filterPattern='{ $.eventName = "StopLogging" && $.userIdentity.type = Root }',
                           metricTransformations=[{"metricName": "RootStop", "metricNamespace": "CIS",
                                                   "metricValue": "1"}])
    with signed_in(mc) as client:
        page = client.get("/console/logs")
        assert page.status_code == 200
        assert cells(page.text, "log-groups")[1][0] == "trail-events"
        assert cells(page.text, "log-groups")[1][4] == "1"  # metric filters

        pattern = '{ $.eventName = "StopLogging" && $.userIdentity.type = Root }'
        page = client.get("/console/logs/group", params={"name": "trail-events", "pattern": pattern})
        assert page.status_code == 200
        events = cells(page.text, "log-events")[1:]
        assert [e[2] for e in events] == [messages[0]]
        assert cells(page.text, "metric-filters")[1][:2] == ["root-stop", pattern]

        page = client.get("/console/logs/group", params={"name": "trail-events", "pattern": pattern, "explain": "1"})
        assert page.status_code == 200
        explained = {json.loads(row[3].split("\n", 1)[0])["userIdentity"]["type"] + " " +
                     json.loads(row[3].split("\n", 1)[0])["eventName"]: row[2]
                     for row in cells(page.text, "log-events")[1:]}
        assert explained == {"Root StopLogging": "Yes", "IAMUser StopLogging": "No", "Root ListTrails": "No"}
        # the IAMUser event: the type clause failed and says what it found
        assert "found &#39;IAMUser&#39;" in page.text

        page = client.get("/console/logs/group", params={"name": "trail-events", "pattern": "{ $.x = "})
        assert page.status_code == 400
        assert 'id="pattern-error"' in page.text

        page = client.get("/console/logs/group", params={"name": "nope"})
        assert page.status_code == 404
        assert "ResourceNotFoundException" in page.text


def test_alarm_pages_show_state_history_and_chart(mc: MonitoringConsole) -> None:
    cw = mc.api("cloudwatch")
    cw.put_metric_alarm(AlarmName="root-use", Namespace="CIS", MetricName="RootUse", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    t = mc.clock()
    cw.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 3.0, "Timestamp": t - 120},
                                                     {"MetricName": "RootUse", "Value": 2.0, "Timestamp": t - 60}])
    cw.set_alarm_state(AlarmName="root-use", StateValue="ALARM", StateReason="testing the console")
    with signed_in(mc) as client:
        page = client.get("/console/alarms")
        assert page.status_code == 200
        row = cells(page.text, "alarms")[1]
        assert (row[0], row[1], row[3]) == ("root-use", "ALARM", "CIS / RootUse")
        assert client.get("/console/alarms", params={"state": "OK"}).text.count('data-alarm="') == 0

        page = client.get("/console/alarms/view", params={"name": "root-use"})
        assert page.status_code == 200
        assert re.search(r'id="alarm-state">ALARM<', page.text)
        assert "testing the console" in page.text
        assert page.text.count('class="datapoint"') == 2
        assert 'class="threshold"' in page.text
        assert "StateUpdate" in page.text and "ConfigurationUpdate" in page.text

        assert client.get("/console/alarms/view", params={"name": "nope"}).status_code == 404
