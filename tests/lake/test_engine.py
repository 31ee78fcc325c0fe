"""engine.connect with connections prepared ahead (spares): each is used once and is as locked
down as one opened on the spot."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from opentrail.lake import engine
from opentrail.lake.ingest import write_file
from opentrail.lake.schema import SCHEMA, record_row

EDS = "7e57e57e-0000-4000-8000-00000000e761"


def _file(folder: Path, name: str, event_name: str) -> Path:
    record = {"eventName": event_name, "eventTime": "2024-05-01T10:00:00Z"}
    path = folder / name
    write_file(pa.Table.from_pylist([record_row(record, orjson.dumps(record))], schema=SCHEMA), path)
    return path


def _wait_for_spares() -> None:
    engine.prepare_spares()
    deadline = time.time() + 20
    while len(engine._spares._ready) < engine._Spares.SPARES and time.time() < deadline:
        time.sleep(0.02)
    assert len(engine._spares._ready) == engine._Spares.SPARES


def test_spare_connections_are_locked_down_and_used_once(tmp_path: Path) -> None:
    mine = _file(tmp_path / "store", "1-1.parquet", "Mine")
    other = _file(tmp_path / "other", "1-1.parquet", "Other")
    _wait_for_spares()
    first = engine.connect({EDS: [mine]})
    second = engine.connect({EDS: []})
    try:
        assert first.sql(f'SELECT eventname FROM "{EDS}"').fetchall() == [("Mine",)]
        assert second.sql(f'SELECT count(*) FROM "{EDS}"').fetchall() == [(0,)]  # not the first's view
        assert first.sql("SELECT ot_slice([1, 2, 3], 2, 1)").fetchall() == [([2],)]  # the macros
        for statement in (f"SELECT * FROM read_parquet('{other}')", "SELECT * FROM read_csv('/etc/passwd')",
                          "SET enable_external_access = true", "SET threads = 4",
                          f"SET allowed_paths = ['{other}']"):
            with pytest.raises(duckdb.Error):
                first.sql(statement).fetchall()
    finally:
        first.close()
        second.close()
    engine.prepare_spares()


def test_connect_without_spares_prepares_one(tmp_path: Path) -> None:
    mine = _file(tmp_path, "1-1.parquet", "Mine")
    with engine._spares._lock:
        taken, engine._spares._ready = engine._spares._ready, []
    for conn in taken:
        conn.close()
    conn = engine.connect({EDS: [mine]}, threads=1)
    try:
        assert conn.sql(f'SELECT eventname FROM "{EDS}"').fetchall() == [("Mine",)]
        with pytest.raises(duckdb.Error):
            conn.sql("SET threads = 2").fetchall()
    finally:
        conn.close()


def test_memory_limit_applies_and_work_beyond_it_spills_to_disk(tmp_path: Path) -> None:
    mine = _file(tmp_path / "store", "1-1.parquet", "Mine")
    spill = tmp_path / "spill"
    conn = engine.connect({EDS: [mine]}, memory_limit_mb=64, spill_dir=spill)
    try:
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == ("61.0 MiB",)
        # an aggregation of ~6M groups needs far more than 64 MiB: it finishes by spilling
        big = "SELECT count(*) FROM (SELECT i % 3000000 AS k, count(*), max(repeat('x', 50)) FROM range(6000000) t(i) GROUP BY k)"
        assert conn.execute(big).fetchone() == (3000000,)
        assert [p.name.startswith("duckdb_temp") for p in spill.iterdir()] == [True]
        with pytest.raises(duckdb.Error):  # still locked down
            conn.execute("SET memory_limit = '8GB'")
    finally:
        conn.close()


def test_check_reuses_one_locked_down_connection_across_stores_and_errors(tmp_path: Path) -> None:
    """engine.check binds against empty stores on one kept connection: each store ID gets its view,
    a bad statement is explained and leaves the next check working, and the connection reads no
    file and takes no setting."""
    from opentrail.lake.query_errors import InvalidQueryStatementException

    other = "7e57e57e-0000-4000-8000-00000000e762"
    secret = _file(tmp_path, "1-1.parquet", "Secret")
    assert engine.check("q", f'SELECT eventname, count(*) AS n FROM "{EDS}" GROUP BY 1', (EDS,)) == ["eventname", "n"]
    assert engine.check("q", f'SELECT a.eventid FROM "{EDS}" a JOIN "{other}" b USING (eventid)', (EDS, other)) == ["eventid"]
    conn = engine._checker._conn
    with pytest.raises(InvalidQueryStatementException) as raised:
        engine.check("SELECT nosuch FROM x", f'SELECT nosuch FROM "{EDS}"', (EDS,))
    assert raised.value.message == "line 1:8: Column 'nosuch' cannot be resolved"
    assert engine.check("q", f'SELECT count(*) AS c FROM "{other}"', (other,)) == ["c"]
    assert engine._checker._conn is not conn  # started again after the error
    for statement in (f"SELECT * FROM read_parquet('{secret}')", "SET threads = 4"):
        with pytest.raises(InvalidQueryStatementException):
            engine.check(statement, statement, ())


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux: threads' nice values in /proc")
def test_spares_are_prepared_at_low_priority_but_queries_run_at_normal_priority(tmp_path: Path) -> None:
    """The spare-filling thread runs at nice 19; DuckDB starts a connection's threads only when
    the query takes it, from the query's thread, so no thread the query uses inherits that."""
    mine = _file(tmp_path, "1-1.parquet", "Mine")
    _wait_for_spares()
    while engine._spares._filling:
        time.sleep(0.01)

    def nice_values() -> set[int]:
        tasks = Path("/proc/self/task")
        return {int((t / "stat").read_text().rsplit(")", 1)[1].split()[16]) for t in tasks.iterdir()}

    conn = engine.connect({EDS: [mine]})
    try:
        assert conn.sql("SELECT current_setting('threads') > 0").fetchall() == [(True,)]
        assert conn.sql(f'SELECT eventname FROM "{EDS}"').fetchall() == [("Mine",)]
        assert 19 not in nice_values()
    finally:
        conn.close()
