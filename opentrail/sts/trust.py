"""Who may assume a role: the role's trust policy and the caller's identity-based policies, as AWS
evaluates AssumeRole (IAM User Guide, "Policy evaluation logic" and "Cross-account policy
evaluation logic"; docs/access-control.md).

- The trust policy is the role's resource-based policy and must always have an ``Allow`` statement
  for ``sts:AssumeRole`` naming the caller (its ARN, its role for a role session, its account, or
  ``*``) whose conditions hold; an applicable ``Deny`` in any policy refuses.
- Within the role's account, a trust policy naming the caller's own ARN (IAM user or role session
  ARN) is enough; one naming the account also needs an identity-based ``Allow``
  (:func:`opentrail.access.evaluation.evaluate` decides that part).
- Across accounts both sides must allow: the trust policy names the caller or its account, and the
  caller's identity-based policies allow ``sts:AssumeRole`` on the role.
- The root user has no identity-based policies: opentrail lets it assume a role of its own account
  whose trust policy names the account (or root's ARN, or ``*``), and one of another account whose
  trust policy does. AWS refuses AssumeRole to root credentials ("Roles may not be assumed by root
  accounts"); opentrail allows it because every key ``opentrail create-access-key`` makes is a root
  key (docs/access-control.md).

Condition keys given to the policies: ``sts:ExternalId``, ``sts:RoleSessionName``,
``sts:SourceIdentity``, ``sts:TransitiveTagKeys``, ``aws:RequestTag/<key>``, ``aws:TagKeys``, plus
the global keys :mod:`opentrail.access.context` derives from the principal.

:func:`principal_of` is the :class:`opentrail.access.context.Principal` of a
:class:`opentrail.auth.sigv4.Caller`; :func:`identity_policies` reads its policies from an
:class:`opentrail.iam.model.IamDirectory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Sequence

from ..access.context import Principal, Request, RequestContext
from ..access.evaluation import PolicySet, evaluate, principal_match
from ..access.policy_document import MalformedPolicyDocumentException, Policy, parse_policy
from ..auth.sigv4 import Caller
from ..iam.model import IamDirectory, PrincipalPolicies, Role

ACTION = "sts:AssumeRole"


@dataclass(frozen=True)
class AssumeRequest:
    """The request facts the trust policy's conditions can see."""

    role_session_name: str
    external_id: str | None = None
    source_identity: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: Sequence[str] = ()
    source_ip: str | None = None


def principal_of(caller: Caller) -> Principal:
    """The policy principal of ``caller``: root, IAM user (with its ``AIDA...`` id) or role session
    (``aws:userid`` ``AROA...:<session>``; ``aws:PrincipalTag`` its session tags)."""
    role = caller.role_session
    if role is not None:
        return Principal.role_session(caller.account_id, role.role_name, role.session_name, role.role_path,
                                      userid=f"{role.role_id}:{role.session_name}", tags=dict(role.tags))
    if caller.user_name is None:
        return Principal.root(caller.account_id)
    return Principal.user(caller.account_id, caller.user_name, caller.user_path, userid=caller.user_id)


def _parsed(found: PrincipalPolicies) -> tuple[tuple[Policy, ...], Policy | None]:
    identity = tuple(parse_policy(d.document, "identity", d.name) for d in found.identity)
    boundary = parse_policy(found.boundary.document, "identity", found.boundary.name) if found.boundary else None
    return identity, boundary


def identity_policies(iam: IamDirectory, caller: Caller) -> PolicySet:
    """The caller's identity-based policies, permissions boundary and (role session) session
    policies. Root has none; a user unknown to the directory has none either."""
    role = caller.role_session
    if role is not None:
        identity, boundary = _parsed(iam.role_policies(caller.account_id, role.role_name))
        session: list[Policy] = []
        if role.session_policy is not None:
            session.append(parse_policy(role.session_policy, "identity", "session policy"))
        for arn in role.session_policy_arns:
            document = iam.managed_policy_document(caller.account_id, arn)
            if document is not None:
                session.append(parse_policy(document, "identity", arn))
        return PolicySet(identity=identity, boundary=boundary, session=tuple(session))
    if caller.user_name is None:
        return PolicySet()
    identity, boundary = _parsed(iam.user_policies(caller.account_id, caller.user_name))
    return PolicySet(identity=identity, boundary=boundary)


def _context(ask: AssumeRequest) -> dict[str, object]:
    context: dict[str, object] = {"sts:RoleSessionName": ask.role_session_name}
    if ask.external_id is not None:
        context["sts:ExternalId"] = ask.external_id
    if ask.source_identity is not None:
        context["sts:SourceIdentity"] = ask.source_identity
    if ask.tags:
        context["aws:TagKeys"] = list(ask.tags)
        for key, value in ask.tags.items():
            context[f"aws:RequestTag/{key}"] = value
    if ask.transitive_tag_keys:
        context["sts:TransitiveTagKeys"] = list(ask.transitive_tag_keys)
    return context


def _trust_allows(trust: Policy, request: Request) -> bool:
    """An Allow statement of ``trust`` names the principal, covers the action and its conditions hold."""
    ctx = RequestContext(request)
    for statement in trust.statements:
        if statement.effect != "Allow" or statement.principal is None or statement.not_principal:
            continue
        if principal_match(statement.principal, request.principal) is None:
            continue
        if statement.matches_action(request.action) and statement.conditions_hold(ctx):
            return True
    return False


def refused_action(caller: Caller, role: Role, iam: IamDirectory, ask: AssumeRequest, now: float,
                   actions: Sequence[str] = (ACTION,)) -> str | None:
    """The first of ``actions`` that ``caller`` may not perform on ``role`` (see the module
    docstring), or None when every one is allowed. AWS checks ``sts:AssumeRole`` and also
    ``sts:TagSession`` when the session gets tags and ``sts:SetSourceIdentity`` when it gets a
    source identity (IAM User Guide, "Passing session tags in AWS STS", "Monitor and control actions
    taken with assumed roles"). A trust policy that no longer parses allows nobody."""
    try:
        trust = parse_policy(role.trust_policy, "trust", "trust policy")
    except MalformedPolicyDocumentException:
        return actions[0]
    policies = identity_policies(iam, caller)
    policy_set = PolicySet(identity=policies.identity, boundary=policies.boundary, session=policies.session,
                           resource=trust)
    issued = datetime.fromtimestamp(caller.session_created, timezone.utc) if caller.session_created else None
    for action in actions:
        request = Request(principal=principal_of(caller), action=action,
                          now=datetime.fromtimestamp(now, timezone.utc), resources=(role.arn,),
                          resource_account=role.account_id, source_ip=ask.source_ip,
                          requested_region=caller.region, token_issue_time=issued, context=_context(ask))
        if not (_trust_allows(trust, request) and evaluate(request, policy_set).allowed):
            return action
    return None




def denial_message(caller: Caller, role_arn: str, action: str = ACTION) -> str:
    """AWS's AccessDenied text for AssumeRole (a real record, datasets/cloudtrail/invictus-ir-aws_dataset):
    ``User: <caller ARN> is not authorized to perform: <action> on resource: <role ARN>``."""
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}"
