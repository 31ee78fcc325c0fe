"""The console's EventBridge rule pages over HTTP (httpx against a real socket), with the real
RulesService and the real bus (worker, dispatcher, target senders) behind them: the rules list, a
rule with an API destination target and a command target that fails, its matches linked to the
CloudTrail event, the pattern tester (match, no match with the reason, invalid pattern, invalid
event), CSRF on the tester, and hostile text shown escaped."""

from __future__ import annotations

import html as html_module
import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.delivery.marks import head_seq
from opentrail.endpoints import EndpointTimeouts
from opentrail.eventbridge.egress import EgressPolicy
from opentrail.eventbridge.local_targets import LocalTargetPolicy
from opentrail.eventbridge.envelope import envelope_id
from opentrail.eventbridge.rules_service import RulesService
from opentrail.eventbridge.runtime import EventBusRuntime
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.eventbridge.helpers import Receiver, start_receiver
from tests.serving import serving

from .conftest import ACCOUNT, REGION, Clock, ConsoleServer, csrf_of
from .seed import record, store_records
from .test_monitoring_http import cells, signed_in

PATTERN = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"],
           "detail": {"eventName": ["StopLogging", {"prefix": "Delete"}]}}
MISSING_PROGRAM = "/nonexistent/opentrail-test/page-oncall"


class RulesConsole(ConsoleServer):
    runtime: EventBusRuntime
    receiver: Receiver

    def events(self) -> Any:
        return boto3.client("events", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.key.access_key_id, aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def rc(tmp_path: Path) -> Iterator[RulesConsole]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    clock = Clock()
    egress = EgressPolicy.parse("loopback")
    # command targets run programs of a folder that does not exist: the target's program is missing
    local = LocalTargetPolicy.from_settings(tmp_path, "", str(Path(MISSING_PROGRAM).parent))
    rules = RulesService(tmp_path, clock, head_seq=lambda: head_seq(store), egress=egress, local_targets=local)
    runtime = EventBusRuntime(tmp_path, store, rules, egress=egress, timeouts=EndpointTimeouts(2.0, 2.0), clock=clock,
                              local_targets=local)
    receiver = start_receiver()
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock,
                    eventbridge=rules, event_bus=runtime.worker)
    runtime.worker.start()
    try:
        with serving(app) as url:
            server = RulesConsole(url, store, accounts, LocalFolderStorage(tmp_path / "b"), clock, key)
            server.runtime, server.receiver = runtime, receiver
            yield server
    finally:
        runtime.stop()
        runtime.close()
        receiver.close()
        rules.close()
        store.close()
        accounts.close()


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea id="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert match is not None, f"no textarea {name}"
    return html_module.unescape(match.group(1))


