"""IAM answers in the JSON form of the model's shapes (the Query encoder writes them as XML), paging,
tags and the lookups every IAM handler shares.

- Policy documents in answers (AssumeRolePolicyDocument, PolicyDocument, Document) are URL-encoded
  (``urllib.parse.quote``), as IAM sends them ("The policy document returned in this structure is URL-encoded
  compliant with RFC 3986", IAM API reference, PolicyVersion / GetUserPolicy); botocore, the AWS CLI
  and the Go SDK's users decode them.
- Paging (``Marker``/``MaxItems``, IAM API reference "Using paging"): at most ``MaxItems`` (1..1000,
  default 100) items; ``IsTruncated`` and, when true, an opaque ``Marker`` (the last key returned,
  base64) that resumes after it. A marker that is not one of these answers ValidationError
  "Invalid Marker." (opentrail's wording: AWS's is not documented).
- Not found: NoSuchEntity "The user with name <name> cannot be found." (the form AWS answers for
  users, groups and roles, quoted in many tool issues, e.g. aws-controllers-k8s/community#2229
  neighbours).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Sequence, TypeVar
from urllib.parse import quote

from ..iam.store import Entity, IamStore, ManagedPolicy
from . import iam_errors as e
from .services import context_part

T = TypeVar("T")

#: Default and largest MaxItems (model: 1..1000; IAM API reference: default 100).
DEFAULT_MAX_ITEMS = 100


def store_of(ctx: Any, operation: str) -> IamStore:
    """The IAM store of the server (UnknownOperationException when it runs without one)."""
    store: IamStore = context_part(ctx, "iam", operation)
    return store


def account(ctx: Any) -> str:
    return str(ctx.caller.account_id)


def encoded(document: str) -> str:
    """A policy document as IAM answers it: URL-encoded (RFC 3986, ``urllib.parse.quote``)."""
    return quote(document, safe="")


def tags_json(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def tags_of(params: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's ``Tags`` as (key, value) pairs; InvalidInput for a key given twice
    ("Duplicate tag keys found. Please note that Tag keys are case insensitive.", opentrail's
    wording after AWS's other services)."""
    pairs = [(t["Key"], t.get("Value", "")) for t in params.get("Tags") or []]
    keys = [k.lower() for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise e.InvalidInputException("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    return pairs


#: Tags per user, role or policy (IAM User Guide, "IAM and AWS STS quotas": 50).
MAX_TAGS = 50


def check_tag_quota(store: IamStore, owner_id: str, adding: list[tuple[str, str]]) -> None:
    """LimitExceeded when ``adding`` would give ``owner_id`` more than 50 tags."""
    keys = {k.lower() for k, _ in store.tags(owner_id)} | {k.lower() for k, _ in adding}
    if len(keys) > MAX_TAGS:
        raise e.LimitExceededException("The number of tags has reached the maximum limit.")


def page(items: Sequence[T], params: dict[str, Any], key: Callable[[T], str] | None, field: str) -> dict[str, Any]:
    """``{field: items of this page, IsTruncated, Marker?}`` (see the module docstring). ``items``
    are sorted by ``key``; with no key (lists kept in the order things were added: tags, attached
    policies, keys) the marker is the position of the last item returned."""
    if key is None:
        keyed = [(f"{i:08d}", item) for i, item in enumerate(items)]
        out = page(keyed, params, lambda pair: pair[0], field)
        out[field] = [item for _, item in out[field]]
        return out
    limit = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
            if not after:
                raise ValueError(marker)
        except (binascii.Error, UnicodeError, ValueError):
            raise e.ValidationError("Invalid Marker.") from None
        while start < len(items) and key(items[start]) <= after:
            start += 1
    chosen = list(items[start:start + limit])
    out: dict[str, Any] = {field: chosen, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(key(chosen[-1]).encode("utf-8")).decode("ascii")
    return out


KIND_WORDS = {"user": "user", "group": "group", "role": "role"}


def entity(ctx: Any, operation: str, kind: str, name: str) -> Entity:
    """The user, group or role ``name`` of the caller's account; NoSuchEntity when there is none."""
    found = store_of(ctx, operation).entity(account(ctx), kind, name)
    if found is None:
        raise e.NoSuchEntityException(f"The {KIND_WORDS[kind]} with name {name} cannot be found.")
    return found


def boundary_json(boundary_arn: str | None) -> dict[str, Any] | None:
    if boundary_arn is None:
        return None
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary_arn}


def user_json(store: IamStore, user: Entity, *, tags: bool = True) -> dict[str, Any]:
    """The ``User`` shape (with Tags and PermissionsBoundary when set)."""
    out: dict[str, Any] = {"Path": user.path, "UserName": user.name, "UserId": user.id, "Arn": user.arn,
                           "CreateDate": user.created}
    boundary = boundary_json(user.boundary_arn)
    if boundary is not None:
        out["PermissionsBoundary"] = boundary
    found = store.tags(user.id) if tags else []
    if found:
        out["Tags"] = tags_json(found)
    return out


def group_json(group: Entity) -> dict[str, Any]:
    return {"Path": group.path, "GroupName": group.name, "GroupId": group.id, "Arn": group.arn,
            "CreateDate": group.created}


def role_json(store: IamStore, role: Entity, *, full: bool = True) -> dict[str, Any]:
    """The ``Role`` shape: GetRole/CreateRole answer tags and RoleLastUsed (``full``); ListRoles
    leaves tags, boundary and RoleLastUsed out, as AWS does (IAM API reference, ListRoles: "This
    operation does not return ... PermissionsBoundary, RoleLastUsed, Tags")."""
    out: dict[str, Any] = {"Path": role.path, "RoleName": role.name, "RoleId": role.id, "Arn": role.arn,
                           "CreateDate": role.created, "AssumeRolePolicyDocument": encoded(role.trust_policy or ""),
                           "MaxSessionDuration": role.max_session or 3600}
    if role.description is not None:
        out["Description"] = role.description
    if full:
        boundary = boundary_json(role.boundary_arn)
        if boundary is not None:
            out["PermissionsBoundary"] = boundary
        found = store.tags(role.id)
        if found:
            out["Tags"] = tags_json(found)
        out["RoleLastUsed"] = {}
    return out


def policy_json(store: IamStore, account_id: str, policy: ManagedPolicy, *, tags: bool = False) -> dict[str, Any]:
    """The ``Policy`` shape, with AttachmentCount and PermissionsBoundaryUsageCount counted in
    ``account_id``."""
    out: dict[str, Any] = {
        "PolicyName": policy.name, "PolicyId": policy.id, "Arn": policy.arn, "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": store.attachment_count(account_id, policy.arn),
        "PermissionsBoundaryUsageCount": store.boundary_users(account_id, policy.arn),
        "IsAttachable": True, "CreateDate": policy.created, "UpdateDate": policy.updated}
    if policy.description:
        out["Description"] = policy.description
    if tags:
        found = store.tags(policy.id)
        if found:
            out["Tags"] = tags_json(found)
    return out


def managed_policy(ctx: Any, operation: str, policy_arn: str) -> ManagedPolicy:
    """The managed policy ``policy_arn`` the caller can see; NoSuchEntity "Policy <arn> does not
    exist or is not attachable." otherwise (AWS's answer to AttachUserPolicy with an unknown ARN)."""
    found = store_of(ctx, operation).policy(account(ctx), policy_arn)
    if found is None:
        raise e.NoSuchEntityException(f"Policy {policy_arn} does not exist or is not attachable.")
    return found
