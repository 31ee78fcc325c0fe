"""AWS Organizations handlers (:data:`ORGANIZATIONS_HANDLERS`, loaded by
:mod:`.organizations_operations`): each reads the request (already checked against the model),
calls :class:`opentrail.organizations.service.OrganizationsService` as the caller's account and
renders the model's output shape (:mod:`.organizations_wire`)."""

from __future__ import annotations

from typing import Any, Callable

from .organizations_errors import domain_errors
from .organizations_wire import (account_json, caller, organization_json, ou_json, page, policy_json, policy_summary,
                                 root_json, service, status_json, tag_list, tags_of)

Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]
P = dict[str, Any]


def _svc(ctx: Any, op: str) -> Any:
    return service(ctx, op)


# --- the organization and its accounts --------------------------------------------------------


def create_organization(ctx: Any, p: P) -> P:
    org = _svc(ctx, "CreateOrganization").create_organization(caller(ctx), p.get("FeatureSet") or "ALL")
    return {"Organization": organization_json(org)}


def describe_organization(ctx: Any, p: P) -> P:
    return {"Organization": organization_json(_svc(ctx, "DescribeOrganization").describe_organization(caller(ctx)))}


def delete_organization(ctx: Any, p: P) -> P:
    _svc(ctx, "DeleteOrganization").delete_organization(caller(ctx))
    return {}


def create_account(ctx: Any, p: P) -> P:
    status = _svc(ctx, "CreateAccount").create_account(caller(ctx), p["Email"], p["AccountName"], tags_of(p))
    return {"CreateAccountStatus": status_json(status)}


def describe_create_account_status(ctx: Any, p: P) -> P:
    status = _svc(ctx, "DescribeCreateAccountStatus").describe_create_account_status(
        caller(ctx), p["CreateAccountRequestId"])
    return {"CreateAccountStatus": status_json(status)}


def list_create_account_status(ctx: Any, p: P) -> P:
    states = p.get("States")
    statuses = _svc(ctx, "ListCreateAccountStatus").list_create_account_status(caller(ctx), states)
    return page(ctx, "ListCreateAccountStatus", p, [status_json(s) for s in statuses], "CreateAccountStatuses",
                [sorted(states or [])])


def list_accounts(ctx: Any, p: P) -> P:
    svc = _svc(ctx, "ListAccounts")
    org = svc.describe_organization(caller(ctx))
    return page(ctx, "ListAccounts", p, [account_json(org, a) for a in svc.list_accounts(caller(ctx))], "Accounts")


def describe_account(ctx: Any, p: P) -> P:
    org, account = _svc(ctx, "DescribeAccount").describe_account(caller(ctx), p["AccountId"])
    return {"Account": account_json(org, account)}


def remove_account_from_organization(ctx: Any, p: P) -> P:
    _svc(ctx, "RemoveAccountFromOrganization").remove_account(caller(ctx), p["AccountId"])
    return {}


# --- roots, OUs, moving accounts ----------------------------------------------------------------


def list_roots(ctx: Any, p: P) -> P:
    return page(ctx, "ListRoots", p, [root_json(_svc(ctx, "ListRoots").list_roots(caller(ctx)))], "Roots")


def create_organizational_unit(ctx: Any, p: P) -> P:
    org, ou = _svc(ctx, "CreateOrganizationalUnit").create_ou(caller(ctx), p["ParentId"], p["Name"], tags_of(p))
    return {"OrganizationalUnit": ou_json(org, ou)}


def describe_organizational_unit(ctx: Any, p: P) -> P:
    org, ou = _svc(ctx, "DescribeOrganizationalUnit").describe_ou(caller(ctx), p["OrganizationalUnitId"])
    return {"OrganizationalUnit": ou_json(org, ou)}


def update_organizational_unit(ctx: Any, p: P) -> P:
    org, ou = _svc(ctx, "UpdateOrganizationalUnit").update_ou(caller(ctx), p["OrganizationalUnitId"], p.get("Name"))
    return {"OrganizationalUnit": ou_json(org, ou)}


def delete_organizational_unit(ctx: Any, p: P) -> P:
    _svc(ctx, "DeleteOrganizationalUnit").delete_ou(caller(ctx), p["OrganizationalUnitId"])
    return {}


def list_organizational_units_for_parent(ctx: Any, p: P) -> P:
    org, ous = _svc(ctx, "ListOrganizationalUnitsForParent").list_ous_for_parent(caller(ctx), p["ParentId"])
    return page(ctx, "ListOrganizationalUnitsForParent", p, [ou_json(org, o) for o in ous], "OrganizationalUnits",
                [p["ParentId"]])


