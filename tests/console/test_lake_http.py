"""The console's Lake page over HTTP (httpx against a real socket), compared with what boto3 gets
from the API: event data stores (create, status, ingestion, protection, delete), the query editor,
query status, the results table and its pages, the CSV download, recent queries, records."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.console.history import time_text
from opentrail.lake import Lake
from opentrail.lake.queries import QueryManager
from opentrail.lake.service import EventDataStoreService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails.service import TrailService
from tests.lake.fakes import load_records, write_store
from tests.serving import serving

from .conftest import ACCOUNT, Clock, ConsoleServer, csrf_of

QUERY_LINK = re.compile(r'^/console/lake/queries/([0-9a-f-]{36})$')
PROTECTED = ("EventDataStoreTerminationProtectedException: The event data store cannot be deleted because "
             "termination protection is enabled for it. Turn termination protection off first, then delete.")


@dataclass
class LakeConsole(ConsoleServer):
    lake: Lake = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return load_records()


@pytest.fixture
def lc(tmp_path: Path) -> Iterator[LakeConsole]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    storage = LocalFolderStorage(tmp_path / "buckets")
    clock = Clock()
    trails = TrailService(tmp_path, storage, clock)
    stores = EventDataStoreService(tmp_path, clock)
    queries = QueryManager(tmp_path / "lake", stores, tmp_path / "lake-results", clock)
    lake = Lake(stores=stores, queries=queries, root=tmp_path / "lake")
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock,
                    trails=trails, lake=lake)
    try:
        with serving(app) as url:
            yield LakeConsole(url, store, accounts, storage, clock, key, lake)
    finally:
        queries.close()
        stores.close()
        trails.close()
        store.close()
        accounts.close()


@contextlib.contextmanager
def signed_in(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        assert server.sign_in(client).status_code == 303
        yield client


def create_store(c: httpx.Client, name: str = "sec", **form: str) -> httpx.Response:
    token = csrf_of(c.get("/console/lake").text)
    data = {"csrf_token": token, "name": name, "retention": "90", "termination_protection": "on", **form}
    return c.post("/console/lake/stores", data=data)


def store_id(server: LakeConsole, name: str) -> str:
    (eds,) = [s for s in server.cloudtrail().list_event_data_stores()["EventDataStores"] if s["Name"] == name]
    return str(eds["EventDataStoreArn"].rsplit("/", 1)[1])


def run_query(c: httpx.Client, statement: str) -> tuple[str, str]:
    """Start ``statement`` from the editor; the query ID and its page once it ended."""
    token = csrf_of(c.get("/console/lake").text)
    r = c.post("/console/lake/queries", data={"csrf_token": token, "statement": statement})
    assert r.status_code == 303, r.text
    match = QUERY_LINK.match(r.headers["location"])
    assert match is not None, r.headers["location"]
    deadline = time.monotonic() + 30
    while True:
        page = c.get(r.headers["location"]).text
        if 'http-equiv="refresh"' not in page:
            return match.group(1), page
        assert time.monotonic() < deadline, "the query did not end"
        time.sleep(0.05)


def table(page: str) -> tuple[list[str], list[list[str]]]:
    head = re.search(r'<table class="results" id="results-table">\s*<thead><tr>(.*?)</tr></thead>', page, re.S)
    assert head is not None, "no results table"
    columns = re.findall(r'<th scope="col">([^<]*)</th>', head.group(1))
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [re.findall(r"<td>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return columns, rows


def link(page: str, rel: str) -> str:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}"', page)
    assert match is not None, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


def api_rows(server: LakeConsole, query_id: str) -> tuple[list[str], list[list[str]]]:
    ct = server.cloudtrail()
    out: list[list[dict[str, str]]] = []
    params: dict[str, Any] = {"QueryId": query_id}
    while True:
        page = ct.get_query_results(**params)
        out += page["QueryResultRows"]
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    columns = [next(iter(cell)) for cell in out[0]]
    return columns, [[next(iter(cell.values())) for cell in row] for row in out]


def test_lake_page_needs_sign_in_and_a_lake(console: ConsoleServer) -> None:
    with console.client() as c:
        r = c.get("/console/lake")
        assert r.headers["location"] == "/console/signin?next=%2Fconsole%2Flake"
    with signed_in(console) as c:
        r = c.get("/console/lake")
        assert r.status_code == 404
        assert "This server runs without CloudTrail Lake." in r.text
        assert '<a href="/console/lake" aria-current="page">Lake</a>' in r.text


def test_create_store_shows_what_get_event_data_store_answers(lc: LakeConsole) -> None:
    with signed_in(lc) as c:
        empty = c.get("/console/lake").text
        assert "No event data stores in this Region yet." in empty
        r = create_store(c)
        assert (r.status_code, r.headers["location"]) == (303, "/console/lake")
        page = c.get("/console/lake").text
    eds_id = store_id(lc, "sec")
    eds = lc.cloudtrail().get_event_data_store(EventDataStore=eds_id)
    assert (eds["Status"], eds["RetentionPeriod"], eds["MultiRegionEnabled"], eds["TerminationProtectionEnabled"]) == (
        "ENABLED", 90, False, True)
    assert '<p class="flash ok" role="status">Created event data store sec.</p>' in page
    row = page.split('<tr data-store="sec">', 1)[1].split("</tr>", 1)[0]
    assert f'<td class="eds-id"><code>{eds_id}</code></td>' in row
    assert '<td class="status">ENABLED</td>' in row
    assert '<td class="retention">90</td>' in row
    assert "<td>No</td>" in row
    assert '<td class="protection">On</td>' in row
    assert f'<td class="created">{time_text(eds["CreatedTimestamp"].timestamp())}</td>' in row
    assert f'<option value="{eds_id}" selected>sec ({eds_id})</option>' in page  # the store picker


def test_create_store_errors_keep_the_form(lc: LakeConsole) -> None:
    with signed_in(lc) as c:
        r = create_store(c, "bad", retention="ten")
        assert r.status_code == 400
        assert "Retention period must be a whole number of days, not &#39;ten&#39;." in r.text
        assert 'id="store-name" name="name" value="bad"' in r.text
        r = create_store(c, "short", retention="5")
        assert r.status_code == 400
        assert ("ValidationException: 1 validation error detected: Value &#39;5&#39; at &#39;retentionPeriod&#39; "
                "failed to satisfy constraint: Member must have value greater than or equal to 7") in r.text
        assert create_store(c, "sec").status_code == 303
        r = create_store(c, "sec")
        assert r.status_code == 400
        assert "EventDataStoreAlreadyExistsException: " in r.text
    assert [s["Name"] for s in lc.cloudtrail().list_event_data_stores()["EventDataStores"]] == ["sec"]


def test_store_actions_go_through_the_api(lc: LakeConsole) -> None:
    ct = lc.cloudtrail()
    with signed_in(lc) as c:
        create_store(c)
        eds_id = store_id(lc, "sec")
        arn = ct.get_event_data_store(EventDataStore=eds_id)["EventDataStoreArn"]
        token = csrf_of(c.get("/console/lake").text)

        def act(action: str) -> str:
            r = c.post("/console/lake/stores/action", data={"csrf_token": token, "action": action, "store": arn,
                                                                  "name": "sec"})
            assert (r.status_code, r.headers["location"]) == (303, "/console/lake")
            flash = re.search(r'<p class="flash (ok|error)" role="status">([^<]*)</p>', c.get("/console/lake").text)
            assert flash is not None
            return f"{flash.group(1)}: {flash.group(2)}"

        assert c.post("/console/lake/stores/action", data={"action": "stop", "store": arn}).status_code == 403
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "ENABLED"
        assert act("stop") == "ok: Ingestion stopped for sec."
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "STOPPED_INGESTION"
        assert '<td class="status">STOPPED_INGESTION</td>' in c.get("/console/lake").text
        assert act("start") == "ok: Ingestion started for sec."
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "ENABLED"
        assert act("delete") == "error: " + PROTECTED.replace("'", "&#39;")
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "ENABLED"
        assert act("unprotect") == "ok: Termination protection off for sec."
        assert ct.get_event_data_store(EventDataStore=eds_id)["TerminationProtectionEnabled"] is False
        assert act("delete") == "ok: Deleted (pending deletion for 7 days) sec."
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "PENDING_DELETION"
        page = c.get("/console/lake").text
        assert "Create an event data store to query it." in page  # no store left to query
        assert act("restore") == "ok: Restored sec."
        assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "ENABLED"
        r = c.post("/console/lake/stores/action", data={"csrf_token": token, "action": "drop", "store": arn})
        assert r.status_code == 400


def test_query_results_pages_and_csv_are_what_get_query_results_answers(
        lc: LakeConsole, records: list[dict[str, Any]]) -> None:
    with signed_in(lc) as c:
        create_store(c)
        eds_id = store_id(lc, "sec")
        write_store(lc.lake.root, eds_id, records[:120], files=2)
        statement = f"SELECT eventID, eventName, eventTime, userIdentity.arn FROM {eds_id} ORDER BY eventID"
        query_id, first = run_query(c, statement)
        columns, expected = api_rows(lc, query_id)
        assert columns == ["eventID", "eventName", "eventTime", "arn"]
        assert [r[0] for r in expected] == sorted(r["eventID"] for r in records[:120])
        assert '<dd id="query-status">FINISHED</dd>' in first
        assert '<dd id="results-count">120</dd>' in first
        assert '<dd id="events-scanned">120</dd>' in first
        assert '<p class="summary" id="results-summary">Rows 1–50 of 120</p>' in first
        assert table(first) == (columns, expected[:50])
        second = c.get(link(first, "next")).text
        assert table(second) == (columns, expected[50:100])
        assert "Rows 51–100 of 120" in second
        third = c.get(link(second, "next")).text
        assert table(third) == (columns, expected[100:])
        assert "Rows 101–120 of 120" in third and 'rel="next"' not in third
        assert table(c.get(link(third, "prev")).text)[1] == expected[50:100]
        assert table(c.get(link(second, "prev")).text)[1] == expected[:50]

        download = c.get(f"/console/lake/queries/{query_id}/download")
        assert download.headers["content-disposition"] == f'attachment; filename="query-{query_id}.csv"'
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        rows = list(csv.reader(io.StringIO(download.text)))
        assert rows == [columns, *expected]

        lake_page = c.get("/console/lake").text
        recent = lake_page.split('id="recent-queries"', 1)[1]
        assert f'<tr data-query="{query_id}">' in recent
        assert f'<a href="/console/lake/queries/{query_id}"><code>{query_id}</code></a>' in recent
        assert '<td class="status">FINISHED</td>' in recent


def test_csv_download_is_spreadsheet_safe(lc: LakeConsole, records: list[dict[str, Any]]) -> None:
    with signed_in(lc) as c:
        create_store(c)
        eds_id = store_id(lc, "sec")
        write_store(lc.lake.root, eds_id, records[:1], files=1)
        query_id, _ = run_query(c, f"SELECT '=HYPERLINK(\"x\")' AS \"=f\", '+1' AS b, '-2' AS c, '@x' AS d, "
                                   f"'plain' AS e FROM {eds_id}")
        text = c.get(f"/console/lake/queries/{query_id}/download").text
    assert list(csv.reader(io.StringIO(text))) == [["'=f", "b", "c", "d", "e"],
                                                  ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@x", "plain"]]


def test_query_errors_cancel_and_recording(lc: LakeConsole, records: list[dict[str, Any]]) -> None:
    with signed_in(lc) as c:
        create_store(c)
        eds_id = store_id(lc, "sec")
        write_store(lc.lake.root, eds_id, records, files=2)
        token = csrf_of(c.get("/console/lake").text)
        bad = f"SELECT nope FROM {eds_id}"
        r = c.post("/console/lake/queries", data={"csrf_token": token, "statement": bad})
        assert r.status_code == 400
        assert ('<p class="flash error" role="alert" id="query-error">InvalidQueryStatementException: '
                "line 1:8: Column &#39;nope&#39; cannot be resolved</p>") in r.text
        assert f'name="statement" rows="7" spellcheck="false" required>{bad}</textarea>' in r.text
        assert c.post("/console/lake/queries", data={"statement": bad}).status_code == 403

        slow = (f"SELECT count(*) FROM {eds_id} a CROSS JOIN {eds_id} b CROSS JOIN {eds_id} c "
                "WHERE a.eventid < b.eventid")
        r = c.post("/console/lake/queries", data={"csrf_token": token, "statement": slow})
        query_id = QUERY_LINK.match(r.headers["location"]).group(1)  # type: ignore[union-attr]
        running = c.get(r.headers["location"]).text
        assert '<meta http-equiv="refresh" content="1">' in running
        assert re.search(r'<dd id="query-status">(QUEUED|RUNNING)</dd>', running)
        cancel = c.post(f"/console/lake/queries/{query_id}/cancel", data={"csrf_token": token})
        assert cancel.headers["location"] == f"/console/lake/queries/{query_id}"
        page = c.get(cancel.headers["location"]).text
        assert '<p class="flash ok" role="status">Query cancelled.</p>' in page
        assert '<dd id="query-status">CANCELLED</dd>' in page and "http-equiv" not in page
        assert lc.cloudtrail().describe_query(QueryId=query_id)["QueryStatus"] == "CANCELLED"
        again = c.post(f"/console/lake/queries/{query_id}/cancel", data={"csrf_token": token})
        assert "InactiveQueryException" in c.get(again.headers["location"]).text
        missing = c.get("/console/lake/queries/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404 and "QueryIdNotFoundException" in missing.text

    def recorded() -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for name in ("CreateEventDataStore", "StartQuery", "CancelQuery"):
            events = lc.cloudtrail().lookup_events(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
            out[name] = [orjson.loads(e["CloudTrailEvent"]) for e in events]
        return out if all(out.values()) and len(out["StartQuery"]) == len(out["CancelQuery"]) == 2 else {}

    found = lc.wait_for(recorded)
    create = found["CreateEventDataStore"][0]
    assert (create["sessionCredentialFromConsole"], create["userAgent"]) == ("true", "AWS Internal")
    assert create["requestParameters"] == {"name": "sec", "retentionPeriod": 90, "multiRegionEnabled": False,
                                           "terminationProtectionEnabled": True}
    failed, started = sorted(found["StartQuery"], key=lambda r: "errorCode" in r, reverse=True)
    assert (failed["errorCode"], failed["requestParameters"]) == ("InvalidQueryStatementException",
                                                                 {"queryStatement": bad})
    assert started["responseElements"]["queryId"] == query_id
    assert [r.get("errorCode") for r in found["CancelQuery"]] == ["InactiveQueryException", None]  # newest first


def test_sample_queries_and_editing_fill_the_editor(lc: LakeConsole) -> None:
    with signed_in(lc) as c:
        create_store(c)
        eds_id = store_id(lc, "sec")
        page = c.get(f"/console/lake?sample=0&store={eds_id}").text
        assert (f'required>SELECT eventName, count(*) AS n FROM {eds_id}\nGROUP BY eventName\nORDER BY n DESC\n'
                "LIMIT 10</textarea>") in page
        assert ('data-sample="SELECT eventName, count(*) AS n FROM $EDS\nGROUP BY eventName\nORDER BY n DESC\n'
                'LIMIT 10">Events by name</a>') in page
        page = c.get("/console/lake?statement=SELECT+1").text
        assert "required>SELECT 1</textarea>" in page
