"""Connection secrets at rest: AES-256-GCM (``cryptography``) under a key kept in
``<data-dir>/eventbridge.key``.

A connection's secrets -- the BASIC password, the API_KEY value, the OAuth client secret and the
values of invocation/OAuth HTTP parameters marked ``IsValueSecret`` -- are sealed into one blob
(:meth:`SecretBox.seal`) stored in ``eventbridge.db`` beside the connection; the database never holds
them in plain text. The blob is bound to the connection ARN (GCM associated data), so a blob copied
onto another connection does not open. The key file is 32 random bytes, created on first use with
mode 0600 (exclusive create: two processes never make two keys). Losing it loses the secrets: the
connections must then be updated with their credentials again (:class:`SecretUnreadable`).

When the data directory is on PostgreSQL (``serve --database-url``), the key is the shared secret
``eventbridge-key`` (:mod:`opentrail.shared_secrets`) instead of the file, so a secret one node
sealed opens on every node; the first node to need it makes it (from its ``eventbridge.key`` when
it has one, so connections made before the move keep their secrets).

AWS keeps these secrets in a Secrets Manager secret the connection names (``SecretArn``); opentrail
shows that ARN's form but keeps the secret here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..shared_secrets import shared_secrets_for

#: The key file in the data directory.
KEY_FILE = "eventbridge.key"
#: The key's name among the shared secrets (PostgreSQL).
KEY_SECRET = "eventbridge-key"
KEY_BYTES = 32
NONCE_BYTES = 12
#: First byte of every blob: the format version.
VERSION = b"\x01"


class SecretUnreadable(Exception):
    """A sealed blob that does not open under this key (another key, or changed bytes)."""


class SecretBox:
    """Seals and opens connection secrets with the key at ``<data_dir>/eventbridge.key``, or the
    shared secret ``eventbridge-key`` on PostgreSQL (made on the first :meth:`seal` or
    :meth:`open`)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = Path(data_dir)
        self._path = self._data_dir / KEY_FILE
        self._aead: AESGCM | None = None
        self._where: object = self._path  # where the key came from, for errors
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path:
        return self._path

    def _cipher(self) -> AESGCM:
        with self._lock:
            if self._aead is None:
                self._aead = AESGCM(self._load_key())
            return self._aead

    def _load_key(self) -> bytes:
        shared = shared_secrets_for(self._data_dir)
        if shared is None:
            return load_or_create_key(self._path)
        try:
            key = shared.get_or_create(KEY_SECRET, lambda: self._path.read_bytes() if self._path.exists()
                                       else os.urandom(KEY_BYTES))
        finally:
            shared.close()
        self._where = f"the shared secret {KEY_SECRET!r}"
        if len(key) != KEY_BYTES:
            raise ValueError(f"{self._where} is not a {KEY_BYTES}-byte key")
        return key

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        """``VERSION + nonce + ciphertext`` of ``plaintext``, bound to ``bound_to`` (the ARN)."""
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._cipher().encrypt(nonce, plaintext, bound_to.encode("utf-8"))

    def open(self, blob: bytes, bound_to: str) -> bytes:
        """The plaintext of a blob :meth:`seal` made for ``bound_to``; raises
        :class:`SecretUnreadable` otherwise."""
        if len(blob) < 1 + NONCE_BYTES or blob[:1] != VERSION:
            raise SecretUnreadable("not a sealed connection secret")
        nonce, sealed = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
        try:
            return self._cipher().decrypt(nonce, sealed, bound_to.encode("utf-8"))
        except InvalidTag:
            raise SecretUnreadable(f"the secret of {bound_to} does not open with {self._where}") from None


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte key in ``path``, made (mode 0600, exclusive create) when the file does not exist.
    Raises ValueError for a file that is not 32 bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.write(fd, os.urandom(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path} is not a {KEY_BYTES}-byte key")
    return key
