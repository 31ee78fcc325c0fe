"""A small in-memory :class:`opentrail.iam.model.IamDirectory` for tests of policy enforcement:
users and roles with inline documents, managed policies, boundaries; every change bumps the
generation, as the IAM store does."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from opentrail.iam.model import NamedDocument, PrincipalPolicies, Role, User


def _id(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode()).hexdigest().upper()[:17]


@dataclass
class _Holder:
    policies: dict[str, str] = field(default_factory=dict)  # inline name -> document
    attached: list[str] = field(default_factory=list)  # managed policy ARNs
    boundary: str | None = None  # managed policy ARN


class MemoryIamDirectory:
    """Users, roles and managed policies in memory (``account_id`` scoped)."""

    def __init__(self) -> None:
        self._gen = 0
        self._lock = threading.Lock()
        self.users: dict[tuple[str, str], tuple[User, _Holder]] = {}
        self.roles: dict[tuple[str, str], tuple[Role, _Holder]] = {}
        self.managed: dict[str, str] = {}  # ARN -> document
        self.generation_calls = 0

    def _bump(self) -> None:
        with self._lock:
            self._gen += 1

    # --- writes (what the IAM API will do) ---
    def add_user(self, account: str, name: str, path: str = "/", tags: dict[str, str] | None = None) -> User:
        user = User(account, name, path, _id("AIDA", account + name), f"arn:aws:iam::{account}:user{path}{name}",
                    0.0, dict(tags or {}))
        self.users[(account, name)] = (user, _Holder())
        self._bump()
        return user

    def add_role(self, account: str, name: str, path: str = "/", tags: dict[str, str] | None = None) -> Role:
        role = Role(account, name, path, _id("AROA", account + name), f"arn:aws:iam::{account}:role{path}{name}",
                    "{}", 3600, 0.0, dict(tags or {}))
        self.roles[(account, name)] = (role, _Holder())
        self._bump()
        return role

    def _holder(self, account: str, user: str | None, role: str | None) -> _Holder:
        return self.users[(account, user)][1] if user else self.roles[(account, role or "")][1]

    def put_policy(self, account: str, name: str, document: str, *, user: str | None = None,
                   role: str | None = None) -> None:
        self._holder(account, user, role).policies[name] = document
        self._bump()

    def create_policy(self, arn: str, document: str) -> str:
        self.managed[arn] = document
        self._bump()
        return arn

    def attach(self, account: str, arn: str, *, user: str | None = None, role: str | None = None) -> None:
        self._holder(account, user, role).attached.append(arn)
        self._bump()

    def set_boundary(self, account: str, arn: str, *, user: str | None = None, role: str | None = None) -> None:
        self._holder(account, user, role).boundary = arn
        self._bump()

    # --- IamDirectory ---
    def generation(self) -> int:
        self.generation_calls += 1
        return self._gen

    def get_user(self, account_id: str, user_name: str) -> User | None:
        found = self.users.get((account_id, user_name))
        return found[0] if found else None

    def get_role(self, account_id: str, role_name: str) -> Role | None:
        found = self.roles.get((account_id, role_name))
        return found[0] if found else None

    def _policies(self, holder: _Holder) -> PrincipalPolicies:
        identity = [NamedDocument(n, d) for n, d in holder.policies.items()]
        identity += [NamedDocument(a, self.managed[a]) for a in holder.attached]
        boundary = NamedDocument(holder.boundary, self.managed[holder.boundary]) if holder.boundary else None
        return PrincipalPolicies(tuple(identity), boundary)

    def user_policies(self, account_id: str, user_name: str) -> PrincipalPolicies:
        found = self.users.get((account_id, user_name))
        return self._policies(found[1]) if found else PrincipalPolicies()

    def role_policies(self, account_id: str, role_name: str) -> PrincipalPolicies:
        found = self.roles.get((account_id, role_name))
        return self._policies(found[1]) if found else PrincipalPolicies()

    def managed_policy_document(self, account_id: str, policy_arn: str) -> str | None:
        return self.managed.get(policy_arn)
