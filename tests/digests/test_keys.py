"""The per-Region key store: files and modes, validity, scheduled and on-demand rotation, another
process rotating, signing order."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest

from opentrail.digests import KeyStore
from opentrail.digests import format as F

from .conftest import HOUR, T0, Clock

DAY = 86400


def test_first_use_creates_a_0600_key_valid_30_days(tmp_path: Path) -> None:
    clock = Clock()
    keys = KeyStore(tmp_path / "keys", clock)
    assert keys.public_keys("us-east-1", 0, 2**32) == [] and keys.regions() == []
    key = keys.current("us-east-1")
    assert (key.validity_start, key.validity_end) == (T0, T0 + 30 * DAY)
    assert key.fingerprint == F.fingerprint(key.der) and F.load_public_key(key.der).key_size == 2048
    (path,) = (tmp_path / "keys" / "us-east-1").iterdir()
    assert path.name == f"000001-{key.fingerprint}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "us-east-1").stat().st_mode) == 0o700
    assert keys.current("us-east-1") == key and keys.regions() == ["us-east-1"]
    assert keys.current("eu-west-1").fingerprint != key.fingerprint  # one key pair per Region


def test_rotation_on_schedule_and_on_demand_keeps_old_public_keys(tmp_path: Path) -> None:
    clock = Clock()
    keys = KeyStore(tmp_path / "keys", clock, rotation_s=10 * DAY)
    first = keys.current("us-east-1")
    clock.now += 10 * DAY - 1
    assert keys.current("us-east-1") == first
    clock.now += 1
    second = keys.current("us-east-1")  # validity ended: replaced
    assert second.validity_start == T0 + 10 * DAY
    clock.now += HOUR
    third = keys.rotate("us-east-1")
    assert third.validity_start == T0 + 10 * DAY + HOUR and keys.current("us-east-1") == third
    assert keys.public_keys("us-east-1", T0, T0) == [first]
    assert keys.public_keys("us-east-1", T0 + 10 * DAY + HOUR, T0 + 10 * DAY + HOUR) == [third, second]
    assert keys.public_keys("us-east-1", 0, 2**32) == [third, second, first]
    files = sorted((tmp_path / "keys" / "us-east-1").iterdir())
    docs = [orjson.loads(p.read_bytes()) for p in files]
    assert [("privateKey" in d) for d in docs] == [False, False, True]  # only the current key's private half
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_another_process_rotating_is_seen(tmp_path: Path) -> None:
    clock = Clock()
    server = KeyStore(tmp_path / "keys", clock)
    before = server.current("us-east-1")
    rotated = KeyStore(tmp_path / "keys", clock).rotate("us-east-1")  # `opentrail rotate-digest-key`
    assert server.current("us-east-1") == rotated != before


def test_sign_digest_uses_the_current_key_and_refuses_going_back(tmp_path: Path) -> None:
    clock = Clock()
    keys = KeyStore(tmp_path / "keys", clock)
    d = F.Digest("111122223333", T0, T0 + HOUR, "b", "k", "", None)
    signed, raw, sig = keys.sign_digest("us-east-1", d)
    current = keys.current("us-east-1")
    assert signed.public_key_fingerprint == current.fingerprint
    assert F.verify(current.der, F.string_to_sign(F.format_time(T0 + HOUR), "b", "k", raw, None), sig)
    prev = F.PreviousDigest("b", "k", F.sha256_hex(raw), sig, T0 + HOUR)
    with pytest.raises(F.DigestOrderError):
        keys.sign_digest("us-east-1", F.Digest("111122223333", T0 + HOUR, T0 + HOUR, "b", "k2", "", prev))
    with pytest.raises(F.DigestOrderError):
        keys.sign_digest("us-east-1", F.Digest("111122223333", T0, T0 + HOUR, "b", "k2", "", prev))
    with pytest.raises(ValueError):
        keys.current("../etc")
