"""IAM handlers for roles (IAM API reference, CreateRole ... DeleteRole):

- CreateRole: AssumeRolePolicyDocument must be a trust policy (:func:`.iam_documents.checked` with
  kind ``trust``: MalformedPolicyDocument, e.g. "Missing required field Principal"), at most 2,048
  characters; MaxSessionDuration 3600..43200 seconds (model constraint: ValidationError), default
  3600; PermissionsBoundary must be a managed policy that exists (NoSuchEntity "Policy <arn> does not
  exist or is not attachable."); "Role with name <name> already exists." (EntityAlreadyExists);
  1000 roles per account ("Cannot exceed quota for RolesPerAccount: 1000").
- GetRole answers the trust policy URL-encoded, the tags, RoleLastUsed (empty: not tracked yet);
  ListRoles leaves out tags, boundary and RoleLastUsed as AWS does.
- UpdateRole (Description, MaxSessionDuration), UpdateRoleDescription (answers the role),
  UpdateAssumeRolePolicy.
- DeleteRole: DeleteConflict while inline ("Cannot delete entity, must delete policies first.") or
  attached ("Cannot delete entity, must detach all policies first.") policies remain.
- ListInstanceProfilesForRole: opentrail has no instance profiles, so the list is empty (after the
  role is found); Terraform's aws_iam_role reads it before deleting a role.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..iam.ids import new_id
from ..iam.store import Entity
from . import iam_errors as e
from .iam_documents import check_trust_size, checked
from .iam_handlers import _list_tags, _tag, _untag, check_no_policies
from .iam_wire import account, check_tag_quota, entity, managed_policy, page, role_json, store_of, tags_json, tags_of
from .services import Handler

MAX_ROLES = 1000
DEFAULT_MAX_SESSION_S = 3600


def create_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreateRole")
    name = params["RoleName"]
    if store.entity(account(ctx), "role", name) is not None:
        raise e.EntityAlreadyExistsException(f"Role with name {name} already exists.")
    trust = checked(params["AssumeRolePolicyDocument"], "trust")
    check_trust_size(trust)
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        managed_policy(ctx, "CreateRole", boundary)
    if store.count(account(ctx), "role") >= MAX_ROLES:
        raise e.LimitExceededException(f"Cannot exceed quota for RolesPerAccount: {MAX_ROLES}")
    tags = tags_of(params)
    check_tag_quota(store, "", tags)
    role = Entity(id=new_id("role"), account_id=account(ctx), kind="role", name=name, path=params.get("Path", "/"),
                  created=round(ctx.clock(), 3), description=params.get("Description"), trust_policy=trust,
                  max_session=int(params.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_S), boundary_arn=boundary)
    store.create_entity(role, tags, limit=(MAX_ROLES, lambda: e.LimitExceededException(
        f"Cannot exceed quota for RolesPerAccount: {MAX_ROLES}")),
        taken=lambda: e.EntityAlreadyExistsException(f"Role with name {name} already exists."))
    out = role_json(store, role, full=False)
    if boundary is not None:
        out["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                      "PermissionsBoundaryArn": boundary}
    if tags:
        out["Tags"] = tags_json(tags)
    return {"Role": out}


def get_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "GetRole")
    return {"Role": role_json(store, entity(ctx, "GetRole", "role", params["RoleName"]))}


def list_roles(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListRoles")
    roles = store.entities(account(ctx), "role", params.get("PathPrefix", "/"))
    out = page(roles, params, lambda r: r.name.lower(), "Roles")
    out["Roles"] = [role_json(store, r, full=False) for r in out["Roles"]]
    return out


def update_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateRole")
    role = entity(ctx, "UpdateRole", "role", params["RoleName"])
    changed = role
    if "Description" in params:
        changed = dataclasses.replace(changed, description=params["Description"])
    if params.get("MaxSessionDuration") is not None:
        changed = dataclasses.replace(changed, max_session=int(params["MaxSessionDuration"]))
    store.update_entity(changed)
    return {}


def update_role_description(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateRoleDescription")
    role = entity(ctx, "UpdateRoleDescription", "role", params["RoleName"])
    changed = dataclasses.replace(role, description=params["Description"])
    store.update_entity(changed)
    return {"Role": role_json(store, changed)}


def update_assume_role_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateAssumeRolePolicy")
    role = entity(ctx, "UpdateAssumeRolePolicy", "role", params["RoleName"])
    trust = checked(params["PolicyDocument"], "trust")
    check_trust_size(trust)
    store.update_entity(dataclasses.replace(role, trust_policy=trust))
    return {}


def delete_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeleteRole")
    role = entity(ctx, "DeleteRole", "role", params["RoleName"])
    check_no_policies(store, role.id)
    store.delete_entity(role.id)
    return {}


def list_instance_profiles_for_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    entity(ctx, "ListInstanceProfilesForRole", "role", params["RoleName"])
    return {"InstanceProfiles": [], "IsTruncated": False}


HANDLERS: dict[str, Handler] = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "UpdateRole": update_role,
    "UpdateRoleDescription": update_role_description,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "DeleteRole": delete_role,
    "TagRole": _tag("role", "TagRole", "RoleName"),
    "UntagRole": _untag("role", "UntagRole", "RoleName"),
    "ListRoleTags": _list_tags("role", "ListRoleTags", "RoleName"),
    "ListInstanceProfilesForRole": list_instance_profiles_for_role,
}