def list_accounts_for_parent(ctx: Any, p: P) -> P:
    org, accounts = _svc(ctx, "ListAccountsForParent").list_accounts_for_parent(caller(ctx), p["ParentId"])
    return page(ctx, "ListAccountsForParent", p, [account_json(org, a) for a in accounts], "Accounts",
                [p["ParentId"]])


def list_children(ctx: Any, p: P) -> P:
    ids = _svc(ctx, "ListChildren").list_children(caller(ctx), p["ParentId"], p["ChildType"])
    return page(ctx, "ListChildren", p, [{"Id": i, "Type": p["ChildType"]} for i in ids], "Children",
                [p["ParentId"], p["ChildType"]])


def list_parents(ctx: Any, p: P) -> P:
    parent, kind = _svc(ctx, "ListParents").list_parents(caller(ctx), p["ChildId"])
    return page(ctx, "ListParents", p, [{"Id": parent, "Type": kind}], "Parents", [p["ChildId"]])


def move_account(ctx: Any, p: P) -> P:
    _svc(ctx, "MoveAccount").move_account(caller(ctx), p["AccountId"], p["SourceParentId"], p["DestinationParentId"])
    return {}


# --- trusted access and delegated administrators ----------------------------------------------


def enable_aws_service_access(ctx: Any, p: P) -> P:
    _svc(ctx, "EnableAWSServiceAccess").enable_service_access(caller(ctx), p["ServicePrincipal"])
    return {}


def disable_aws_service_access(ctx: Any, p: P) -> P:
    _svc(ctx, "DisableAWSServiceAccess").disable_service_access(caller(ctx), p["ServicePrincipal"])
    return {}


def list_aws_service_access_for_organization(ctx: Any, p: P) -> P:
    enabled = _svc(ctx, "ListAWSServiceAccessForOrganization").list_service_access(caller(ctx))
    return page(ctx, "ListAWSServiceAccessForOrganization", p,
                [{"ServicePrincipal": s, "DateEnabled": t} for s, t in enabled], "EnabledServicePrincipals")


def register_delegated_administrator(ctx: Any, p: P) -> P:
    _svc(ctx, "RegisterDelegatedAdministrator").register_delegated_admin(caller(ctx), p["AccountId"],
                                                                         p["ServicePrincipal"])
    return {}


def deregister_delegated_administrator(ctx: Any, p: P) -> P:
    _svc(ctx, "DeregisterDelegatedAdministrator").deregister_delegated_admin(caller(ctx), p["AccountId"],
                                                                             p["ServicePrincipal"])
    return {}


def list_delegated_administrators(ctx: Any, p: P) -> P:
    svc = _svc(ctx, "ListDelegatedAdministrators")
    principal = p.get("ServicePrincipal")
    admins = svc.list_delegated_admins(caller(ctx), principal)
    org = svc.describe_organization(caller(ctx))
    items = [{**account_json(org, a), "DelegationEnabledDate": t} for a, t in admins]
    return page(ctx, "ListDelegatedAdministrators", p, items, "DelegatedAdministrators", [principal])


def list_delegated_services_for_account(ctx: Any, p: P) -> P:
    services = _svc(ctx, "ListDelegatedServicesForAccount").list_delegated_services(caller(ctx), p["AccountId"])
    return page(ctx, "ListDelegatedServicesForAccount", p,
                [{"ServicePrincipal": s, "DelegationEnabledDate": t} for s, t in services], "DelegatedServices",
                [p["AccountId"]])


# --- policies ---------------------------------------------------------------------------------


def enable_policy_type(ctx: Any, p: P) -> P:
    org = _svc(ctx, "EnablePolicyType").enable_policy_type(caller(ctx), p["RootId"], p["PolicyType"])
    return {"Root": root_json(org)}


def create_policy(ctx: Any, p: P) -> P:
    org, policy = _svc(ctx, "CreatePolicy").create_policy(caller(ctx), p["Name"], p["Description"], p["Type"],
                                                          p["Content"], tags_of(p))
    return {"Policy": policy_json(org, policy)}


def describe_policy(ctx: Any, p: P) -> P:
    org, policy = _svc(ctx, "DescribePolicy").describe_policy(caller(ctx), p["PolicyId"])
    return {"Policy": policy_json(org, policy)}


def update_policy(ctx: Any, p: P) -> P:
    org, policy = _svc(ctx, "UpdatePolicy").update_policy(caller(ctx), p["PolicyId"], p.get("Name"),
                                                          p.get("Description"), p.get("Content"))
    return {"Policy": policy_json(org, policy)}


