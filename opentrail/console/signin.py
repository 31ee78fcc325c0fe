"""Console sign-in with an access key pair, recorded as ``ConsoleLogin`` events.

A sign-in succeeds when the access key exists, is Active and the secret matches (constant-time
comparison). Every attempt naming a *known* key is recorded in that key's account, in the Region
chosen on the form: success, or failure with ``errorMessage "Failed authentication"``. Attempts
with an unknown key id are not recorded -- there is no account to record them in (the API does the
same with unknown keys). IAM user passwords are not supported yet.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from ..api.recording import CallInfo
from ..auth.accounts import AccountStore, KeyRecord
from ..auth.sigv4 import Caller
from ..store.base import EventStore
from .recording import console_login_record, submit

#: What the AWS sign-in page says for a wrong user name or password.
FAILED_MESSAGE = "Your authentication information is incorrect. Please try again."
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


@dataclass(frozen=True, slots=True)
class SignInResult:
    """``key`` is the signed-in key, None on failure."""

    key: KeyRecord | None


def valid_region(region: str) -> bool:
    """True for Region names shaped like AWS's (``us-east-1``, ``ap-southeast-2``)."""
    return bool(_REGION_RE.match(region))


def sign_in(accounts: AccountStore, store: EventStore, *, access_key_id: str, secret_access_key: str,
            region: str, info: CallInfo, event_time: float, login_to: str) -> SignInResult:
    """Check the key pair and record the ConsoleLogin event (see the module docstring)."""
    key = accounts.find_key(access_key_id.strip()) if access_key_id.strip() else None
    if key is None:
        return SignInResult(None)
    ok = key.status == "Active" and hmac.compare_digest(
        key.secret_access_key.encode(), secret_access_key.encode()
    )
    caller = Caller(key.account_id, key.access_key_id, key.user_name, region, key.is_admin)
    submit(store, console_login_record(caller=caller, success=ok, event_time=event_time, info=info, login_to=login_to))
    return SignInResult(key if ok else None)
