"""Temporary credentials (STS sessions) at rest: ``sts_sessions`` in ``<data-dir>/accounts.db`` (or
its schema in the shared PostgreSQL database, :func:`opentrail.state_db.open_state_db`).

A session is an ``ASIA...`` access key id (:func:`opentrail.sts.key_ids.new_key_id`: it encodes its
account), a 40-character secret access key and a session token (160 base64 characters from 120
random bytes), valid from ``created_s`` to ``expires_s`` (epoch seconds). Neither the secret nor the
token is stored in clear:

- the row keeps ``SHA-256(token)``: a request's ``X-Amz-Security-Token`` is checked against it in
  constant time;
- the secret, which SigV4 verification needs, is sealed with AES-256-GCM under a key derived from
  the token (``HMAC-SHA256(token, "opentrail sts secret key")``), bound to the access key id as
  associated data. Only a request that presents the token can open it; the database alone (a
  backup, a copied file) yields neither the token nor the secret, and no server key file is needed,
  so every process sharing the data directory (server, CLI, capture proxy) reads the same sessions.

A session made by AssumeRole also keeps the role session's facts
(:class:`opentrail.iam.model.RoleSession`: role name, path and ``AROA...`` id, session name, session
policy and policy ARNs, session tags and which of them are transitive, SourceIdentity, the ARN of
the principal that assumed it); its ``account_id`` is the role's account and ``user_name`` is None.
Those columns were added after the first release: the schema script
``opentrail/sts/sql/sessions/0002_role_session_columns.sql``, applied when :class:`SessionStore`
opens the database (:mod:`opentrail.state_migrate`), adds them to an existing table, so older data
directories keep working (their rows are GetSessionToken sessions, all NULL there). The facts are copied at AssumeRole time, so a
session keeps working until it expires even when its role is deleted or changed meanwhile, as on
AWS. :meth:`SessionStore.describe` gives a session's facts from its key id alone, without opening
the secret (the capture proxy, which sees no token, names the caller with it).

Expired rows are deleted by :meth:`SessionStore.purge_expired`, which :meth:`SessionStore.create`
runs; :meth:`SessionStore.find` answers an expired session as such (so the caller can answer
ExpiredToken) until it is purged. Found sessions are cached in memory per (key id, token hash);
sessions are never changed, only removed, and an expired one is refused by time, so the cache
cannot grant more than the database, and needs no news of other nodes: a session made on one is
found by another's first look at the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..state_db import immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from ..iam.model import RoleSession
from .key_ids import new_key_id

#: Prefix of temporary access key ids (IAM User Guide, "IAM identifiers": ``ASIA``).
SESSION_KEY_PREFIX = "ASIA"
TOKEN_BYTES = 120
_NONCE_BYTES = 12
_SEAL_LABEL = b"opentrail sts secret key"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_CACHE_MAX = 4096

#: Role session columns (AssumeRole), added to older tables by ALTER TABLE; all NULL for the
#: sessions of GetSessionToken. JSON text: policy_arns (list), tags (object), transitive_tag_keys (list).
_ROLE_COLUMNS = ("role_name", "role_path", "role_id", "session_name", "session_policy", "policy_arns", "tags",
                 "transitive_tag_keys", "source_identity", "assumed_by_arn")
_SELECT = ("SELECT account_id, user_name, parent_access_key_id, token_sha256, sealed_secret, created_s, expires_s, "
           + ", ".join(_ROLE_COLUMNS) + " FROM sts_sessions WHERE access_key_id = ?")


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """What GetSessionToken hands out once: key id, secret, token, expiry (epoch seconds)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_s: float


@dataclass(frozen=True, slots=True)
class Session:
    """A session as the verifier needs it: its account and user (None: root) -- the principal of
    the key that created it --, that key, its times (epoch seconds) and its secret."""

    access_key_id: str
    account_id: str
    user_name: str | None
    parent_access_key_id: str
    created_s: float
    expires_s: float
    secret_access_key: str = field(repr=False)
    #: The role session (AssumeRole); None for GetSessionToken's sessions.
    role_session: RoleSession | None = None
    #: Keys of ``role_session.tags`` that pass on to chained role sessions (TransitiveTagKeys).
    transitive_tag_keys: tuple[str, ...] = ()

    def expired(self, now: float) -> bool:
        """True once ``now`` has reached the expiry."""
        return now >= self.expires_s


def token_hash(token: str) -> bytes:
    """SHA-256 of the token's UTF-8 bytes (what the row keeps)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def _cipher(token: str) -> AESGCM:
    return AESGCM(hmac.new(token.encode("utf-8"), _SEAL_LABEL, hashlib.sha256).digest())


def seal_secret(secret: str, token: str, access_key_id: str) -> bytes:
    """``nonce || AES-GCM(secret)`` under the token's key, bound to ``access_key_id``."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + _cipher(token).encrypt(nonce, secret.encode("utf-8"), access_key_id.encode("ascii"))


