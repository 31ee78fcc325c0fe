"""AWS Signature Version 4 verification, computed with botocore's own signer.

:func:`verify` parses ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/
aws4_request, SignedHeaders=..., Signature=...``, looks the key up, rebuilds the request with only
the signed headers as a :class:`botocore.awsrequest.AWSRequest`, sets
``request.context['timestamp']`` from ``X-Amz-Date`` and lets :class:`botocore.auth.SigV4Auth`
compute ``canonical_request`` / ``string_to_sign`` / ``signature``; the result is compared in
constant time. Presigned-query authentication is not supported. The signing key (the HMAC chain
``AWS4<secret>`` -> date -> region -> service -> ``aws4_request``) is computed with botocore's
``_sign`` and kept per (secret, date, region, service): it changes once a day, and deriving it took
four of the five HMACs of every verification.

Errors (AWS JSON 1.1 wording, see :mod:`opentrail.api.errors` for sources; the parse, scope and
security-token messages follow the DynamoDB answers recorded in architect/dynalite index.js), all
HTTP 400:

- no Authorization header, or one that does not start with ``AWS4-`` ->
  ``MissingAuthenticationTokenException``;
- unparseable header -> ``IncompleteSignatureException``;
- unknown/inactive key -> ``UnrecognizedClientException``;
- an ``X-Amz-Security-Token`` header: the request is signed with STS session credentials
  (:mod:`opentrail.sts.sessions`): a key id and token that are no session's ->
  ``UnrecognizedClientException`` ("... is invalid", without the final period); a session past its
  expiry -> ``ExpiredTokenException`` (checked before the signature, as the token is). A
  GetSessionToken session's caller is the principal of the key that created it, with
  :attr:`Caller.session_created` set; an AssumeRole session's caller is its role session
  (:attr:`Caller.role_session`) in the role's account;
- wrong scope, more than 5 minutes of clock skew (checked before the signature, as AWS does:
  a correct signature with a wrong clock still says "Signature expired") or a signature mismatch
  -> ``InvalidSignatureException``.

A failure with a *known* key raises :class:`SignatureRejected` carrying the caller, so the API can
record the failed call under that account.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..api.errors import (
    AwsError,
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from ..iam.model import RoleSession
from .accounts import AccountStore, KeyRecord

#: Largest accepted difference between X-Amz-Date and the server clock, in seconds (AWS: 5 min).
MAX_SKEW_S = 300
ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_REGION_RE = re.compile(r"^[a-z0-9-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated (or, inside :class:`SignatureRejected`, identified) caller."""

    account_id: str
    access_key_id: str
    user_name: str | None
    region: str
    is_admin: bool = False
    #: When the STS session whose credentials signed the request was created (epoch seconds);
    #: None for a long-term key.
    session_created: float | None = None
    #: The IAM user's ``AIDA...`` id and path when the key belongs to a user of the IAM store (None:
    #: a user made by ``opentrail create-access-key --user-name``, whose id is derived).
    user_id: str | None = None
    user_path: str = "/"
    #: The role session when the credentials come from STS AssumeRole (None otherwise).
    role_session: "RoleSession | None" = None

    @property
    def arn(self) -> str:
        if self.role_session is not None:
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_session.role_name}/{self.role_session.session_name}"
        if self.user_name is None:
            return f"arn:aws:iam::{self.account_id}:root"
        return f"arn:aws:iam::{self.account_id}:user{self.user_path}{self.user_name}"

    def user_identity(self) -> dict[str, Any]:
        """The record's ``userIdentity``: Root ``{type, principalId (= account), arn, accountId,
        accessKeyId}`` or IAMUser ``{type, principalId, arn, accountId, accessKeyId, userName}``.
        IAMUser principalId is a stable ``AIDA...`` id derived from account and user name. With
        session credentials (GetSessionToken) the same element gains ``sessionContext: {attributes:
        {creationDate: "2026-12-02T10:00:00Z", mfaAuthenticated: "false"}}`` (CloudTrail User Guide,
        "CloudTrail userIdentity element", ``sessionContext``). A role session (AssumeRole) is
        ``{type: "AssumedRole", principalId: "AROA...:<session>", arn (assumed-role ARN), accountId,
        accessKeyId, sessionContext: {sessionIssuer: {type: "Role", principalId: "AROA...", arn
        (role ARN), accountId, userName (role name)}, webIdFederationData: {}, attributes:
        {creationDate, mfaAuthenticated: "false"}, sourceIdentity (when set)}}``: the members and their
        order of real records (datasets/cloudtrail/invictus-ir-aws_dataset)."""
        if self.role_session is not None:
            return self._assumed_role()
        if self.user_name is None:
            identity: dict[str, Any] = {
                "type": "Root",
                "principalId": self.account_id,
                "arn": self.arn,
                "accountId": self.account_id,
                "accessKeyId": self.access_key_id,
            }
            return self._with_session(identity)
        principal = self.user_id or derived_user_id(self.account_id, self.user_name)
        return self._with_session({
            "type": "IAMUser",
            "principalId": principal,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
            "userName": self.user_name,
        })

    def _created(self) -> str:
        return datetime.fromtimestamp(int(self.session_created or 0), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _assumed_role(self) -> dict[str, Any]:
        role = self.role_session
        assert role is not None
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role.role_id,
                "arn": f"arn:aws:iam::{self.account_id}:role{role.role_path}{role.role_name}",
                "accountId": self.account_id,
                "userName": role.role_name,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": self._created(), "mfaAuthenticated": "false"},
        }
        if role.source_identity is not None:
            context["sourceIdentity"] = role.source_identity
        return {
            "type": "AssumedRole",
            "principalId": f"{role.role_id}:{role.session_name}",
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
            "sessionContext": context,
        }

    def _with_session(self, identity: dict[str, Any]) -> dict[str, Any]:
        if self.session_created is not None:
            identity["sessionContext"] = {"attributes": {"creationDate": self._created(), "mfaAuthenticated": "false"}}
        return identity


