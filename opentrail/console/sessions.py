"""Console sessions: who is signed in, the signed session cookie and CSRF tokens.

Sessions live in server memory (:class:`SessionStore`), keyed by a random 256-bit id. The cookie
carries ``<id>.<HMAC-SHA256(secret, id)>`` (base64url); the secret is random per process, so a
restart signs everyone out. With the data directory on PostgreSQL (``serve --database-url``,
:meth:`SessionStore.for_data_dir`) the secret and the sessions are shared secrets of the database
(:mod:`opentrail.shared_secrets`: ``console-secret`` and ``console-session/<id>``), so a browser
signed in through one node is signed in on every node, and signing out on one ends it on all. Sign-out deletes the session on the server: a copied cookie is useless
afterwards. A session expires :data:`SESSION_TTL_S` after sign-in (the AWS console's default
session length is 12 hours).

Cookies: ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, and ``Secure`` when the request came over
HTTPS. CSRF: every form carries a token -- the session's own token once signed in, and before
sign-in a token held in a separate signed cookie (the sign-in form is protected too). Tokens are
compared in constant time.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import string
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import orjson

from ..auth.sigv4 import Caller
from ..iam.model import RoleSession
from ..shared_secrets import SharedSecrets, shared_secrets_for

#: Name of the session cookie.
SESSION_COOKIE = "opentrail_console"
#: Name of the cookie holding the CSRF token of the sign-in form.
SIGNIN_CSRF_COOKIE = "opentrail_signin_csrf"
#: Seconds a session lasts after sign-in (AWS console: 12 hours).
SESSION_TTL_S = 12 * 3600
#: Names among the shared secrets (PostgreSQL): the cookie-signing secret, and each session's row.
SECRET_NAME = "console-secret"
SESSION_PREFIX = "console-session/"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """One signed-in browser.

    - ``access_key_id``: the long-term key used to sign in; ``session_key_id``: the temporary
      ``ASIA...`` key id the session's calls are recorded with (as AWS records console calls).
    - ``region``: the Region the console shows; ``created``: sign-in time (epoch seconds).
    - ``csrf``: the token every form of this session must send back.
    """

    sid: str
    account_id: str
    access_key_id: str
    session_key_id: str
    user_name: str | None
    is_admin: bool
    region: str
    created: float
    csrf: str
    columns: tuple[str, ...] | None = None
    flash: tuple[str, str] | None = None  # (kind "ok" or "error", text) shown once on the next page
    #: The IAM user's ``AIDA...`` id and path (None and ``/`` for root and for users unknown to IAM).
    user_id: str | None = None
    user_path: str = "/"
    #: Signed in with STS temporary credentials: when they were issued and expire (epoch seconds),
    #: and their role session (AssumeRole; None for GetSessionToken). The console session ends
    #: when the credentials expire.
    credentials_created: float | None = None
    credentials_expire: float | None = None
    role_session: RoleSession | None = None

    def caller(self) -> Caller:
        """The caller the console's operations run as (the session key, the chosen Region, the
        IAM user's id and path, the role session of temporary credentials)."""
        return Caller(self.account_id, self.session_key_id, self.user_name, self.region, self.is_admin,
                      self.credentials_created, user_id=self.user_id, user_path=self.user_path,
                      role_session=self.role_session)


def _session_json(session: ConsoleSession) -> bytes:
    return orjson.dumps(dataclasses.asdict(session))


def _session_from_json(raw: bytes) -> ConsoleSession:
    doc = orjson.loads(raw)
    for name in ("columns", "flash"):
        if doc[name] is not None:
            doc[name] = tuple(doc[name])
    if doc["role_session"] is not None:
        role = doc["role_session"]
        role["session_policy_arns"] = tuple(role["session_policy_arns"])
        doc["role_session"] = RoleSession(**role)
    return ConsoleSession(**doc)


