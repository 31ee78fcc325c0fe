"""Handlers of RegisterOrganizationDelegatedAdmin and DeregisterOrganizationDelegatedAdmin: the
CloudTrail side of delegated administrators, registered with AWS Organizations
(:mod:`opentrail.trails.organization`). Both answer ``{}``."""

from __future__ import annotations

from typing import Any

from ..trails import organization
from . import trail_wire as wire
from .errors import declare_errors
from .operations import OperationContext
from .services import context_part
from .trail_errors import WIRE_ERRORS, translate

_ERRORS = ("OrganizationsNotInUseException", "NotOrganizationManagementAccountException",
           "OrganizationNotInAllFeaturesModeException", "CloudTrailAccessNotEnabledException",
           "AccountNotFoundException")


def register_organization_delegated_admin(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    orgs = context_part(ctx, "organizations", "RegisterOrganizationDelegatedAdmin")
    account_id = wire.req_str(params, "MemberAccountId")
    with translate():
        organization.register_delegated_admin(orgs, ctx.caller.account_id, account_id)
    return {}


def deregister_organization_delegated_admin(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    orgs = context_part(ctx, "organizations", "DeregisterOrganizationDelegatedAdmin")
    account_id = wire.req_str(params, "DelegatedAdminAccountId")
    with translate():
        organization.deregister_delegated_admin(orgs, ctx.caller.account_id, account_id)
    return {}


declare_errors(register_organization_delegated_admin, WIRE_ERRORS, *_ERRORS, "CannotDelegateManagementAccountException",
               "AccountRegisteredException", "DelegatedAdminAccountLimitExceededException")
declare_errors(deregister_organization_delegated_admin, WIRE_ERRORS, *_ERRORS, "AccountNotRegisteredException")

#: Operation name -> handler, registered in :mod:`opentrail.api.operations`.
ORGANIZATION_HANDLERS = {
    "RegisterOrganizationDelegatedAdmin": register_organization_delegated_admin,
    "DeregisterOrganizationDelegatedAdmin": deregister_organization_delegated_admin,
}
