"""The IAM page's rows, from the IAM API's answers (no I/O): users, roles and managed policies out
of GetAccountAuthorizationDetails, AWS managed policies out of ListPolicies + GetPolicyVersion.
Policy documents arrive URL-encoded, as IAM sends them; they are shown decoded and indented."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote


def formatted(document: str | None) -> str:
    """A policy document as indented JSON; URL-encoded text (IAM's answers) is decoded first, and
    text that is not JSON is shown as it is."""
    if not document:
        return ""
    for text in (document, unquote(document)):
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            continue
    return unquote(document)


def when(value: Any) -> str:
    """A CreateDate (epoch seconds or datetime) as ``2026-12-03 10:00 UTC``."""
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value or "")


def user_row(detail: dict[str, Any], keys: list[dict[str, Any]], login_profile: bool | None) -> dict[str, Any]:
    """One user: name, ARN, id, created, groups, attached (name, arn), inline (name, document),
    access keys (id, status, created), login profile (True/False, None when it could not be read)."""
    return {
        "name": detail["UserName"], "arn": detail["Arn"], "id": detail["UserId"], "path": detail["Path"],
        "created": when(detail.get("CreateDate")), "groups": list(detail.get("GroupList", [])),
        "attached": [(p["PolicyName"], p["PolicyArn"]) for p in detail.get("AttachedManagedPolicies", [])],
        "inline": [(p["PolicyName"], formatted(p["PolicyDocument"])) for p in detail.get("UserPolicyList", [])],
        "boundary": (detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "access_keys": [{"id": k["AccessKeyId"], "status": k["Status"], "created": when(k.get("CreateDate"))} for k in keys],
        "login_profile": login_profile,
    }


def role_row(detail: dict[str, Any]) -> dict[str, Any]:
    """One role: name, ARN, id, created, trust policy, attached and inline policies."""
    return {
        "name": detail["RoleName"], "arn": detail["Arn"], "id": detail["RoleId"],
        "created": when(detail.get("CreateDate")), "trust": formatted(detail.get("AssumeRolePolicyDocument")),
        "attached": [(p["PolicyName"], p["PolicyArn"]) for p in detail.get("AttachedManagedPolicies", [])],
        "inline": [(p["PolicyName"], formatted(p["PolicyDocument"])) for p in detail.get("RolePolicyList", [])],
    }


def group_row(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": detail["GroupName"], "arn": detail["Arn"],
        "attached": [(p["PolicyName"], p["PolicyArn"]) for p in detail.get("AttachedManagedPolicies", [])],
        "inline": [(p["PolicyName"], formatted(p["PolicyDocument"])) for p in detail.get("GroupPolicyList", [])],
    }


def policy_row(policy: dict[str, Any], document: str | None) -> dict[str, Any]:
    """One managed policy: name, ARN, default version, attachments, description, document."""
    return {
        "name": policy["PolicyName"], "arn": policy["Arn"], "version": policy.get("DefaultVersionId", ""),
        "attachments": policy.get("AttachmentCount", 0), "description": policy.get("Description", ""),
        "document": formatted(document),
    }


def default_document(detail: dict[str, Any]) -> str | None:
    """The default version's document of a GetAccountAuthorizationDetails policy entry."""
    for version in detail.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return str(version.get("Document", ""))
    return None
