"""The IAM operation table against the botocore model: every operation listed with its IAM action and
resource type, the implemented ones, the Query protocol and the global Region."""

from __future__ import annotations

from opentrail.api.iam_operations import IAM, OPERATION_RESOURCES
from opentrail.api.model import service_model
from opentrail.api.services import is_implemented, served_services

IMPLEMENTED = {
    "AddUserToGroup", "AttachGroupPolicy", "AttachRolePolicy", "AttachUserPolicy", "CreateAccessKey", "CreateGroup",
    "CreateLoginProfile", "CreatePolicy", "CreatePolicyVersion", "CreateRole", "CreateUser", "DeleteAccessKey",
    "DeleteGroup", "DeleteGroupPolicy", "DeleteLoginProfile", "DeletePolicy", "DeletePolicyVersion", "DeleteRole",
    "DeleteRolePermissionsBoundary", "DeleteRolePolicy", "DeleteUser", "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy", "DetachGroupPolicy", "DetachRolePolicy", "DetachUserPolicy", "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails", "GetAccountSummary", "GetGroup", "GetGroupPolicy", "GetLoginProfile",
    "GetPolicy", "GetPolicyVersion", "GetRole", "GetRolePolicy", "GetUser", "GetUserPolicy", "ListAccessKeys",
    "ListAttachedGroupPolicies", "ListAttachedRolePolicies", "ListAttachedUserPolicies", "ListEntitiesForPolicy",
    "ListGroupPolicies", "ListGroups", "ListGroupsForUser", "ListInstanceProfilesForRole", "ListPolicies",
    "ListPolicyTags", "ListPolicyVersions", "ListRolePolicies", "ListRoleTags", "ListRoles", "ListUserPolicies",
    "ListUserTags", "ListUsers", "PutGroupPolicy", "PutRolePermissionsBoundary", "PutRolePolicy",
    "PutUserPermissionsBoundary", "PutUserPolicy", "RemoveUserFromGroup", "SetDefaultPolicyVersion", "TagPolicy",
    "TagRole", "TagUser", "UntagPolicy", "UntagRole", "UntagUser", "UpdateAccessKey", "UpdateAssumeRolePolicy",
    "UpdateGroup", "UpdateLoginProfile", "UpdateRole", "UpdateRoleDescription", "UpdateUser",
}


def test_table_covers_the_model() -> None:
    model = service_model("iam")
    assert sorted(OPERATION_RESOURCES) == sorted(model.operation_names) == sorted(IAM.operations)
    assert len(OPERATION_RESOURCES) == 181
    assert {op for op, h in IAM.operations.items() if is_implemented(h)} == IMPLEMENTED
    assert set(OPERATION_RESOURCES.values()) == {"*", "user", "group", "role", "policy", "instance-profile", "mfa",
                                                 "oidc-provider", "saml-provider", "server-certificate"}
    assert (OPERATION_RESOURCES["CreateUser"], OPERATION_RESOURCES["AddUserToGroup"],
            OPERATION_RESOURCES["CreatePolicyVersion"], OPERATION_RESOURCES["ListUsers"]) == (
        "user", "group", "policy", "*")
    assert IAM.iam_action("CreateUser") == "iam:CreateUser"
    assert (IAM.name, IAM.model, IAM.event_source, IAM.global_region) == (
        "iam", "iam", "iam.amazonaws.com", "us-east-1")
    assert served_services()["iam"] is IAM
    assert IAM.is_read_only("ListUsers") and not IAM.is_read_only("CreateUser")
