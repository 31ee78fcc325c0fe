"""The shared secret store (``secrets.db``) on both backends: made once, read the same by a second
store object (another node), families by prefix, all-or-nothing write transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.shared_secrets import SECRETS_DB, SharedSecrets
from opentrail.state_db import open_state_db
from opentrail.state_watch import PG_RECHECK_S
from tests.state_backends import HandClock as Clock

T0 = 1_700_000_000


def _store(state_dir: Path, now: float = T0, monotonic: Clock | None = None) -> SharedSecrets:
    return SharedSecrets(state_dir / SECRETS_DB, lambda: now, monotonic=monotonic or Clock(100.0))


def test_get_or_create_makes_a_secret_once(state_dir: Path) -> None:
    store = _store(state_dir)
    made: list[bytes] = []

    def make() -> bytes:
        made.append(b"\x00\x01first\xff")
        return made[-1]

    assert store.get("token-key") is None
    assert store.get_or_create("token-key", make) == b"\x00\x01first\xff"
    assert store.get_or_create("token-key", make) == b"\x00\x01first\xff"
    assert made == [b"\x00\x01first\xff"]  # the second call read it
    assert store.get("token-key") == b"\x00\x01first\xff"
    assert store.get("Token-Key") is None  # names are exact
    conn = open_state_db(state_dir / SECRETS_DB)
    assert conn.execute("SELECT name, created FROM secrets").fetchall() == [("token-key", T0)]
    conn.close()
    store.close()


def test_a_second_node_gets_the_first_nodes_secret(state_dir: Path, state_backend: str) -> None:
    clock = Clock(100.0)
    first, second = _store(state_dir), _store(state_dir, T0 + 5, clock)
    before = second.version()
    value = first.get_or_create("console-session", lambda: b"A" * 32)
    if state_backend == "postgres":  # looked at most every PG_RECHECK_S, unless fresh
        assert second.version() == before
        assert second.version(fresh=True) != before
        clock.now += PG_RECHECK_S
    assert second.version() != before  # the other node committed
    assert second.get_or_create("console-session", lambda: b"B" * 32) == b"A" * 32
    assert second.get("console-session") == b"A" * 32 == value
    first.close()
    second.close()


def test_family_by_prefix_and_write_transactions(state_dir: Path) -> None:
    store = _store(state_dir)
    with store.write() as tx:
        assert tx.family("digest-key/") == []
        tx.put("digest-key/us-east-1/000002", b"two")
        tx.put("digest-key/us-east-1/000001", b"one")
        tx.put("digest-key/us-east-2/000001", b"other region")
        tx.put("DIGEST-KEY/us-east-1/000003", b"other case")
        tx.put("token-key", b"t")
        assert tx.family("digest-key/us-east-1/") == [("digest-key/us-east-1/000001", b"one"),
                                                      ("digest-key/us-east-1/000002", b"two")]
    assert store.family("digest-key/") == [("digest-key/us-east-1/000001", b"one"),
                                           ("digest-key/us-east-1/000002", b"two"),
                                           ("digest-key/us-east-2/000001", b"other region")]
    assert store.family("digest-key/us-east-1/%") == []  # no wildcards
    with store.write() as tx:
        tx.put("digest-key/us-east-1/000001", b"one, public half only")  # replaces
        assert tx.get("digest-key/us-east-1/000001") == b"one, public half only"
        tx.delete("DIGEST-KEY/us-east-1/000003")
        assert tx.get("DIGEST-KEY/us-east-1/000003") is None
    store.delete("token-key")
    store.delete("no-such-secret")
    assert store.get("token-key") is None
    with pytest.raises(RuntimeError):
        with store.write() as tx:
            tx.put("digest-key/us-east-1/000003", b"three")
            tx.put("digest-key/us-east-1/000002", b"changed")
            raise RuntimeError("the block failed")
    other = _store(state_dir)
    assert [name for name, _ in other.family("")] == [
        "digest-key/us-east-1/000001", "digest-key/us-east-1/000002", "digest-key/us-east-2/000001"]
    assert other.family("digest-key/us-east-1/") == [("digest-key/us-east-1/000001", b"one, public half only"),
                                                     ("digest-key/us-east-1/000002", b"two")]
    other.close()
    store.close()
