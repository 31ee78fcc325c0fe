"""Console sign-in, recorded as ``ConsoleLogin`` events: with an access key pair
(:func:`sign_in`), or as an IAM user with account ID, user name and password (:func:`sign_in_user`,
AWS's IAM user sign-in form).

A key sign-in succeeds when the access key exists, is Active and the secret matches (constant-time
comparison). Temporary credentials (an ``ASIA...`` key with its session token, from GetSessionToken
or AssumeRole) sign in too: the session must exist for that token and not be expired, as for an API
call (:func:`opentrail.auth.sigv4.session_key`); the console session then acts as that principal (a
role session included) and ends when the credentials expire. Every attempt naming a *known* key is recorded in that key's account, in the Region
chosen on the form: success, or failure with ``errorMessage "Failed authentication"``. Attempts
with an unknown key id are not recorded -- there is no account to record them in (the API does the
same with unknown keys).

An IAM user sign-in succeeds when the user has a login profile (CreateLoginProfile) whose password
matches (:func:`opentrail.api.iam_login_handlers.verify_password`: scrypt, constant-time). A user
without a login profile, an unknown user and a wrong password fail alike, with the same message
(nothing tells which). Attempts in a known account are recorded there: the user's IAMUser identity
(``AIDA...`` id; with its ARN on success), or for a name that is no user of the account
``userName "HIDDEN_DUE_TO_SECURITY_REASONS"`` as CloudTrail writes it. :class:`SignInThrottle`
refuses an (account, user name) pair after 5 failures within 60 seconds, until a minute has passed
since the oldest of them; refused attempts are recorded as failures too and their password is not
checked.
"""

from __future__ import annotations

import functools
import hmac
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ..api.iam_login_handlers import verify_password
from ..api.recording import CallInfo
from ..auth.accounts import AccountStore, KeyRecord
from ..auth.sigv4 import Caller, SignatureRejected, session_key
from ..iam.model import RoleSession, User
from ..iam.passwords import check_password, hash_password
from ..store.base import EventStore
from .recording import console_login_record, submit

#: What the AWS sign-in page says for a wrong user name or password.
FAILED_MESSAGE = "Your authentication information is incorrect. Please try again."
#: What the form says while :class:`SignInThrottle` refuses the account and user name.
THROTTLED_MESSAGE = "Too many failed sign-in attempts for this user. Wait a minute and try again."
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


@dataclass(frozen=True, slots=True)
class SignInResult:
    """``key`` is the signed-in key, None on failure; for temporary credentials ``created`` and
    ``expires`` (epoch seconds) and ``role_session`` (AssumeRole) describe them."""

    key: KeyRecord | None
    created: float | None = None
    expires: float | None = None
    role_session: RoleSession | None = None


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("opentrail: no such login profile")


def valid_region(region: str) -> bool:
    """True for Region names shaped like AWS's (``us-east-1``, ``ap-southeast-2``)."""
    return bool(_REGION_RE.match(region))


def sign_in(accounts: AccountStore, store: EventStore, *, access_key_id: str, secret_access_key: str,
            region: str, info: CallInfo, event_time: float, login_to: str, session_token: str = "") -> SignInResult:
    """Check the key pair (with ``session_token``: temporary credentials) and record the
    ConsoleLogin event (see the module docstring)."""
    key_id = access_key_id.strip()
    created = expires = None
    role: RoleSession | None = None
    if not key_id:
        return SignInResult(None)
    if session_token.strip():
        try:
            key, created, role = session_key(accounts, key_id, session_token.strip(), event_time)
        except SignatureRejected:
            return SignInResult(None)  # no such session, or expired: nothing to record it in
        found = accounts.sessions.find(key_id, session_token.strip())
        expires = found.expires_s if found is not None else event_time
    else:
        found_key = accounts.find_key(key_id)
        if found_key is None:
            return SignInResult(None)
        key = found_key
    ok = key.status == "Active" and hmac.compare_digest(
        key.secret_access_key.encode(), secret_access_key.encode()
    )
    caller = Caller(key.account_id, key.access_key_id, key.user_name, region, key.is_admin, created,
                    user_id=key.user_id, user_path=key.user_path, role_session=role)
    submit(store, console_login_record(caller=caller, success=ok, event_time=event_time, info=info, login_to=login_to))
    return SignInResult(key, created, expires, role) if ok else SignInResult(None)


@dataclass
class SignInThrottle:
    """Failed IAM user sign-ins per (account, user name) in memory: after ``max_failures`` failures
    within ``window_s`` seconds the pair is refused until the oldest of them is ``window_s`` old; a
    success forgets the pair's failures. ``clock`` gives epoch seconds. Thread-safe."""

    clock: Callable[[], float]
    max_failures: int = 5
    window_s: float = 60.0
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def refused(self, account_id: str, user_name: str) -> bool:
        """True while the pair has ``max_failures`` failures in the window."""
        with self._lock:
            return len(self._recent((account_id, user_name))) >= self.max_failures

    def failed(self, account_id: str, user_name: str) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bound memory under a spray of names
                self._failures.clear()
            self._recent((account_id, user_name)).append(self.clock())

    def succeeded(self, account_id: str, user_name: str) -> None:
        with self._lock:
            self._failures.pop((account_id, user_name), None)


@dataclass(frozen=True, slots=True)
class UserSignInResult:
    """``user`` is the signed-in IAM user, None on failure; ``throttled``: refused by the throttle."""

    user: User | None
    throttled: bool = False


def _account_known(accounts: AccountStore, iam: Any, account_id: str) -> bool:
    return bool(accounts.list_keys(account_id)) or bool(iam.count(account_id, "user"))


def sign_in_user(accounts: AccountStore, iam: Any, store: EventStore, throttle: SignInThrottle, *, account_id: str,
                 user_name: str, password: str, region: str, info: CallInfo, event_time: float,
                 login_to: str) -> UserSignInResult:
    """Check an IAM user's password and record the ConsoleLogin event (see the module docstring).
    ``iam`` is the :class:`opentrail.iam.store.IamStore`; an account ID that is not 12 digits, or an
    account opentrail does not know, fails unrecorded (no account to record it in)."""
    account_id, user_name = account_id.strip(), user_name.strip()
    if not _ACCOUNT_RE.match(account_id) or not user_name or len(user_name) > 64:
        return UserSignInResult(None)
    throttled = throttle.refused(account_id, user_name)
    user = iam.get_user(account_id, user_name)
    ok = False
    if not throttled:
        if user is not None and iam.login_profile(user.user_id) is not None:
            ok = verify_password(iam, account_id, user_name, password)
        else:  # as slow as a real check, so timing does not tell which users have a password
            check_password(password, _dummy_hash())
    if user is not None or _account_known(accounts, iam, account_id):
        caller = Caller(account_id, "", user_name, region, user_id=user.user_id if user else None,
                        user_path=user.path if user else "/")
        submit(store, console_login_record(caller=caller, success=ok, event_time=event_time, info=info,
                                           login_to=login_to, unknown_user=user is None))
    if ok:
        throttle.succeeded(account_id, user_name)
        return UserSignInResult(user)
    if not throttled:
        throttle.failed(account_id, user_name)
    return UserSignInResult(None, throttled)
