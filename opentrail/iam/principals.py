"""Who a caller is to policy evaluation, and the policies that speak for it: one place for policy
enforcement (:class:`opentrail.api.authorization.Authorizer`) and STS AssumeRole
(:mod:`opentrail.sts.trust`).

- the root user: :meth:`Principal.root`, no identity-based policies (IAM User Guide, "Policy
  evaluation logic": root is allowed within its account unless an SCP or RCP limits it);
- an IAM user of the directory: its ``AIDA...`` id, path and tags (``aws:PrincipalTag``); its
  identity-based policies (inline, attached, its groups') and permissions boundary;
- a role session (AssumeRole): ``aws:userid`` ``AROA...:<session>``, the role's tags overlaid by the
  session tags; the role's policies and boundary, and the session policies (inline ``Policy`` and
  ``PolicyArns``; a session policy that names nothing readable allows nothing, as AWS's session
  policies only ever limit). A session whose role was deleted has no identity-based policy.

A document the evaluator refuses (stored before a stricter check) grants and denies nothing and is
logged. Users that the directory does not know (keys made by ``opentrail create-access-key
--user-name`` before IAM existed) have no policy set: :func:`policies_of` answers None and callers
treat them as before IAM (docs/access-control.md, "Migration").
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from ..access import Policy, PolicySet, Principal, parse_policy
from .model import IamDirectory, NamedDocument, PrincipalPolicies

log = logging.getLogger("opentrail.iam")

#: A session policy that allows nothing (stands for session policies that could not be read).
NOTHING = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "opentrail:None", '
                       '"Resource": "*"}]}', "identity", "session policy")


def parsed(text: str | None, kind: str, name: str | None) -> Policy | None:
    """``text`` parsed as a ``kind`` policy, or None (logged) when the evaluator refuses it."""
    if text is None:
        return None
    try:
        return parse_policy(text, kind, name)  # type: ignore[arg-type]
    except Exception as exc:  # MalformedPolicyDocumentException: stored before stricter checks
        log.warning("ignoring policy %s that cannot be evaluated: %s", name or "(SCP)", exc)
        return None


def _all(documents: Iterable[NamedDocument]) -> tuple[Policy, ...]:
    return tuple(p for p in (parsed(d.document, "identity", d.name) for d in documents) if p)


def _boundary(found: PrincipalPolicies) -> Policy | None:
    return parsed(found.boundary.document, "identity", found.boundary.name) if found.boundary else None


def principal_of(caller: Any, iam: IamDirectory | None, org_id: str | None = None) -> Principal:
    """The policy principal of ``caller`` (an :class:`opentrail.auth.sigv4.Caller`)."""
    account = caller.account_id
    session = caller.role_session
    if session is not None:
        role = iam.get_role(account, session.role_name) if iam is not None else None
        tags = {**(role.tags if role is not None else {}), **session.tags}
        return Principal.role_session(account, session.role_name, session.session_name, session.role_path,
                                      userid=f"{session.role_id}:{session.session_name}", tags=tags, org_id=org_id)
    if caller.user_name is None:
        return Principal.root(account, org_id)
    user = iam.get_user(account, caller.user_name) if iam is not None else None
    if user is None:
        return Principal.user(account, caller.user_name, caller.user_path, userid=caller.user_id, org_id=org_id)
    return Principal.user(account, user.name, user.path, userid=user.user_id, tags=dict(user.tags), org_id=org_id)


def policies_of(caller: Any, iam: IamDirectory | None) -> PolicySet | None:
    """The identity-based policies, permissions boundary and session policies of ``caller`` (no
    SCPs); an empty set for root; None for a user the directory does not know."""
    account = caller.account_id
    session = caller.role_session
    if session is not None:
        role = iam.get_role(account, session.role_name) if iam is not None else None
        identity: tuple[Policy, ...] = ()
        boundary: Policy | None = None
        if role is not None and iam is not None:
            found = iam.role_policies(account, session.role_name)
            identity, boundary = _all(found.identity), _boundary(found)
        wanted = bool(session.session_policy or session.session_policy_arns)
        documents = [parsed(session.session_policy, "identity", "session policy")] if session.session_policy else []
        for arn in session.session_policy_arns:
            text = iam.managed_policy_document(account, arn) if iam is not None else None
            documents.append(parsed(text, "identity", arn))
        session_policies = tuple(p for p in documents if p)
        if wanted and not session_policies:
            session_policies = (NOTHING,)
        return PolicySet(identity=identity, boundary=boundary, session=session_policies)
    if caller.user_name is None:
        return PolicySet()
    if iam is None or iam.get_user(account, caller.user_name) is None:
        return None
    found = iam.user_policies(account, caller.user_name)
    return PolicySet(identity=_all(found.identity), boundary=_boundary(found))
