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

The caller's principal and policies come from :mod:`opentrail.iam.principals`, as for every
other call (a user the directory does not know has no identity-based policies here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Sequence

from ..access.context import Request, RequestContext
from ..access.evaluation import PolicySet, evaluate, principal_match
from ..access.policy_document import MalformedPolicyDocumentException, Policy, parse_policy
from ..auth.sigv4 import Caller
from ..iam.model import IamDirectory, Role
from ..iam.principals import policies_of, principal_of

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
    policies = policies_of(caller, iam) or PolicySet()
    policy_set = PolicySet(identity=policies.identity, boundary=policies.boundary, session=policies.session,
                           resource=trust)
    principal = principal_of(caller, iam)
    issued = datetime.fromtimestamp(caller.session_created, timezone.utc) if caller.session_created else None
    for action in actions:
        request = Request(principal=principal, action=action,
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