def details(page: str, target_id: str) -> dict[str, str]:
    row = page.split(f'data-target="{target_id}"', 1)[1].split("</tr>", 1)[0]
    return {html_module.unescape(k): html_module.unescape(v)
            for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", row, re.S)}


def set_up_rule(rc: RulesConsole) -> dict[str, Any]:
    """The rule "tampering" with an API destination target (the receiver) and a command target
    whose program does not exist; then a StopLogging event, which both targets are sent."""
    events = rc.events()
    events.put_rule(Name="tampering", EventPattern=json.dumps(PATTERN), Description="Trail tampering")
    events.put_rule(Name="scheduled", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    connection = events.create_connection(Name="hook-auth", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}})
    destination = events.create_api_destination(Name="hook", ConnectionArn=connection["ConnectionArn"],
                                                InvocationEndpoint=rc.receiver.url + "/alerts", HttpMethod="PUT")
    answer = events.put_targets(Rule="tampering", Targets=[
        {"Id": "hook", "Arn": destination["ApiDestinationArn"], "InputPath": "$.detail.eventName",
         "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}},
        {"Id": "page", "Arn": f"arn:opentrail:command:::{MISSING_PROGRAM}"},
    ])
    assert answer["FailedEntryCount"] == 0
    # The bus reads the rules at the start of each round: one round on this thread, after the
    # targets were put, so that every later round sends to them.
    rc.runtime.worker.step()
    stop = record(account=ACCOUNT, event_time=int(rc.clock()), name="StopLogging", source="cloudtrail.amazonaws.com")
    store_records(rc.store, [stop])
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tampering"
    deadline = time.monotonic() + 10
    while not rc.runtime.worker.rule_status(arn).failed_invocations or not rc.receiver.requests:
        assert time.monotonic() < deadline, ("the bus did not send the event to both targets",
                                             rc.runtime.worker.rule_status(arn), rc.receiver.requests,
                                             rc.runtime.worker.pending_deliveries())
        time.sleep(0.02)
    return {"stop": stop, "arn": arn, "destination": destination["ApiDestinationArn"],
            "connection": connection["ConnectionArn"]}


def test_rules_list_rule_page_and_match_link(rc: RulesConsole) -> None:
    made = set_up_rule(rc)
    envelope = envelope_id(ACCOUNT, made["stop"]["eventID"])
    status = rc.runtime.worker.rule_status(made["arn"])
    assert [m[0] for m in status.matches] == [envelope]
    match_time = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(status.matches[0][1]))
    with signed_in(rc) as client:
        page = client.get("/console/rules")
        assert page.status_code == 200
        assert 'href="/console/rules" aria-current="page">Rules<' in page.text
        assert cells(page.text, "rules")[1:] == [
            ["scheduled", "DISABLED", "Schedule rate(5 minutes)", "0", "None yet"],
            ["tampering", "ENABLED", 'source: aws.cloudtrail; detail-type: AWS API Call via CloudTrail; '
                                     'eventName: StopLogging, {"prefix":"Delete"}', "2", match_time],
        ]
        assert [r[0] for r in cells(client.get("/console/rules", params={"prefix": "tam"}).text, "rules")[1:]] == [
            "tampering"]

        page = client.get("/console/rules/view", params={"name": "tampering"})
        assert page.status_code == 200
        assert re.search(r'id="rule-state">ENABLED<', page.text)
        assert re.search(r'id="rule-description">Trail tampering<', page.text)
        assert html_module.unescape(re.search(r'<code id="rule-pattern">(.*?)</code>', page.text, re.S).group(1)) == \
            json.dumps(PATTERN, indent=2)
        targets = cells(page.text, "targets")[1:]
        assert [t[:4] for t in targets] == [
            ["hook", "API destination", f"PUT {rc.receiver.url}/alerts", made["destination"]],
            ["page", "Command (opentrail)", f"{MISSING_PROGRAM}",
             f"arn:opentrail:command:::{MISSING_PROGRAM}"],
        ]
        assert details(page.text, "hook") == {
            "Connection": made["connection"], "Input path": "$.detail.eventName",
            "Retry policy": "3 retries, events up to 600 s old", "Dead-letter queue": "none"}
        assert details(page.text, "page") == {
            "Input": "the matched event", "Retry policy": "185 retries, events up to 86400 s old (default)",
            "Dead-letter queue": "none"}
        assert cells(page.text, "matches")[1:] == [[match_time, envelope]]
        failure = status.failed_invocations[0]
        assert cells(page.text, "failures")[1:] == [[
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(failure.time_s)), "page", "NO_RESOURCE",
            f"{MISSING_PROGRAM}: No such file or directory", "1", "DROPPED"]]
        assert rc.receiver.bodies() == ["StopLogging"]

        # the match links to the CloudTrail event it came from
        link = client.get("/console/rules/match", params={"name": "tampering", "id": envelope})
        assert link.status_code == 303
        assert link.headers["location"] == (f"/console/events/{made['stop']['eventID']}"
                                            "?from=%2Fconsole%2Frules%2Fview%3Fname%3Dtampering")
        assert client.get(link.headers["location"]).status_code == 200
        assert client.get("/console/rules/match", params={"name": "tampering", "id": "nope"}).status_code == 404

        assert client.get("/console/rules/view", params={"name": "nope"}).status_code == 404
    names = [(json.loads(e.record)["eventSource"], json.loads(e.record)["eventName"])
             for e in rc.store.read_since(0, 1000)]
    # the pages' calls are recorded as the API records them
    assert ("events.amazonaws.com", "ListRules") in names and ("events.amazonaws.com", "DescribeApiDestination") in names


