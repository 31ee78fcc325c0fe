"""userIdentity of a proxied call, from the access key that signed it.

The proxy reads opentrail's accounts (``<data-dir>/accounts.db``, through
:class:`opentrail.auth.accounts.AccountStore`, which only reads once the file exists; keys
created later by the server or the CLI are seen at once). Rules:

- a key opentrail knows: the identity opentrail's own API records for it (Root or IAMUser, see
  :meth:`opentrail.auth.sigv4.Caller.user_identity`), in the key's account;
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


class KeyLookup(Protocol):
    def find_key(self, access_key_id: str) -> KeyRecord | None: ...


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
            except Exception:
                key = None
        if key is None:
            return Identity({"type": "Unknown", "accountId": self._default, "accessKeyId": access_key_id},
                            self._default)
        caller = Caller(key.account_id, key.access_key_id, key.user_name, region, key.is_admin,
                        user_id=key.user_id, user_path=key.user_path)
        return Identity(caller.user_identity(), key.account_id)
