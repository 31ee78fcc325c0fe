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
from typing import Literal, Mapping, Sequence, Union

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
        return cls(f"arn:aws:iam::{account}:user{path}{name}", account, "user", username=name, **kw)  # type: ignore[arg-type]

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


class RequestContext:
    """The condition keys of one :class:`Request`, built once (lower-case names -> values)."""

    __slots__ = ("request", "_keys")

    def __init__(self, request: Request) -> None:
        self.request = request
        p = request.principal
        keys: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (p.role_arn if p.type == "assumed_role" and p.role_arn else p.arn,),
            "aws:principalaccount": (p.account,),
            "aws:principaltype": (_TYPE_NAMES[p.type],),
            "aws:userid": (p.userid or p.account,) if (p.userid or p.type == "root") else (),
            "aws:currenttime": (_iso(request.now),),
            "aws:epochtime": (str(int(request.now.timestamp())),),
            "aws:principalisawsservice": ("false",),
        }
        if not keys["aws:userid"]:
            del keys["aws:userid"]
        if p.type == "user" and p.username:
            keys["aws:username"] = (p.username,)
        if p.org_id:
            keys["aws:principalorgid"] = (p.org_id,)
        for k, v in p.tags.items():
            keys["aws:principaltag/" + k.lower()] = (v,)
        optional: dict[str, ContextValue | None] = {
            "aws:sourceip": request.source_ip, "aws:securetransport": request.secure_transport,
            "aws:requestedregion": request.requested_region,
            "aws:multifactorauthpresent": request.mfa_present, "aws:multifactorauthage": request.mfa_age_s,
            "aws:tokenissuetime": _iso(request.token_issue_time) if request.token_issue_time else None,
            "aws:resourceaccount": request.resource_account or p.account,
        }
        for k, v in optional.items():
            if v is not None:
                keys[k] = _text(v)
        for k, v in request.context.items():
            keys[k.lower()] = _text(v)
        self._keys = keys

    def values(self, key: str) -> tuple[str, ...] | None:
        """Values of ``key`` (lower case); ``None`` when absent."""
        return self._keys.get(key)
