"""The request as policies see it: the calling principal, the action, the resources and the
condition keys (global keys derived from the principal and the call, plus service keys given by
the caller).

Global condition keys `[UG-IAM reference_policies_condition-keys.md]` served here:
``aws:PrincipalArn`` (for a role session: the role's ARN), ``aws:PrincipalAccount``,
``aws:PrincipalOrgID``, ``aws:PrincipalTag/<key>``, ``aws:PrincipalType`` (Account, User,
AssumedRole, FederatedUser), ``aws:userid``, ``aws:username`` (IAM users only),
``aws:CurrentTime`` (ISO 8601, UTC, seconds), ``aws:EpochTime``, ``aws:SourceIp``,
``aws:SecureTransport``, ``aws:RequestedRegion``, ``aws:MultiFactorAuthPresent`` and
``aws:MultiFactorAuthAge`` (present only when given, as AWS leaves them out for long-term keys),
``aws:TokenIssueTime`` (temporary credentials only), ``aws:ResourceAccount``,
``aws:PrincipalIsAWSService`` (``false``). Key names are case-insensitive; so are tag keys in
``aws:PrincipalTag/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Literal, Mapping, Sequence, Union

__all__ = ["Principal", "Request", "RequestContext", "ContextValue"]

PrincipalType = Literal["root", "user", "assumed_role", "federated_user"]
#: A context value as the caller gives it: one value, or several for a multivalued key.
ContextValue = Union[str, bool, int, float, Sequence[str]]
_TYPE_NAMES = {"root": "Account", "user": "User", "assumed_role": "AssumedRole",
               "federated_user": "FederatedUser"}


@dataclass(frozen=True)
class Principal:
    """Who calls. ``arn``: ``arn:aws:iam::<acct>:root``, ``...:user/<path/name>``,
    ``arn:aws:sts::<acct>:assumed-role/<role>/<session>`` or ``...:federated-user/<name>``;
    ``role_arn``: the role a session was issued from (``arn:aws:iam::<acct>:role/<path/name>``);
    ``userid``: ``AIDA...`` (user), ``AROA...:<session>`` (role session), the account id (root);
    ``org_id``: ``o-...`` when the account is in an organization."""

    arn: str
    account: str
    type: PrincipalType
    role_arn: str | None = None
    username: str | None = None
    userid: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    org_id: str | None = None

    @classmethod
    def root(cls, account: str, org_id: str | None = None) -> "Principal":
        """The root user of ``account``."""
        return cls(f"arn:aws:iam::{account}:root", account, "root", userid=account, org_id=org_id)

    @classmethod
    def user(cls, account: str, name: str, path: str = "/", **kw: object) -> "Principal":
        """IAM user ``name`` at ``path`` in ``account``."""
        arn = f"arn:aws:iam::{account}:user{path}{name}"
        return cls(arn, account, "user", username=name, **kw)  # type: ignore[arg-type]

    @classmethod
    def role_session(cls, account: str, role: str, session: str, path: str = "/", **kw: object) -> "Principal":
        """A session ``session`` of role ``role`` (AssumeRole)."""
        return cls(f"arn:aws:sts::{account}:assumed-role/{role}/{session}", account, "assumed_role",
                   role_arn=f"arn:aws:iam::{account}:role{path}{role}", **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Request:
    """One authorization question. ``resources``: the ARNs acted on (``("*",)`` for actions without
    resource-level permissions); ``resource_account``: the account owning them (``None``: the
    principal's); ``now``: the injected clock's time (aware); ``context``: further keys
    (``aws:ResourceTag/env``, ``aws:TagKeys``, ``cloudtrail:...``), names in any case, which win
    over the derived ones."""

    principal: Principal
    action: str
    now: datetime
    resources: tuple[str, ...] = ("*",)
    resource_account: str | None = None
    source_ip: str | None = None
    secure_transport: bool | None = None
    requested_region: str | None = None
    mfa_present: bool | None = None
    mfa_age_s: int | None = None
    token_issue_time: datetime | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @property
    def cross_account(self) -> bool:
        """The resources belong to another account than the principal's."""
        return self.resource_account is not None and self.resource_account != self.principal.account


@lru_cache(maxsize=64)
def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(v: ContextValue) -> tuple[str, ...]:
    if isinstance(v, bool):
        return ("true" if v else "false",)
    if isinstance(v, (int, float)):
        return (str(v),)
    if isinstance(v, str):
        return (v,)
    return tuple(str(x) for x in v)


def _principal_arn(r: Request) -> ContextValue | None:
    p = r.principal
    return p.role_arn if p.type == "assumed_role" and p.role_arn else p.arn


#: Derived global keys: lower-case name -> value from the request (None: key absent).
_DERIVED: dict[str, Callable[[Request], "ContextValue | None"]] = {
    "aws:principalarn": _principal_arn,
    "aws:principalaccount": lambda r: r.principal.account,
    "aws:principaltype": lambda r: _TYPE_NAMES[r.principal.type],
    "aws:principalorgid": lambda r: r.principal.org_id,
    "aws:principalisawsservice": lambda r: "false",
    "aws:userid": lambda r: r.principal.userid or (r.principal.account if r.principal.type == "root" else None),
    "aws:username": lambda r: r.principal.username if r.principal.type == "user" else None,
    "aws:currenttime": lambda r: _iso(r.now),
    "aws:epochtime": lambda r: str(int(r.now.timestamp())),
    "aws:sourceip": lambda r: r.source_ip,
    "aws:securetransport": lambda r: r.secure_transport,
    "aws:requestedregion": lambda r: r.requested_region,
    "aws:multifactorauthpresent": lambda r: r.mfa_present,
    "aws:multifactorauthage": lambda r: r.mfa_age_s,
    "aws:tokenissuetime": lambda r: _iso(r.token_issue_time) if r.token_issue_time else None,
    "aws:resourceaccount": lambda r: r.resource_account or r.principal.account,
}
_TAG = "aws:principaltag/"


class RequestContext:
    """The condition keys of one :class:`Request` (lower-case names -> values), derived on first
    use; ``memo`` keeps condition results for this request (see ``Statement.conditions_hold``)."""

    __slots__ = ("request", "_keys", "_tags", "memo")

    def __init__(self, request: Request) -> None:
        self.request = request
        self._keys: dict[str, tuple[str, ...] | None] = {k.lower(): _text(v) for k, v in request.context.items()}
        self._tags: dict[str, str] | None = None
        self.memo: dict[int, bool] = {}

    def values(self, key: str) -> tuple[str, ...] | None:
        """Values of ``key`` (lower case); ``None`` when absent."""
        try:
            return self._keys[key]
        except KeyError:
            pass
        found: tuple[str, ...] | None = None
        derive = _DERIVED.get(key)
        if derive is not None:
            v = derive(self.request)
            found = None if v is None else _text(v)
        elif key.startswith(_TAG):
            if self._tags is None:
                self._tags = {k.lower(): v for k, v in self.request.principal.tags.items()}
            tag = self._tags.get(key[len(_TAG):])
            found = None if tag is None else (tag,)
        self._keys[key] = found
        return found
