"""The console over HTTP (httpx against a real socket): sign-in and its records, cookies, CSRF on
every form, paging and downloads compared with LookupEvents through boto3, trails."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Iterator

import httpx

import orjson
import pytest

from opentrail.console.history import time_text

from .conftest import ACCOUNT, ConsoleServer, csrf_of
from .seed import record, store_records

EVENT_LINK = re.compile(r'href="/console/events/([^"?]+)\?from=')


def lookup_all(server: ConsoleServer, region: str = "us-east-1", **params: Any) -> list[dict[str, Any]]:
    client = server.cloudtrail(region=region)
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("lookup_events").paginate(**params):
        out += page["Events"]
    return out


def console_logins(server: ConsoleServer, n: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        events = lookup_all(server, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}])
        return events if len(events) >= n else []

    return [orjson.loads(e["CloudTrailEvent"]) for e in server.wait_for(found)]


@contextlib.contextmanager
def signed_in(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        r = server.sign_in(client)
        assert (r.status_code, r.headers["location"]) == (303, "/console/events")
        yield client


def test_root_goes_to_sign_in(console: ConsoleServer) -> None:
    with console.client() as c:
        r = c.get("/")
        assert (r.status_code, r.headers["location"]) == (303, "/console/events")
        r = c.get("/console/events?attr=EventName&value=X")
        assert r.status_code == 303
        assert r.headers["location"] == "/console/signin?next=%2Fconsole%2Fevents%3Fattr%3DEventName%26value%3DX"


def test_sign_in_sets_a_hardened_cookie_and_records_console_login(console: ConsoleServer) -> None:
    with console.client() as c:
        r = console.sign_in(c)
        assert r.status_code == 303
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("opentrail_console="))
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert attrs == {"httponly", "path", "samesite"}
        assert "samesite=lax" in cookie.lower()
        page = c.get("/console/events")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
    (login,) = console_logins(console, 1)
    assert list(login) == ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                           "sourceIPAddress", "userAgent", "requestParameters", "responseElements",
                           "additionalEventData", "eventID", "readOnly", "eventType", "managementEvent",
                           "recipientAccountId", "eventCategory"]
    assert login["userIdentity"] == {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                                     "accountId": ACCOUNT, "accessKeyId": ""}
    assert (login["eventSource"], login["eventName"], login["eventType"]) == (
        "signin.amazonaws.com", "ConsoleLogin", "AwsConsoleSignIn")
    assert login["responseElements"] == {"ConsoleLogin": "Success"}
    assert login["additionalEventData"] == {"LoginTo": console.url + "/console/events", "MobileVersion": "No",
                                            "MFAUsed": "No"}
    assert (login["requestParameters"], login["sourceIPAddress"], login["readOnly"]) == (None, "127.0.0.1", False)


def test_failed_sign_ins(console: ConsoleServer) -> None:
    alice = console.accounts.create_access_key(ACCOUNT, user_name="alice")
    with console.client() as c:
        r = console.sign_in(c, secret="wrong")
        assert r.status_code == 401
        assert "Your authentication information is incorrect. Please try again." in r.text
        assert "opentrail_console=" not in r.headers.get("set-cookie", "")
        assert console.sign_in(c, alice, secret="wrong").status_code == 401
        unknown = console.accounts.create_access_key("999999999999")
        assert console.sign_in(c, unknown, secret="wrong").status_code == 401  # recorded in 999999999999 only
    records = console_logins(console, 2)
    failures = sorted((r for r in records), key=lambda r: r["userIdentity"]["type"])
    assert [r["responseElements"] for r in failures] == [{"ConsoleLogin": "Failure"}] * 2
    assert [r["errorMessage"] for r in failures] == ["Failed authentication"] * 2
    assert failures[0]["userIdentity"]["type"] == "IAMUser"
    assert set(failures[0]["userIdentity"]) == {"type", "principalId", "accountId", "accessKeyId", "userName"}
    assert failures[0]["userIdentity"]["userName"] == "alice"
    assert failures[1]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert "errorCode" not in failures[0]


def test_console_calls_are_recorded_as_console_sessions(console: ConsoleServer) -> None:
    with signed_in(console) as c:
        assert c.get("/console/events?attr=EventName&value=Nothing").status_code == 200
    events = console.wait_for(lambda: lookup_all(
        console, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}]))
    rec = orjson.loads(events[-1]["CloudTrailEvent"])
    assert rec["sessionCredentialFromConsole"] == "true"
    assert list(rec)[-1] == "sessionCredentialFromConsole"
    assert rec["userAgent"] == "AWS Internal"
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", rec["userIdentity"]["accessKeyId"])
    assert rec["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    assert rec["requestParameters"] == {"lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "Nothing"}],
                                        "maxResults": 50}


def test_every_form_needs_the_csrf_token(console: ConsoleServer) -> None:
    console.storage.create_bucket("logs")
    form = {"name": "main", "bucket": "logs", "management": "All"}
    with signed_in(console) as c:
        token = csrf_of(c.get("/console/trails").text)
        assert c.post("/console/trails", data=form).status_code == 403
        assert c.post("/console/trails", data={**form, "csrf_token": "x" * 43}).status_code == 403
        foreign = c.post("/console/trails", data={**form, "csrf_token": token}, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        null_origin = c.post("/console/trails", data={**form, "csrf_token": token}, headers={"origin": "null"})
        assert null_origin.status_code == 403
        assert c.post("/console/trails/action", data={"action": "delete", "name": "main"}).status_code == 403
        assert c.post("/console/region", data={"region": "eu-west-1", "next": "/console/events"}).status_code == 403
        assert c.post("/console/signout", data={}).status_code == 403
        assert "CSRF" in c.post("/console/signout", data={}).text
        assert console.cloudtrail().describe_trails()["trailList"] == []
        assert c.get("/console/events").status_code == 200  # still signed in
        ok = c.post("/console/trails", data={**form, "csrf_token": token})
        assert (ok.status_code, ok.headers["location"]) == (303, "/console/trails")
    assert [t["Name"] for t in console.cloudtrail().describe_trails()["trailList"]] == ["main"]
    with console.client() as fresh:  # the sign-in form is protected too
        r = fresh.post("/console/signin", data={"access_key_id": console.key.access_key_id,
                                                "secret_access_key": console.key.secret_access_key})
        assert r.status_code == 403


def test_sign_out_revokes_the_cookie(console: ConsoleServer) -> None:
    with signed_in(console) as c:
        cookie = c.cookies["opentrail_console"]
        token = csrf_of(c.get("/console/events").text)
        assert c.post("/console/signout", data={"csrf_token": token}).headers["location"] == "/console/signin"
    with console.client() as replay:
        replay.cookies.set("opentrail_console", cookie)
        assert replay.get("/console/events").status_code == 303
        replay.cookies.set("opentrail_console", cookie[:-2] + "AA")
        assert replay.get("/console/events").status_code == 303


def test_sessions_expire_after_12_hours(console: ConsoleServer) -> None:
    with signed_in(console) as c:
        assert c.get("/console/events").status_code == 200
        console.clock.offset = 12 * 3600 + 1
        assert c.get("/console/events").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/", "/console/../x"])
def test_next_stays_in_the_console(console: ConsoleServer, target: str) -> None:
    with console.client() as c:
        token = csrf_of(c.get("/console/signin").text)
        r = c.post("/console/signin", data={"csrf_token": token, "access_key_id": console.key.access_key_id,
                                            "secret_access_key": console.key.secret_access_key, "next": target})
        assert r.headers["location"] == "/console/events"


def _ids(html: str) -> list[str]:
    return list(dict.fromkeys(EVENT_LINK.findall(html)))


def _link(html: str, rel: str) -> str:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    assert match is not None, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


def test_pages_and_downloads_are_what_lookup_events_returns(console: ConsoleServer) -> None:
    now = int(console.clock())
    store_records(console.store, [record(account=ACCOUNT, event_time=now - 60 * i) for i in range(60)]
                  + [record(account=ACCOUNT, event_time=now - 5, name="StopInstances")])
    expected = lookup_all(console, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}])
    assert len(expected) == 60
    ids = [e["EventId"] for e in expected]
    with signed_in(console) as c:
        first = c.get("/console/events?attr=EventName&value=RunInstances&n=25")
        assert _ids(first.text) == ids[:25]
        second = c.get(_link(first.text, "next"))
        assert _ids(second.text) == ids[25:50]
        third = c.get(_link(second.text, "next"))
        assert _ids(third.text) == ids[50:]
        assert 'rel="next"' not in third.text
        assert _ids(c.get(_link(third.text, "prev")).text) == ids[25:50]

        download = c.get("/console/events/download?format=csv&attr=EventName&value=RunInstances&n=25")
        assert download.headers["content-disposition"] == 'attachment; filename="event_history.csv"'
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [r["Event ID"] for r in rows] == ids
        assert [(r["Event name"], r["User name"], r["Event source"], r["AWS access key"], r["Read-only"])
                for r in rows] == [(e["EventName"], e["Username"], e["EventSource"], e["AccessKeyId"], e["ReadOnly"])
                                   for e in expected]
        assert [r["Event time"] for r in rows] == [e["EventTime"].strftime("%Y-%m-%dT%H:%M:%SZ") for e in expected]
        assert [r["Resource name"] for r in rows] == [e["Resources"][0]["ResourceName"] for e in expected]

        data = orjson.loads(c.get("/console/events/download?format=json&attr=EventName&value=RunInstances").content)
        assert data["Records"] == [orjson.loads(e["CloudTrailEvent"]) for e in expected]


def test_relative_range_is_resolved_once_and_applied(console: ConsoleServer) -> None:
    now = int(console.clock())
    store_records(console.store, [record(account=ACCOUNT, event_time=now - 30, name="Recent"),
                                  record(account=ACCOUNT, event_time=now - 7200, name="Old")])
    with signed_in(console) as c:
        page = c.get("/console/events?range=1h&n=10&attr=EventSource&value=ec2.amazonaws.com").text
        names = re.findall(r'\?from=[^"]*">([^<]+)</a>', page)
        assert names == ["Recent"]
        t0 = int(re.search(r"t0=(\d+)", page).group(1))  # type: ignore[union-attr]
        t1 = int(re.search(r"t1=(\d+)", page).group(1))  # type: ignore[union-attr]
        assert t1 - t0 == 3600 and abs(t1 - now) <= 5


def test_filter_errors_are_shown(console: ConsoleServer) -> None:
    with signed_in(console) as c:
        r = c.get("/console/events?attr=Bogus&value=1")
        assert r.status_code == 400
        assert "&#39;Bogus&#39; is not a lookup attribute" in r.text
        r = c.get("/console/events?range=custom&start=2024-05-02T00:00&end=2024-05-01T00:00")
        assert r.status_code == 400
        assert "InvalidTimeRangeException" in r.text
        assert c.get("/console/events?range=custom&start=yesterday").status_code == 400


def test_event_page_shows_record_and_resources(console: ConsoleServer) -> None:
    rec = record(account=ACCOUNT, event_time=int(console.clock()) - 10, name="TerminateInstances")
    store_records(console.store, [rec])
    with signed_in(console) as c:
        page = c.get(f"/console/events/{rec['eventID']}?from=/console/events%3Fn%3D10").text
        assert 'href="/console/events?n=10"' in page
        pretty = json.dumps(rec, indent=2).replace('"', "&#34;")
        assert pretty in page
        assert "<td>AWS::EC2::Instance</td>" in page
        assert c.get("/console/events/00000000-0000-4000-8000-999999999999").status_code == 404

    huge = record(account=ACCOUNT, event_time=int(console.clock()) - 10, name="Huge",
                  requestParameters={"n": 2**70})
    store_records(console.store, [huge])
    with signed_in(console) as c:
        page = c.get(f"/console/events/{huge['eventID']}").text
        assert '&#34;n&#34;: 1180591620717411303424' in page


def test_switching_region_changes_the_history(console: ConsoleServer) -> None:
    now = int(console.clock())
    store_records(console.store, [record(account=ACCOUNT, event_time=now, name="InIreland", region="eu-west-1"),
                                  record(account=ACCOUNT, event_time=now, name="InVirginia")])
    with signed_in(console) as c:
        page = c.get("/console/events?attr=EventSource&value=ec2.amazonaws.com").text
        assert "InVirginia" in page and "InIreland" not in page
        r = c.post("/console/region", data={"csrf_token": csrf_of(page), "region": "eu-west-1",
                                             "next": "/console/events"})
        assert r.headers["location"] == "/console/events"
        page = c.get("/console/events?attr=EventSource&value=ec2.amazonaws.com").text
        assert "InIreland" in page and "InVirginia" not in page


def test_activity_counts_per_hour(console: ConsoleServer) -> None:
    hour = int(console.clock()) // 3600 * 3600 - 3 * 3600
    store_records(console.store, [record(account=ACCOUNT, event_time=hour + 10 * i, name="Busy") for i in range(7)]
                  + [record(account=ACCOUNT, event_time=hour + 7200, name="Busy")])
    with signed_in(console) as c:
        page = c.get("/console/activity?attr=EventName&value=Busy&range=1d").text
    counts = dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", page))
    assert len(counts) in (24, 25)
    assert counts[time_text(hour)[:-7] + " UTC"] == "7"
    assert counts[time_text(hour + 7200)[:-7] + " UTC"] == "1"
    assert sum(int(v) for v in counts.values()) == 8
    assert page.count('class="bar"') == len(counts)


def test_trails_page_footer_shows_the_data_directory_free_space(console: ConsoleServer, tmp_path: Path) -> None:
    from opentrail.store.space import mount_point

    with signed_in(console) as c:
        page = c.get("/console/trails").text
    mount = re.escape(mount_point(tmp_path))  # the console fixture's data directory
    assert re.search(rf'<p class="note" id="data-directory">Data directory: [0-9.]+ (KiB|MiB|GiB|TiB) free on {mount}\.</p>',
                     page), page[-500:]


def test_trails_create_selectors_status_stop_delete(console: ConsoleServer) -> None:
    console.storage.create_bucket("logs")
    ct = console.cloudtrail()
    with signed_in(console) as c:
        token = csrf_of(c.get("/console/trails").text)
        bad = c.post("/console/trails", data={"csrf_token": token, "name": "a", "bucket": "logs"})
        assert bad.status_code == 400
        assert "InvalidTrailNameException" in bad.text
        assert 'value="logs"' in bad.text  # the form keeps what was typed
        r = c.post("/console/trails", data={
            "csrf_token": token, "name": "audit", "bucket": "logs", "prefix": "p", "validation": "on",
            "multi_region": "on", "global_events": "on", "start_logging": "on", "management": "WriteOnly",
            "exclude_kms": "on", "s3_data": "arn:aws:s3:::logs/\n",
        })
        assert r.status_code == 303
        page = c.get("/console/trails").text
        assert "Created trail audit (logging started)." in page
        assert '<td class="logging">Logging</td>' in page
        trail = ct.get_trail(Name="audit")["Trail"]
        assert (trail["S3KeyPrefix"], trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]) == ("p", True, True)
        assert ct.get_event_selectors(TrailName="audit")["EventSelectors"] == [{
            "ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs/"]}],
            "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]
        assert ct.get_trail_status(Name="audit")["IsLogging"] is True
        arn = trail["TrailARN"]
        c.post("/console/trails/action", data={"csrf_token": token, "action": "stop", "name": arn})
        assert ct.get_trail_status(Name="audit")["IsLogging"] is False
        assert '<td class="logging">Not logging</td>' in c.get("/console/trails").text
        c.post("/console/trails/action", data={"csrf_token": token, "action": "delete", "name": arn})
        assert ct.describe_trails()["trailList"] == []
        r = c.post("/console/trails/action", data={"csrf_token": token, "action": "delete", "name": arn})
        assert "TrailNotFoundException" in c.get(r.headers["location"]).text
