"""Each server secret on several nodes (issue 17): two data directories registered on one
PostgreSQL database with the same namespace stand for two ``serve --database-url`` nodes and get
the same NextToken key, console secret and sessions, EventBridge connection key and digest key
pairs (rotated once for both). On SQLite alone the secrets stay in their files."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from opentrail import state_db
from opentrail.api.token_key import load_token_key
from opentrail.console.sessions import SessionStore
from opentrail.digests import KeyStore
from opentrail.eventbridge.secrets import SecretBox
from opentrail.iam.model import RoleSession
from opentrail.shared_secrets import SECRETS_DB, SharedSecrets
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import drop_namespace
from tests.state_backends import HandClock as Clock

T0 = 1_709_287_200
DAY = 86400




@pytest.fixture
def two_nodes(postgres_database: str, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two data directories on the same database and namespace (two nodes)."""
    namespace = "n" + secrets.token_hex(5)
    nodes = (tmp_path / "node-a", tmp_path / "node-b")
    for node in nodes:
        node.mkdir()
        state_db.register_database(node, postgres_database, namespace)
    try:
        yield nodes
    finally:
        for node in nodes:
            state_db.unregister_database(node)
        drop_namespace(postgres_database, namespace)


def _files(*dirs: Path) -> list[str]:
    return sorted(p.relative_to(d).as_posix() for d in dirs for p in d.rglob("*"))


# --- the NextToken key ----------------------------------------------------------------------------

