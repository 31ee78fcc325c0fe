"""A small in-memory :class:`opentrail.iam.model.IamDirectory` for the STS tests: roles with trust
policies, inline policies of users and roles, managed policies (the IAM store is built elsewhere)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from opentrail.iam.model import NamedDocument, PrincipalPolicies, Role, User


def trust(*principals: str, actions: tuple[str, ...] = ("sts:AssumeRole",), condition: dict[str, Any] | None = None
          ) -> str:
    """A trust policy allowing ``actions`` to the AWS ``principals`` (ARNs or account ids)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": list(actions)}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow(action: str, resource: str = "*") -> str:
    """An identity policy allowing ``action`` on ``resource``."""
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


@dataclass
class FakeIam:
    roles: dict[tuple[str, str], Role] = field(default_factory=dict)
    user_inline: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    role_inline: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    managed: dict[str, str] = field(default_factory=dict)
    gen: int = 0

    def add_role(self, account: str, name: str, trust_policy: str, *, path: str = "/",
                 max_session_duration_s: int = 3600) -> Role:
        role_id = "AROA" + hashlib.sha256(f"{account}/{name}".encode()).hexdigest().upper()[:17]
        role = Role(account, name, path, role_id, f"arn:aws:iam::{account}:role{path}{name}", trust_policy,
                    max_session_duration_s, 0.0)
        self.roles[(account, name)] = role
        self.gen += 1
        return role

    def delete_role(self, account: str, name: str) -> None:
        del self.roles[(account, name)]
        self.gen += 1

    def generation(self) -> int:
        return self.gen

    def get_user(self, account_id: str, user_name: str) -> User | None:
        """The users given inline policies (the others are unknown to the directory)."""
        if (account_id, user_name) not in self.user_inline:
            return None
        user_id = "AIDA" + hashlib.sha256(f"{account_id}/{user_name}".encode()).hexdigest().upper()[:17]
        return User(account_id, user_name, "/", user_id, f"arn:aws:iam::{account_id}:user/{user_name}", 0.0)

    def get_role(self, account_id: str, role_name: str) -> Role | None:
        return self.roles.get((account_id, role_name))

    def user_policies(self, account_id: str, user_name: str) -> PrincipalPolicies:
        docs = self.user_inline.get((account_id, user_name), [])
        return PrincipalPolicies(tuple(NamedDocument(f"p{i}", d) for i, d in enumerate(docs)))

    def role_policies(self, account_id: str, role_name: str) -> PrincipalPolicies:
        docs = self.role_inline.get((account_id, role_name), [])
        return PrincipalPolicies(tuple(NamedDocument(f"p{i}", d) for i, d in enumerate(docs)))

    def managed_policy_document(self, account_id: str, policy_arn: str) -> str | None:
        return self.managed.get(policy_arn)
