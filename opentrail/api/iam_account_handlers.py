"""IAM handlers for the whole account: GetAccountAuthorizationDetails (every user, group, role and
managed policy with their policies, ``Filter`` and paging; AWS managed policies only when attached or
used as a boundary, as AWS answers) and GetAccountSummary (counts and the quotas opentrail applies)."""

from __future__ import annotations

from typing import Any

from ..iam import aws_managed
from ..iam.store import IamStore, ManagedPolicy
from .iam_policy_handlers import MAX_ATTACHED, MAX_POLICIES, MAX_VERSIONS, attached_json, version_json
from .iam_wire import account, encoded, group_json, page, policy_json, role_json, store_of, user_json
from .services import Handler


def _inline_list(store: IamStore, owner: Entity) -> list[dict[str, str]]:
    return [{"PolicyName": n, "PolicyDocument": encoded(d)} for n, d in store.inline(owner.id).items()]


def _details(store: IamStore, account_id: str, x: Any) -> dict[str, Any]:
    if isinstance(x, ManagedPolicy):
        out = policy_json(store, account_id, x)
        out.pop("Tags", None)
        out["PolicyVersionList"] = [version_json(x, v.version_id, v.created, v.document) for v in store.versions(x)]
        return out
    attached = attached_json(store, account_id, store.attached(x.id))
    if x.kind == "user":
        out = user_json(store, x)
        out["UserPolicyList"] = _inline_list(store, x)
        out["GroupList"] = [g.name for g in store.user_groups(x.id)]
        out["AttachedManagedPolicies"] = attached
        return out
    if x.kind == "group":
        out = group_json(x)
        out["GroupPolicyList"] = _inline_list(store, x)
        out["AttachedManagedPolicies"] = attached
        return out
    out = role_json(store, x)
    out.pop("Description", None)
    out.pop("MaxSessionDuration", None)
    out["InstanceProfileList"] = []
    out["RolePolicyList"] = _inline_list(store, x)
    out["AttachedManagedPolicies"] = attached
    return out


_DETAIL_FIELDS = {"User": "UserDetailList", "Group": "GroupDetailList", "Role": "RoleDetailList",
                  "LocalManagedPolicy": "Policies", "AWSManagedPolicy": "Policies"}


def get_account_authorization_details(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Every user, group, role and managed policy (AWS managed ones only when attached or used as a
    boundary), restricted to ``Filter``; paged over that one sequence."""
    store = store_of(ctx, "GetAccountAuthorizationDetails")
    acct = account(ctx)
    filters = params.get("Filter") or list(_DETAIL_FIELDS)
    items: list[tuple[str, str, Any]] = []
    for order, kind in enumerate(("User", "Group", "Role")):
        if kind in filters:
            items += [(f"{order}{x.name.lower()}", kind, x) for x in store.entities(acct, kind.lower())]
    if "LocalManagedPolicy" in filters:
        items += [(f"3{p.name.lower()}", "LocalManagedPolicy", p) for p in store.policies(acct)]
    if "AWSManagedPolicy" in filters:
        for policy_arn in aws_managed.arns():
            if store.attachment_count(acct, policy_arn) or store.boundary_users(acct, policy_arn):
                policy = aws_managed.policy(policy_arn)
                items.append((f"4{policy_arn.lower()}", "AWSManagedPolicy", policy))
    out = page(items, params, lambda i: i[0], "Items")
    answer: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
                              "IsTruncated": out["IsTruncated"]}
    for _, kind, x in out.pop("Items"):
        answer[_DETAIL_FIELDS[kind]].append(_details(store, acct, x))
    if "Marker" in out:
        answer["Marker"] = out["Marker"]
    return answer


def get_account_summary(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Counts of this account's IAM entities and the quotas opentrail applies (GetAccountSummary's
    SummaryMap keys)."""
    from .iam_handlers import MAX_GROUPS, MAX_GROUPS_PER_USER, MAX_KEYS_PER_USER, MAX_USERS
    from .iam_role_handlers import MAX_ROLES

    store = store_of(ctx, "GetAccountSummary")
    acct = account(ctx)
    policies = store.policies(acct)
    summary = {
        "Users": store.count(acct, "user"), "UsersQuota": MAX_USERS,
        "Groups": store.count(acct, "group"), "GroupsQuota": MAX_GROUPS,
        "Roles": store.count(acct, "role"), "RolesQuota": MAX_ROLES,
        "Policies": len(policies), "PoliciesQuota": MAX_POLICIES,
        "PolicyVersionsInUse": sum(len(store.versions(p)) for p in policies), "PolicyVersionsInUseQuota": 10000,
        "VersionsPerPolicyQuota": MAX_VERSIONS, "PolicySizeQuota": 6144,
        "GroupsPerUserQuota": MAX_GROUPS_PER_USER, "AccessKeysPerUserQuota": MAX_KEYS_PER_USER,
        "AttachedPoliciesPerUserQuota": MAX_ATTACHED, "AttachedPoliciesPerGroupQuota": MAX_ATTACHED,
        "AttachedPoliciesPerRoleQuota": MAX_ATTACHED, "UserPolicySizeQuota": 2048, "GroupPolicySizeQuota": 5120,
        "RolePolicySizeQuota": 10240, "AssumeRolePolicySizeQuota": 2048,
        "AccountAccessKeysPresent": 1 if _root_keys(ctx) else 0,
        "AccountMFAEnabled": 0, "MFADevices": 0, "MFADevicesInUse": 0,
    }
    return {"SummaryMap": summary}


def _root_keys(ctx: Any) -> list[Any]:
    accounts = getattr(ctx, "accounts", None)
    return accounts.user_keys(account(ctx), None) if accounts is not None else []


HANDLERS: dict[str, Handler] = {
    "GetAccountAuthorizationDetails": get_account_authorization_details,
    "GetAccountSummary": get_account_summary,
}