def test_token_key_is_shared(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    key = load_token_key(a)
    assert len(key) == 32 and load_token_key(b) == key and load_token_key(a) == key
    assert _files(a, b) == []  # no token.key written on PostgreSQL


def test_the_first_node_brings_its_token_key_file(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    (a / "token.key").write_text("ab" * 32 + "\n")  # made when this data directory ran alone
    assert load_token_key(a) == bytes.fromhex("ab" * 32) == load_token_key(b)


def test_token_key_file_on_sqlite(tmp_path: Path) -> None:
    key = load_token_key(tmp_path)
    assert (tmp_path / "token.key").read_text() == key.hex() + "\n"
    assert _files(tmp_path) == ["token.key"]  # no secrets.db


# --- the console ------------------------------------------------------------------------------------

def test_console_secret_and_sessions_are_shared(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    clock = Clock(T0)
    one, two = SessionStore.for_data_dir(clock, a), SessionStore.for_data_dir(clock, b)
    assert len(one.secret) == 32 and two.secret == one.secret
    role = RoleSession("admin", "/ops/", "AROAEXAMPLEEXAMPLE01", "alice", '{"Version":"2012-10-17"}',
                       ("arn:aws:iam::aws:policy/ReadOnlyAccess",), {"team": "audit"}, "alice@example.com",
                       "arn:aws:iam::111122223333:user/alice")
    session = one.create(account_id="111122223333", access_key_id="AKIAEXAMPLEEXAMPLE00", user_name="alice",
                         is_admin=False, region="eu-west-1", user_id="AIDAEXAMPLEEXAMPLE00", user_path="/ops/",
                         credentials_created=T0 - 60, credentials_expire=T0 + 3600, role_session=role)
    cookie = one.sign(session.sid)
    assert two.from_cookie(cookie) == session  # signed in through node a, recognised by node b
    changed = two.update(session, region="us-west-2", columns=("eventName", "username"), flash=("ok", "saved"))
    assert one.get(session.sid) == changed and changed.region == "us-west-2"
    clock.now = T0 + 3600  # the temporary credentials expired: the session ended on every node
    assert one.get(session.sid) is None and two.get(session.sid) is None
    clock.now = T0
    other = two.create(account_id="111122223333", access_key_id="AKIAEXAMPLEEXAMPLE00", user_name=None,
                       is_admin=True, region="us-east-1")
    assert one.from_cookie(two.sign(other.sid)) == other
    one.delete(other.sid)  # signed out on node a
    assert two.from_cookie(two.sign(other.sid)) is None
    assert SessionStore(clock).from_cookie(cookie) is None  # a process secret does not match
    assert _files(a, b) == []


def test_expired_sessions_are_removed_when_someone_signs_in(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    clock = Clock(T0)
    one, two = SessionStore.for_data_dir(clock, a), SessionStore.for_data_dir(clock, b)
    old = one.create(account_id="111122223333", access_key_id="AKIAEXAMPLEEXAMPLE00", user_name=None,
                     is_admin=True, region="us-east-1")
    clock.now = T0 + 12 * 3600 + 1
    new = two.create(account_id="111122223333", access_key_id="AKIAEXAMPLEEXAMPLE00", user_name=None,
                     is_admin=True, region="us-east-1")
    shared = SharedSecrets(a / SECRETS_DB)
    assert [name for name, _ in shared.family("console-session/")] == [f"console-session/{new.sid}"]
    assert old.sid != new.sid
    shared.close()


def test_console_secret_on_sqlite_is_made_per_process(tmp_path: Path) -> None:
    one, two = SessionStore.for_data_dir(Clock(T0), tmp_path), SessionStore.for_data_dir(Clock(T0), tmp_path)
    assert one.shared is None and len(one.secret) == 32 and one.secret != two.secret
    session = one.create(account_id="111122223333", access_key_id="AKIAEXAMPLEEXAMPLE00", user_name=None,
                         is_admin=True, region="us-east-1")
    assert one.from_cookie(one.sign(session.sid)) == session and two.get(session.sid) is None
    assert _files(tmp_path) == []


# --- EventBridge connection secrets -----------------------------------------------------------------

def test_connection_secret_key_is_shared(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    sealed = SecretBox(a).seal(b"hunter2", "arn:aws:events:us-east-1:111122223333:connection/c/1")
    assert SecretBox(b).open(sealed, "arn:aws:events:us-east-1:111122223333:connection/c/1") == b"hunter2"
    assert _files(a, b) == []
    shared = SharedSecrets(a / SECRETS_DB)
    assert len(shared.get("eventbridge-key") or b"") == 32
    shared.close()


def test_the_first_node_brings_its_connection_key_file(two_nodes: tuple[Path, Path], tmp_path: Path) -> None:
    single = tmp_path / "single"
    sealed = SecretBox(single).seal(b"hunter2", "arn:a")  # sealed while the data directory ran alone
    a, b = two_nodes
    shutil.copy(single / "eventbridge.key", a / "eventbridge.key")
    assert SecretBox(a).open(sealed, "arn:a") == b"hunter2" == SecretBox(b).open(sealed, "arn:a")


def test_connection_key_file_on_sqlite(tmp_path: Path) -> None:
    sealed = SecretBox(tmp_path).seal(b"hunter2", "arn:a")
    assert _files(tmp_path) == ["eventbridge.key"] and len((tmp_path / "eventbridge.key").read_bytes()) == 32
    assert SecretBox(tmp_path).open(sealed, "arn:a") == b"hunter2"


# --- digest signing keys ----------------------------------------------------------------------------

def _rows(node: Path) -> list[tuple[str, bool]]:
    shared = SharedSecrets(node / SECRETS_DB)
    try:
        return [(name, "privateKey" in orjson.loads(v)) for name, v in shared.family("digest-key/")]
    finally:
        shared.close()


def test_digest_key_pair_and_its_rotation_are_shared(two_nodes: tuple[Path, Path]) -> None:
    a, b = two_nodes
    clock, monotonic = Clock(T0), Clock(100.0)
    one, two = (KeyStore(n / "keys", clock, 10 * DAY, monotonic=monotonic) for n in (a, b))
    first = one.current("us-east-1")
    assert two.current("us-east-1") == first and (first.validity_start, first.validity_end) == (T0, T0 + 10 * DAY)
    fingerprint, signature = two.sign_bytes("us-east-1", b"result")
    assert fingerprint == first.fingerprint and one.sign_bytes("us-east-1", b"result") == (fingerprint, signature)
    clock.now = T0 + 10 * DAY  # validity ended: both nodes ask at once, one new key is made
    second = two.current("us-east-1")
    assert one.current("us-east-1") == second != first and second.validity_start == T0 + 10 * DAY
    clock.now += 60
    assert two.current("us-east-1") == second  # held in node b's memory now
    third = one.rotate("us-east-1")  # `opentrail rotate-digest-key` on node a
    assert two.current("us-east-1") == second  # node b looks again within PG_RECHECK_S
    monotonic.now += PG_RECHECK_S
    assert two.current("us-east-1") == third
    assert two.public_keys("us-east-1", 0, 2**32) == [third, second, first] == one.public_keys("us-east-1", 0, 2**32)
    assert one.regions() == two.regions() == ["us-east-1"]
    assert _rows(a) == [("digest-key/us-east-1/000001", False), ("digest-key/us-east-1/000002", False),
                        ("digest-key/us-east-1/000003", True)]  # only the current private half kept
    assert _files(a, b) == []


def test_the_first_node_brings_its_digest_key_files(two_nodes: tuple[Path, Path], tmp_path: Path) -> None:
    clock = Clock(T0)
    single = KeyStore(tmp_path / "single" / "keys", clock)
    old = single.current("us-east-1")
    current = single.rotate("eu-west-1")
    a, b = two_nodes
    shutil.copytree(tmp_path / "single" / "keys", a / "keys")
    one, two = KeyStore(a / "keys", clock), KeyStore(b / "keys", clock)
    assert two.current("us-east-1") == old and one.current("eu-west-1") == current
    assert two.regions() == ["eu-west-1", "us-east-1"]
    assert _rows(b) == [("digest-key/eu-west-1/000001", True), ("digest-key/us-east-1/000001", True)]


def test_digest_key_files_on_sqlite(tmp_path: Path) -> None:
    key = KeyStore(tmp_path / "keys", Clock(T0)).current("us-east-1")
    assert _files(tmp_path) == ["keys", "keys/us-east-1", f"keys/us-east-1/000001-{key.fingerprint}.json"]


def test_rotate_digest_key_command_rotates_the_shared_key(tmp_path: Path) -> None:
    """``opentrail rotate-digest-key --database-url`` replaces the key the nodes share (in the
    servers' namespace), not a key file of its own data directory."""
    import subprocess
    import sys

    import psycopg

    from tests import postgres as pg

    with pg.own_database() as url:
        data = tmp_path / "cli-node"
        out = subprocess.run([sys.executable, "-m", "opentrail.cli", "rotate-digest-key", "--data-dir", str(data),
                              "--database-url", url, "--region", "us-east-1"],
                             capture_output=True, text=True, check=True)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT name, value FROM state_secrets.secrets").fetchall()
        assert [(name, orjson.loads(value)["fingerprint"]) for name, value in rows] == [
            ("digest-key/us-east-1/000001", out.stdout.strip())]
        assert not (data / "keys").exists()


# --- the bootstrap credentials file -----------------------------------------------------------------

def _share_accounts(a: Path, b: Path) -> None:
    """Node b's accounts.db is node a's (standing in for accounts in PostgreSQL, where they are
    shared by registration)."""
    (b / "accounts.db").symlink_to(a / "accounts.db")


def test_every_node_writes_the_generated_credentials_file(two_nodes: tuple[Path, Path]) -> None:
    import stat

    from opentrail.auth.accounts import bootstrap

    a, b = two_nodes
    _share_accounts(a, b)
    first = bootstrap(a, {})
    assert first.created and first.credentials_path == a / "credentials"
    second = bootstrap(b, {})
    assert (second.account_id, second.access_key_id, second.created) == (first.account_id, first.access_key_id, False)
    assert second.credentials_path == b / "credentials"
    assert (b / "credentials").read_text() == (a / "credentials").read_text()
    assert first.access_key_id in (b / "credentials").read_text()
    assert stat.S_IMODE((b / "credentials").stat().st_mode) == 0o600


def test_a_seeded_key_is_not_written_on_other_nodes(two_nodes: tuple[Path, Path]) -> None:
    from opentrail.auth.accounts import bootstrap

    a, b = two_nodes
    _share_accounts(a, b)
    env = {"OPENTRAIL_ACCOUNT_ID": "111122223333", "OPENTRAIL_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
           "OPENTRAIL_SECRET_ACCESS_KEY": "s" * 40}
    assert bootstrap(a, env).credentials_path is None
    assert bootstrap(b, {}).credentials_path is None and not (b / "credentials").exists()


def test_a_deleted_credentials_file_stays_deleted_on_sqlite(tmp_path: Path) -> None:
    from opentrail.auth.accounts import bootstrap

    first = bootstrap(tmp_path, {})
    (tmp_path / "credentials").unlink()
    again = bootstrap(tmp_path, {})
    assert (again.access_key_id, again.credentials_path) == (first.access_key_id, None)
    assert not (tmp_path / "credentials").exists()
