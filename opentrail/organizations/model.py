"""The organization as plain data: no I/O, no wire casing.

One :class:`Organization` holds everything of one organization: its accounts (the management
account too), organizational units, policies, attachments, enabled policy types, trusted access and
delegated administrators. Identifiers and ARNs follow AWS (botocore model
``organizations/2016-11-28`` patterns; ARNs as AWS writes them, Organizations User Guide, "ARN
formats"):

- organization ``o-`` + 10 lowercase letters/digits: ``arn:aws:organizations::<mgmt>:organization/o-...``
- root ``r-`` + 4: ``arn:aws:organizations::<mgmt>:root/o-.../r-...``
- OU ``ou-<root suffix>-`` + 8: ``arn:aws:organizations::<mgmt>:ou/o-.../ou-...``
- account ``arn:aws:organizations::<mgmt>:account/o-.../<account>``
- policy ``p-`` + 8: ``arn:aws:organizations::<mgmt>:policy/o-.../service_control_policy/p-...``;
  the AWS managed ``p-FullAWSAccess`` is ``arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess``
- create account request ``car-`` + 32.

Times are epoch seconds (floats).
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import asdict, dataclass, field
from typing import Any

SCP = "SERVICE_CONTROL_POLICY"
#: The AWS managed SCP attached to the root, every OU and every account once SCPs are enabled.
FULL_AWS_ACCESS_ID = "p-FullAWSAccess"
FULL_AWS_ACCESS_ARN = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
FULL_AWS_ACCESS_NAME = "FullAWSAccess"
FULL_AWS_ACCESS_DESCRIPTION = "Allows access to every operation"
FULL_AWS_ACCESS_CONTENT = ('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
                           '      "Action": "*",\n      "Resource": "*"\n    }\n  ]\n}')
#: Most SCPs attached to one target (Organizations quotas: 5).
MAX_SCPS_PER_TARGET = 5
#: Deepest OU tree under a root (Organizations quotas: 5 levels of OUs).
MAX_OU_DEPTH = 5

_LOWER = string.ascii_lowercase + string.digits


def random_id(prefix: str, length: int) -> str:
    """``prefix`` + ``length`` random lowercase letters and digits."""
    return prefix + "".join(secrets.choice(_LOWER) for _ in range(length))


def random_account_id() -> str:
    """A 12-digit account id not starting with 0."""
    return secrets.choice("123456789") + "".join(secrets.choice(string.digits) for _ in range(11))


@dataclass
class Account:
    """A member account (``joined_method`` ``CREATED`` or ``INVITED``; the management account is
    ``INVITED``, as AWS lists it); ``parent_id`` the root or OU it is in."""

    id: str
    name: str
    email: str
    joined_method: str
    joined_s: float
    parent_id: str
    status: str = "ACTIVE"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class OrganizationalUnit:
    id: str
    name: str
    parent_id: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Policy:
    id: str
    name: str
    description: str
    type: str
    content: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class CreateAccountStatus:
    """One CreateAccount request: ``state`` SUCCEEDED (at once) or FAILED with ``failure_reason``."""

    id: str
    account_name: str
    state: str
    requested_s: float
    completed_s: float
    account_id: str | None = None
    failure_reason: str | None = None


@dataclass
class Organization:
    """Everything of one organization. ``attachments`` maps a target (root, OU or account id) to
    the policy ids attached to it, in attachment order; ``service_access`` a service principal to
    the time trusted access was enabled; ``delegated`` an account to {service principal: time}."""

    id: str
    feature_set: str
    management_account_id: str
    root_id: str
    created_s: float
    accounts: dict[str, Account] = field(default_factory=dict)
    ous: dict[str, OrganizationalUnit] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    attachments: dict[str, list[str]] = field(default_factory=dict)
    policy_types: list[str] = field(default_factory=list)
    service_access: dict[str, float] = field(default_factory=dict)
    delegated: dict[str, dict[str, float]] = field(default_factory=dict)
    create_statuses: dict[str, CreateAccountStatus] = field(default_factory=dict)
    root_tags: dict[str, str] = field(default_factory=dict)

    # --- ARNs ----------------------------------------------------------------------------------

    @property
    def arn(self) -> str:
        return f"arn:aws:organizations::{self.management_account_id}:organization/{self.id}"

    def account_arn(self, account_id: str) -> str:
        return f"arn:aws:organizations::{self.management_account_id}:account/{self.id}/{account_id}"

    @property
    def root_arn(self) -> str:
        return f"arn:aws:organizations::{self.management_account_id}:root/{self.id}/{self.root_id}"

    def ou_arn(self, ou_id: str) -> str:
        return f"arn:aws:organizations::{self.management_account_id}:ou/{self.id}/{ou_id}"

    def policy_arn(self, policy_id: str) -> str:
        if policy_id == FULL_AWS_ACCESS_ID:
            return FULL_AWS_ACCESS_ARN
        return f"arn:aws:organizations::{self.management_account_id}:policy/{self.id}/service_control_policy/{policy_id}"

    @property
    def management(self) -> Account:
        return self.accounts[self.management_account_id]

    # --- the tree ------------------------------------------------------------------------------

    def is_parent(self, parent_id: str) -> bool:
        return parent_id == self.root_id or parent_id in self.ous

    def parent_of(self, child_id: str) -> str | None:
        """The parent of an account or OU, None for an unknown id."""
        child = self.accounts.get(child_id) or self.ous.get(child_id)
        return child.parent_id if child is not None else None

    def path_to(self, target_id: str) -> list[str]:
        """The ids from the root down to ``target_id`` (the root, its OUs, the target)."""
        path = [target_id]
        while path[-1] != self.root_id:
            parent = self.parent_of(path[-1])
            if parent is None:
                break
            path.append(parent)
        return list(reversed(path))

    def policies_of(self, target_id: str, policy_type: str = SCP) -> list[Policy]:
        return [self.policy(p) for p in self.attachments.get(target_id, []) if self.policy(p).type == policy_type]

    def policy(self, policy_id: str) -> Policy:
        if policy_id == FULL_AWS_ACCESS_ID:
            return FULL_AWS_ACCESS
        return self.policies[policy_id]

    def has_policy(self, policy_id: str) -> bool:
        return policy_id in self.policies or (policy_id == FULL_AWS_ACCESS_ID and self.feature_set == "ALL")

    def copy(self) -> Organization:
        return copy.deepcopy(self)

    # --- storage form ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Organization:
        org = cls(**{k: v for k, v in data.items() if k not in ("accounts", "ous", "policies", "create_statuses")})
        org.accounts = {k: Account(**v) for k, v in data["accounts"].items()}
        org.ous = {k: OrganizationalUnit(**v) for k, v in data["ous"].items()}
        org.policies = {k: Policy(**v) for k, v in data["policies"].items()}
        org.create_statuses = {k: CreateAccountStatus(**v) for k, v in data["create_statuses"].items()}
        return org


#: The AWS managed FullAWSAccess SCP.
FULL_AWS_ACCESS = Policy(FULL_AWS_ACCESS_ID, FULL_AWS_ACCESS_NAME, FULL_AWS_ACCESS_DESCRIPTION, SCP,
                         FULL_AWS_ACCESS_CONTENT)