def derived_user_id(account_id: str, user_name: str) -> str:
    """The stable ``AIDA...`` id of a user that is not in the IAM store (21 characters)."""
    digest = hashlib.sha256(f"{account_id}/{user_name}".encode()).hexdigest().upper()
    return "AIDA" + "".join(c for c in digest if c.isalnum())[:17]


class SignatureRejected(Exception):
    """Authentication failed: ``error`` is the AWS error to answer; ``caller`` is set when the key
    was known (the failure can then be recorded in that account's event history)."""

    def __init__(self, error: AwsError, caller: Caller | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.caller = caller


@dataclass(frozen=True, slots=True)
class _Parsed:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str


def _parse_authorization(value: str) -> _Parsed:
    algo, _, rest = value.strip().partition(" ")
    if algo != ALGORITHM:
        raise IncompleteSignatureException(f"Unsupported AWS 'algorithm': '{algo}' (only {ALGORITHM} for now). ")
    params: dict[str, str] = {}
    for part in re.split(r"[,\s]+", rest.strip()):
        if not part:
            continue
        k, sep, v = part.partition("=")
        if sep:
            params[k] = v
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if not params.get(p)]
    if missing:
        msg = "".join(f"Authorization header requires '{p}' parameter. " for p in missing)
        raise IncompleteSignatureException(f"{msg}Authorization={value}")
    scope = params["Credential"].split("/")
    if len(scope) != 5 or not all(scope):
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{params['Credential']}'"
        )
    return _Parsed(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        terminator=scope[4],
        signed_headers=tuple(h for h in params["SignedHeaders"].lower().split(";") if h),
        signature=params["Signature"],
    )


@functools.lru_cache(maxsize=64)
def _signed_at(amz_date: str) -> datetime | None:
    """``X-Amz-Date`` as an aware UTC datetime, None when it is not ``YYYYMMDDTHHMMSSZ``
    (cached: every request signed in the same second has the same value)."""
    try:
        return datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key of a credential scope, derived exactly as
    :meth:`botocore.auth.SigV4Auth.signature` does (``date`` is ``YYYYMMDD``). The key of a deleted or
    inactive access key may stay cached until evicted, unused: :func:`verify` rejects such keys
    before computing any signature."""
    sign = SigV4Auth._sign
    k_date = sign(None, f"AWS4{secret_access_key}".encode(), date)  # type: ignore[arg-type]
    k_region = sign(None, k_date, region)  # type: ignore[arg-type]
    k_service = sign(None, k_region, service)  # type: ignore[arg-type]
    return bytes(sign(None, k_service, "aws4_request"))  # type: ignore[arg-type]


class _KeyCachingSigV4Auth(SigV4Auth):
    """botocore's signer with :func:`signing_key` in place of its per-call key derivation."""

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        key = signing_key(self.credentials.secret_key, request.context["timestamp"][0:8], self._region_name,
                          self._service_name)
        return str(self._sign(key, string_to_sign, hex=True))


