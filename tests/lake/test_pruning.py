"""A query whose WHERE bounds eventTime reads only the day folders within the bounds, and never
loses a matching row: every statement's answer equals DuckDB's over all of the store's files."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pytest

from opentrail.lake import engine, layout
from opentrail.lake.ingest import write_file
from opentrail.lake.queries import QueryManager
from opentrail.lake.schema import SCHEMA, record_row
from opentrail.lake.sql import translate
from tests.lake.fakes import ACCOUNT, REGION, FakeStores, load_records

EDS = "5a1d0c3e-9f00-4000-8000-00000000d0a5"
DAYS = 5


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QueryManager, Path]]:
    root = tmp_path_factory.mktemp("prune")
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for i, record in enumerate(load_records()[:1500]):
        t = dt.datetime.fromisoformat(record["eventTime"].replace("Z", "")) + dt.timedelta(days=i % DAYS)
        if i % 7 == 0:
            t = t.replace(hour=0, minute=0, second=0)  # rows exactly at midnight
        record = dict(record, eventTime=t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        by_day.setdefault(t.date(), []).append(record)
    for n, (day, records) in enumerate(sorted(by_day.items())):
        table = pa.Table.from_pylist([record_row(r, orjson.dumps(r)) for r in records], schema=SCHEMA)
        write_file(table, layout.day_dir(root / "lake", EDS, day) / layout.file_name(n * 1000 + 1, n * 1000 + 999))
    stores = FakeStores()
    stores.add(EDS)
    manager = QueryManager(root / "lake", stores, root / "results", time.time)
    yield manager, root / "lake"
    manager.close()


def _run(manager: QueryManager, statement: str) -> tuple[list[list[str]], int]:
    query_id = manager.start(ACCOUNT, REGION, statement)
    deadline = time.time() + 20
    while (info := manager.describe(ACCOUNT, query_id)).status in ("QUEUED", "RUNNING"):
        assert time.time() < deadline
        time.sleep(0.01)
    assert info.status == "FINISHED", info.error
    rows: list[list[str]] = []
    token = None
    while True:
        info, page, token = manager.results(ACCOUNT, query_id, 1000, token)
        rows += page
        if token is None:
            return rows, info.events_scanned


def _unpruned(lake_root: Path, statement: str) -> list[tuple[Any, ...]]:
    conn = engine.connect({EDS: layout.data_files(lake_root, EDS)})
    try:
        return conn.sql(translate(statement).sql).fetchall()
    finally:
        conn.close()


STATEMENTS = [
    ("eventTime >= '2023-07-11 00:00:00' AND eventTime < '2023-07-12 00:00:00'", 1),
    ("eventTime > '2023-07-11 00:00:00' AND eventTime <= '2023-07-12 00:00:00'", 2),
    ("eventtime BETWEEN '2023-07-12' AND '2023-07-12 23:59:59.999'", 1),
    ("'2023-07-13 00:00:00' <= eventTime AND eventName <> 'x'", 2),
    ("eventTime < TIMESTAMP '2023-07-11 00:00:00'", 1),
    ("eventTime = '2023-07-12 00:00:00'", 1),
    ("(eventTime >= '2023-07-11T10:00:00' AND (eventTime < '2023-07-11 12:30:00.5'))", 1),
    ("eventTime > '2023-07-13 00:00:00' OR eventName = 'GetUser'", DAYS),
    ("eventTime > '2023-07-13 00:00:00 UTC'", DAYS),
    ("eventTime > '2023-07-30 00:00:00'", 0),
    ("eventName IN (SELECT eventName FROM " + EDS + " WHERE eventTime < '2023-07-11 00:00:00') "
     "AND eventTime >= '2023-07-13 00:00:00'", DAYS),
]


@pytest.mark.parametrize("where,days", STATEMENTS)
def test_pruned_answers_equal_unpruned(lake: tuple[QueryManager, Path], where: str, days: int) -> None:
    manager, lake_root = lake
    statement = f"SELECT eventID, eventTime FROM {EDS} WHERE {where} ORDER BY eventID"
    rows, scanned = _run(manager, statement)
    expected = _unpruned(lake_root, statement)
    assert [r[0] for r in rows] == [r[0] for r in expected]
    per_day = {layout.file_day(lake_root, EDS, p): len(pa.parquet.read_table(p, columns=["eventid"]))
               for p in layout.data_files(lake_root, EDS)}
    assert len(per_day) == DAYS
    assert scanned in {sum(sorted(per_day.values())[i:i + days]) for i in range(DAYS)} | (
        {0} if days == 0 else set()), (scanned, per_day)
    if days == 0:
        assert scanned == 0 and rows == []


def test_bounds_are_found_only_where_they_are_safe() -> None:
    lo, hi = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2, 10, 0, 0, 123000)
    assert translate(f"SELECT * FROM {EDS} e WHERE e.eventtime BETWEEN '2024-01-01' AND '2024-01-02 10:00:00.123'"
                     ).event_time_bounds == (lo, hi)
    assert translate(f"SELECT * FROM {EDS} WHERE eventTime >= '2024-01-01' AND eventTime > '2023-01-01'"
                     ).event_time_bounds == (lo, None)
    assert translate(f"SELECT * FROM {EDS} WHERE eventTime < '2024-01-02' AND eventTime > '2024-01-01'"
                     ).event_time_bounds == (lo + dt.timedelta(microseconds=1), dt.datetime(2024, 1, 1, 23, 59, 59, 999999))
    for where in ["eventTime > '2024-01-01' OR eventName = 'x'", "NOT (eventTime > '2024-01-01')",
                  "eventTime > eventTime", "eventTime > 'yesterday'", "other.eventTime > '2024-01-01'"]:
        assert translate(f"SELECT * FROM {EDS} WHERE {where}").event_time_bounds == (None, None), where
    other = "0b6f2c3e-0000-4000-8000-000000000001"
    assert translate(f"SELECT * FROM {EDS} a JOIN {other} b ON a.eventID = b.eventID "
                     "WHERE a.eventTime > '2024-01-01'").event_time_bounds == (None, None)
    assert translate(f"WITH x AS (SELECT * FROM {EDS}) SELECT * FROM x WHERE eventTime > '2024-01-01'"
                     ).event_time_bounds == (None, None)
