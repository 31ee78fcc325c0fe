"""IAM handlers for policies: inline policies of users, groups and roles; customer managed policies
with versions; attaching managed policies (customer or AWS managed, :mod:`opentrail.iam.aws_managed`);
permissions boundaries (GetAccountAuthorizationDetails and GetAccountSummary: :mod:`.iam_account_handlers`).

Behaviour (IAM API reference; IAM User Guide "IAM and AWS STS quotas"):

- Documents are validated as identity policies (:mod:`.iam_documents`); answers URL-encode them.
- Inline policy not found: NoSuchEntity "The user policy with name <name> cannot be found." (group
  policy, role policy alike).
- CreatePolicy: "A policy called <name> already exists. Duplicate names are not allowed."
  (EntityAlreadyExists); 1500 customer managed policies per account.
- Unknown policy ARN: NoSuchEntity "Policy <arn> was not found." (Get/Delete/versions/Detach) or
  "Policy <arn> does not exist or is not attachable." (Attach, boundaries).
- CreatePolicyVersion: at most 5 versions: LimitExceeded "A managed policy can have up to 5 versions.
  Before you create a new version, you must delete an existing version.".
- DeletePolicyVersion of the default version: DeleteConflict "Cannot delete the default version of
  a policy.". DeletePolicy: DeleteConflict "Cannot delete a policy attached to entities." while
  attached or used as a boundary; "This policy has more than one version. Before you delete a policy,
  you must delete the policy's versions. The default version is deleted with the policy." while
  other versions remain (this wording is assumed, not seen).
- AWS managed policies cannot be changed, deleted or tagged: AccessDenied "User: <caller arn> is
  not authorized to perform: iam:<Action> on resource: policy <arn>" (the form of AWS's denials;
  the exact answer to these calls was not confirmed).
- Attached managed policies: at most 10 per user, group or role: LimitExceeded "Cannot exceed quota
  for PoliciesPerUser: 10" (PoliciesPerGroup, PoliciesPerRole).
- GetPolicyVersion of an unknown version: NoSuchEntity "Policy <arn> version <v> does not exist or is
  not attachable." (wording assumed).
- Delete*PermissionsBoundary when none is set succeeds (AWS's answer not confirmed).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..iam import aws_managed
from ..iam.ids import arn as make_arn
from ..iam.ids import new_id
from ..iam.store import Entity, IamStore, ManagedPolicy
from . import iam_errors as e
from .iam_documents import check_inline_size, check_managed_size, checked
from .iam_wire import (account, check_tag_quota, encoded, entity, managed_policy, page, policy_json, store_of,
                       tags_json, tags_of)
from .services import Handler

MAX_ATTACHED = 10
MAX_VERSIONS = 5
MAX_POLICIES = 1500
KIND_MEMBER = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
KIND_TITLE = {"user": "User", "group": "Group", "role": "Role"}


# --- inline policies ---------------------------------------------------------------------------------


def _put_inline(kind: str) -> Handler:
    operation = f"Put{KIND_TITLE[kind]}Policy"

    def put(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        document = checked(params["PolicyDocument"])
        others = {n: d for n, d in store.inline(owner.id).items() if n != params["PolicyName"]}
        check_inline_size(kind, owner.name, [*others.values(), document])
        store.put_inline(owner.id, params["PolicyName"], document)
        return {}

    return put


def _inline_document(ctx: Any, operation: str, kind: str, params: dict[str, Any]) -> tuple[Entity, str]:
    owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
    name = params["PolicyName"]
    document = store_of(ctx, operation).inline(owner.id).get(name)
    if document is None:
        raise e.NoSuchEntityException(f"The {kind} policy with name {name} cannot be found.")
    return owner, document


def _get_inline(kind: str) -> Handler:
    operation = f"Get{KIND_TITLE[kind]}Policy"

    def get(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        owner, document = _inline_document(ctx, operation, kind, params)
        return {KIND_MEMBER[kind]: owner.name, "PolicyName": params["PolicyName"], "PolicyDocument": encoded(document)}

    return get


def _delete_inline(kind: str) -> Handler:
    operation = f"Delete{KIND_TITLE[kind]}Policy"

    def delete(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        owner, _ = _inline_document(ctx, operation, kind, params)
        store_of(ctx, operation).delete_inline(owner.id, params["PolicyName"])
        return {}

    return delete


def _list_inline(kind: str) -> Handler:
    operation = f"List{KIND_TITLE[kind]}Policies"

    def list_names(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        names = list(store_of(ctx, operation).inline(owner.id))
        return page(names, params, lambda n: n, "PolicyNames")

    return list_names


# --- managed policies --------------------------------------------------------------------------------


def _found(ctx: Any, operation: str, policy_arn: str) -> ManagedPolicy:
    found = store_of(ctx, operation).policy(account(ctx), policy_arn)
    if found is None:
        raise e.NoSuchEntityException(f"Policy {policy_arn} was not found.")
    return found


def _changeable(ctx: Any, operation: str, policy_arn: str) -> ManagedPolicy:
    policy = _found(ctx, operation, policy_arn)
    if policy.is_aws:
        raise e.AccessDenied(f"User: {ctx.caller.arn} is not authorized to perform: iam:{operation} on resource: "
                             f"policy {policy_arn}")
    return policy


def create_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreatePolicy")
    name = params["PolicyName"]
    if store.policy_named(account(ctx), name) is not None:
        raise e.EntityAlreadyExistsException(f"A policy called {name} already exists. Duplicate names are not allowed.")
    document = checked(params["PolicyDocument"])
    check_managed_size(document)
    if len(store.policies(account(ctx))) >= MAX_POLICIES:
        raise e.LimitExceededException(f"Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES}")
    tags = tags_of(params)
    check_tag_quota(store, "", tags)
    now = round(ctx.clock(), 3)
    path = params.get("Path", "/")
    policy = ManagedPolicy(arn=make_arn(account(ctx), "policy", path, name), id=new_id("policy"),
                           account_id=account(ctx), name=name, path=path, description=params.get("Description"),
                           created=now, updated=now, default_version="v1")
    store.create_policy(policy, document, tags, limit=(MAX_POLICIES, lambda: e.LimitExceededException(
        f"Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES}")), taken=lambda: e.EntityAlreadyExistsException(
        f"A policy called {name} already exists. Duplicate names are not allowed."))
    out = policy_json(store, account(ctx), policy)
    out["AttachmentCount"] = 0
    out["PermissionsBoundaryUsageCount"] = 0
    if tags:
        out["Tags"] = tags_json(tags)
    return {"Policy": out}


def get_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "GetPolicy")
    return {"Policy": policy_json(store, account(ctx), _found(ctx, "GetPolicy", params["PolicyArn"]), tags=True)}


def list_policies(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListPolicies")
    scope = params.get("Scope", "All")
    policies: list[ManagedPolicy] = []
    if scope in ("All", "AWS"):
        policies += [p for p in (aws_managed.policy(a) for a in aws_managed.arns()) if p is not None]
    if scope in ("All", "Local"):
        policies += store.policies(account(ctx))
    prefix = params.get("PathPrefix", "/")
    policies = [p for p in policies if p.path.startswith(prefix)]
    usage = params.get("PolicyUsageFilter")
    if params.get("OnlyAttached") or usage is not None:
        def used(p: ManagedPolicy) -> bool:
            attached = store.attachment_count(account(ctx), p.arn) > 0
            boundary = store.boundary_users(account(ctx), p.arn) > 0
            if usage == "PermissionsPolicy":
                return attached
            if usage == "PermissionsBoundary":
                return boundary
            return attached or boundary

        policies = [p for p in policies if used(p)]
    policies.sort(key=lambda p: (p.name.lower(), p.arn))
    out = page(policies, params, lambda p: f"{p.name.lower()}\x00{p.arn}", "Policies")
    out["Policies"] = [policy_json(store, account(ctx), p) for p in out["Policies"]]
    return out


def delete_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeletePolicy")
    policy = _changeable(ctx, "DeletePolicy", params["PolicyArn"])
    if store.attachment_count(account(ctx), policy.arn) or store.boundary_users(account(ctx), policy.arn):
        raise e.DeleteConflictException("Cannot delete a policy attached to entities.")
    if len(store.versions(policy)) > 1:
        raise e.DeleteConflictException(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's "
            "versions. The default version is deleted with the policy.")
    store.delete_policy(policy)
    return {}


def version_json(policy: ManagedPolicy, version_id: str, created: float, document: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if document is not None:
        out["Document"] = encoded(document)
    out.update(VersionId=version_id, IsDefaultVersion=version_id == policy.default_version, CreateDate=created)
    return out


def _too_many_versions() -> Exception:
    return e.LimitExceededException("A managed policy can have up to 5 versions. Before you create a new version, "
                                    "you must delete an existing version.")


def _version_taken() -> Exception:
    """Another node added the version this call numbered meanwhile: AWS's retryable failure (the
    operation's model lists no conflict error)."""
    return e.ServiceFailureException("The request processing has failed because of an unknown error, exception or "
                                     "failure.")


