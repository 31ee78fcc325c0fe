"""Lake imports' state (``lake-imports.db``: :class:`ImportState` and the operations of
:class:`ImportManager` over it) and Lake ingestion's state (``lake-ingest.db``: :class:`IngestState`)
on both state backends (``state_dir``: SQLite and PostgreSQL), including two objects on one
state_dir standing in for two nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from opentrail.lake.imports import (IMPORTS_DB, AccountHasOngoingImportException, ImportFailure, ImportInfo,
                                    ImportManager, ImportNotFoundException, ImportState)
from opentrail.lake.ingest import IngestState
from opentrail.lake.objectfiles import INGEST_DB
from opentrail.lake.service import EventDataStoreService, StoreSettings
from opentrail.objectstore import LocalFolderStorage

ACCOUNT = "111122223333"
REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/import"
SOURCE = {"S3": {"S3LocationUri": "s3://trail-bucket/logs", "S3BucketRegion": REGION, "S3BucketAccessRoleArn": ROLE}}


def test_import_state_transaction_and_guard(state_dir: Path) -> None:
    first, second = ImportState(state_dir / IMPORTS_DB), ImportState(state_dir / IMPORTS_DB)
    try:
        insert = ("INSERT INTO imports (id, account_id, region, destination, eds_id, s3_uri, bucket_region, role_arn,"
                  " status, created, updated) VALUES (?, ?, ?, 'd', 'e', 's3://b', ?, ?, 'INITIALIZING', ?, ?)")
        ongoing = ("SELECT 1 FROM imports WHERE account_id = ? AND status IN ('INITIALIZING', 'IN_PROGRESS')",
                   (ACCOUNT,))
        assert first.transaction([(insert, ("i1", ACCOUNT, REGION, REGION, ROLE, 1.5, 1.5)),
                                  ("INSERT INTO files (import_id, key, status, updated) VALUES ('i1', 'k', 'COMPLETED', 2.0)",
                                   ())], unless=ongoing) is True
        # the other node sees the ongoing import inside its own transaction: nothing written
        assert second.transaction([(insert, ("i2", ACCOUNT, REGION, REGION, ROLE, 3.0, 3.0))], unless=ongoing) is False
        assert second.execute("SELECT id, status, created, prefixes_found FROM imports ORDER BY id") == [
            ("i1", "INITIALIZING", 1.5, 0)]
        assert first.execute("SELECT import_id, key, status, error_type, updated FROM files") == [
            ("i1", "k", "COMPLETED", None, 2.0)]
        with pytest.raises(Exception):  # all or nothing: the duplicate key rolls the first insert back
            second.transaction([("UPDATE imports SET status = 'FAILED' WHERE id = 'i1'", ()),
                                (insert, ("i1", ACCOUNT, REGION, REGION, ROLE, 4.0, 4.0))])
        assert first.execute("SELECT status FROM imports") == [("INITIALIZING",)]
    finally:
        first.close()
        second.close()


@pytest.fixture
def managers(state_dir: Path) -> Iterator[tuple[ImportManager, ImportManager]]:
    storage = LocalFolderStorage(state_dir / "buckets")
    storage.create_bucket("trail-bucket")
    clock = lambda: 1500.0  # noqa: E731
    stores = EventDataStoreService(state_dir, clock)
    stores.create(ACCOUNT, REGION, StoreSettings(name="target"))
    first = ImportManager(state_dir, state_dir / "lake", stores, storage, clock)
    second = ImportManager(state_dir, state_dir / "lake", stores, storage, clock)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
        stores.close()


def test_imports_through_two_nodes(managers: tuple[ImportManager, ImportManager]) -> None:
    first, second = managers  # their import threads are not started: only the state is exercised
    eds = first._stores.all()[0]
    made = first.start_import(ACCOUNT, REGION, [eds.arn], SOURCE, 10.0, 20.0, None)
    assert made == ImportInfo(made.id, ACCOUNT, REGION, eds.arn, eds.id, "s3://trail-bucket/logs", REGION, ROLE,
                              10.0, 20.0, "INITIALIZING", 1500.0, 1500.0, 0, 0, 0, 0, 0)
    assert second.get(ACCOUNT, made.id) == made
    with pytest.raises(AccountHasOngoingImportException):
        second.start_import(ACCOUNT, REGION, [eds.arn], SOURCE, None, None, None)
    stopped = second.stop_import(ACCOUNT, made.id)
    assert (stopped.status, first.get(ACCOUNT, made.id).status) == ("STOPPED", "STOPPED")
    second._fail(made.id, "logs/AWSLogs/x.json.gz", "ReadError", "cannot read")
    assert first.failures(ACCOUNT, made.id) == [ImportFailure(
        "s3://trail-bucket/logs/AWSLogs/x.json.gz", "FAILED", "ReadError", "cannot read", 1500.0)]
    retried = first.start_import(ACCOUNT, REGION, None, None, None, None, made.id)
    assert (retried.status, retried.failed_entries) == ("INITIALIZING", 0)
    assert [i.id for i in second.list(ACCOUNT, REGION, status="INITIALIZING")] == [made.id]
    assert second.list(ACCOUNT, REGION, destination="arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/x") == []
    with pytest.raises(ImportNotFoundException):
        second.get("444455556666", made.id)


def test_ingest_state(state_dir: Path) -> None:
    first, second = IngestState(state_dir / INGEST_DB), IngestState(state_dir / INGEST_DB)
    try:
        assert (first.cursors(), first.start_seqs()) == ({0: 0, 1: 0, 2: 0, 3: 0}, {})
        first.set_cursors({0: 41, 2: 41})
        first.set_cursors({0: 42})
        second.set_cursors({3: 7})  # another node's shard
        first.add_store("a", 7)
        first.add_store("a", 9)  # the first start seq stays
        second.add_store("b", 8)
        assert (second.cursors(), second.start_seqs()) == ({0: 42, 1: 0, 2: 41, 3: 7}, {"a": 7, "b": 8})
        second.forget_store("a")
        assert first.start_seqs() == {"b": 8}
    finally:
        first.close()
        second.close()


def test_an_ingest_state_with_one_cursor_gives_it_to_every_shard(state_dir: Path) -> None:
    """``lake-ingest.db`` of a release before the shards (one cursor, script 0001 only): script 0002
    starts every shard's cursor there, so no store takes an event twice or misses one."""
    from opentrail.state_db import open_state_db
    from opentrail.state_migrate import apply_schema
    from opentrail.sql_files import scripts

    conn = open_state_db(state_dir / INGEST_DB)
    try:
        apply_schema(conn, "opentrail.lake", "ingest", scripts=[s for s in scripts("opentrail.lake", "sql", "ingest")
                                                                 if s.version == 1])
        conn.execute("INSERT INTO cursor (id, seq) VALUES (1, 1234)")
        conn.execute("INSERT INTO stores (eds_id, start_seq) VALUES ('a', 5)")
    finally:
        conn.close()
    state = IngestState(state_dir / INGEST_DB)
    try:
        assert (state.cursors(), state.start_seqs()) == ({0: 1234, 1: 1234, 2: 1234, 3: 1234}, {"a": 5})
    finally:
        state.close()
