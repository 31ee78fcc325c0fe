"""The session store and SigV4 verification of session credentials, without HTTP: sealing, lookup,
expiry, purge, and verify()'s answers with an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail.auth.accounts import AccountStore
from opentrail.auth.sigv4 import SignatureRejected, verify
from opentrail.sts.key_ids import account_of, new_key_id
from opentrail.sts.sessions import SessionStore, open_secret, seal_secret

ACCOUNT = "111122223333"
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_key_ids_encode_their_account() -> None:
    for account in ("000000000001", ACCOUNT, "999999999999"):
        key_id = new_key_id("ASIA", account)
        assert (key_id[:4], len(key_id), account_of(key_id)) == ("ASIA", 20, account)
    assert account_of("ASIAY34FZKBOKMUTVV7A") == "609629065308"  # Tal Be'ery's published example
    assert account_of("AKIA0189ZZZZZZZZZZZZ") is None  # 0, 1, 8, 9 are not base32
    assert account_of("AKIASHORT") is None


def test_seal_opens_only_with_its_token_and_key_id() -> None:
    blob = seal_secret("s3cr3t", "token-a", "ASIAAAAA")
    assert open_secret(blob, "token-a", "ASIAAAAA") == "s3cr3t"
    assert open_secret(blob, "token-b", "ASIAAAAA") is None
    assert open_secret(blob, "token-a", "ASIABBBB") is None
    assert open_secret(blob[:-1] + bytes([blob[-1] ^ 1]), "token-a", "ASIAAAAA") is None


def test_create_find_expire_purge(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "accounts.db")
    try:
        issued = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAPARENT",
                              duration_s=900, now=T0 + 0.7)
        assert issued.expires_s == T0 + 900
        found = store.find(issued.access_key_id, issued.session_token)
        assert found is not None
        assert (found.account_id, found.user_name, found.parent_access_key_id, found.created_s, found.expires_s,
                found.secret_access_key) == (ACCOUNT, None, "AKIAPARENT", T0, T0 + 900, issued.secret_access_key)
        assert (found.expired(T0 + 899.9), found.expired(T0 + 900)) == (False, True)
        assert store.find(issued.access_key_id, issued.session_token + "x") is None
        assert store.find("ASIANOTASESSION0000", issued.session_token) is None
        assert "secret" not in repr(issued).lower().replace("secret_access_key", "")
        assert issued.session_token not in repr(issued)
        assert store.purge_expired(T0 + 899) == 0
        assert store.purge_expired(T0 + 900) == 1
        assert store.find(issued.access_key_id, issued.session_token) is None  # cache pruned too
        assert store.count() == 0
    finally:
        store.close()


def test_sessions_are_seen_by_another_process_store(tmp_path: Path) -> None:
    one, two = SessionStore(tmp_path / "a.db"), SessionStore(tmp_path / "a.db")
    try:
        issued = one.create(account_id=ACCOUNT, user_name="alice", parent_access_key_id="AKIAP", duration_s=900,
                            now=T0)
        found = two.find(issued.access_key_id, issued.session_token)
        assert found is not None and found.user_name == "alice"
    finally:
        one.close()
        two.close()


def signed(access_key_id: str, secret: str, token: str | None, at: float, service: str = "cloudtrail") -> dict:
    from unittest import mock
    import datetime as dt

    request = AWSRequest(method="POST", url="http://localhost/", data=b"{}",
                         headers={"Content-Type": "application/x-amz-json-1.1", "Host": "localhost"})
    when = dt.datetime.fromtimestamp(at, dt.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(Credentials(access_key_id, secret, token), service, "eu-west-1").add_auth(request)
    return {"method": "POST", "path": "/", "query_string": "", "headers": list(request.headers.items()),
            "body": b"{}", "service": service}


@pytest.fixture
def accounts(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = AccountStore(tmp_path / "accounts.db")
    yield store
    store.close()


def test_verify_accepts_a_session_until_it_expires(accounts: AccountStore) -> None:
    parent = accounts.create_access_key(ACCOUNT)
    issued = accounts.sessions.create(account_id=ACCOUNT, user_name=None, parent_access_key_id=parent.access_key_id,
                                      duration_s=3600, now=T0)
    caller = verify(**signed(issued.access_key_id, issued.secret_access_key, issued.session_token, T0 + 10),
                    accounts=accounts, now=T0 + 10)
    assert (caller.account_id, caller.access_key_id, caller.user_name, caller.region, caller.is_admin,
            caller.session_created) == (ACCOUNT, issued.access_key_id, None, "eu-west-1", True, T0)
    assert caller.user_identity() == {
        "type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
        "accessKeyId": issued.access_key_id,
        "sessionContext": {"attributes": {"creationDate": "2027-01-15T08:00:00Z", "mfaAuthenticated": "false"}}}
    late = signed(issued.access_key_id, issued.secret_access_key, issued.session_token, T0 + 3600)
    with pytest.raises(SignatureRejected) as info:
        verify(**late, accounts=accounts, now=T0 + 3600)
    assert (info.value.error.code, info.value.error.message, info.value.caller) == (
        "ExpiredTokenException", "The security token included in the request is expired", None)


@pytest.mark.parametrize("case", ["forged token", "long-term key with a token", "no token"])
def test_verify_refuses_tokens_that_are_no_sessions(accounts: AccountStore, case: str) -> None:
    parent = accounts.create_access_key(ACCOUNT)
    issued = accounts.sessions.create(account_id=ACCOUNT, user_name=None, parent_access_key_id=parent.access_key_id,
                                      duration_s=3600, now=T0)
    key_id, secret, token = {
        "forged token": (issued.access_key_id, issued.secret_access_key, "A" * 160),
        "long-term key with a token": (parent.access_key_id, parent.secret_access_key, issued.session_token),
        "no token": (issued.access_key_id, issued.secret_access_key, None),
    }[case]
    with pytest.raises(SignatureRejected) as info:
        verify(**signed(key_id, secret, token, T0), accounts=accounts, now=T0)
    period = "." if token is None else ""
    assert (info.value.error.code, info.value.error.message) == (
        "UnrecognizedClientException", "The security token included in the request is invalid" + period)


def test_wrong_secret_with_a_valid_token_is_a_signature_mismatch_of_a_known_caller(accounts: AccountStore) -> None:
    parent = accounts.create_access_key(ACCOUNT)
    issued = accounts.sessions.create(account_id=ACCOUNT, user_name=None, parent_access_key_id=parent.access_key_id,
                                      duration_s=3600, now=T0)
    with pytest.raises(SignatureRejected) as info:
        verify(**signed(issued.access_key_id, "x" * 40, issued.session_token, T0), accounts=accounts, now=T0)
    assert info.value.error.code == "InvalidSignatureException"
    assert info.value.caller is not None and info.value.caller.access_key_id == issued.access_key_id


def test_old_sessions_table_gains_role_columns(tmp_path: Path) -> None:
    """A data directory from before AssumeRole: its sessions table is migrated in place and its
    GetSessionToken sessions keep working."""
    import sqlite3

    from opentrail.iam.model import RoleSession
    from opentrail.sts.sessions import token_hash

    db = tmp_path / "accounts.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE sts_sessions (access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, user_name TEXT,"
        " parent_access_key_id TEXT NOT NULL, token_sha256 BLOB NOT NULL, sealed_secret BLOB NOT NULL,"
        " created_s REAL NOT NULL, expires_s REAL NOT NULL);")
    conn.execute("INSERT INTO sts_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 ("ASIAOLDSESSION000000", ACCOUNT, "alice", "AKIAPARENT", token_hash("tok"),
                  seal_secret("old-secret", "tok", "ASIAOLDSESSION000000"), T0, T0 + 900))
    conn.commit()
    conn.close()
    store = SessionStore(db)
    try:
        old = store.find("ASIAOLDSESSION000000", "tok")
        assert old is not None
        assert (old.user_name, old.secret_access_key, old.role_session, old.transitive_tag_keys) == (
            "alice", "old-secret", None, ())
        role = RoleSession("ci", "/b/", "AROAEXAMPLE", "s1", '{"Statement": []}', ("arn:aws:iam::aws:policy/X",),
                           {"team": "ops"}, "alice", f"arn:aws:iam::{ACCOUNT}:root")
        issued = store.create(account_id=ACCOUNT, user_name=None, parent_access_key_id="AKIAPARENT", duration_s=900,
                              now=T0, role_session=role, transitive_tag_keys=("team",))
        found = store.find(issued.access_key_id, issued.session_token)
        assert found is not None and (found.role_session, found.transitive_tag_keys) == (role, ("team",))
        described = store.describe(issued.access_key_id)
        assert described is not None and (described.role_session, described.secret_access_key) == (role, "")
    finally:
        store.close()
    SessionStore(db).close()  # a second open finds every column there
