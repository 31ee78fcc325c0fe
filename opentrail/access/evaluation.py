"""Policy evaluation as AWS documents it, and AWS's access-denied messages.

Order `[UG-IAM reference_policies_evaluation-logic_policy-eval-denyallow.md,
reference_policies_evaluation-logic_policy-eval-basics.md,
reference_policies_evaluation-logic-cross-account.md]`, for each resource of the request:

1. an applicable ``Deny`` in any policy (SCPs, RCPs, resource-based, identity-based, permissions
   boundary, session) -> ExplicitDeny;
2. RCPs (resource's account), then SCPs (principal's account): every level of the chain
   (root -> OU -> ... -> account) needs an applicable ``Allow`` -> else ImplicitDeny. An empty chain
   means "not applied" (no organization, or the management account for SCPs);
3. the root user: Allow within its account (identity policies do not apply to root); across
   accounts the resource-based policy must allow;
4. same account, resource-based policy ``Allow``: if it names the IAM user's ARN, the session's ARN
   or ``*``, Allow (implicit denies in identity policies, boundary or session policies do not limit
   it); if it names the role of a role session, it stands in for the identity-based Allow (boundary
   and session policies still apply); if it names the account, the identity policies must allow;
5. identity-based policies must allow, then the permissions boundary (if any), then the session
   policies (if any; several session policies are one set: any Allow counts);
6. across accounts the resource-based policy must allow as well.

:class:`CompiledPolicySet` is the cached form for one principal: statements are pre-sorted per
action on first use, so a request only looks at statements whose Action/NotAction covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..domain_errors import DomainError
from .context import Principal, Request, RequestContext
from .policy_document import Policy, PrincipalSpec, Statement

__all__ = ["PolicySet", "CompiledPolicySet", "Decision", "evaluate", "denial_message",
           "AccessDeniedException", "IDENTITY", "RESOURCE", "SCP", "RCP", "BOUNDARY", "SESSION"]

IDENTITY = "identity-based policy"
RESOURCE = "resource-based policy"
SCP = "service control policy"
RCP = "resource control policy"
BOUNDARY = "permissions boundary"
SESSION = "session policy"
_ARTICLE = {IDENTITY: "an", RESOURCE: "a", SCP: "a", RCP: "a", BOUNDARY: "a", SESSION: "a"}

Candidates = tuple[tuple[Policy, Statement], ...]


class AccessDeniedException(DomainError):
    """AWS's ``AccessDeniedException``; the message is built by :func:`denial_message`."""

    default_message = "User is not authorized to perform this action"


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one principal's requests. ``scps``/``rcps``: the chain of
    levels from the organization root down to the account, each level the policies attached
    there."""

    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    session: tuple[Policy, ...] = ()
    resource: Policy | None = None
    scps: tuple[tuple[Policy, ...], ...] = ()
    rcps: tuple[tuple[Policy, ...], ...] = ()


@dataclass(frozen=True)
class Decision:
    """``effect``: Allow, ExplicitDeny or ImplicitDeny; ``policy_type``: the type that decided
    (IDENTITY, RESOURCE, SCP, RCP, BOUNDARY, SESSION; None for root's own access or an Allow with no
    statement); ``policy`` and ``statement``: the deciding ones when a statement decided;
    ``resource``: the resource the decision is about."""

    effect: Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
    policy_type: str | None
    resource: str
    policy: Policy | None = None
    statement: Statement | None = None

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"

    @property
    def sid(self) -> str | None:
        return self.statement.sid if self.statement else None


#: (Deny statements, Allow statements) of one policy group that cover one action
Split = tuple[Candidates, Candidates]


@dataclass
class _View:
    scps: tuple[Split, ...]
    rcps: tuple[Split, ...]
    resource: Split
    identity: Split
    boundary: Split
    session: Split
    has_boundary: bool
    has_session: bool


def _covering(policies: tuple[Policy, ...], action: str) -> Split:
    found = [(p, s) for p in policies for s in p.statements if s.matches_action(action)]
    return (tuple(c for c in found if c[1].effect == "Deny"), tuple(c for c in found if c[1].effect == "Allow"))


@dataclass
class CompiledPolicySet:
    """A :class:`PolicySet` with a per-action index (at most ``max_actions`` actions kept)."""

    policies: PolicySet
    max_actions: int = 4096
    _views: dict[str, _View] = field(default_factory=dict)

    def view(self, action: str) -> _View:
        key = action.lower()
        found = self._views.get(key)
        if found is None:
            ps = self.policies
            found = _View(
                tuple(_covering(level, key) for level in ps.scps),
                tuple(_covering(level, key) for level in ps.rcps),
                _covering((ps.resource,) if ps.resource else (), key),
                _covering(ps.identity, key),
                _covering((ps.boundary,) if ps.boundary else (), key),
                _covering(ps.session, key),
                ps.boundary is not None,
                bool(ps.session),
            )
            if len(self._views) >= self.max_actions:
                self._views.clear()
            self._views[key] = found
        return found


def principal_match(spec: PrincipalSpec, principal: Principal) -> str | None:
    """How a Principal element names ``principal``: ``"everyone"`` (``*``), ``"exact"`` (its own
    ARN), ``"role"`` (the role of a role session), ``"account"`` (its account) or None."""
    if spec.everyone:
        return "everyone"
    if principal.arn in spec.aws:
        return "exact"
    if principal.type == "assumed_role" and principal.role_arn in spec.aws:
        return "role"
    if f"arn:aws:iam::{principal.account}:root" in spec.aws:
        return "account"
    return None


def _not_principal_excludes(spec: PrincipalSpec, principal: Principal) -> bool:
    # A role session is excluded only when both the role and the session ARN are listed
    # [UG-IAM reference_policies_elements_notprincipal.md].
    if spec.everyone:
        return True
    if principal.arn not in spec.aws:
        return False
    return principal.type != "assumed_role" or principal.role_arn in spec.aws


def _first(cands: Candidates, resource: str, ctx: RequestContext) -> tuple[Policy, Statement] | None:
    """The first statement of ``cands`` whose Resource and Condition apply."""
    for p, s in cands:
        if (s.resources is None or s.matches_resource(resource, ctx)) and (not s.conditions or s.conditions_hold(ctx)):
            return p, s
    return None


def _first_resource(cands: Candidates, resource: str, ctx: RequestContext,
                    principal: Principal) -> tuple[Policy, Statement, str] | None:
    """As :func:`_first` for a resource-based policy, whose statements also name principals; the
    third item says how the principal matched (see :func:`principal_match`)."""
    for p, s in cands:
        how = "everyone"
        if s.principal is not None:
            if s.not_principal:
                if _not_principal_excludes(s.principal, principal):
                    continue
            else:
                matched = principal_match(s.principal, principal)
                if matched is None:
                    continue
                how = matched
        if s.matches_resource(resource, ctx) and s.conditions_hold(ctx):
            return p, s, how
    return None


def _decide(request: Request, view: _View, resource: str, ctx: RequestContext) -> Decision:
    principal = request.principal
    not_root = principal.type != "root"  # no identity policy, boundary or session applies to root
    for ptype, levels in ((SCP, view.scps), (RCP, view.rcps)):
        for denies, _ in levels:
            hit = _first(denies, resource, ctx)
            if hit:
                return Decision("ExplicitDeny", ptype, resource, hit[0], hit[1])
    rhit = _first_resource(view.resource[0], resource, ctx, principal)
    if rhit:
        return Decision("ExplicitDeny", RESOURCE, resource, rhit[0], rhit[1])
    if not_root:
        for ptype, (denies, _) in ((IDENTITY, view.identity), (BOUNDARY, view.boundary), (SESSION, view.session)):
            hit = _first(denies, resource, ctx)
            if hit:
                return Decision("ExplicitDeny", ptype, resource, hit[0], hit[1])
    for ptype, levels in ((RCP, view.rcps), (SCP, view.scps)):
        for _, allows in levels:
            if not _first(allows, resource, ctx):
                return Decision("ImplicitDeny", ptype, resource)
    res = _first_resource(view.resource[1], resource, ctx, principal)
    cross = request.cross_account
    if not not_root:
        if not cross:
            return Decision("Allow", None, resource)
        if res:
            return Decision("Allow", RESOURCE, resource, res[0], res[1])
        return Decision("ImplicitDeny", RESOURCE, resource)
    if res and not cross:
        direct = res[2] in ("exact", "everyone") and principal.type in ("user", "assumed_role")
        if direct:
            return Decision("Allow", RESOURCE, resource, res[0], res[1])
    allow: tuple[Policy, Statement] | None = _first(view.identity[1], resource, ctx)
    by_resource = False
    if allow is None and res and not cross and res[2] in ("role", "exact", "everyone"):
        allow, by_resource = (res[0], res[1]), True
    if allow is None:
        return Decision("ImplicitDeny", IDENTITY, resource)
    if view.has_boundary and not _first(view.boundary[1], resource, ctx):
        return Decision("ImplicitDeny", BOUNDARY, resource)
    if view.has_session and not _first(view.session[1], resource, ctx):
        return Decision("ImplicitDeny", SESSION, resource)
    if cross and not res:
        return Decision("ImplicitDeny", RESOURCE, resource)
    return Decision("Allow", RESOURCE if by_resource else IDENTITY, resource, allow[0], allow[1])


def evaluate(request: Request, policies: PolicySet | CompiledPolicySet) -> Decision:
    """The decision for ``request``: the first resource not allowed decides, else the last Allow."""
    compiled = policies if isinstance(policies, CompiledPolicySet) else CompiledPolicySet(policies)
    view = compiled.view(request.action)
    ctx = RequestContext(request)
    decision = Decision("ImplicitDeny", IDENTITY, "*")
    for resource in request.resources or ("*",):
        decision = _decide(request, view, resource, ctx)
        if not decision.allowed:
            return decision
    return decision


def denial_message(request: Request, decision: Decision, with_policy_arn: bool = False) -> str:
    """AWS's text `[UG-IAM troubleshoot_access-denied.md]`: ``User: <arn> is not authorized to
    perform: <action> on resource: <arn> because no <type> allows the <action> action`` or ``...
    with an explicit deny in a(n) <type>`` (``: <policy ARN>`` appended when ``with_policy_arn`` and
    the deciding policy's name is an ARN). The ``on resource:`` part is left out for ``*``."""
    text = f"User: {request.principal.arn} is not authorized to perform: {request.action}"
    if decision.resource != "*":
        text += f" on resource: {decision.resource}"
    ptype = decision.policy_type or IDENTITY
    if decision.effect == "ExplicitDeny":
        text += f" with an explicit deny in {_ARTICLE[ptype]} {ptype}"
        name = decision.policy.name if decision.policy else None
        if with_policy_arn and name and name.startswith("arn:"):
            text += f": {name}"
        return text
    return text + f" because no {ptype} allows the {request.action} action"
