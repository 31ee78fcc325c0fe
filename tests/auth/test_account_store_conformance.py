"""AccountStore (opentrail/auth/accounts.py) on both state backends (``state_dir``): accounts, keys
and their order, status, deletion, renames, the admin account; two stores on one data directory
(two nodes) see each other's writes; an accounts.db made before ``seq`` keeps its key order."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.auth.accounts import AccessKey, AccountStore, KeyRecord
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

ACCOUNT = "111122223333"
OTHER = "444455556666"
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)




@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(state_dir: Path, clock: Clock) -> Iterator[AccountStore]:
    s = AccountStore(state_dir / "accounts.db", monotonic=clock)
    yield s
    s.close()


def key(n: int, account: str = ACCOUNT, user: str | None = None) -> AccessKey:
    return AccessKey(f"AKIATESTKEY{n:09d}", account, user, f"secret-{n}", WHEN)


def ids(records: list[KeyRecord]) -> list[str]:
    return [r.access_key_id for r in records]


def test_first_account_is_the_admin_and_keys_round_trip(store: AccountStore) -> None:
    assert store.admin_account_id() is None
    with pytest.raises(LookupError, match="the admin account has no root access key"):
        store.admin_credentials()
    assert store.create_account(ACCOUNT) == ACCOUNT
    assert store.create_account(ACCOUNT) == ACCOUNT  # known: unchanged
    store.add_user_key(key(1, OTHER, "bob"), "AIDABOB", "/eng/")
    assert store.admin_account_id() == ACCOUNT
    store.add_user_key(key(2), None)
    assert store.admin_credentials() == ("AKIATESTKEY000000002", "secret-2")
    assert store.find_key("AKIATESTKEY000000001") == KeyRecord(
        "AKIATESTKEY000000001", OTHER, "bob", "secret-1", "Active", False, "AIDABOB", "/eng/", "2024-05-01T12:00:00Z")
    assert store.find_key("AKIATESTKEY000000002") == KeyRecord(
        "AKIATESTKEY000000002", ACCOUNT, None, "secret-2", "Active", True, None, "/", "2024-05-01T12:00:00Z")
    assert store.find_key("AKIANOSUCHKEY0000000") is None
    imported = store.import_access_key(OTHER, "AKIAIMPORTED00000000", "s3")
    assert (imported.account_id, imported.user_name) == (OTHER, None)
    assert store.find_key("AKIAIMPORTED00000000").secret_access_key == "s3"  # type: ignore[union-attr]


def test_keys_of_one_second_keep_the_order_they_were_stored_in(store: AccountStore) -> None:
    for n in (5, 3, 9, 1):
        store.add_user_key(key(n), None)
    store.add_user_key(key(7, user="bob"), "AIDABOB")
    store.add_user_key(key(4, OTHER), None)
    assert ids(store.list_keys()) == ["AKIATESTKEY000000005", "AKIATESTKEY000000003", "AKIATESTKEY000000009",
                                      "AKIATESTKEY000000001", "AKIATESTKEY000000007", "AKIATESTKEY000000004"]
    assert ids(store.list_keys(OTHER)) == ["AKIATESTKEY000000004"]
    assert ids(store.user_keys(ACCOUNT, None)) == ["AKIATESTKEY000000005", "AKIATESTKEY000000003",
                                                   "AKIATESTKEY000000009", "AKIATESTKEY000000001"]
    assert ids(store.user_keys(ACCOUNT, "bob")) == ["AKIATESTKEY000000007"]
    assert store.admin_credentials() == ("AKIATESTKEY000000005", "secret-5")
    store.set_key_status("AKIATESTKEY000000005", "Inactive")
    assert store.admin_credentials() == ("AKIATESTKEY000000003", "secret-3")


def test_status_delete_and_rename(store: AccountStore) -> None:
    store.add_user_key(key(1, user="bob"), "AIDABOB", "/a/")
    store.add_user_key(key(2, user="bob"), "AIDABOB", "/a/")
    assert store.find_key("AKIATESTKEY000000001").status == "Active"  # type: ignore[union-attr]  # cached now
    store.set_key_status("AKIATESTKEY000000001", "Inactive")
    assert store.find_key("AKIATESTKEY000000001").status == "Inactive"  # type: ignore[union-attr]
    store.rename_user(ACCOUNT, "bob", "robert", "/b/")
    assert [(r.user_name, r.user_path) for r in store.user_keys(ACCOUNT, "robert")] == [("robert", "/b/")] * 2
    assert store.user_keys(ACCOUNT, "bob") == []
    assert store.find_key("AKIATESTKEY000000002").user_name == "robert"  # type: ignore[union-attr]
    store.delete_key("AKIATESTKEY000000002")
    assert store.find_key("AKIATESTKEY000000002") is None
    assert ids(store.list_keys(ACCOUNT)) == ["AKIATESTKEY000000001"]


def test_a_second_store_on_the_same_data_directory_sees_the_writes(
        store: AccountStore, state_dir: Path, clock: Clock, state_backend: str) -> None:
    other = AccountStore(state_dir / "accounts.db", monotonic=clock)
    try:
        store.add_user_key(key(1, user="bob"), "AIDABOB")
        found = other.find_key("AKIATESTKEY000000001")  # a miss reads the database: seen at once
        assert (found.status, found.user_name) == ("Active", "bob")  # type: ignore[union-attr]
        store.set_key_status("AKIATESTKEY000000001", "Inactive")
        if state_backend == "postgres":  # other nodes look again within PG_RECHECK_S
            assert other.find_key("AKIATESTKEY000000001").status == "Active"  # type: ignore[union-attr]
            clock.now += PG_RECHECK_S
        assert other.find_key("AKIATESTKEY000000001").status == "Inactive"  # type: ignore[union-attr]
        store.delete_key("AKIATESTKEY000000001")
        clock.now += PG_RECHECK_S
        assert other.find_key("AKIATESTKEY000000001") is None
        assert other.admin_account_id() == ACCOUNT
    finally:
        other.close()


def test_an_accounts_file_from_before_seq_keeps_its_key_order(tmp_path: Path) -> None:
    """A SQLite accounts.db of an older release (no user_id, user_path, seq): opened, it gains the
    columns and lists its keys in the order they were stored, then new ones after them."""
    db = tmp_path / "accounts.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, is_admin INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL);"
        "CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES"
        " accounts(account_id), user_name TEXT, secret_access_key TEXT NOT NULL, status TEXT NOT NULL DEFAULT"
        " 'Active', created_at TEXT NOT NULL);")
    conn.execute("INSERT INTO accounts VALUES (?, 1, '2024-05-01T12:00:00Z')", (ACCOUNT,))
    for n in (8, 2, 5):
        conn.execute("INSERT INTO access_keys (access_key_id, account_id, secret_access_key, created_at)"
                     " VALUES (?, ?, ?, '2024-05-01T12:00:00Z')", (f"AKIATESTKEY00000000{n}", ACCOUNT, f"s{n}"))
    conn.commit()
    conn.close()
    store = AccountStore(db)
    try:
        store.add_user_key(key(1), None)
        assert ids(store.list_keys()) == ["AKIATESTKEY000000008", "AKIATESTKEY000000002", "AKIATESTKEY000000005",
                                          "AKIATESTKEY000000001"]
        assert store.admin_credentials() == ("AKIATESTKEY000000008", "s8")
        assert store.find_key("AKIATESTKEY000000002").user_path == "/"  # type: ignore[union-attr]
    finally:
        store.close()
    AccountStore(db).close()  # a second open finds every column there
