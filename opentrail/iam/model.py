"""What the rest of opentrail needs to know of IAM: the principals a key or session stands for and
the policy documents that apply to them. :class:`IamDirectory` is the read interface that policy
enforcement (:mod:`opentrail.api.authorization`) and STS AssumeRole use; the IAM store implements it.

Identifiers follow the IAM User Guide, "IAM identifiers": user ids start ``AIDA``, role ids
``AROA``, policy ids ``ANPA``; ARNs ``arn:aws:iam::<account>:user<path><name>`` and
``...:role<path><name>``; paths start and end with ``/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True, slots=True)
class User:
    """An IAM user: ``user_id`` ``AIDA...``; ``tags`` key -> value."""

    account_id: str
    name: str
    path: str
    user_id: str
    arn: str
    created_s: float
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role: ``trust_policy`` the AssumeRolePolicyDocument (JSON text); ``max_session_duration_s``
    3600..43200 (CreateRole default 3600)."""

    account_id: str
    name: str
    path: str
    role_id: str
    arn: str
    trust_policy: str
    max_session_duration_s: int
    created_s: float
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NamedDocument:
    """A policy document that applies: ``name`` the inline policy name or the managed policy ARN;
    ``document`` its JSON text (the managed policy's default version)."""

    name: str
    document: str


@dataclass(frozen=True, slots=True)
class PrincipalPolicies:
    """Every identity-based policy of a user (its inline and attached policies, and those of its
    groups) or a role (inline and attached), and its permissions boundary."""

    identity: tuple[NamedDocument, ...] = ()
    boundary: NamedDocument | None = None


@dataclass(frozen=True, slots=True)
class RoleSession:
    """What an AssumeRole session carries for authorization and for the record's userIdentity:
    the role (name, path, ``AROA...`` id), the session name, the session policy (JSON text, None
    when none was passed, plus managed policy ARNs passed as PolicyArns), session tags,
    SourceIdentity, and the ARN of the principal that assumed it."""

    role_name: str
    role_path: str
    role_id: str
    session_name: str
    session_policy: str | None = None
    session_policy_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    source_identity: str | None = None
    assumed_by_arn: str | None = None


class IamDirectory(Protocol):
    """Read side of IAM for enforcement. ``generation()`` grows on every IAM change (any user,
    group, role, policy, attachment, boundary or key status), so caches of compiled policies compare
    it instead of subscribing to changes; it is also bumped by changes made by another process on
    the same data directory (read from the database)."""

    def generation(self) -> int: ...

    def get_user(self, account_id: str, user_name: str) -> User | None: ...

    def get_role(self, account_id: str, role_name: str) -> Role | None: ...

    def user_policies(self, account_id: str, user_name: str) -> PrincipalPolicies: ...

    def role_policies(self, account_id: str, role_name: str) -> PrincipalPolicies: ...

    def managed_policy_document(self, account_id: str, policy_arn: str) -> str | None:
        """The default version's document of the managed policy ``policy_arn`` (customer managed in
        ``account_id`` or AWS managed ``arn:aws:iam::aws:policy/...``), or None."""
        ...
