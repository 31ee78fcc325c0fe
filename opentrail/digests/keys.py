"""The digest signing keys: one RSA-2048 key pair per Region, rotated, in ``<data-dir>/keys/``.

Layout (directories mode 0700, files 0600, written atomically: temporary file, fsync, rename)::

    <data-dir>/keys/<region>/<serial>-<fingerprint>.json
        {"serial": 3, "fingerprint": "<32 hex>", "validityStartTime": <epoch s>,
         "validityEndTime": <epoch s>, "publicKey": "<base64 DER PKCS#1>",
         "privateKey": "<PEM PKCS#8>"}        # privateKey only in the Region's current key

Behaviour copied from AWS (User Guide, "Custom implementations of CloudTrail log file integrity
validation": the ListPublicKeys sample shows keys valid 30 days whose validity ranges overlap, and
digests of a Region are signed with that Region's key):

- A key is valid from its creation for ``rotation_s`` seconds (default 30 days); the validity of a
  key never changes afterwards, so keys rotated early still overlap their successor.
- The *current* key of a Region is its newest; it is replaced when its validity has ended (checked
  each time it is asked for) or on demand (:meth:`KeyStore.rotate`, ``opentrail rotate-digest-key``).
  A replaced key's private half is deleted; its public half stays listed for validation.
- :meth:`KeyStore.public_keys` answers ListPublicKeys: every key whose validity overlaps the range.
- :meth:`KeyStore.sign_digest` fills in the current key's fingerprint, signs, and refuses a digest
  whose end time is not after the previous digest's (:class:`~.format.DigestOrderError`).

Another process (``opentrail rotate-digest-key`` while the server runs) may rotate: the store
re-reads a Region's folder when its modification time changed.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..fileio import write_atomic
from . import format as F

KEYS_DIR = "keys"
#: Default key validity and rotation period (AWS's sample keys are valid 30 days).
DEFAULT_ROTATION_S = 30 * 86400


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """A public key as ListPublicKeys returns it: DER PKCS#1 bytes, hex MD5 fingerprint, validity
    range in epoch seconds."""

    fingerprint: str
    der: bytes
    validity_start: int
    validity_end: int


@dataclass(frozen=True, slots=True)
class _Key:
    serial: int
    info: PublicKeyInfo
    private_key: rsa.RSAPrivateKey | None
    path: Path


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    write_atomic(path, data, mode=0o600)


class KeyStore:
    """Per-Region signing keys under ``root`` (``<data-dir>/keys``); ``clock`` gives epoch seconds.
    Thread-safe."""

    def __init__(self, root: Path, clock: Callable[[], float], rotation_s: float = DEFAULT_ROTATION_S) -> None:
        if rotation_s <= 0:
            raise ValueError("rotation_s must be positive")
        self.root = Path(root)
        self._clock = clock
        self._rotation_s = int(rotation_s)
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[int, list[_Key]]] = {}

    # --- reading ---------------------------------------------------------------------------
    def _region_dir(self, region: str) -> Path:
        if not region or "/" in region or region.startswith("."):
            raise ValueError(f"invalid Region {region!r}")
        return self.root / region

    def _keys(self, region: str) -> list[_Key]:
        """The Region's keys, oldest first (re-read when the folder changed)."""
        folder = self._region_dir(region)
        try:
            stamp = folder.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._cache.get(region)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys: list[_Key] = []
        for path in folder.glob("*.json"):
            doc = orjson.loads(path.read_bytes())
            der = base64.b64decode(doc["publicKey"])
            private = None
            if doc.get("privateKey"):
                loaded = serialization.load_pem_private_key(doc["privateKey"].encode("ascii"), password=None)
                assert isinstance(loaded, rsa.RSAPrivateKey)
                private = loaded
            info = PublicKeyInfo(F.fingerprint(der), der, int(doc["validityStartTime"]), int(doc["validityEndTime"]))
            keys.append(_Key(int(doc["serial"]), info, private, path))
        keys.sort(key=lambda k: k.serial)
        self._cache[region] = (stamp, keys)
        return keys

    def public_keys(self, region: str, start: float, end: float) -> list[PublicKeyInfo]:
        """Keys of ``region`` whose validity overlaps [start, end] (epoch seconds), newest first."""
        with self._lock:
            keys = self._keys(region)
        return [k.info for k in reversed(keys) if k.info.validity_start <= end and k.info.validity_end >= start]

    # --- the current key ---------------------------------------------------------------------
    def _create(self, region: str, now: int, previous: _Key | None) -> _Key:
        folder = self._region_dir(region)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        private = F.generate_private_key()
        der = F.public_key_der(private)
        serial = previous.serial + 1 if previous is not None else 1
        info = PublicKeyInfo(F.fingerprint(der), der, now, now + self._rotation_s)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
        path = folder / f"{serial:06d}-{info.fingerprint}.json"
        _write_private(path, orjson.dumps({
            "serial": serial, "fingerprint": info.fingerprint, "validityStartTime": info.validity_start,
            "validityEndTime": info.validity_end, "publicKey": base64.b64encode(der).decode("ascii"), "privateKey": pem,
        }))
        if previous is not None:  # the old private half is no longer needed: keep only the public one
            _write_private(previous.path, orjson.dumps({
                "serial": previous.serial, "fingerprint": previous.info.fingerprint,
                "validityStartTime": previous.info.validity_start, "validityEndTime": previous.info.validity_end,
                "publicKey": base64.b64encode(previous.info.der).decode("ascii"),
            }))
        self._cache.pop(region, None)
        return _Key(serial, info, private, path)

    def current(self, region: str) -> PublicKeyInfo:
        """The Region's current key (created on first use, rotated when its validity ended)."""
        return self._current(region).info

    def _current(self, region: str) -> _Key:
        with self._lock:
            keys = self._keys(region)
            now = int(self._clock())
            newest = keys[-1] if keys else None
            if newest is None or newest.private_key is None or now >= newest.info.validity_end:
                newest = self._create(region, now, newest)
            return newest

    def rotate(self, region: str) -> PublicKeyInfo:
        """Replace the Region's current key now (on demand); returns the new key."""
        with self._lock:
            keys = self._keys(region)
            return self._create(region, int(self._clock()), keys[-1] if keys else None).info

    def regions(self) -> list[str]:
        """Regions that have keys."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    # --- signing -----------------------------------------------------------------------------
    def sign_digest(self, region: str, digest: F.Digest) -> tuple[F.Digest, bytes, str]:
        """Sign ``digest`` with ``region``'s current key: returns the digest with that key's
        fingerprint, its uncompressed bytes and the hex signature. Raises
        :class:`~.format.DigestOrderError` (nothing signed) when the end time is not after the
        start or the previous digest's end."""
        key = self._current(region)
        assert key.private_key is not None
        signed = dataclasses.replace(digest, public_key_fingerprint=key.info.fingerprint)
        raw, signature = F.sign_digest(signed, key.private_key)
        return signed, raw, signature

    def sign_bytes(self, region: str, message: bytes) -> tuple[str, str]:
        """Sign ``message`` (SHA256withRSA, PKCS#1 v1.5) with ``region``'s current key: returns the
        key's fingerprint and the hex signature (used for CloudTrail Lake's ``result_sign.json``)."""
        key = self._current(region)
        assert key.private_key is not None
        return key.info.fingerprint, F.sign(key.private_key, message)
