"""userIdentity of a proxied call, from the access key that signed it.

The proxy reads opentrail's accounts (``<data-dir>/accounts.db``, through
:class:`opentrail.auth.accounts.AccountStore`, which only reads once the file exists; keys
created later by the server or the CLI are seen at once). Rules:

- a key opentrail knows: the identity opentrail's own API records for it (Root or IAMUser, see
  :meth:`opentrail.auth.sigv4.Caller.user_identity`), in the key's account;
- an ``ASIA...`` key of an STS session issued here (GetSessionToken or AssumeRole): the identity
  opentrail's API records for that session (the AssumedRole form with its sessionContext for a role
  session), in the session's account, read from the session's stored facts by key id alone
  (:meth:`opentrail.sts.sessions.SessionStore.describe`: the proxy sees no token and checks no
  signature, the upstream does);
- a key opentrail does not know (the upstream's own keys, e.g. MinIO users): ``{"type": "Unknown",
  "accountId": <default account>, "accessKeyId": <key>}``, recorded in the default account;
- no key at all (anonymous S3 access): ``{"type": "AWSAccount", "principalId": "", "accountId":
  "anonymous"}``, as AWS records anonymous S3 requests, in the default account.

The default account is the admin account of the data directory unless configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..auth.accounts import KeyRecord
from ..auth.sigv4 import Caller
from ..sts.sessions import SESSION_KEY_PREFIX


class KeyLookup(Protocol):
    def find_key(self, access_key_id: str) -> KeyRecord | None: ...


def _session_caller(keys: Any, access_key_id: str, region: str) -> Caller | None:
    """The caller of the STS session ``access_key_id`` (None: not a session issued here)."""
    sessions = getattr(keys, "sessions", None)
    if sessions is None or not access_key_id.startswith(SESSION_KEY_PREFIX):
        return None
    found = sessions.describe(access_key_id)
    if found is None:
        return None
    return Caller(found.account_id, access_key_id, found.user_name, region, session_created=found.created_s,
                  role_session=found.role_session)


@dataclass(frozen=True, slots=True)
class Identity:
    """The record's ``userIdentity`` and the account the event belongs to (recipientAccountId)."""

    user_identity: dict[str, Any]
    account_id: str


class IdentityResolver:
    """Maps access key ids to identities (see the module docstring)."""

    def __init__(self, keys: KeyLookup | None, default_account_id: str) -> None:
        self._keys = keys
        self._default = default_account_id

    @property
    def default_account_id(self) -> str:
        return self._default

    def identify(self, access_key_id: str | None, region: str) -> Identity:
        """The identity for ``access_key_id`` (None = unsigned request)."""
        if access_key_id is None:
            return Identity({"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}, self._default)
        key = None
        if self._keys is not None:
            try:
                key = self._keys.find_key(access_key_id)
                session = _session_caller(self._keys, access_key_id, region) if key is None else None
            except Exception:
                key, session = None, None
            if session is not None:
                return Identity(session.user_identity(), session.account_id)
        if key is None:
            return Identity({"type": "Unknown", "accountId": self._default, "accessKeyId": access_key_id},
                            self._default)
        caller = Caller(key.account_id, key.access_key_id, key.user_name, region, key.is_admin,
                        user_id=key.user_id, user_path=key.user_path)
        return Identity(caller.user_identity(), key.account_id)
