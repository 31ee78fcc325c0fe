"""Lake query state (``lake-results/queries.db``: :class:`QueryManager`'s metadata and result
pages) on both state backends (``state_dir``: SQLite and PostgreSQL); on PostgreSQL, two managers on
one state_dir standing in for two nodes: a query started through one is described, listed, read and
cancelled through the other, and a node that stops leaves no query RUNNING for ever."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.lake import queries as Q
from opentrail.lake.queries import RESTART_MESSAGE, QueryManager
from opentrail.lake.query_errors import InvalidNextTokenException, QueryIdNotFoundException
from opentrail.state_db import open_state_db
from tests.lake.conftest import Clock
from tests.lake.fakes import ACCOUNT, OTHER_ACCOUNT, REGION, FakeStores, load_records, write_store

EDS = "0233062b-51c6-4d18-8dec-a8c90da840d9"
RESULTS = "lake-results"
#: Runs for minutes over 25 events (nothing to optimize away: every 6-tuple is concatenated).
SLOW = (f"SELECT count(*) FROM {EDS} a, {EDS} b, {EDS} c, {EDS} d, {EDS} e, {EDS} f "
        "WHERE a.eventid || b.eventid || c.eventid || d.eventid || e.eventid || f.eventid > 'a'")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return sorted(load_records()[:25], key=lambda r: r["eventID"])


@pytest.fixture
def lake(state_dir: Path, records: list[dict[str, Any]]) -> tuple[Path, FakeStores]:
    stores = FakeStores()
    stores.add(EDS)
    write_store(state_dir / "lake", EDS, records, files=2)
    return state_dir, stores


def _manager(state_dir: Path, stores: FakeStores, clock: Any = time.time) -> QueryManager:
    return QueryManager(state_dir / "lake", stores, state_dir / RESULTS, clock)


def _ended(manager: QueryManager, query_id: str, timeout: float = 30.0) -> Q.QueryInfo:
    deadline = time.monotonic() + timeout
    info = manager.describe(ACCOUNT, query_id)
    while info.status in Q.ACTIVE and time.monotonic() < deadline:
        time.sleep(0.02)
        info = manager.describe(ACCOUNT, query_id)
    return info


def _running(manager: QueryManager, query_id: str) -> None:
    deadline = time.monotonic() + 30
    while manager.describe(ACCOUNT, query_id).status != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert manager.describe(ACCOUNT, query_id).status == "RUNNING"


def test_query_state_methods(lake: tuple[Path, FakeStores], records: list[dict[str, Any]]) -> None:
    state_dir, stores = lake
    clock = Clock(1_700_000_000.0)
    manager = _manager(state_dir, stores, clock)
    try:
        query_id = manager.start(ACCOUNT, REGION, f"SELECT eventID, eventName FROM {EDS} ORDER BY eventID")
        info = _ended(manager, query_id)
        assert (info.status, info.results_count, info.column_names, info.store_ids, info.error) == (
            "FINISHED", 25, ("eventID", "eventName"), (EDS,), None)
        assert (info.creation_time, info.completion_time, info.events_scanned) == (clock.now, clock.now, 25)
        expected = [[r["eventID"], r["eventName"]] for r in records]
        _, page1, token = manager.results(ACCOUNT, query_id, max_results=10)
        _, page2, token2 = manager.results(ACCOUNT, query_id, max_results=10, next_token=token)
        _, page3, token3 = manager.results(ACCOUNT, query_id, max_results=10, next_token=token2)
        assert (page1 + page2 + page3, token3) == (expected, None)
        assert [q.id for q in manager.list(ACCOUNT, EDS)] == [query_id]
        with pytest.raises(QueryIdNotFoundException):
            manager.describe(OTHER_ACCOUNT, query_id)
        with pytest.raises(InvalidNextTokenException):
            manager.results(ACCOUNT, query_id, next_token="bm90IGEgdG9rZW4=")
        clock.now += Q.KEEP_S + 1
        assert manager.purge() == [query_id]
        with pytest.raises(QueryIdNotFoundException):
            manager.describe(ACCOUNT, query_id)
    finally:
        manager.close()


def test_results_of_more_than_one_page(lake: tuple[Path, FakeStores], monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir, stores = lake
    monkeypatch.setattr(Q, "PAGE_ROWS", 4)  # 25 rows: pages of 4, the last one partial
    manager = _manager(state_dir, stores)
    try:
        query_id = manager.start(ACCOUNT, REGION, f"SELECT eventID FROM {EDS} ORDER BY eventID")
        assert _ended(manager, query_id).results_count == 25
        every = list(manager._iter_rows(query_id, 25))
        _, middle, _ = manager.results(ACCOUNT, query_id, max_results=3, next_token=Q._encode_token(query_id, 6))
        assert middle == every[6:9] and len(every) == 25 and len({r[0] for r in every}) == 25
    finally:
        manager.close()


def test_a_query_survives_a_restart_and_one_left_running_fails(lake: tuple[Path, FakeStores]) -> None:
    state_dir, stores = lake
    first = _manager(state_dir, stores)
    kept = first.start(ACCOUNT, REGION, f"SELECT count(*) FROM {EDS}")
    killed = first.start(ACCOUNT, REGION, f"SELECT count(*) FROM {EDS}")
    assert (_ended(first, kept).status, _ended(first, killed).status) == ("FINISHED", "FINISHED")
    first.close()
    # as a node killed while ``killed`` ran leaves it: RUNNING, and the node's heartbeat stale
    db = open_state_db(state_dir / RESULTS / "queries.db")
    db.execute("UPDATE queries SET status = 'RUNNING', completion_time = NULL WHERE id = ?", (killed,))
    db.execute("INSERT INTO query_nodes (node_id, seen) VALUES (?, ?)", (first.node_id, time.time() - 60))
    db.close()
    second = _manager(state_dir, stores)
    try:
        assert second.results(ACCOUNT, kept)[1] == [["25"]]
        info = second.describe(ACCOUNT, killed)
        assert (info.status, info.error) == ("FAILED", RESTART_MESSAGE)
    finally:
        second.close()


@pytest.mark.parametrize("state_backend", ["postgres"])
def test_a_query_started_on_one_node_is_read_on_another(lake: tuple[Path, FakeStores],
                                                        records: list[dict[str, Any]]) -> None:
    state_dir, stores = lake
    node_a, node_b = _manager(state_dir, stores), _manager(state_dir, stores)
    try:
        query_id = node_a.start(ACCOUNT, REGION, f"SELECT eventID FROM {EDS} ORDER BY eventID")
        info = _ended(node_b, query_id)
        assert (info.status, info.results_count, info.owner) == ("FINISHED", 25, node_a.node_id)
        _, rows, token = node_b.results(ACCOUNT, query_id, max_results=20)
        _, rest, end = node_b.results(ACCOUNT, query_id, next_token=token)
        assert (rows + rest, end) == ([[r["eventID"]] for r in records], None)
        assert [q.id for q in node_b.list(ACCOUNT, EDS)] == [query_id]
        assert not (state_dir / RESULTS / query_id).exists()  # in the shared table, not a node's disk
    finally:
        node_a.close()
        node_b.close()


@pytest.mark.parametrize("state_backend", ["postgres"])
def test_cancel_through_another_node_and_a_node_that_dies(lake: tuple[Path, FakeStores],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir, stores = lake
    monkeypatch.setattr(Q, "CANCEL_POLL_S", 0.1)
    clock = Clock(time.time())
    node_a, node_b = _manager(state_dir, stores, clock), _manager(state_dir, stores, clock)
    try:
        slow = node_a.start(ACCOUNT, REGION, SLOW)
        _running(node_b, slow)
        assert node_b.cancel(ACCOUNT, slow).status == "CANCELLED"
        deadline = time.monotonic() + 10
        while slow in node_a._runs and time.monotonic() < deadline:  # node A interrupts it
            time.sleep(0.02)
        assert slow not in node_a._runs
        assert node_a.describe(ACCOUNT, slow).status == "CANCELLED"

        clock.now += 1
        dying = node_a.start(ACCOUNT, REGION, SLOW)
        _running(node_b, dying)
        node_a._closing.set()  # node A stops beating (as a killed process would)
        node_a._heartbeat.join()  # type: ignore[union-attr]
        clock.now += Q.NODE_TIMEOUT_S - 1
        assert node_b.describe(ACCOUNT, dying).status == "RUNNING"
        clock.now += 2
        info = node_b.describe(ACCOUNT, dying)
        assert (info.status, info.error) == ("FAILED", RESTART_MESSAGE)
        assert [q.status for q in node_b.list(ACCOUNT, EDS)] == ["FAILED", "CANCELLED"]
    finally:
        node_a.close()
        node_b.close()


class _SlowCount:
    """A state connection whose count of active queries takes 0.2 s: every node has counted before
    any inserts unless the count and the insert are one write transaction (then the others wait)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        cursor = self._conn.execute(sql, *args)
        if sql.lower().startswith("select count(*)") and "status in ('queued', 'running')" in sql.lower():
            time.sleep(0.2)
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize("state_backend", ["postgres"])
def test_queries_started_at_once_on_two_nodes_stop_at_the_concurrency_limit(lake: tuple[Path, FakeStores],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.state_backends import outcomes, race

    state_dir, stores = lake
    monkeypatch.setattr(Q, "CANCEL_POLL_S", 0.1)
    nodes = [_manager(state_dir, stores), _manager(state_dir, stores)]
    for node in nodes:
        node.max_concurrent = 2
        node._db = _SlowCount(node._db)  # type: ignore[assignment]
    try:
        results = race([lambda i=i: nodes[i % 2].start(ACCOUNT, REGION, SLOW) for i in range(6)])
        assert outcomes(results) == ["MaxConcurrentQueriesException: You are already running the maximum number of "
                                     "concurrent queries. The maximum number of concurrent queries is 2. Wait a minute "
                                     "for some queries to finish, and then run the query again."] * 4 + ["ok"] * 2
        for query_id in [r for r in results if isinstance(r, str)]:
            assert nodes[0].cancel(ACCOUNT, query_id).status == "CANCELLED"
    finally:
        for node in nodes:
            node.close()