def create_policy_version(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreatePolicyVersion")
    policy = _changeable(ctx, "CreatePolicyVersion", params["PolicyArn"])
    document = checked(params["PolicyDocument"])
    check_managed_size(document)
    if len(store.versions(policy)) >= MAX_VERSIONS:
        raise _too_many_versions()
    now = round(ctx.clock(), 3)
    default = bool(params.get("SetAsDefault", False))
    version = store.add_policy_version(policy, document, now, default, limit=(MAX_VERSIONS, _too_many_versions),
                                       changed=_version_taken)
    shown = dataclasses.replace(policy, default_version=version) if default else policy
    return {"PolicyVersion": version_json(shown, version, now, None)}


def _version(ctx: Any, operation: str, policy: ManagedPolicy, version_id: str) -> Any:
    found = store_of(ctx, operation).version(policy, version_id)
    if found is None:
        raise e.NoSuchEntityException(
            f"Policy {policy.arn} version {version_id} does not exist or is not attachable.")
    return found


def get_policy_version(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    policy = _found(ctx, "GetPolicyVersion", params["PolicyArn"])
    version = _version(ctx, "GetPolicyVersion", policy, params["VersionId"])
    return {"PolicyVersion": version_json(policy, version.version_id, version.created, version.document)}


def list_policy_versions(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListPolicyVersions")
    policy = _found(ctx, "ListPolicyVersions", params["PolicyArn"])
    versions = [version_json(policy, v.version_id, v.created, None) for v in store.versions(policy)]
    return page(versions, params, lambda v: f"{10**9 - int(v['VersionId'][1:]):010d}", "Versions")


def delete_policy_version(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeletePolicyVersion")
    policy = _changeable(ctx, "DeletePolicyVersion", params["PolicyArn"])
    version = _version(ctx, "DeletePolicyVersion", policy, params["VersionId"])
    if version.version_id == policy.default_version:
        raise e.DeleteConflictException("Cannot delete the default version of a policy.")
    store.delete_policy_version(policy.arn, version.version_id)
    return {}


def set_default_policy_version(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "SetDefaultPolicyVersion")
    policy = _changeable(ctx, "SetDefaultPolicyVersion", params["PolicyArn"])
    version = _version(ctx, "SetDefaultPolicyVersion", policy, params["VersionId"])
    store.set_default_version(policy.arn, version.version_id, round(ctx.clock(), 3))
    return {}


def _attach(kind: str) -> Handler:
    operation = f"Attach{KIND_TITLE[kind]}Policy"

    def attach(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        policy = managed_policy(ctx, operation, params["PolicyArn"])
        attached = store.attached(owner.id)
        if policy.arn not in attached and len(attached) >= MAX_ATTACHED:
            raise e.LimitExceededException(f"Cannot exceed quota for PoliciesPer{KIND_TITLE[kind]}: {MAX_ATTACHED}")
        store.attach(owner, policy.arn, limit=(MAX_ATTACHED, lambda: e.LimitExceededException(
            f"Cannot exceed quota for PoliciesPer{KIND_TITLE[kind]}: {MAX_ATTACHED}")))
        return {}

    return attach


def _detach(kind: str) -> Handler:
    operation = f"Detach{KIND_TITLE[kind]}Policy"

    def detach(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        policy_arn = params["PolicyArn"]
        if policy_arn not in store.attached(owner.id):
            raise e.NoSuchEntityException(f"Policy {policy_arn} was not found.")
        store.detach(owner.id, policy_arn)
        return {}

    return detach


def attached_json(store: IamStore, account_id: str, arns: list[str]) -> list[dict[str, str]]:
    out = []
    for policy_arn in arns:
        policy = store.policy(account_id, policy_arn)
        out.append({"PolicyName": policy.name if policy else policy_arn.rsplit("/", 1)[-1], "PolicyArn": policy_arn})
    return out


def _list_attached(kind: str) -> Handler:
    operation = f"ListAttached{KIND_TITLE[kind]}Policies"

    def list_attached(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        prefix = params.get("PathPrefix", "/")
        items = [p for p in attached_json(store, account(ctx), store.attached(owner.id))
                 if _policy_path(p["PolicyArn"]).startswith(prefix)]
        return page(items, params, None, "AttachedPolicies")

    return list_attached


def _policy_path(policy_arn: str) -> str:
    rest = policy_arn.split(":", 5)[-1][len("policy"):]
    return rest.rpartition("/")[0] + "/"


def list_entities_for_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListEntitiesForPolicy")
    policy = _found(ctx, "ListEntitiesForPolicy", params["PolicyArn"])
    wanted = params.get("EntityFilter")
    prefix = params.get("PathPrefix", "/")
    usage = params.get("PolicyUsageFilter")
    found: list[Entity] = []
    if usage in (None, "PermissionsPolicy"):
        found += store.attached_to(account(ctx), policy.arn)
    if usage in (None, "PermissionsBoundary"):
        for kind in ("user", "role"):
            found += [x for x in store.entities(account(ctx), kind) if x.boundary_arn == policy.arn]
    seen: set[str] = set()
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], "IsTruncated": False}
    for x in sorted(found, key=lambda x: (x.kind, x.name.lower())):
        if x.id in seen or not x.path.startswith(prefix) or (wanted and wanted != KIND_TITLE[x.kind]):
            continue
        seen.add(x.id)
        title = KIND_TITLE[x.kind]
        out[f"Policy{title}s"].append({f"{title}Name": x.name, f"{title}Id": x.id})
    return out


def _tag_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "TagPolicy")
    policy = _changeable(ctx, "TagPolicy", params["PolicyArn"])
    tags = tags_of(params)
    check_tag_quota(store, policy.id, tags)
    store.tag(policy.id, tags)
    return {}


def _untag_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UntagPolicy")
    policy = _changeable(ctx, "UntagPolicy", params["PolicyArn"])
    store.untag(policy.id, list(params.get("TagKeys") or []))
    return {}


def _list_policy_tags(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListPolicyTags")
    policy = _found(ctx, "ListPolicyTags", params["PolicyArn"])
    return page(tags_json(store.tags(policy.id)), params, None, "Tags")


# --- permissions boundaries --------------------------------------------------------------------------


def _put_boundary(kind: str) -> Handler:
    operation = f"Put{KIND_TITLE[kind]}PermissionsBoundary"

    def put(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        policy = managed_policy(ctx, operation, params["PermissionsBoundary"])
        store.update_entity(dataclasses.replace(owner, boundary_arn=policy.arn))
        return {}

    return put


def _delete_boundary(kind: str) -> Handler:
    operation = f"Delete{KIND_TITLE[kind]}PermissionsBoundary"

    def delete(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[KIND_MEMBER[kind]])
        store.update_entity(dataclasses.replace(owner, boundary_arn=None))
        return {}

    return delete


def _per_kind(make: Callable[[str], Handler], verb: str, noun: str) -> dict[str, Handler]:
    return {f"{verb}{KIND_TITLE[k]}{noun}": make(k) for k in ("user", "group", "role")}


HANDLERS: dict[str, Handler] = {
    **_per_kind(_put_inline, "Put", "Policy"),
    **_per_kind(_get_inline, "Get", "Policy"),
    **_per_kind(_delete_inline, "Delete", "Policy"),
    **_per_kind(_list_inline, "List", "Policies"),
    **_per_kind(_attach, "Attach", "Policy"),
    **_per_kind(_detach, "Detach", "Policy"),
    "ListAttachedUserPolicies": _list_attached("user"),
    "ListAttachedGroupPolicies": _list_attached("group"),
    "ListAttachedRolePolicies": _list_attached("role"),
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "CreatePolicyVersion": create_policy_version,
    "GetPolicyVersion": get_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "TagPolicy": _tag_policy,
    "UntagPolicy": _untag_policy,
    "ListPolicyTags": _list_policy_tags,
    "PutUserPermissionsBoundary": _put_boundary("user"),
    "PutRolePermissionsBoundary": _put_boundary("role"),
    "DeleteUserPermissionsBoundary": _delete_boundary("user"),
    "DeleteRolePermissionsBoundary": _delete_boundary("role"),
}

__all__ = ["HANDLERS", "MAX_ATTACHED", "MAX_POLICIES", "MAX_VERSIONS", "attached_json", "version_json"]
