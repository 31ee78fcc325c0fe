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

With the data directory on PostgreSQL (``serve --database-url``) the same documents are the shared
secrets ``digest-key/<region>/<serial>`` (:mod:`opentrail.shared_secrets`): every node signs with
the Region's one current key, and a rotation (scheduled or on demand) happens in one write
transaction that reads the newest key again first, so nodes rotating at once make one new key. The
store re-reads the keys when another node changed them (:meth:`SharedSecrets.version
<opentrail.shared_secrets.SharedSecrets.version>`: looked at most every
:data:`~opentrail.state_watch.PG_RECHECK_S` seconds; a rotation reads the newest key inside its
write transaction whatever the look found).
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..fileio import write_atomic
from ..shared_secrets import SharedSecrets, shared_secrets_for
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


#: ``decide(keys)``: given a Region's key documents (oldest first), the new key's document, or
#: None to keep the current one.
Decide = Callable[[list[dict[str, Any]]], "dict[str, Any] | None"]


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    write_atomic(path, data, mode=0o600)


def _public_half(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "privateKey"}


class _KeyFiles:
    """The key documents as files ``<root>/<region>/<serial>-<fingerprint>.json`` (one machine)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stamp(self, region: str) -> object | None:
        """Changes when the Region's keys change; None when it has none."""
        try:
            return (self.root / region).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def load(self, region: str) -> list[dict[str, Any]]:
        return [orjson.loads(p.read_bytes()) for p in (self.root / region).glob("*.json")]

    def add(self, region: str, decide: Decide) -> dict[str, Any] | None:
        folder = self.root / region
        docs = sorted(self.load(region), key=lambda d: int(d["serial"])) if folder.is_dir() else []
        doc = decide(docs)
        if doc is None:
            return None
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        _write_private(folder / _file_name(doc), orjson.dumps(doc))
        if docs:  # the old private half is no longer needed: keep only the public one
            _write_private(folder / _file_name(docs[-1]), orjson.dumps(_public_half(docs[-1])))
        return doc

    def regions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _file_name(doc: dict[str, Any]) -> str:
    return f"{int(doc['serial']):06d}-{doc['fingerprint']}.json"


class _KeyRows:
    """The key documents as shared secrets ``digest-key/<region>/<serial>`` (PostgreSQL: every node
    signs with the same key pair and rotates it once)."""

    def __init__(self, shared: SharedSecrets, root: Path) -> None:
        self._shared = shared
        if not shared.family(_ROW_PREFIX):
            self._import_files(root)

    def _import_files(self, root: Path) -> None:
        """The first node on PostgreSQL brings the data directory's key files (so digests signed
        before the move still validate)."""
        files = _KeyFiles(root)
        found = [(region, doc) for region in files.regions() for doc in files.load(region)]
        if not found:
            return
        with self._shared.write() as tx:
            if tx.family(_ROW_PREFIX):
                return  # another node did it meanwhile
            for region, doc in found:
                tx.put(_row_name(region, int(doc["serial"])), orjson.dumps(doc))

    def stamp(self, region: str) -> object | None:
        return self._shared.version()

    def load(self, region: str) -> list[dict[str, Any]]:
        return [orjson.loads(value) for _, value in self._shared.family(f"{_ROW_PREFIX}{region}/")]

    def add(self, region: str, decide: Decide) -> dict[str, Any] | None:
        with self._shared.write() as tx:  # one writer across nodes: a key is created once
            docs = sorted((orjson.loads(v) for _, v in tx.family(f"{_ROW_PREFIX}{region}/")),
                          key=lambda d: int(d["serial"]))
            doc = decide(docs)
            if doc is None:
                return None
            tx.put(_row_name(region, int(doc["serial"])), orjson.dumps(doc))
            if docs:
                tx.put(_row_name(region, int(docs[-1]["serial"])), orjson.dumps(_public_half(docs[-1])))
            return doc

    def regions(self) -> list[str]:
        return sorted({name[len(_ROW_PREFIX):].split("/", 1)[0] for name, _ in self._shared.family(_ROW_PREFIX)})


_ROW_PREFIX = "digest-key/"


def _row_name(region: str, serial: int) -> str:
    return f"{_ROW_PREFIX}{region}/{serial:06d}"


