"""The IAM check before every operation of every service opentrail serves.

:class:`Authorizer` turns an authenticated call into an :class:`opentrail.access.Request` and
evaluates it against the policies of the calling principal (see docs/access-control.md,
"Enforcement"):

- **root keys** (``caller.user_name`` None, no role session): identity policies do not apply; the
  SCPs of the account's organization do, when the account is a member (not the management
  account) and SCPs are enabled (:meth:`opentrail.organizations.reads.OrganizationReads.scp_chain`,
  ``FullAWSAccess`` attached by default as AWS does). No SCP: allowed without evaluation.
- **IAM users** of the IAM directory: their identity policies (inline, attached, groups'), their
  permissions boundary and the SCPs. A user name the directory does not know (keys made with
  ``opentrail create-access-key --user-name`` before IAM existed, or a server run without IAM) is
  allowed as before: migration behaviour, documented.
- **role sessions** (``caller.role_session``, AssumeRole): the role's policies and boundary, the
  session policy (inline ``Policy`` and the ``PolicyArns`` resolved through
  :meth:`~opentrail.iam.model.IamDirectory.managed_policy_document`) and the SCPs. A session whose
  role is gone is denied (no identity-based policy allows).
- ``sts:GetCallerIdentity`` is never denied (AWS STS API reference: "No permissions are required
  to perform this operation").

Compiled policy sets are cached per principal and rebuilt when ``iam.generation()`` changes or the
account's organization changes (the organizations service replaces an organization's snapshot on
every change, so identity of the snapshot is the test). Both notice changes made on another node
(:class:`opentrail.state_watch.DataVersionWatch`): at once on SQLite, within
:data:`opentrail.state_watch.PG_RECHECK_S` on PostgreSQL.

A denial raises the service's access-denied error with AWS's message
(:func:`opentrail.access.denial_message`): JSON services (CloudTrail, CloudWatch Logs, EventBridge,
Organizations, whose botocore models declare ``AccessDeniedException``) answer
``AccessDeniedException`` with HTTP 400 (what CloudWatch Logs answers, elastic/apm-aws-lambda#526:
"StatusCode: 400 ... api error AccessDeniedException: User: ... is not authorized to perform:
logs:CreateLogGroup on resource: ..."); the Query services (IAM, STS) and CloudWatch answer
``AccessDenied`` with HTTP 403 (same issue: "IAM: CreatePolicy, https response error StatusCode:
403 ... api error AccessDenied"; CloudWatch: tomaszkiewicz/prometheus-alertmanager-cloudwatch-webhook#3,
"AccessDenied: User: ... is not authorized to perform: cloudwatch:PutMetricData with an explicit
deny status code: 403").

With ``--iam-enforcement log-only`` a would-be denial is logged (warning, logger
``opentrail.authorization``) with its message and the call goes ahead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Hashable

from ..access import CompiledPolicySet, Policy, PolicySet, Principal, Request, denial_message, evaluate, parse_policy
from ..access.evaluation import Decision
from ..auth.sigv4 import Caller
from ..settings import Settings
from ..iam.principals import parsed, policies_of, principal_of
from .errors import AccessDeniedException, AwsError
from .recording import CallInfo
from .resource_arns import Scope, request_tags, resource_account, resource_arns

__all__ = ["Authorizer", "AccessDenied", "ENFORCE", "LOG_ONLY", "MODES", "access_denied"]

log = logging.getLogger("opentrail.authorization")

ENFORCE = "enforce"
LOG_ONLY = "log-only"
#: The values of ``--iam-enforcement``.
MODES = (ENFORCE, LOG_ONLY)
#: Services whose access-denied error is the Query code ``AccessDenied`` (HTTP 403).
QUERY_DENIAL_SERVICES = frozenset({"iam", "sts", "monitoring"})
#: Operations never denied: (signing name, operation).
NEVER_DENIED = frozenset({("sts", "GetCallerIdentity")})
#: Operations whose handler evaluates the caller's identity side together with the resource's
#: policy (AssumeRole: the role's trust policy, :mod:`opentrail.sts.trust`): here only the SCPs
#: of the caller's account are applied to them.
HANDLER_AUTHORIZED = frozenset({("sts", "AssumeRole")})
#: Services whose resources are not owned by the account in their ARN for our purposes:
#: Organizations' ARNs name the management account, STS's the role's account (the trust policy,
#: checked by AssumeRole itself, is the resource side).
_NO_RESOURCE_ACCOUNT = frozenset({"organizations", "sts"})
#: Services whose resources have resource-based policies the check takes into account.
RESOURCE_POLICY_SERVICES = frozenset({"cloudtrail", "cloudtrail-data"})
#: Most principals whose compiled policies are kept.
MAX_CACHED = 4096


class AccessDenied(AwsError):
    """A Query service's (IAM, STS, CloudWatch) denial: code ``AccessDenied``, HTTP 403."""

    status = 403
    query_code = "AccessDenied"


