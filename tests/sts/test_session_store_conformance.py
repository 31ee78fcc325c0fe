"""SessionStore (opentrail/sts/sessions.py) on both state backends (``state_dir``): create, find,
describe, purge, count, with exact values; a session created through one store (node) is found
and purged through another on the same data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from opentrail.iam.model import RoleSession
from opentrail.sts.sessions import SessionStore

ACCOUNT = "111122223333"
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ROLE = RoleSession("ci", "/build/", "AROAEXAMPLEROLE00001", "run-7", '{"Version": "2012-10-17", "Statement": []}',
                   ("arn:aws:iam::aws:policy/ReadOnlyAccess",), {"team": "ops", "env": "prod"}, "alice",
                   f"arn:aws:iam::{ACCOUNT}:user/alice")


@pytest.fixture
def store(state_dir: Path) -> Iterator[SessionStore]:
    s = SessionStore(state_dir / "accounts.db")
    yield s
    s.close()


def test_create_find_describe(store: SessionStore) -> None:
    issued = store.create(account_id=ACCOUNT, user_name="alice", parent_access_key_id="AKIAPARENT00000000001",
                          duration_s=900, now=T0 + 0.25)
    assert (issued.access_key_id[:4], len(issued.secret_access_key), len(issued.session_token), issued.expires_s) \
        == ("ASIA", 40, 160, T0 + 900)
    found = store.find(issued.access_key_id, issued.session_token)
    assert found is not None
    assert (found.account_id, found.user_name, found.parent_access_key_id, found.created_s, found.expires_s,
            found.secret_access_key, found.role_session, found.transitive_tag_keys) == (
        ACCOUNT, "alice", "AKIAPARENT00000000001", T0, T0 + 900, issued.secret_access_key, None, ())
    wrong = issued.session_token[:-1] + ("B" if issued.session_token[-1] == "A" else "A")
    assert store.find(issued.access_key_id, wrong) is None
    assert store.find("ASIANOSUCHSESSION000", issued.session_token) is None
    described = store.describe(issued.access_key_id)
    assert described is not None and (described.user_name, described.secret_access_key) == ("alice", "")
    assert store.describe("ASIANOSUCHSESSION000") is None


def test_role_sessions_keep_their_facts(store: SessionStore) -> None:
    issued = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAPARENT00000000001",
                          duration_s=3600, now=T0, role_session=ROLE, transitive_tag_keys=("team",))
    found = store.find(issued.access_key_id, issued.session_token)
    assert found is not None
    assert (found.user_name, found.role_session, found.transitive_tag_keys, found.expires_s) == (
        None, ROLE, ("team",), T0 + 3600)


def test_purge_removes_expired_sessions_only(store: SessionStore) -> None:
    short = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAP", duration_s=900, now=T0)
    long = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAP", duration_s=1800, now=T0)
    assert store.count() == 2
    assert store.purge_expired(T0 + 899) == 0
    assert store.purge_expired(T0 + 900) == 1
    assert store.count() == 1
    assert store.find(short.access_key_id, short.session_token) is None
    assert store.find(long.access_key_id, long.session_token) is not None
    # create purges what expired before it
    store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAP", duration_s=900, now=T0 + 1800)
    assert store.count() == 1


def test_a_second_store_on_the_same_data_directory_sees_the_writes(store: SessionStore, state_dir: Path) -> None:
    other = SessionStore(state_dir / "accounts.db")
    try:
        issued = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAP", duration_s=900,
                              now=T0, role_session=ROLE)
        found = other.find(issued.access_key_id, issued.session_token)
        assert found is not None and (found.role_session, found.secret_access_key) == (ROLE, issued.secret_access_key)
        assert other.count() == 1
        assert other.purge_expired(T0 + 900) == 1
        assert store.count() == 0
        assert store.describe(issued.access_key_id) is None
    finally:
        other.close()
