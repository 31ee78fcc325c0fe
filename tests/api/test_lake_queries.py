"""Lake queries through boto3 (and the stock AWS CLI) against a real server: StartQuery ->
DescribeQuery until FINISHED -> GetQueryResults paging with exact rows; errors; cancel; timeout;
the sandbox (no file, extension or setting access; no other account's store)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.lake import Lake
from opentrail.lake.queries import RESTART_MESSAGE, QueryManager
from opentrail.lake.query_errors import QueryIdNotFoundException
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.api.conftest import ADMIN_ACCOUNT, OTHER_ACCOUNT, Server
from tests.lake.fakes import FakeStores, load_records, write_store
from tests.serving import serving

EDS = "0233062b-51c6-4d18-8dec-a8c90da840d9"
OTHER_EDS = "11111111-2222-4333-8444-555555555555"
EMPTY_EDS = "99999999-2222-4333-8444-555555555555"
SLOW = f"SELECT count(*) FROM {EDS} a CROSS JOIN {EDS} b CROSS JOIN {EDS} c WHERE a.eventid < b.eventid"


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return load_records()


def _start(tmp_path: Path, records: list[dict[str, Any]], **manager_args: Any) -> Iterator[tuple[Server, QueryManager]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    stores = FakeStores()
    stores.add(EDS)
    stores.add(EMPTY_EDS)
    stores.add(OTHER_EDS, account_id=OTHER_ACCOUNT)
    write_store(data_dir / "lake", EDS, records, files=2)
    write_store(data_dir / "lake", OTHER_EDS, records[:5], files=1)
    manager = QueryManager(data_dir / "lake", stores, data_dir / "lake-results", time.time, **manager_args)
    accounts = AccountStore(data_dir / "accounts.db")
    admin_key = accounts.create_access_key(ADMIN_ACCOUNT)
    store = MemoryEventStore()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=time.time,
                    lake=Lake(stores=stores, queries=manager, root=data_dir / "lake"))
    try:
        with serving(app) as url:
            yield Server(url, accounts, store, time.time, admin_key, data_dir), manager  # type: ignore[arg-type]
    finally:
        manager.close()
        store.close()
        accounts.close()


@pytest.fixture
def lake_server(tmp_path: Path, records: list[dict[str, Any]]) -> Iterator[tuple[Server, QueryManager]]:
    yield from _start(tmp_path, records)


def _wait(client: Any, query_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        out = client.describe_query(QueryId=query_id)
        if out["QueryStatus"] not in ("QUEUED", "RUNNING") or time.time() > deadline:
            return out
        time.sleep(0.02)


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_start_describe_and_page_through_results(lake_server: Any, records: list[dict[str, Any]]) -> None:
    server, _ = lake_server
    client = server.client()
    started = client.start_query(QueryStatement=f"SELECT eventID, eventName, eventTime FROM {EDS} ORDER BY eventID")
    assert started["EventDataStoreOwnerAccountId"] == ADMIN_ACCOUNT
    described = _wait(client, started["QueryId"])
    assert described["QueryStatus"] == "FINISHED"
    stats = described["QueryStatistics"]
    files = sorted((server.data_dir / "lake" / EDS).glob("*.parquet"))
    assert stats["EventsScanned"] == len(records) and stats["EventsMatched"] == len(records)
    assert stats["BytesScanned"] == sum(f.stat().st_size for f in files)
    assert stats["ExecutionTimeInMillis"] >= 0 and stats["CreationTime"].year >= 2024
    expected = [[{"eventID": r["eventID"]}, {"eventName": r["eventName"]},
                 {"eventTime": r["eventTime"].replace("T", " ").replace("Z", ".000")}]
                for r in sorted(records, key=lambda r: r["eventID"])]
    got: list[Any] = []
    token = None
    pages = 0
    while True:
        kwargs = {"QueryId": started["QueryId"], "MaxQueryResults": 700, **({"NextToken": token} if token else {})}
        page = client.get_query_results(**kwargs)
        pages += 1
        assert page["QueryStatus"] == "FINISHED"
        assert page["QueryStatistics"]["TotalResultsCount"] == len(records)
        assert page["QueryStatistics"]["ResultsCount"] == len(page["QueryResultRows"])
        got += page["QueryResultRows"]
        token = page.get("NextToken")
        if not token:
            break
    assert got == expected
    assert pages == -(-len(records) // 700)
    listed = client.list_queries(EventDataStore=EDS)["Queries"]
    assert [q["QueryId"] for q in listed] == [started["QueryId"]] and listed[0]["QueryStatus"] == "FINISHED"
    assert client.list_queries(EventDataStore=EMPTY_EDS)["Queries"] == []


def test_group_by_answers_exact_counts(lake_server: Any, records: list[dict[str, Any]]) -> None:
    server, _ = lake_server
    client = server.client()
    query_id = client.start_query(QueryStatement=f"SELECT eventName, count(*) AS n FROM {EDS} "
                                  "WHERE eventTime > '2023-07-10 00:00:00' GROUP BY eventName ORDER BY n DESC, eventName LIMIT 10")["QueryId"]
    assert _wait(client, query_id)["QueryStatus"] == "FINISHED"
    counts = collections.Counter(r["eventName"] for r in records if r["eventTime"] > "2023-07-10T00:00:00Z")
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert client.get_query_results(QueryId=query_id)["QueryResultRows"] == [
        [{"eventName": name}, {"n": str(n)}] for name, n in top]


def test_empty_store_answers_no_rows(lake_server: Any) -> None:
    client = lake_server[0].client()
    query_id = client.start_query(QueryStatement=f'SELECT eventName FROM "{EMPTY_EDS}"')["QueryId"]
    assert _wait(client, query_id)["QueryStatus"] == "FINISHED"
    out = client.get_query_results(QueryId=query_id)
    assert out["QueryResultRows"] == [] and out["QueryStatistics"]["TotalResultsCount"] == 0


@pytest.mark.parametrize("statement, message", [
    (f"SELECT nope FROM {EDS}", "line 1:8: Column 'nope' cannot be resolved"),
    (f"SELECT\n  foo(eventName) FROM {EDS}", "line 2:3: Function 'foo' not registered"),
    (f"SELECT eventName FROM {EDS} WHERE", "line 1:60: Syntax error at or near 'WHERE'"),
    (f"DELETE FROM {EDS}", "line 1:1: Only SELECT queries are supported (found DELETE)"),
    (f"INSERT INTO {EDS} SELECT * FROM {EDS}", "line 1:1: Only SELECT queries are supported (found INSERT)"),
    ("SELECT * FROM read_csv('/etc/passwd')",
     "line 1:15: Table 'READ_CSV('/etc/passwd')' does not exist; FROM and JOIN name event data store IDs"),
    (f"SELECT * FROM {EDS} CROSS JOIN read_text('/etc/passwd')",
     "line 1:63: Table 'READ_TEXT('/etc/passwd')' does not exist; FROM and JOIN name event data store IDs"),
    (f"SELECT getenv('HOME') FROM {EDS}", "line 1:8: Function 'getenv' not registered"),
    ("COPY (SELECT 1) TO '/tmp/x.csv'", "line 1:1: Only SELECT queries are supported (found COPY)"),
    ("ATTACH '/tmp/x.db'", "line 1:8: Syntax error at or near ''/tmp/x.db'' (Invalid expression / Unexpected token)"),
    ("INSTALL httpfs", "line 1:1: Only SELECT queries are supported (found INSTALL)"),
    ("SET threads = 1", "line 1:1: Only SELECT queries are supported (found SET)"),
    ("PRAGMA database_list", "line 1:1: Only SELECT queries are supported (found PRAGMA)"),
    (f"SELECT 1 FROM {EDS}; DROP TABLE x", "line 1:53: Only one statement is allowed per query"),
    ("SELECT * FROM duckdb_settings()", "line 1:15: Table 'DUCKDB_SETTINGS()' does not exist; FROM and JOIN name event data store IDs"),
    ("SELECT * FROM information_schema.tables",
     "line 1:15: Table 'information_schema.tables' does not exist; FROM and JOIN name event data store IDs"),
])
def test_bad_statements_are_invalid_query_statement(lake_server: Any, statement: str, message: str) -> None:
    client = lake_server[0].client()
    assert _error(client.start_query, QueryStatement=statement) == ("InvalidQueryStatementException", message)


def test_another_accounts_store_is_not_found(lake_server: Any) -> None:
    client = lake_server[0].client()
    code, message = _error(client.start_query, QueryStatement=f"SELECT * FROM {OTHER_EDS}")
    assert (code, message) == ("EventDataStoreNotFoundException",
                               f"The specified event data store {OTHER_EDS} was not found.")
    assert _error(client.list_queries, EventDataStore=OTHER_EDS)[0] == "EventDataStoreNotFoundException"


def test_query_id_errors_and_bad_tokens(lake_server: Any) -> None:
    client = lake_server[0].client()
    unknown = "00000000-0000-4000-8000-000000000000"
    for call in (client.describe_query, client.get_query_results, client.cancel_query):
        assert _error(call, QueryId=unknown) == ("QueryIdNotFoundException",
                                                 "The query ID does not exist or does not map to a query.")
    query_id = client.start_query(QueryStatement=f"SELECT eventName FROM {EDS} LIMIT 3")["QueryId"]
    assert _wait(client, query_id)["QueryStatus"] == "FINISHED"
    assert _error(client.cancel_query, QueryId=query_id)[0] == "InactiveQueryException"
    assert _error(client.get_query_results, QueryId=query_id, NextToken="bogus-token")[0] == "InvalidNextTokenException"
    assert _error(client.list_queries, EventDataStore=EDS, StartTime=2000000000, EndTime=1000000000)[0] == \
        "InvalidDateRangeException"
    assert _error(client.start_query, QueryAlias="dash")[0] == "InvalidParameterException"


def test_cancel_interrupts_a_running_query(lake_server: Any) -> None:
    client = lake_server[0].client()
    query_id = client.start_query(QueryStatement=SLOW)["QueryId"]
    deadline = time.time() + 10
    while client.describe_query(QueryId=query_id)["QueryStatus"] != "RUNNING" and time.time() < deadline:
        time.sleep(0.02)
    cancelled = client.cancel_query(QueryId=query_id)
    assert cancelled == {"QueryId": query_id, "QueryStatus": "CANCELLED", "EventDataStoreOwnerAccountId": ADMIN_ACCOUNT,
                         "ResponseMetadata": cancelled["ResponseMetadata"]}
    started = time.time()
    assert _wait(client, query_id)["QueryStatus"] == "CANCELLED"
    # uncancelled, the triple cross join runs for many minutes; interrupted, it stops within seconds
    # (20 s leaves room for a loaded 2-core machine)
    assert time.time() - started < 20


def test_timeout_and_max_concurrent(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    for server, manager in _start(tmp_path, records, timeout_s=0.5, max_concurrent=1):
        client = server.client()
        query_id = client.start_query(QueryStatement=SLOW)["QueryId"]
        code, message = _error(client.start_query, QueryStatement=f"SELECT 1 FROM {EDS}")
        assert code == "MaxConcurrentQueriesException"
        assert "The maximum number of concurrent queries is 1." in message
        out = _wait(client, query_id)
        assert out["QueryStatus"] == "TIMED_OUT"
        assert client.get_query_results(QueryId=query_id)["QueryResultRows"] == []


def test_results_survive_a_restart(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    stores = FakeStores()
    stores.add(EDS)
    write_store(tmp_path / "lake", EDS, records[:10], files=1)
    first = QueryManager(tmp_path / "lake", stores, tmp_path / "results", time.time)
    query_id = first.start(ADMIN_ACCOUNT, "us-east-1", f"SELECT eventID FROM {EDS} ORDER BY eventID")
    while first.describe(ADMIN_ACCOUNT, query_id).status != "FINISHED":
        time.sleep(0.01)
    first.close()
    second = QueryManager(tmp_path / "lake", stores, tmp_path / "results", time.time)
    try:
        info, rows, token = second.results(ADMIN_ACCOUNT, query_id)
        assert rows == [[r["eventID"]] for r in sorted(records[:10], key=lambda r: r["eventID"])] and token is None
        assert info.status == "FINISHED" and info.column_names == ("eventID",)
        with pytest.raises(QueryIdNotFoundException):
            second.describe(OTHER_ACCOUNT, query_id)
    finally:
        second.close()
    # A query still running when the server was killed is FAILED at the next start (not re-run).
    import sqlite3
    with sqlite3.connect(tmp_path / "results" / "queries.db") as db:
        db.execute("UPDATE queries SET status = 'RUNNING' WHERE id = ?", (query_id,))
    slow = query_id
    third = QueryManager(tmp_path / "lake", stores, tmp_path / "results", time.time)
    try:
        info = third.describe(ADMIN_ACCOUNT, slow)
        assert (info.status, info.error) == ("FAILED", RESTART_MESSAGE)
    finally:
        third.close()


def test_stock_aws_cli_runs_a_query(lake_server: Any, records: list[dict[str, Any]]) -> None:
    server, _ = lake_server
    key = server.admin_key
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def aws(*args: str) -> Any:
        done = subprocess.run(["aws", "--endpoint-url", server.url, "cloudtrail", *args, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    query_id = aws("start-query", "--query-statement", f"SELECT count(*) AS n FROM {EDS}")["QueryId"]
    deadline = time.time() + 20
    while aws("describe-query", "--query-id", query_id)["QueryStatus"] != "FINISHED" and time.time() < deadline:
        time.sleep(0.1)
    assert aws("get-query-results", "--query-id", query_id)["QueryResultRows"] == [[{"n": str(len(records))}]]


def test_store_pending_deletion_is_inactive(lake_server: Any) -> None:
    server, manager = lake_server
    gone = "77777777-2222-4333-8444-555555555555"
    manager.stores.add(gone, status="PENDING_DELETION")
    code, message = _error(server.client().start_query, QueryStatement=f"SELECT * FROM {gone}")
    assert code == "InactiveEventDataStoreException"
    assert message == (f"Event data store arn:aws:cloudtrail:us-east-1:{ADMIN_ACCOUNT}:eventdatastore/{gone} is "
                       "inactive: its status is PENDING_DELETION.")


def test_describe_and_results_answer_when_the_running_query_ends(lake_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """DescribeQuery and GetQueryResults on a running query wait (up to POLL_WAIT_S) for it to end
    and answer its end at once; the manager without a wait answers the status as it is."""
    from opentrail.api import lake_queries

    server, manager = lake_server
    client = server.client()
    monkeypatch.setattr(lake_queries, "POLL_WAIT_S", 30.0)
    for call in ("describe_query", "get_query_results"):
        query_id = client.start_query(QueryStatement=SLOW)["QueryId"]
        deadline = time.time() + 10
        while manager.describe(ADMIN_ACCOUNT, query_id).status != "RUNNING":
            assert time.time() < deadline
            time.sleep(0.01)
        assert manager.describe(ADMIN_ACCOUNT, query_id, wait_s=0.05).status == "RUNNING"
        threading.Timer(0.3, client.cancel_query, kwargs={"QueryId": query_id}).start()
        started = time.time()
        answer = getattr(client, call)(QueryId=query_id)  # one call: it returns once the query ended
        assert answer["QueryStatus"] == "CANCELLED"
        assert 0.25 < time.time() - started < 20