def delete_policy(ctx: Any, p: P) -> P:
    _svc(ctx, "DeletePolicy").delete_policy(caller(ctx), p["PolicyId"])
    return {}


def list_policies(ctx: Any, p: P) -> P:
    org, policies = _svc(ctx, "ListPolicies").list_policies(caller(ctx), p["Filter"])
    return page(ctx, "ListPolicies", p, [policy_summary(org, x) for x in policies], "Policies", [p["Filter"]])


def attach_policy(ctx: Any, p: P) -> P:
    _svc(ctx, "AttachPolicy").attach_policy(caller(ctx), p["PolicyId"], p["TargetId"])
    return {}


def detach_policy(ctx: Any, p: P) -> P:
    _svc(ctx, "DetachPolicy").detach_policy(caller(ctx), p["PolicyId"], p["TargetId"])
    return {}


def list_policies_for_target(ctx: Any, p: P) -> P:
    org, policies = _svc(ctx, "ListPoliciesForTarget").list_policies_for_target(caller(ctx), p["TargetId"],
                                                                                p["Filter"])
    return page(ctx, "ListPoliciesForTarget", p, [policy_summary(org, x) for x in policies], "Policies",
                [p["TargetId"], p["Filter"]])


def list_targets_for_policy(ctx: Any, p: P) -> P:
    org, targets = _svc(ctx, "ListTargetsForPolicy").list_targets_for_policy(caller(ctx), p["PolicyId"])
    items = [{"TargetId": t, "Arn": arn, "Name": name, "Type": kind} for t, arn, name, kind in targets]
    return page(ctx, "ListTargetsForPolicy", p, items, "Targets", [p["PolicyId"]])


# --- tags -------------------------------------------------------------------------------------


def tag_resource(ctx: Any, p: P) -> P:
    _svc(ctx, "TagResource").tag_resource(caller(ctx), p["ResourceId"], tags_of(p))
    return {}


def untag_resource(ctx: Any, p: P) -> P:
    _svc(ctx, "UntagResource").untag_resource(caller(ctx), p["ResourceId"], list(p["TagKeys"]))
    return {}


def list_tags_for_resource(ctx: Any, p: P) -> P:
    tags = _svc(ctx, "ListTagsForResource").list_tags(caller(ctx), p["ResourceId"])
    return page(ctx, "ListTagsForResource", p, tag_list(tags), "Tags", [p["ResourceId"]])


_HANDLERS: dict[str, Handler] = {
    "CreateOrganization": create_organization, "DescribeOrganization": describe_organization,
    "DeleteOrganization": delete_organization, "CreateAccount": create_account,
    "DescribeCreateAccountStatus": describe_create_account_status,
    "ListCreateAccountStatus": list_create_account_status, "ListAccounts": list_accounts,
    "DescribeAccount": describe_account, "RemoveAccountFromOrganization": remove_account_from_organization,
    "ListRoots": list_roots, "CreateOrganizationalUnit": create_organizational_unit,
    "DescribeOrganizationalUnit": describe_organizational_unit,
    "UpdateOrganizationalUnit": update_organizational_unit, "DeleteOrganizationalUnit": delete_organizational_unit,
    "ListOrganizationalUnitsForParent": list_organizational_units_for_parent,
    "ListAccountsForParent": list_accounts_for_parent, "ListChildren": list_children, "ListParents": list_parents,
    "MoveAccount": move_account, "EnableAWSServiceAccess": enable_aws_service_access,
    "DisableAWSServiceAccess": disable_aws_service_access,
    "ListAWSServiceAccessForOrganization": list_aws_service_access_for_organization,
    "RegisterDelegatedAdministrator": register_delegated_administrator,
    "DeregisterDelegatedAdministrator": deregister_delegated_administrator,
    "ListDelegatedAdministrators": list_delegated_administrators,
    "ListDelegatedServicesForAccount": list_delegated_services_for_account,
    "EnablePolicyType": enable_policy_type, "CreatePolicy": create_policy, "DescribePolicy": describe_policy,
    "UpdatePolicy": update_policy, "DeletePolicy": delete_policy, "ListPolicies": list_policies,
    "AttachPolicy": attach_policy, "DetachPolicy": detach_policy, "ListPoliciesForTarget": list_policies_for_target,
    "ListTargetsForPolicy": list_targets_for_policy, "TagResource": tag_resource, "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}

#: Operation -> handler (domain errors answered as the wire errors of their code).
ORGANIZATIONS_HANDLERS: dict[str, Handler] = {op: domain_errors(h) for op, h in _HANDLERS.items()}