@dataclass
class SessionStore:
    """Sessions in memory -- or, with ``shared``, in the database's shared secrets (every node sees
    them) -- thread-safe. ``clock`` gives epoch seconds."""

    clock: Callable[[], float]
    ttl_s: float = SESSION_TTL_S
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    shared: SharedSecrets | None = None
    _sessions: dict[str, ConsoleSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_data_dir(cls, clock: Callable[[], float], data_dir: Path) -> SessionStore:
        """The server's sessions: in memory with a secret made for the process (SQLite), or shared
        by every node of the PostgreSQL database ``data_dir`` is registered on, with the secret
        the first node made."""
        shared = shared_secrets_for(data_dir, clock)
        if shared is None:
            return cls(clock)
        return cls(clock, secret=shared.get_or_create(SECRET_NAME, lambda: secrets.token_bytes(32)), shared=shared)

    def create(self, *, account_id: str, access_key_id: str, user_name: str | None, is_admin: bool,
               region: str, user_id: str | None = None, user_path: str = "/",
               credentials_created: float | None = None, credentials_expire: float | None = None,
               role_session: RoleSession | None = None) -> ConsoleSession:
        """A new session (random id, CSRF token and ``ASIA`` session key id); ``access_key_id`` is
        ``""`` for an IAM user signed in with a password."""
        session = ConsoleSession(
            sid=secrets.token_urlsafe(32),
            account_id=account_id,
            access_key_id=access_key_id,
            session_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
            user_name=user_name,
            is_admin=is_admin,
            region=region,
            created=self.clock(),
            csrf=secrets.token_urlsafe(32),
            user_id=user_id,
            user_path=user_path,
            credentials_created=credentials_created,
            credentials_expire=credentials_expire,
            role_session=role_session,
        )
        if self.shared is not None:
            now = self.clock()
            with self.shared.write() as tx:
                for name, raw in tx.family(SESSION_PREFIX):
                    if self._ended(_session_from_json(raw), now):
                        tx.delete(name)
                tx.put(SESSION_PREFIX + session.sid, _session_json(session))
            return session
        with self._lock:
            self._expire()
            self._sessions[session.sid] = session
        return session

    def _ended(self, session: ConsoleSession, now: float) -> bool:
        return session.created < now - self.ttl_s or (
            session.credentials_expire is not None and now >= session.credentials_expire)

    def _expire(self) -> None:
        now = self.clock()
        for sid in [s.sid for s in self._sessions.values() if self._ended(s, now)]:
            del self._sessions[sid]

    def get(self, sid: str) -> ConsoleSession | None:
        """The live session ``sid``, or None (unknown, signed out or expired)."""
        if self.shared is not None:
            raw = self.shared.get(SESSION_PREFIX + sid)
            if raw is None:
                return None
            found = _session_from_json(raw)
            if self._ended(found, self.clock()):
                self.shared.delete(SESSION_PREFIX + sid)
                return None
            return found
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if self._ended(session, self.clock()):
                del self._sessions[sid]
                return None
            return session

    def update(self, session: ConsoleSession, **changes: Any) -> ConsoleSession:
        """Replace fields of a live session (Region, chosen columns, flash message)."""
        new = replace(session, **changes)
        if self.shared is not None:
            with self.shared.write() as tx:
                if tx.get(SESSION_PREFIX + session.sid) is not None:
                    tx.put(SESSION_PREFIX + session.sid, _session_json(new))
            return new
        with self._lock:
            if session.sid in self._sessions:
                self._sessions[session.sid] = new
        return new

    def delete(self, sid: str) -> None:
        """Sign out: forget the session."""
        if self.shared is not None:
            self.shared.delete(SESSION_PREFIX + sid)
            return
        with self._lock:
            self._sessions.pop(sid, None)

    # --- signed cookie values ---------------------------------------------------------------

    def _mac(self, value: str) -> str:
        digest = hmac.new(self.secret, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, value: str) -> str:
        """``value.signature`` for a cookie."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a cookie made by :meth:`sign`, or None when missing or tampered with."""
        if not signed or "." not in signed or len(signed) > 512:
            return None
        value, _, mac = signed.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(value).encode()):
            return None
        return value

    def from_cookie(self, cookie: str | None) -> ConsoleSession | None:
        """The session named by a session cookie value."""
        sid = self.unsign(cookie)
        return self.get(sid) if sid else None


def tokens_match(expected: str | None, given: Any) -> bool:
    """Constant-time CSRF token comparison; a missing token never matches."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