def open_secret(blob: bytes, token: str, access_key_id: str) -> str | None:
    """The secret sealed in ``blob``, or None when ``token``/``access_key_id`` do not open it."""
    try:
        plain = _cipher(token).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], access_key_id.encode("ascii"))
    except (InvalidTag, ValueError):
        return None
    return plain.decode("utf-8")


class SessionStore:
    """Sessions in the state database ``path`` (the accounts database). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bytes], Session] = {}
        self._conn = open_state_db(Path(path))
        self._conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            apply_schema(self._conn, "opentrail.sts", "sessions")

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            self._conn.close()

    def create(self, *, account_id: str, user_name: str | None, parent_access_key_id: str, duration_s: int,
               now: float, role_session: RoleSession | None = None,
               transitive_tag_keys: tuple[str, ...] = ()) -> IssuedCredentials:
        """Issue credentials valid for ``duration_s`` seconds from ``now`` (epoch seconds) for the
        principal of ``parent_access_key_id`` (GetSessionToken) or, with ``role_session``, for that
        session of a role of ``account_id`` (AssumeRole; ``parent_access_key_id`` is then the key
        that assumed it, ``user_name`` None). Expired sessions are purged first."""
        key_id = new_key_id(SESSION_KEY_PREFIX, account_id)
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
        token = base64.b64encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")
        expires = float(int(now) + duration_s)
        sealed = seal_secret(secret, token, key_id)
        self.purge_expired(now)
        with self._lock, immediate_transaction(self._conn):
            self._conn.execute(
                "INSERT INTO sts_sessions (access_key_id, account_id, user_name, parent_access_key_id, token_sha256,"
                " sealed_secret, created_s, expires_s, " + ", ".join(_ROLE_COLUMNS) + ")"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key_id, account_id, user_name, parent_access_key_id, token_hash(token), sealed, float(int(now)),
                 expires, *_role_values(role_session, transitive_tag_keys)))
        return IssuedCredentials(key_id, secret, token, expires)

    def find(self, access_key_id: str, token: str) -> Session | None:
        """The session of ``access_key_id`` if ``token`` is its token (expired or not: see
        :meth:`Session.expired`), else None (unknown key, wrong token, purged)."""
        digest = token_hash(token)
        with self._lock:
            hit = self._cache.get((access_key_id, digest))
            if hit is not None:
                return hit
            row = self._conn.execute(_SELECT, (access_key_id,)).fetchone()
        if row is None or not hmac.compare_digest(bytes(row[3]), digest):
            return None
        secret = open_secret(bytes(row[4]), token, access_key_id)
        if secret is None:
            return None
        session = _session(access_key_id, row, secret)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[(access_key_id, digest)] = session
        return session

    def describe(self, access_key_id: str) -> Session | None:
        """The stored facts of session ``access_key_id`` (expired or not), with an empty
        ``secret_access_key``: the secret is not opened (no token is given). None when unknown. For
        naming the caller only (the capture proxy), never for verifying a signature."""
        with self._lock:
            row = self._conn.execute(_SELECT, (access_key_id,)).fetchone()
        return None if row is None else _session(access_key_id, row, "")

    def purge_expired(self, now: float) -> int:
        """Delete the sessions expired at ``now``; returns how many."""
        with self._lock, immediate_transaction(self._conn):
            deleted = self._conn.execute("DELETE FROM sts_sessions WHERE expires_s <= ?", (now,)).rowcount
            self._cache = {k: s for k, s in self._cache.items() if not s.expired(now)}
        return int(deleted)

    def count(self) -> int:
        """How many sessions are stored (expired ones not yet purged included)."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM sts_sessions").fetchone()[0])


def _role_values(role: RoleSession | None, transitive: tuple[str, ...]) -> tuple[str | None, ...]:
    if role is None:
        return (None,) * len(_ROLE_COLUMNS)
    return (role.role_name, role.role_path, role.role_id, role.session_name, role.session_policy,
            json.dumps(list(role.session_policy_arns)), json.dumps(dict(role.tags)), json.dumps(list(transitive)),
            role.source_identity, role.assumed_by_arn)


def _session(access_key_id: str, row: tuple[object, ...], secret: str) -> Session:
    """A :class:`Session` from a row of :data:`_SELECT`."""
    role: RoleSession | None = None
    transitive: tuple[str, ...] = ()
    if row[7] is not None:
        role = RoleSession(role_name=str(row[7]), role_path=str(row[8]), role_id=str(row[9]),
                           session_name=str(row[10]), session_policy=row[11],  # type: ignore[arg-type]
                           session_policy_arns=tuple(json.loads(str(row[12] or "[]"))),
                           tags=json.loads(str(row[13] or "{}")), source_identity=row[15],  # type: ignore[arg-type]
                           assumed_by_arn=row[16])  # type: ignore[arg-type]
        transitive = tuple(json.loads(str(row[14] or "[]")))
    return Session(access_key_id, str(row[0]), row[1], str(row[2]), float(row[5]),  # type: ignore[arg-type]
                   float(row[6]), secret, role, transitive)  # type: ignore[arg-type]