def _parse(doc: dict[str, Any]) -> _Key:
    der = base64.b64decode(doc["publicKey"])
    private = None
    if doc.get("privateKey"):
        loaded = serialization.load_pem_private_key(doc["privateKey"].encode("ascii"), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        private = loaded
    info = PublicKeyInfo(F.fingerprint(der), der, int(doc["validityStartTime"]), int(doc["validityEndTime"]))
    return _Key(int(doc["serial"]), info, private)


class KeyStore:
    """Per-Region signing keys under ``root`` (``<data-dir>/keys``), or -- when the data directory
    (``root``'s parent) is on PostgreSQL -- in its shared secrets (:mod:`opentrail.shared_secrets`;
    the first node there brings the key files it has); ``clock`` gives epoch seconds, ``monotonic``
    paces the looks for another node's rotation (:meth:`~opentrail.shared_secrets.SharedSecrets.version`). Thread-safe."""

    def __init__(self, root: Path, clock: Callable[[], float], rotation_s: float = DEFAULT_ROTATION_S, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if rotation_s <= 0:
            raise ValueError("rotation_s must be positive")
        self.root = Path(root)
        self._clock = clock
        self._rotation_s = int(rotation_s)
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[object, list[_Key]]] = {}
        shared = shared_secrets_for(self.root.parent, clock, monotonic=monotonic)
        self._stored: _KeyFiles | _KeyRows = _KeyFiles(self.root) if shared is None else _KeyRows(shared, self.root)

    # --- reading ---------------------------------------------------------------------------
    def _check_region(self, region: str) -> None:
        if not region or "/" in region or region.startswith("."):
            raise ValueError(f"invalid Region {region!r}")

    def _keys(self, region: str) -> list[_Key]:
        """The Region's keys, oldest first (re-read when they changed)."""
        self._check_region(region)
        stamp = self._stored.stamp(region)
        if stamp is None:
            return []
        cached = self._cache.get(region)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys = sorted((_parse(doc) for doc in self._stored.load(region)), key=lambda k: k.serial)
        self._cache[region] = (stamp, keys)
        return keys

    def public_keys(self, region: str, start: float, end: float) -> list[PublicKeyInfo]:
        """Keys of ``region`` whose validity overlaps [start, end] (epoch seconds), newest first."""
        with self._lock:
            keys = self._keys(region)
        return [k.info for k in reversed(keys) if k.info.validity_start <= end and k.info.validity_end >= start]

    # --- the current key ---------------------------------------------------------------------
    def _create(self, region: str, now: int, *, replace_valid: bool) -> _Key:
        """A new key for ``region`` -- unless, with ``replace_valid`` False, the newest stored one
        (read again under the store's write lock: another node may have rotated) is still usable."""
        self._check_region(region)

        def decide(docs: list[dict[str, Any]]) -> dict[str, Any] | None:
            newest = docs[-1] if docs else None
            if (not replace_valid and newest is not None and newest.get("privateKey")
                    and now < int(newest["validityEndTime"])):
                return None
            private = F.generate_private_key()
            der = F.public_key_der(private)
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode("ascii")
            return {"serial": int(newest["serial"]) + 1 if newest is not None else 1, "fingerprint": F.fingerprint(der),
                    "validityStartTime": now, "validityEndTime": now + self._rotation_s,
                    "publicKey": base64.b64encode(der).decode("ascii"), "privateKey": pem}

        made = self._stored.add(region, decide)
        self._cache.pop(region, None)
        if made is not None:
            return _parse(made)
        return self._keys(region)[-1]

    def current(self, region: str) -> PublicKeyInfo:
        """The Region's current key (created on first use, rotated when its validity ended)."""
        return self._current(region).info

    def _current(self, region: str) -> _Key:
        with self._lock:
            keys = self._keys(region)
            now = int(self._clock())
            newest = keys[-1] if keys else None
            if newest is None or newest.private_key is None or now >= newest.info.validity_end:
                newest = self._create(region, now, replace_valid=False)
            return newest

    def rotate(self, region: str) -> PublicKeyInfo:
        """Replace the Region's current key now (on demand); returns the new key."""
        with self._lock:
            return self._create(region, int(self._clock()), replace_valid=True).info

    def regions(self) -> list[str]:
        """Regions that have keys."""
        return self._stored.regions()

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
