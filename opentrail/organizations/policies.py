"""Service control policies (a mixin of :class:`~.service.OrganizationsService`): enabling the
policy type on the root, creating, changing and deleting policies, attaching and detaching them.

Only ``SERVICE_CONTROL_POLICY`` is served; the other policy types of the model answer
InvalidInputException INVALID_ENUM_POLICY_TYPE (opentrail's choice; AWS serves them).
Enabling SCPs attaches the AWS managed ``p-FullAWSAccess`` to the root, every OU and every account,
and to each OU and account made afterwards, as AWS does. The content is kept as given and checked
only for what every SCP needs (a JSON object with ``Version`` and ``Statement``); nothing is
enforced here: policy evaluation reads :meth:`~.reads.OrganizationReads.scp_chain`.
"""

from __future__ import annotations

from typing import Any, Callable

import orjson

from . import errors as e
from .model import FULL_AWS_ACCESS_ID, MAX_SCPS_PER_TARGET, SCP, Organization, Policy, random_id


def check_scp_content(content: str) -> None:
    """MalformedPolicyDocumentException unless ``content`` is a JSON object with ``Version`` and a
    ``Statement`` (an object or a non-empty list of objects)."""
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise e.MalformedPolicyDocumentException() from None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if (not isinstance(doc, dict) or not isinstance(doc.get("Version"), str) or not isinstance(statements, list)
            or not statements or not all(isinstance(s, dict) for s in statements)):
        raise e.MalformedPolicyDocumentException()


def check_type(policy_type: str) -> None:
    if policy_type != SCP:
        raise e.InvalidInputException.policy_type()


class PolicyOperations:
    _lock: Any

    # provided by OrganizationsService
    _managed: Callable[[str], Organization]
    _readable: Callable[[str], Organization]
    _stage: Callable[[Organization], None]

    def enable_policy_type(self, caller: str, root_id: str, policy_type: str) -> Organization:
        with self._lock:
            org = self._managed(caller).copy()
            if root_id != org.root_id:
                raise e.RootNotFoundException()
            check_type(policy_type)
            if org.feature_set != "ALL":
                raise e.PolicyTypeNotAvailableForOrganizationException()
            if policy_type in org.policy_types:
                raise e.PolicyTypeAlreadyEnabledException()
            org.policy_types.append(policy_type)
            for target in [org.root_id, *org.ous, *org.accounts]:
                org.attachments.setdefault(target, [])
                if FULL_AWS_ACCESS_ID not in org.attachments[target]:
                    org.attachments[target].insert(0, FULL_AWS_ACCESS_ID)
            self._stage(org)
            return org

    def create_policy(self, caller: str, name: str, description: str, policy_type: str, content: str,
                      tags: dict[str, str]) -> tuple[Organization, Policy]:
        with self._lock:
            org = self._managed(caller).copy()
            check_type(policy_type)
            check_scp_content(content)
            if any(p.name == name and p.type == policy_type for p in org.policies.values()):
                raise e.DuplicatePolicyException()
            policy = Policy(random_id("p-", 8), name, description, policy_type, content, dict(tags))
            org.policies[policy.id] = policy
            self._stage(org)
            return org, policy

    def _policy(self, org: Organization, policy_id: str) -> Policy:
        if not org.has_policy(policy_id):
            raise e.PolicyNotFoundException()
        return org.policy(policy_id)

    def describe_policy(self, caller: str, policy_id: str) -> tuple[Organization, Policy]:
        org = self._readable(caller)
        return org, self._policy(org, policy_id)

    def update_policy(self, caller: str, policy_id: str, name: str | None, description: str | None,
                      content: str | None) -> tuple[Organization, Policy]:
        with self._lock:
            org = self._managed(caller).copy()
            policy = self._policy(org, policy_id)
            if policy_id == FULL_AWS_ACCESS_ID:
                raise e.InvalidInputException.immutable_policy()
            if content is not None:
                check_scp_content(content)
                policy.content = content
            if name is not None and name != policy.name:
                if any(p.name == name and p.type == policy.type for p in org.policies.values()):
                    raise e.DuplicatePolicyException()
                policy.name = name
            if description is not None:
                policy.description = description
            self._stage(org)
            return org, policy

    def delete_policy(self, caller: str, policy_id: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            self._policy(org, policy_id)
            if any(policy_id in ps for ps in org.attachments.values()):
                raise e.PolicyInUseException()
            if policy_id == FULL_AWS_ACCESS_ID:
                raise e.InvalidInputException.immutable_policy()
            del org.policies[policy_id]
            self._stage(org)

    def list_policies(self, caller: str, policy_type: str) -> tuple[Organization, list[Policy]]:
        org = self._readable(caller)
        if policy_type != SCP:
            return org, []
        managed = [org.policy(FULL_AWS_ACCESS_ID)] if org.feature_set == "ALL" else []
        return org, managed + sorted((p for p in org.policies.values() if p.type == SCP), key=lambda p: p.id)

    def _target(self, org: Organization, target_id: str) -> None:
        if not (target_id == org.root_id or target_id in org.ous or target_id in org.accounts):
            raise e.TargetNotFoundException()

    def attach_policy(self, caller: str, policy_id: str, target_id: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            policy = self._policy(org, policy_id)
            self._target(org, target_id)
            if policy.type not in org.policy_types:
                raise e.PolicyTypeNotEnabledException()
            attached = org.attachments.setdefault(target_id, [])
            if policy_id in attached:
                raise e.DuplicatePolicyAttachmentException()
            if len(org.policies_of(target_id, policy.type)) >= MAX_SCPS_PER_TARGET:
                raise e.ConstraintViolationException.of("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
            attached.append(policy_id)
            self._stage(org)

    def detach_policy(self, caller: str, policy_id: str, target_id: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            policy = self._policy(org, policy_id)
            self._target(org, target_id)
            attached = org.attachments.get(target_id, [])
            if policy_id not in attached:
                raise e.PolicyNotAttachedException()
            if len(org.policies_of(target_id, policy.type)) <= 1:
                raise e.ConstraintViolationException.of("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
            attached.remove(policy_id)
            self._stage(org)

    def list_policies_for_target(self, caller: str, target_id: str, policy_type: str) -> tuple[Organization, list[Policy]]:
        org = self._readable(caller)
        self._target(org, target_id)
        return org, org.policies_of(target_id, policy_type)

    def list_targets_for_policy(self, caller: str, policy_id: str) -> tuple[Organization, list[tuple[str, str, str, str]]]:
        """(target id, ARN, name, ROOT | ORGANIZATIONAL_UNIT | ACCOUNT) of every target of the policy."""
        org = self._readable(caller)
        self._policy(org, policy_id)
        out = []
        for target, policies in sorted(org.attachments.items()):
            if policy_id not in policies:
                continue
            if target == org.root_id:
                out.append((target, org.root_arn, "Root", "ROOT"))
            elif target in org.ous:
                out.append((target, org.ou_arn(target), org.ous[target].name, "ORGANIZATIONAL_UNIT"))
            elif target in org.accounts:
                out.append((target, org.account_arn(target), org.accounts[target].name, "ACCOUNT"))
        return org, out
