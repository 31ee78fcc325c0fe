"""The state databases' shared plumbing (opentrail/state_db.py): one immediate transaction, all or
nothing, a full disk named as such; read-only connections per thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from opentrail.state_db import ThreadReaders, immediate_transaction, open_state_db, write_statements
from opentrail.store.errors import DataDirectoryFullError

INSERT = "INSERT INTO t (v) VALUES (?)"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = open_state_db(tmp_path / "state" / "s.db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    return db


def rows(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return conn.execute("SELECT id, v FROM t ORDER BY id").fetchall()


def test_statements_commit_together_and_answer_their_rowids(conn: sqlite3.Connection) -> None:
    assert write_statements(conn, [(INSERT, ("a",)), (INSERT, ("b",)), ("DELETE FROM t WHERE v = :v", {"v": "a"})]) \
        == [1, 2, 2]
    assert rows(conn) == [(2, "b")]
    assert conn.in_transaction is False


def test_a_failing_statement_rolls_back_the_ones_before_it(conn: sqlite3.Connection) -> None:
    write_statements(conn, [(INSERT, ("a",))])
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: t.v"):
        write_statements(conn, [(INSERT, ("b",)), (INSERT, ("a",))], full_dir=Path("/unused"))
    assert rows(conn) == [(1, "a")]
    assert conn.in_transaction is False


def test_a_full_database_is_a_data_directory_full_error_naming_the_directory(conn: sqlite3.Connection,
                                                                             tmp_path: Path) -> None:
    write_statements(conn, [(INSERT, ("a",))])
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as a full filesystem answers
    with pytest.raises(DataDirectoryFullError) as info:
        write_statements(conn, [(INSERT, ("b",)), (INSERT, ("c" * 100_000,))], full_dir=tmp_path / "state")
    assert info.value.directory == tmp_path / "state"
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert str(info.value.__cause__) == "database or disk is full"
    with pytest.raises(sqlite3.OperationalError, match="^database or disk is full$"):  # without full_dir: as it is
        write_statements(conn, [(INSERT, ("c" * 100_000,))])
    conn.execute(f"PRAGMA max_page_count = {pages * 100}")  # space again: the same write goes through
    assert write_statements(conn, [(INSERT, ("b",))]) == [2]
    assert rows(conn) == [(1, "a"), (2, "b")]


def test_a_block_that_rolls_back_itself_commits_nothing(conn: sqlite3.Connection) -> None:
    with immediate_transaction(conn) as db:
        db.execute(INSERT, ("a",))
        db.execute("ROLLBACK")
    with immediate_transaction(conn) as db:
        db.execute(INSERT, ("b",))
    assert rows(conn) == [(1, "b")]


def test_readers_are_one_per_thread_read_only_and_see_the_last_commit(conn: sqlite3.Connection,
                                                                      tmp_path: Path) -> None:
    readers = ThreadReaders(tmp_path / "state" / "s.db")
    mine = readers.connection()
    assert readers.connection() is mine
    assert mine.execute("SELECT count(*) FROM t").fetchone() == (0,)
    write_statements(conn, [(INSERT, ("a",))])
    assert mine.execute("SELECT v FROM t").fetchall() == [("a",)]
    with pytest.raises(sqlite3.OperationalError, match="attempt to write a readonly database"):
        mine.execute(INSERT, ("b",))
    other: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: other.append(readers.connection()))
    thread.start()
    thread.join()
    assert other[0] is not mine
    readers.close()
    for closed in (mine, other[0]):
        with pytest.raises(sqlite3.ProgrammingError, match="Cannot operate on a closed database."):
            closed.execute("SELECT 1")