def test_pattern_tester(rc: RulesConsole) -> None:
    rc.events().put_rule(Name="tampering", EventPattern=json.dumps(PATTERN))
    with signed_in(rc) as client:
        newest = record(account=ACCOUNT, event_time=int(rc.clock()) + 1, name="CreateTrail",
                        source="cloudtrail.amazonaws.com")
        store_records(rc.store, [newest])
        rc.clock.offset = 5.0  # the console's own calls below are newer still
        assert client.get("/console/rules").status_code == 200
        page = client.get("/console/rules/test", params={"name": "tampering"})
        assert page.status_code == 200
        assert json.loads(textarea(page.text, "pattern")) == PATTERN
        # the newest event not made by this console session, in its EventBridge envelope
        stored = json.loads(next(e.record for e in rc.store.read_since(0, 1000)
                                 if json.loads(e.record)["eventID"] == newest["eventID"]))
        assert json.loads(textarea(page.text, "event")) == {
            "version": "0", "id": envelope_id(ACCOUNT, newest["eventID"]), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.cloudtrail", "account": ACCOUNT, "time": newest["eventTime"], "region": REGION,
            "resources": [], "detail": stored}
        token = csrf_of(page.text)

        def test(pattern: str, event: str) -> httpx.Response:
            return client.post("/console/rules/test", data={"csrf_token": token, "name": "tampering",
                                                            "pattern": pattern, "event": event})

        stop = json.dumps({"id": "1", "account": ACCOUNT, "source": "aws.cloudtrail", "time": "2026-03-01T10:00:00Z",
                           "region": REGION, "resources": [], "detail-type": "AWS API Call via CloudTrail",
                           "detail": {"eventName": "StopLogging"}})
        answer = test(json.dumps(PATTERN), stop)
        assert answer.status_code == 200
        assert re.search(r'id="test-result" data-matched="yes">The event matches the pattern.<', answer.text)
        assert json.loads(textarea(answer.text, "event")) == json.loads(stop)

        answer = test(json.dumps(PATTERN), stop.replace("StopLogging", "StartLogging"))
        assert answer.status_code == 200
        reason = re.search(r'<code id="test-reason">(.*?)</code>', answer.text).group(1)
        assert html_module.unescape(reason) == \
            'detail.eventName: "StartLogging" does not match ["StopLogging",{"prefix":"Delete"}]'

        answer = test('{"source": "aws.cloudtrail"}', stop)
        assert answer.status_code == 400
        assert html_module.unescape(re.search(r'id="test-error">(.*?)<', answer.text).group(1)) == (
            "InvalidEventPatternException: Event pattern is not valid. Reason: \"source\" must be an object or an array")

        answer = test(json.dumps(PATTERN), '{"source": "aws.cloudtrail"}')
        assert answer.status_code == 400
        assert html_module.unescape(re.search(r'id="test-error">(.*?)<', answer.text).group(1)) == (
            "ValidationException: Parameter Event is not valid.")

        missing = client.get("/console/rules/test", params={"name": "nope"})
        assert missing.status_code == 404
        assert html_module.unescape(re.search(r'id="test-error">(.*?)<', missing.text).group(1)) == (
            "ResourceNotFoundException: Rule nope does not exist on EventBus default.")

        # the console's CSRF protection
        refused = client.post("/console/rules/test", data={"csrf_token": "wrong", "pattern": "{}", "event": stop})
        assert refused.status_code == 403
        refused = client.post("/console/rules/test", data={"csrf_token": token, "pattern": "{}", "event": stop},
                              headers={"Origin": "http://evil.example"})
        assert refused.status_code == 403
    tested = [json.loads(e.record) for e in rc.store.read_since(0, 1000)
              if json.loads(e.record)["eventName"] == "TestEventPattern"]
    assert [(t.get("errorCode"), t["readOnly"]) for t in tested] == [
        (None, True), (None, True), ("InvalidEventPatternException", True), ("ValidationException", True)]


def test_hostile_text_is_escaped(rc: RulesConsole) -> None:
    hostile = '<script>alert("x")</script>'
    rc.events().put_rule(Name="hostile", Description=hostile,
                         EventPattern=json.dumps({"detail": {"eventName": [hostile]}}))
    with signed_in(rc) as client:
        for url in ("/console/rules", "/console/rules/view?name=hostile", "/console/rules/test?name=hostile"):
            page = client.get(url)
            assert page.status_code == 200
            assert "<script>alert" not in page.text
            assert "&lt;script&gt;alert(" in page.text
        assert re.search(r'id="rule-description">&lt;script&gt;alert\(&#34;x&#34;\)&lt;/script&gt;<',
                         client.get("/console/rules/view?name=hostile").text)
        summary = cells(client.get("/console/rules").text, "rules")[1][2]
        assert summary == f"eventName: {hostile}"
        tester = client.get("/console/rules/test?name=hostile").text
        assert json.loads(textarea(tester, "pattern")) == {"detail": {"eventName": [hostile]}}


def test_pages_without_eventbridge_or_bus(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    clock = Clock()
    rules = RulesService(tmp_path, clock, head_seq=lambda: head_seq(store), egress=EgressPolicy.parse("loopback"))
    try:
        for eventbridge in (None, rules):
            app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock,
                            eventbridge=eventbridge)
            with serving(app) as url:
                server = ConsoleServer(url, store, accounts, LocalFolderStorage(tmp_path / "b"), clock, key)
                with signed_in(server) as client:
                    if eventbridge is None:
                        page = client.get("/console/rules")
                        assert page.status_code == 404
                        assert "This server runs without EventBridge." in page.text
                        continue
                    boto3.client("events", endpoint_url=url, region_name=REGION,
                                 aws_access_key_id=key.access_key_id,
                                 aws_secret_access_key=key.secret_access_key).put_rule(
                        Name="r", EventPattern='{"source": ["aws.iam"]}')
                    assert cells(client.get("/console/rules").text, "rules")[1:] == [
                        ["r", "ENABLED", "source: aws.iam", "0", "None yet"]]
                    page = client.get("/console/rules/view", params={"name": "r"})
                    assert page.status_code == 200
                    assert "The event bus is not running on this server" in page.text
                    assert cells(page.text, "matches")[1:] == [["No matches yet."]]
    finally:
        rules.close()
        store.close()
        accounts.close()