def _header_map(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in headers:
        out.setdefault(k.lower(), []).append(v)
    return out


def _fmt(t: datetime) -> str:
    return t.strftime(_AMZ_DATE)


def verify(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    accounts: AccountStore,
    service: str,
    now: float,
) -> Caller:
    """Verify one request's SigV4 signature for ``service`` (``cloudtrail``, ``opentrail``).

    ``path`` is the raw (still percent-encoded) request path, ``query_string`` the raw query,
    ``headers`` every (name, value) pair received, ``now`` the server clock in epoch seconds.
    Returns the :class:`Caller`; raises :class:`SignatureRejected`.
    """
    hmap = _header_map(headers)
    auth_values = hmap.get("authorization")
    if not auth_values:
        raise SignatureRejected(MissingAuthenticationTokenException())
    if not auth_values[0].strip().startswith("AWS4-"):  # not a SigV4 header at all
        raise SignatureRejected(MissingAuthenticationTokenException())
    try:
        parsed = _parse_authorization(auth_values[0])
    except AwsError as exc:
        raise SignatureRejected(exc) from None
    tokens = hmap.get("x-amz-security-token")
    role: RoleSession | None = None
    if tokens:
        key, created, role = session_key(accounts, parsed.access_key_id, tokens[0], now)
    else:
        found = accounts.find_key(parsed.access_key_id)
        if found is None or found.status != "Active":
            raise SignatureRejected(UnrecognizedClientException())
        key, created = found, None
    caller = Caller(key.account_id, key.access_key_id, key.user_name, parsed.region, key.is_admin, created,
                    user_id=key.user_id, user_path=key.user_path, role_session=role)
    try:
        _check(parsed, hmap, key, method, path, query_string, body, service, now, auth_values[0])
    except AwsError as exc:
        raise SignatureRejected(exc, caller) from None
    return caller


def session_key(accounts: AccountStore, access_key_id: str, token: str,
                 now: float) -> tuple[KeyRecord, float, RoleSession | None]:
    """The key record of the STS session ``access_key_id`` with ``token``, its creation time and
    its role session (AssumeRole; None for GetSessionToken). A GetSessionToken session stands for
    the principal of the key that created it, which must still be active; a role session stands for
    its role session in the role's account (admin when that account is the admin account) and
    outlives the key that assumed it, as AWS role sessions do. Raises :class:`SignatureRejected`
    (see the module docstring)."""
    session = accounts.sessions.find(access_key_id, token)
    user_id, user_path = None, "/"
    if session is not None and session.role_session is not None:
        is_admin = accounts.admin_account_id() == session.account_id
    else:
        parent = accounts.find_key(session.parent_access_key_id) if session is not None else None
        if session is None or parent is None or parent.status != "Active":  # AWS words this one without the period
            raise SignatureRejected(UnrecognizedClientException("The security token included in the request is invalid"))
        is_admin, user_id, user_path = parent.is_admin, parent.user_id, parent.user_path
    if session.expired(now):
        raise SignatureRejected(ExpiredTokenException())
    key = KeyRecord(access_key_id, session.account_id, session.user_name, session.secret_access_key, "Active",
                    is_admin, user_id, user_path)
    return key, session.created_s, session.role_session


def _check(
    parsed: _Parsed,
    hmap: dict[str, list[str]],
    key: KeyRecord,
    method: str,
    path: str,
    query_string: str,
    body: bytes,
    service: str,
    now: float,
    authorization: str,
) -> None:
    amz_dates = hmap.get("x-amz-date")
    if not amz_dates:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            f"Authorization={authorization}"
        )
    amz_date = amz_dates[0]
    signed_at = _signed_at(amz_date)
    if signed_at is None:
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )
    if "host" not in parsed.signed_headers:
        raise InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if parsed.date != amz_date[:8]:
        raise InvalidSignatureException(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{parsed.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if parsed.terminator != "aws4_request":
        raise InvalidSignatureException(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{parsed.terminator}'. "
        )
    if parsed.service != service:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'. ")
    if not _REGION_RE.match(parsed.region):
        raise InvalidSignatureException(f"Credential should be scoped to a valid region, not '{parsed.region}'. ")
    server_now = datetime.fromtimestamp(int(now), timezone.utc)
    skew = timedelta(seconds=MAX_SKEW_S)
    if signed_at < server_now - skew:
        raise InvalidSignatureException.expired(amz_date, _fmt(server_now - skew), _fmt(server_now))
    if signed_at > server_now + skew:
        raise InvalidSignatureException.not_yet_current(amz_date, _fmt(server_now + skew), _fmt(server_now))
    body_hash = hashlib.sha256(body).hexdigest()
    declared = hmap.get("x-amz-content-sha256")
    if declared and declared[0] != body_hash:
        raise InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    expected = expected_signature(
        method=method,
        path=path,
        query_string=query_string,
        signed_headers={h: ",".join(v.strip() for v in hmap.get(h, [])) for h in parsed.signed_headers},
        body=body,
        access_key_id=key.access_key_id,
        secret_access_key=key.secret_access_key,
        region=parsed.region,
        service=parsed.service,
        amz_date=amz_date,
    )
    if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
        raise InvalidSignatureException()


def expected_signature(
    *,
    method: str,
    path: str,
    query_string: str,
    signed_headers: dict[str, str],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The hex signature botocore's :class:`SigV4Auth` computes for this request (only the signed
    headers are given to it, so its canonical headers are exactly the client's)."""
    host = signed_headers.get("host", "localhost")
    url = f"http://{host}{path or '/'}"
    if query_string:
        url += "?" + query_string
    request = AWSRequest(method=method, url=url, data=body, headers=dict(signed_headers))
    request.context["timestamp"] = amz_date
    signer = _KeyCachingSigV4Auth(Credentials(access_key_id, secret_access_key), service, region)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request)