def access_denied(service_name: str, message: str) -> AwsError:
    """The access-denied error ``service_name`` (a signing name) answers, with ``message``."""
    if service_name in QUERY_DENIAL_SERVICES:
        return AccessDenied(message)
    return AccessDeniedException(message)


@dataclass
class _Entry:
    generation: int
    organization: Any
    principal: Principal
    policies: CompiledPolicySet | None  # None: allowed without evaluation


class Authorizer:
    """Authorizes calls (see the module docstring). ``iam``: an
    :class:`opentrail.iam.model.IamDirectory` or None; ``organizations``: the
    :class:`opentrail.organizations.service.OrganizationsService` (its read interface) or None.
    Raises ValueError for an unknown ``settings.iam_enforcement``."""

    def __init__(self, settings: Settings, iam: Any = None, organizations: Any = None) -> None:
        if settings.iam_enforcement not in MODES:
            raise ValueError(f"--iam-enforcement must be one of {', '.join(MODES)}, not {settings.iam_enforcement!r}")
        self.mode = settings.iam_enforcement
        self.iam = iam
        self.organizations = organizations
        self._cache: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()
        #: ARN -> the resource-based policy of a CloudTrail Lake resource (channel, event data store,
        #: dashboard) or None; consulted for cross-account calls of :data:`RESOURCE_POLICY_SERVICES`
        self.resource_policy: Callable[[str], Policy | None] | None = None

    # --- the check ------------------------------------------------------------------------------

    def authorize(self, caller: Caller, service: Any, operation: str, params: dict[str, Any] | None,
                  info: CallInfo, now: float) -> Decision | None:
        """Check one call of ``operation`` of ``service`` (a :class:`~opentrail.api.services.Service`)
        by ``caller`` at ``now`` (epoch seconds). Returns the decision (None when nothing was
        evaluated: root without SCPs, a user unknown to IAM, GetCallerIdentity); raises the
        service's access-denied error (:func:`access_denied`) on a denial in ``enforce`` mode."""
        found = self.decide(caller, service, operation, params, info, now)
        if found is None:
            return None
        request, decision = found
        if decision.allowed:
            return decision
        message = denial_message(request, decision)
        if self.mode == LOG_ONLY:
            log.warning("iam-enforcement log-only: allowed a call that would be denied: %s", message)
            return decision
        raise access_denied(service.name, message)

    def permits(self, caller: Caller, service: Any, operation: str, params: dict[str, Any] | None,
                info: CallInfo, now: float) -> bool:
        """Whether :meth:`authorize` would let the call go ahead (in ``log-only`` mode: always),
        without raising or logging: for the console, which offers only the actions it may use."""
        if self.mode == LOG_ONLY:
            return True
        found = self.decide(caller, service, operation, params, info, now)
        return found is None or found[1].allowed

    def decide(self, caller: Caller, service: Any, operation: str, params: dict[str, Any] | None,
               info: CallInfo, now: float) -> tuple[Request, Decision] | None:
        """The request as evaluated and its decision, whatever the mode (None when nothing is
        evaluated, as in :meth:`authorize`). Raises nothing for a denial."""
        if (service.name, operation) in NEVER_DENIED:
            return None
        entry = self._entry(caller)
        if entry is None or entry.policies is None:
            return None
        principal = entry.principal
        org = entry.organization
        scope = Scope(caller.account_id, caller.region, org, self.iam,
                      principal.arn if principal.type == "user" else None)
        arns = resource_arns(service, operation, params, scope)
        owner = None if service.name in _NO_RESOURCE_ACCOUNT else resource_account(arns)
        if owner == caller.account_id or (owner is not None and org is not None and owner in org.accounts
                                          and service.name == "cloudtrail"):
            owner = None  # an organization trail or event data store, seen from a member account
        request = Request(
            principal, service.iam_action(operation), datetime.fromtimestamp(now, timezone.utc), arns, owner,
            source_ip=info.source_ip, secure_transport=info.is_tls,
            requested_region=getattr(service, "global_region", None) or caller.region,
            mfa_present=False if caller.session_created is not None else None,
            token_issue_time=(datetime.fromtimestamp(caller.session_created, timezone.utc)
                              if caller.session_created is not None else None),
            context=request_tags(params),
        )
        if (service.name, operation) in HANDLER_AUTHORIZED:
            scps = self._scps(caller.account_id)
            if not scps:
                return None
            decision = evaluate(request, PolicySet(identity=(_EVERYTHING,), scps=scps))
        else:
            resource = self._resource_policy(service.name, owner, arns)
            decision = evaluate(request, entry.policies if resource is None else
                                PolicySet(**{**_fields(entry.policies.policies), "resource": resource}))
        return request, decision

    def _resource_policy(self, service_name: str, owner: str | None, arns: tuple[str, ...]) -> Policy | None:
        """The resource policy that joins the evaluation of a cross-account call (``owner`` set) of
        CloudTrail or CloudTrail Data on a resource that has one, else None."""
        if owner is None or self.resource_policy is None or service_name not in RESOURCE_POLICY_SERVICES:
            return None
        return next((p for p in (self.resource_policy(a) for a in arns) if p is not None), None)

    # --- principals and their policies ------------------------------------------------------------

    def _entry(self, caller: Caller) -> _Entry | None:
        session = caller.role_session
        account = caller.account_id
        key: Hashable
        if session is not None:
            key = ("role", account, session.role_name, session.session_name, session.session_policy,
                   session.session_policy_arns, tuple(sorted(session.tags.items())))
        elif caller.user_name is not None:
            key = ("user", account, caller.user_name)
        else:
            key = ("root", account)
        generation = self.iam.generation() if self.iam is not None else 0
        org = self.organizations.organization_of(account) if self.organizations is not None else None
        entry = self._cache.get(key)
        if entry is not None and entry.generation == generation and entry.organization is org:
            return entry
        entry = self._build(caller, generation, org)
        if entry is not None:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[key] = entry
        return entry

    def _scps(self, account: str) -> tuple[tuple[Policy, ...], ...]:
        if self.organizations is None:
            return ()
        chain = self.organizations.scp_chain(account)
        return tuple(tuple(p for p in (parsed(text, "scp", None) for text in level) if p) for level in chain)

    def _build(self, caller: Caller, generation: int, org: Any) -> _Entry | None:
        org_id = org.id if org is not None else None
        scps = self._scps(caller.account_id)
        principal = principal_of(caller, self.iam, org_id)
        policies = policies_of(caller, self.iam)
        if policies is None:  # migration: a user made by `opentrail create-access-key --user-name`
            return _Entry(generation, org, principal, None)
        if principal.type == "root" and not scps:
            return _Entry(generation, org, principal, None)
        return _Entry(generation, org, principal, CompiledPolicySet(PolicySet(**{**_fields(policies), "scps": scps})))


def _fields(policies: PolicySet) -> dict[str, Any]:
    return {f: getattr(policies, f) for f in ("identity", "boundary", "session", "scps", "rcps")}


#: Stands for the identity side where a handler decides it (:data:`HANDLER_AUTHORIZED`).
_EVERYTHING = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", '
                           '"Resource": "*"}]}', "identity", "handler-authorized")
