"""IAM handlers for users, groups and access keys (login profiles: :mod:`.iam_login_handlers`):
request (the JSON form of the input shape) -> :class:`opentrail.iam.store.IamStore` /
:class:`opentrail.auth.accounts.AccountStore` -> response. Every change is staged (recorded first, then made: :mod:`opentrail.api.calls`).

Behaviour copied from the IAM API reference:

- GetUser without UserName answers the caller: an IAM user its own user; the root user (root keys)
  ``{UserId: <account>, Arn: arn:aws:iam::<account>:root, CreateDate}`` with no UserName or Path
  ("If you do not specify a user name, IAM determines the user name implicitly based on the AWS
  access key ID used to sign the request", GetUser; AWS answers the root user this way).
- CreateAccessKey / ListAccessKeys / UpdateAccessKey / DeleteAccessKey without UserName act on the
  caller's user (root keys: the root user's keys). At most 2 keys per user: LimitExceeded "Cannot
  exceed quota for AccessKeysPerUser: 2". An unknown key id: NoSuchEntity "The Access Key with id
  <id> cannot be found.". The secret is in CreateAccessKey's answer only (a ``sensitive`` member:
  not recorded).
- GetAccessKeyLastUsed of a key never used answers ServiceName and Region ``N/A`` (API reference);
  opentrail does not track key use yet, so every key answers that way. An unknown key id answers
  NoSuchEntity as above (opentrail's choice; AWS's answer is not documented).
- DeleteUser: DeleteConflict while the user has access keys ("Cannot delete entity, must delete access
  keys first."), a login profile ("... must delete login profile first."), inline policies ("...
  must delete policies first."), attached policies ("... must detach all policies first.") or
  groups ("... must remove user from all groups first.": this last wording is assumed, not seen).
  DeleteGroup: members ("Cannot delete entity, must remove users from group first."), inline or
  attached policies (as above).
- Quotas (IAM User Guide, "IAM and AWS STS quotas"): 5000 users, 300 groups per account, 10 groups
  per user: LimitExceeded "Cannot exceed quota for <Quota>: <n>".
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

from ..auth.accounts import KeyRecord, new_access_key
from ..iam.ids import new_id
from ..iam.store import Entity
from . import iam_errors as e
from .iam_wire import (account, check_tag_quota, entity, group_json, page, store_of, tags_json, tags_of,
                       user_json)
from .services import Handler, context_part

MAX_USERS = 5000
MAX_GROUPS = 300
MAX_GROUPS_PER_USER = 10
MAX_KEYS_PER_USER = 2


def _quota(name: str, limit: int) -> e.LimitExceededException:  # type: ignore[name-defined]
    return e.LimitExceededException(f"Cannot exceed quota for {name}: {limit}")


def _new_entity(ctx: Any, kind: str, name: str, path: str, **extra: Any) -> Entity:
    return Entity(id=new_id(kind), account_id=account(ctx), kind=kind, name=name, path=path,
                  created=round(ctx.clock(), 3), **extra)


# --- users -----------------------------------------------------------------------------------------


def create_user(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreateUser")
    name = params["UserName"]
    if store.entity(account(ctx), "user", name) is not None:
        raise e.EntityAlreadyExistsException(f"User with name {name} already exists.")
    if store.count(account(ctx), "user") >= MAX_USERS:
        raise _quota("UsersPerAccount", MAX_USERS)
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        from .iam_wire import managed_policy

        managed_policy(ctx, "CreateUser", boundary)
    tags = tags_of(params)
    check_tag_quota(store, "", tags)
    user = _new_entity(ctx, "user", name, params.get("Path", "/"), boundary_arn=boundary)
    store.create_entity(user, tags, limit=(MAX_USERS, lambda: _quota("UsersPerAccount", MAX_USERS)),
                        taken=lambda: e.EntityAlreadyExistsException(f"User with name {name} already exists."))
    out = user_json(store, user, tags=False)
    if tags:
        out["Tags"] = tags_json(tags)
    return {"User": out}


def _root_user(ctx: Any) -> dict[str, Any]:
    accounts = context_part(ctx, "accounts", "GetUser")
    keys = accounts.user_keys(account(ctx), None)
    created = _key_created(keys[0]) if keys else 0.0
    return {"UserId": account(ctx), "Arn": f"arn:aws:iam::{account(ctx)}:root", "CreateDate": created}


def get_user(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "GetUser")
    name = params.get("UserName") or ctx.caller.user_name
    if name is None:
        return {"User": _root_user(ctx)}
    return {"User": user_json(store, entity(ctx, "GetUser", "user", name))}


def list_users(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListUsers")
    users = store.entities(account(ctx), "user", params.get("PathPrefix", "/"))
    out = page(users, params, lambda u: u.name.lower(), "Users")
    out["Users"] = [user_json(store, u, tags=False) for u in out["Users"]]
    return out


def update_user(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateUser")
    user = entity(ctx, "UpdateUser", "user", params["UserName"])
    new_name = params.get("NewUserName") or user.name
    new_path = params.get("NewPath") or user.path
    if new_name.lower() != user.name.lower() and store.entity(account(ctx), "user", new_name) is not None:
        raise e.EntityAlreadyExistsException(f"User with name {new_name} already exists.")
    accounts = context_part(ctx, "accounts", "UpdateUser")
    changed = dataclasses.replace(user, name=new_name, path=new_path)
    store.update_entity(changed, after=lambda: accounts.rename_user(account(ctx), user.name, new_name, new_path),
                        taken=lambda: e.EntityAlreadyExistsException(f"User with name {new_name} already exists."))
    return {}


def check_no_policies(store: Any, entity_id: str) -> None:
    """DeleteConflict while the user, group or role ``entity_id`` has inline or attached policies."""
    if store.inline(entity_id):
        raise e.DeleteConflictException("Cannot delete entity, must delete policies first.")
    if store.attached(entity_id):
        raise e.DeleteConflictException("Cannot delete entity, must detach all policies first.")


def delete_user(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeleteUser")
    user = entity(ctx, "DeleteUser", "user", params["UserName"])
    accounts = context_part(ctx, "accounts", "DeleteUser")
    if accounts.user_keys(account(ctx), user.name):
        raise e.DeleteConflictException("Cannot delete entity, must delete access keys first.")
    if store.login_profile(user.id) is not None:
        raise e.DeleteConflictException("Cannot delete entity, must delete login profile first.")
    check_no_policies(store, user.id)
    if store.user_groups(user.id):
        raise e.DeleteConflictException("Cannot delete entity, must remove user from all groups first.")
    store.delete_entity(user.id)
    return {}


def _tag(kind: str, operation: str, name_member: str) -> Handler:
    def tag(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[name_member])
        tags = tags_of(params)
        check_tag_quota(store, owner.id, tags)
        store.tag(owner.id, tags)
        return {}

    return tag


def _untag(kind: str, operation: str, name_member: str) -> Handler:
    def untag(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[name_member])
        store.untag(owner.id, list(params.get("TagKeys") or []))
        return {}

    return untag


def _list_tags(kind: str, operation: str, name_member: str) -> Handler:
    def list_tags(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        store = store_of(ctx, operation)
        owner = entity(ctx, operation, kind, params[name_member])
        tags = store.tags(owner.id)
        return page(tags_json(tags), params, None, "Tags")

    return list_tags


# --- access keys ------------------------------------------------------------------------------------


def _key_created(key: KeyRecord) -> float:
    try:
        return datetime.strptime(key.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return 0.0


def _key_owner(ctx: Any, operation: str, params: dict[str, Any]) -> tuple[Entity | None, str | None]:
    """(the user entity or None for the root user, the user name or None) named by UserName or the caller."""
    name = params.get("UserName") or ctx.caller.user_name
    if name is None:
        return None, None
    user = entity(ctx, operation, "user", name)
    return user, user.name


def _key_json(key: KeyRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if key.user_name is not None:
        out["UserName"] = key.user_name
    out.update(AccessKeyId=key.access_key_id, Status=key.status, CreateDate=_key_created(key))
    return out


def create_access_key(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreateAccessKey")
    accounts = context_part(ctx, "accounts", "CreateAccessKey")
    user, name = _key_owner(ctx, "CreateAccessKey", params)
    if len(accounts.user_keys(account(ctx), name)) >= MAX_KEYS_PER_USER:
        raise _quota("AccessKeysPerUser", MAX_KEYS_PER_USER)
    now = ctx.clock()
    key = dataclasses.replace(new_access_key(account(ctx), name),
                              create_date=datetime.fromtimestamp(int(now), timezone.utc))
    store.write([], after=lambda: accounts.add_user_key(
        key, user.id if user else None, user.path if user else "/",
        limit=(MAX_KEYS_PER_USER, lambda: _quota("AccessKeysPerUser", MAX_KEYS_PER_USER))))
    out: dict[str, Any] = {}
    if name is not None:
        out["UserName"] = name
    out.update(AccessKeyId=key.access_key_id, Status="Active", SecretAccessKey=key.secret_access_key,
               CreateDate=float(int(now)))
    return {"AccessKey": out}


def list_access_keys(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store_of(ctx, "ListAccessKeys")
    accounts = context_part(ctx, "accounts", "ListAccessKeys")
    _, name = _key_owner(ctx, "ListAccessKeys", params)
    keys = [_key_json(k) for k in accounts.user_keys(account(ctx), name)]
    return page(keys, params, None, "AccessKeyMetadata")


def _owned_key(ctx: Any, operation: str, params: dict[str, Any]) -> KeyRecord:
    accounts = context_part(ctx, "accounts", operation)
    _, name = _key_owner(ctx, operation, params)
    key_id = params["AccessKeyId"]
    for key in accounts.user_keys(account(ctx), name):
        if key.access_key_id == key_id:
            return key
    raise e.NoSuchEntityException(f"The Access Key with id {key_id} cannot be found.")


def update_access_key(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateAccessKey")
    accounts = context_part(ctx, "accounts", "UpdateAccessKey")
    key = _owned_key(ctx, "UpdateAccessKey", params)
    status = params["Status"]
    store.write([], after=lambda: accounts.set_key_status(key.access_key_id, status))
    return {}


def delete_access_key(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeleteAccessKey")
    accounts = context_part(ctx, "accounts", "DeleteAccessKey")
    key = _owned_key(ctx, "DeleteAccessKey", params)
    store.write([], after=lambda: accounts.delete_key(key.access_key_id))
    return {}


def get_access_key_last_used(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    accounts = context_part(ctx, "accounts", "GetAccessKeyLastUsed")
    key_id = params["AccessKeyId"]
    key = accounts.find_key(key_id)
    if key is None or key.account_id != account(ctx):
        raise e.NoSuchEntityException(f"The Access Key with id {key_id} cannot be found.")
    out: dict[str, Any] = {"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    if key.user_name is not None:
        out["UserName"] = key.user_name
    return out


# --- groups -----------------------------------------------------------------------------------------


def create_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreateGroup")
    name = params["GroupName"]
    if store.entity(account(ctx), "group", name) is not None:
        raise e.EntityAlreadyExistsException(f"Group with name {name} already exists.")
    if store.count(account(ctx), "group") >= MAX_GROUPS:
        raise _quota("GroupsPerAccount", MAX_GROUPS)
    group = _new_entity(ctx, "group", name, params.get("Path", "/"))
    store.create_entity(group, limit=(MAX_GROUPS, lambda: _quota("GroupsPerAccount", MAX_GROUPS)),
                        taken=lambda: e.EntityAlreadyExistsException(f"Group with name {name} already exists."))
    return {"Group": group_json(group)}


def get_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "GetGroup")
    group = entity(ctx, "GetGroup", "group", params["GroupName"])
    users = sorted(store.group_users(group.id), key=lambda u: u.name.lower())
    out = page(users, params, lambda u: u.name.lower(), "Users")
    out["Users"] = [user_json(store, u, tags=False) for u in out["Users"]]
    out["Group"] = group_json(group)
    return out


def list_groups(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListGroups")
    groups = store.entities(account(ctx), "group", params.get("PathPrefix", "/"))
    out = page(groups, params, lambda g: g.name.lower(), "Groups")
    out["Groups"] = [group_json(g) for g in out["Groups"]]
    return out


def update_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateGroup")
    group = entity(ctx, "UpdateGroup", "group", params["GroupName"])
    new_name = params.get("NewGroupName") or group.name
    if new_name.lower() != group.name.lower() and store.entity(account(ctx), "group", new_name) is not None:
        raise e.EntityAlreadyExistsException(f"Group with name {new_name} already exists.")
    store.update_entity(dataclasses.replace(group, name=new_name, path=params.get("NewPath") or group.path),
                        taken=lambda: e.EntityAlreadyExistsException(f"Group with name {new_name} already exists."))
    return {}


def delete_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeleteGroup")
    group = entity(ctx, "DeleteGroup", "group", params["GroupName"])
    if store.group_users(group.id):
        raise e.DeleteConflictException("Cannot delete entity, must remove users from group first.")
    check_no_policies(store, group.id)
    store.delete_entity(group.id)
    return {}


def add_user_to_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "AddUserToGroup")
    group = entity(ctx, "AddUserToGroup", "group", params["GroupName"])
    user = entity(ctx, "AddUserToGroup", "user", params["UserName"])
    groups = store.user_groups(user.id)
    if group.id not in {g.id for g in groups} and len(groups) >= MAX_GROUPS_PER_USER:
        raise _quota("GroupsPerUser", MAX_GROUPS_PER_USER)
    store.add_member(group.id, user.id, limit=(MAX_GROUPS_PER_USER, lambda: _quota("GroupsPerUser", MAX_GROUPS_PER_USER)))
    return {}


def remove_user_from_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "RemoveUserFromGroup")
    group = entity(ctx, "RemoveUserFromGroup", "group", params["GroupName"])
    user = entity(ctx, "RemoveUserFromGroup", "user", params["UserName"])
    if user.id not in {u.id for u in store.group_users(group.id)}:
        raise e.NoSuchEntityException(f"User {user.name} is not in group {group.name}.")
    store.remove_member(group.id, user.id)
    return {}


def list_groups_for_user(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "ListGroupsForUser")
    user = entity(ctx, "ListGroupsForUser", "user", params["UserName"])
    out = page(store.user_groups(user.id), params, lambda g: g.name.lower(), "Groups")
    out["Groups"] = [group_json(g) for g in out["Groups"]]
    return out


HANDLERS: dict[str, Handler] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "UpdateUser": update_user,
    "DeleteUser": delete_user,
    "TagUser": _tag("user", "TagUser", "UserName"),
    "UntagUser": _untag("user", "UntagUser", "UserName"),
    "ListUserTags": _list_tags("user", "ListUserTags", "UserName"),
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "UpdateAccessKey": update_access_key,
    "DeleteAccessKey": delete_access_key,
    "GetAccessKeyLastUsed": get_access_key_last_used,
    "CreateGroup": create_group,
    "GetGroup": get_group,
    "ListGroups": list_groups,
    "UpdateGroup": update_group,
    "DeleteGroup": delete_group,
    "AddUserToGroup": add_user_to_group,
    "RemoveUserFromGroup": remove_user_from_group,
    "ListGroupsForUser": list_groups_for_user,
}

__all__ = ["HANDLERS", "MAX_GROUPS", "MAX_GROUPS_PER_USER", "MAX_KEYS_PER_USER", "MAX_USERS"]
