"""The server secret that authenticates LookupEvents ``NextToken`` values (HMAC-SHA256, see
:mod:`opentrail.api.lookup_events`).

The key is ``<data-dir>/token.key`` (64 hex digits, mode 0600), created on the server's first
start and kept, so tokens stay valid across restarts (:func:`load_token_key`). When the data
directory is on PostgreSQL (``serve --database-url``), the key is the shared secret ``token-key``
(:mod:`opentrail.shared_secrets`) instead, so a token one node issued is good on every node. Code
that builds an operation context without a key (tests, embedders) gets a key made for the process
(:func:`process_token_key`), so its tokens work until the process ends.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from ..shared_secrets import shared_secrets_for

log = logging.getLogger(__name__)

#: The key file in the data directory.
TOKEN_KEY_FILE = "token.key"
#: The key's name among the shared secrets (PostgreSQL).
TOKEN_KEY_SECRET = "token-key"
KEY_BYTES = 32
_PROCESS_KEY = secrets.token_bytes(KEY_BYTES)


def process_token_key() -> bytes:
    """A key made once per process, for contexts built without one (tokens die with the process)."""
    return _PROCESS_KEY


def load_token_key(data_dir: Path) -> bytes:
    """The NextToken key in ``data_dir/token.key``, created (0600, 32 random bytes as hex) if
    missing. Two processes starting at once end up with the same key (the file is linked into
    place whole). Raises ``ValueError`` if the file does not hold 64 hex digits, ``OSError`` if it
    cannot be read or written. A file readable by others is made 0600 (with a warning).

    On PostgreSQL the key is the shared secret ``token-key``, made by the first node that starts:
    from this node's ``token.key`` when it has one (tokens issued before the move stay good), else
    random. The file is then neither made nor changed."""
    path = Path(data_dir) / TOKEN_KEY_FILE
    shared = shared_secrets_for(data_dir)
    if shared is not None:
        try:
            key = shared.get_or_create(TOKEN_KEY_SECRET, lambda: _read(path) if path.exists() else
                                       secrets.token_bytes(KEY_BYTES))
        finally:
            shared.close()
        if len(key) != KEY_BYTES:
            raise ValueError(f"the shared secret {TOKEN_KEY_SECRET!r} is not a {KEY_BYTES}-byte NextToken key")
        return key
    if not path.exists():
        _create(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); making it 0600", path, mode)
        os.chmod(path, 0o600)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text("ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{path} does not hold a NextToken key ({2 * KEY_BYTES} hex digits); delete it to make a new"
            " one (LookupEvents NextTokens issued before then stop working)"
        )
    return key


def _create(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, (secrets.token_bytes(KEY_BYTES).hex() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            return
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)
