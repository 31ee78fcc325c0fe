"""Import files in a store's layout: never superseded by ingestion's files, left alone by
compaction and crash recovery, rewritten (not lost) by a retention purge of their boundary day."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq

from opentrail.lake import layout
from opentrail.lake.ingest import write_file
from opentrail.lake.schema import record_table

from .ingest_fakes import eds, record
from .test_ingest import drain, env, ids, ingest  # noqa: F401  (env is a fixture)

IMPORT_ID = "6f1b2c3d-0000-4000-8000-000000000001"


def _write_import_file(root: Path, eds_id: str, day: str, n: int, *records: dict) -> Path:  # type: ignore[type-arg]
    y, m, d = (int(x) for x in day.split("-"))
    import datetime as dt

    path = layout.day_dir(root, eds_id, dt.date(y, m, d)) / layout.import_file_name(IMPORT_ID, n)
    write_file(record_table([(r, orjson.dumps(r)) for r in records]), path)
    return path


def test_import_file_names() -> None:
    assert layout.import_file_name(IMPORT_ID, 3) == f"import-{IMPORT_ID}-3.parquet"
    assert layout.parse_import_file_name(f"import-{IMPORT_ID}-3.v2.parquet") == (IMPORT_ID, 3, 2)
    assert layout.parse_import_file_name("1-2.parquet") is None
    assert layout.parse_file_name(f"import-{IMPORT_ID}-3.parquet") is None
    d = Path("/x/2024/05/01")
    files = [d / "1-5.parquet", d / "1-9.v1.parquet", d / f"import-{IMPORT_ID}-0.parquet",
             d / f"import-{IMPORT_ID}-0.v1.parquet", d / f"import-{IMPORT_ID}-1.parquet",
             Path("/x/2024/05/02") / f"import-{IMPORT_ID}-0.v2.parquet"]
    assert layout.superseded(files) == {d / "1-5.parquet", d / f"import-{IMPORT_ID}-0.parquet"}


def test_ingestion_keeps_import_files_and_retention_rewrites_them(env) -> None:  # type: ignore[no-untyped-def]
    store = env.stores.put(eds(retention_period_days=30))
    w = env.worker(compact_min_files=2, compact_every_s=0.0)
    w.run_once()
    old = record(time="2024-03-01T00:00:00Z")  # past the retention
    boundary = [record(time="2024-04-01T00:00:00Z"), record(time="2024-04-01T23:00:00Z")]
    kept = record(time="2024-04-30T12:00:00Z")
    _write_import_file(env.root, store.id, "2024-03-01", 0, old)
    b = _write_import_file(env.root, store.id, "2024-04-01", 1, *boundary)
    _write_import_file(env.root, store.id, "2024-04-30", 2, kept)
    live = ingest(env.events, record(time="2024-04-30T13:00:00Z"), record(time="2024-04-30T14:00:00Z"))
    drain(w, env.events)
    assert w.compact_once() is False  # import files are not merged
    w.close()
    env.worker()  # crash recovery on start leaves import files alone
    # cutoff 2024-04-01T21:46:40Z: the 03-01 file goes, the 04-01 file is rewritten with its later row
    w.purge(env.clock.now)
    assert ids(env.root, store.id) == sorted([boundary[1]["eventID"], kept["eventID"], *live])
    names = sorted(p.name for p in layout.data_files(env.root, store.id))
    assert f"import-{IMPORT_ID}-1.v1.parquet" in names and f"import-{IMPORT_ID}-2.parquet" in names
    assert not b.exists()
    assert pq.read_table(b.with_name(f"import-{IMPORT_ID}-1.v1.parquet")).num_rows == 1
