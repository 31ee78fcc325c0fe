"""The versioned schemas of the state stores (:mod:`opentrail.state_migrate`), on SQLite and on
PostgreSQL (``state_dir``): databases made by the code before versioned scripts (commit 3e74231,
its DDL captured in :mod:`tests.state_schemas_3e74231`) open with every row and column kept and
their versions recorded; a new database gets the same tables as that code made; several
processes or nodes opening one database together apply each script once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opentrail.auth.accounts import AccountStore
from opentrail.sql_files import SchemaTooNewError, Script, scripts
from opentrail.state_db import open_state_db
from opentrail.state_migrate import VERSIONS_TABLE, apply_schema, applied_versions, statements
from tests.state_backends import race
from tests.state_schemas_3e74231 import ACCOUNTS_BEFORE_SEQ, OLD_ADDED_COLUMNS, OLD_DDL

#: Every state store component: (package, script folder).
COMPONENTS = {name: ("opentrail." + name.rsplit("/", 1)[0].replace("/", ".") if "/" in name else "opentrail",
                     name.rsplit("/", 1)[-1]) for name in OLD_DDL}
ACCOUNT = "123456789012"
#: Tables new scripts added after 3e74231 (component -> table names): not in its DDL.
ADDED_TABLES = {"lake/ingest": {"shard_cursors"}, "insights/counts": {"shard_cursors"}}
#: Columns new scripts added after 3e74231 (component -> the scripts' statements), applied to its DDL.
ADDED_COLUMNS = {"eventbridge/bus": ["ALTER TABLE outbox ADD COLUMN shard INTEGER NOT NULL DEFAULT -1"]}


def _versions(component: str) -> set[int]:
    package, folder = COMPONENTS[component]
    return {s.version for s in scripts(package, "sql", folder)}


def _declared(ddl: str) -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, declared type)] of ``ddl``, tables in creation order (SQLite in memory)."""
    mem = sqlite3.connect(":memory:")
    mem.executescript(ddl)
    tables = [r[0] for r in mem.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    return {t: [(r[1], r[2].upper()) for r in mem.execute(f"PRAGMA table_info({t})")] for t in tables}


def _value(column: str, declared: str) -> object:
    if "INT" in declared:
        return 1
    if "REAL" in declared:
        return 1.5
    if "BLOB" in declared:
        return b"\x00x"
    return "x"


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _make_old(data_dir: Path, component: str, *, added: bool) -> dict[str, tuple[list[str], tuple[object, ...]]]:
    """The database of ``component`` as the old code left it (its DDL, and with ``added`` its
    add-column upgrades), one row in each table; returns table -> (columns, the row)."""
    file, ddl = OLD_DDL[component]
    conn = open_state_db(data_dir / file)
    try:
        conn.executescript(ddl)
        if added:
            for alter in OLD_ADDED_COLUMNS.get(component, []):
                table, column = alter.split()[2], alter.split()[5]
                if column not in _columns(conn, table):
                    conn.execute(alter)
        rows = {}
        for table in _declared(ddl):
            cols = _columns(conn, table)
            declared = dict(_declared_all(conn, table, ddl))
            row = tuple(_value(c, declared.get(c, "TEXT")) for c in cols)
            conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", row)
            rows[table] = (cols, row)
        return rows
    finally:
        conn.close()


def _declared_all(conn: sqlite3.Connection, table: str, ddl: str) -> list[tuple[str, str]]:
    """Declared types of ``table``'s columns: those of the DDL and those the upgrades added."""
    found = dict(_declared(ddl)[table])
    for alters in OLD_ADDED_COLUMNS.values():
        for alter in alters:
            words = alter.split()
            if words[2] == table:
                found.setdefault(words[5], words[6].upper())
    return list(found.items())


def _fresh_columns(component: str) -> dict[str, list[str]]:
    """table -> columns of a new SQLite database made by the scripts alone."""
    package, folder = COMPONENTS[component]
    mem = sqlite3.connect(":memory:", isolation_level=None)
    apply_schema(mem, package, folder)
    return {t: _columns(mem, t) for t in _declared(OLD_DDL[component][1])}


@pytest.mark.parametrize("added", [True, False], ids=["as-3e74231-made-it", "before-its-added-columns"])
def test_databases_made_before_versions_open_with_every_row(state_dir: Path, added: bool) -> None:
    made = {c: _make_old(state_dir, c, added=added) for c in OLD_DDL}
    for component, tables in made.items():
        package, folder = COMPONENTS[component]
        conn = open_state_db(state_dir / OLD_DDL[component][0])
        try:
            assert apply_schema(conn, package, folder) == sorted(_versions(component))
            assert applied_versions(conn, component) == _versions(component)
            assert apply_schema(conn, package, folder) == []  # the next open: nothing to do
            fresh = _fresh_columns(component)
            for table, (cols, row) in tables.items():
                assert _columns(conn, table) == fresh[table], (component, table)
                got = conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
                assert [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in got] == [row]
        finally:
            conn.close()


def test_a_new_database_gets_the_tables_and_indexes_the_old_code_made() -> None:
    """SQLite's catalog of a database made by the scripts equals that of one made by 3e74231 (DDL
    and add-column upgrades), apart from the versions table."""
    for component, (_, ddl) in OLD_DDL.items():
        old = sqlite3.connect(":memory:", isolation_level=None)
        old.executescript(ddl)
        for alter in OLD_ADDED_COLUMNS.get(component, []):  # those missing, as 3e74231 did
            if alter.split()[5] not in _columns(old, alter.split()[2]):
                old.execute(alter)
        for alter in ADDED_COLUMNS.get(component, []):
            old.execute(alter)
        new = sqlite3.connect(":memory:", isolation_level=None)
        apply_schema(new, *COMPONENTS[component])
        catalog = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE ? ORDER BY name"
        versions = f"%{VERSIONS_TABLE}%"
        added = ADDED_TABLES.get(component, set())
        assert {r[0] for r in new.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= added
        assert ([(*r[:3], " ".join((r[3] or "").split())) for r in new.execute(catalog, (versions,)) if r[2] not in added]
                == [(*r[:3], " ".join((r[3] or "").split())) for r in old.execute(catalog, (versions,))]), component


def test_an_accounts_database_from_before_seq_opens_with_its_keys(state_dir: Path, state_backend: str) -> None:
    """accounts.db of a release before the key columns: AccountStore adds them (script 0002), and on
    SQLite fills ``seq`` from rowid (0003, sqlite-only; recorded on PostgreSQL without running)."""
    conn = open_state_db(state_dir / "accounts.db")
    conn.executescript(ACCOUNTS_BEFORE_SEQ)
    conn.execute("INSERT INTO accounts VALUES (?, 1, '2024-05-01T12:00:00Z')", (ACCOUNT,))
    for n in (8, 2, 5):
        conn.execute("INSERT INTO access_keys (access_key_id, account_id, secret_access_key, created_at)"
                     " VALUES (?, ?, ?, '2024-05-01T12:00:00Z')", (f"AKIATESTKEY00000000{n}", ACCOUNT, f"s{n}"))
    store = AccountStore(state_dir / "accounts.db")
    try:
        found = store.find_key("AKIATESTKEY000000005")
        assert found is not None and (found.secret_access_key, found.user_path) == ("s5", "/")
        if state_backend == "sqlite":  # in the order they were stored
            assert [k.access_key_id for k in store.list_keys(ACCOUNT)] == [
                "AKIATESTKEY000000008", "AKIATESTKEY000000002", "AKIATESTKEY000000005"]
        rows = conn.execute("SELECT access_key_id, user_id, user_path, seq FROM access_keys"
                            " ORDER BY access_key_id").fetchall()
        seqs = [1, 2, 3] if state_backend == "sqlite" else [None, None, None]
        assert [tuple(r) for r in rows] == [
            ("AKIATESTKEY000000002", None, "/", seqs[1]), ("AKIATESTKEY000000005", None, "/", seqs[2]),
            ("AKIATESTKEY000000008", None, "/", seqs[0])]
        assert applied_versions(conn, "auth/accounts") == {1, 2, 3}
        assert applied_versions(conn, "sts/sessions") == {1, 2}
    finally:
        store.close()
        conn.close()


def test_nodes_opening_together_apply_each_script_once(state_dir: Path) -> None:
    package, folder = COMPONENTS["auth/accounts"]
    conns = [open_state_db(state_dir / "accounts.db") for _ in range(4)]
    try:
        results = race([lambda c=c: apply_schema(c, package, folder) for c in conns])
        assert sorted(v for r in results for v in r) == [1, 2, 3]  # each once, by whichever node came first
        rows = conns[0].execute(f"SELECT component, version, name FROM {VERSIONS_TABLE} ORDER BY version").fetchall()
        assert [tuple(r) for r in rows] == [("auth/accounts", 1, "tables"),
                                            ("auth/accounts", 2, "access_key_user_columns"),
                                            ("auth/accounts", 3, "access_key_seq_from_rowid")]
    finally:
        for c in conns:
            c.close()


def test_a_failing_script_rolls_back_alone_and_a_newer_database_is_refused(state_dir: Path) -> None:
    conn = open_state_db(state_dir / "x.db")
    try:
        good = Script(1, "t", "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT);\n")
        bad = Script(2, "bad", "CREATE TABLE u (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n")
        with pytest.raises(Exception, match="no_such_table|no such table"):
            apply_schema(conn, "opentrail", "x", scripts=[good, bad], clock=lambda: 7.0)
        assert applied_versions(conn, "x") == {1}
        assert _columns(conn, "u") == []  # the failed script's table was rolled back with it
        rows = conn.execute(f"SELECT component, version, name, applied_s FROM {VERSIONS_TABLE}").fetchall()
        assert [tuple(r) for r in rows] == [("x", 1, "t", 7.0)]
        with pytest.raises(SchemaTooNewError, match=r"schema versions \[1\] of x"):
            apply_schema(conn, "opentrail", "x", scripts=[])
    finally:
        conn.close()


def test_add_column_is_skipped_when_present_and_sqlite_only_scripts(state_dir: Path, state_backend: str) -> None:
    conn = open_state_db(state_dir / "y.db")
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
        conn.execute("INSERT INTO t (id, a) VALUES (5, 'five')")
        todo = [Script(1, "cols", "ALTER TABLE t ADD COLUMN a TEXT;\n"
                                  "ALTER TABLE t ADD b INTEGER NOT NULL DEFAULT 3;\n"),
                Script(2, "fill", "-- sqlite-only\nUPDATE t SET b = rowid; -- SQLite's rowid\n")]
        assert apply_schema(conn, "opentrail", "y", scripts=todo) == [1, 2]
        assert _columns(conn, "t") == ["id", "a", "b"]
        b = 5 if state_backend == "sqlite" else 3
        assert tuple(conn.execute("SELECT id, a, b FROM t").fetchone()) == (5, "five", b)
        assert applied_versions(conn, "y") == {1, 2}
    finally:
        conn.close()


def test_statements_split_at_the_end_of_each_statement() -> None:
    sql = ("-- a comment; not a statement\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\n"
           "-- lead\nINSERT INTO a VALUES ('--; x');  -- trailing\n")
    assert statements(sql) == ["CREATE TABLE a (x TEXT DEFAULT 'a;b')", "INSERT INTO a VALUES ('--; x');  -- trailing"]
    with pytest.raises(ValueError, match="unterminated"):
        statements("CREATE TABLE a (x TEXT)")


def test_every_packaged_script_folder_is_well_formed() -> None:
    """Each component's scripts are numbered 1..n without a gap; every statement of a first script
    is a CREATE ... IF NOT EXISTS (safe on databases made before versions)."""
    for component, (package, folder) in COMPONENTS.items():
        found = scripts(package, "sql", folder)
        assert [s.version for s in found] == list(range(1, len(found) + 1)), component
        for statement in statements(found[0].sql):
            assert statement.upper().startswith(("CREATE TABLE IF NOT EXISTS", "CREATE INDEX IF NOT EXISTS")), statement


def test_a_server_opens_a_data_directory_made_before_versions(tmp_path: Path) -> None:
    """``opentrail serve`` (SQLite) on a data directory whose state files 3e74231 made (its DDL
    without the later columns; an access key of that age in accounts.db): every store records all
    its versions at start, and the old key signs requests."""
    import boto3

    from tests.test_e2e_cli import Server

    data = tmp_path / "data"
    for component, (file, ddl) in OLD_DDL.items():
        conn = open_state_db(data / file)
        conn.executescript(ACCOUNTS_BEFORE_SEQ if component == "auth/accounts" else ddl)
        conn.close()
    conn = open_state_db(data / "accounts.db")
    conn.execute("INSERT INTO accounts VALUES (?, 1, '2024-05-01T12:00:00Z')", (ACCOUNT,))
    conn.execute("INSERT INTO access_keys (access_key_id, account_id, secret_access_key, created_at)"
                 " VALUES ('AKIAOLDKEY0000000001', ?, 'old-secret', '2024-05-01T12:00:00Z')", (ACCOUNT,))
    conn.close()
    srv = Server(data)
    try:
        sts = boto3.client("sts", endpoint_url=srv.url, region_name="us-east-1",
                           aws_access_key_id="AKIAOLDKEY0000000001", aws_secret_access_key="old-secret")
        assert sts.get_caller_identity()["Account"] == ACCOUNT
    finally:
        srv.stop()
    recorded = {}
    for component, (file, _) in OLD_DDL.items():
        conn = open_state_db(data / file)
        recorded[component] = applied_versions(conn, component)
        conn.close()
    on_postgres_only = {"leases", "shared_secrets"}  # a SQLite node has no leases nor shared secrets
    assert {c: v for c, v in recorded.items() if c not in on_postgres_only} == {
        c: _versions(c) for c in OLD_DDL if c not in on_postgres_only}
    assert recorded["leases"] == recorded["shared_secrets"] == set()


def test_serve_refuses_a_data_directory_of_a_newer_opentrail_in_one_line(tmp_path: Path) -> None:
    from tests.serving import free_port
    from tests.test_serve_startup import serve

    data = tmp_path / "data"
    conn = open_state_db(data / "trails.db")
    apply_schema(conn, "opentrail.trails", "trails", scripts=[*scripts("opentrail.trails", "sql", "trails"),
                                                              Script(99, "future", "CREATE TABLE future (x TEXT);\n")])
    conn.close()
    out = serve(data, free_port())
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == ("Error: the database has schema versions [99] of trails/trails that this opentrail does not"
                          " know: it was used by a newer opentrail\n")
