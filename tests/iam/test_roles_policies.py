"""IAM roles, inline and managed policies, permissions boundaries and GetAccountAuthorizationDetails
through boto3 against a real server, with AWS's errors; the store's IamDirectory view of them."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail.iam.model import NamedDocument

from .conftest import ACCOUNT, IamServer, error_of

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]}
WRITE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"}]}
READ_ONLY_ARN = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"


def test_role_lifecycle(srv: IamServer) -> None:
    iam = srv.client()
    role = iam.create_role(RoleName="ci", Path="/build/", AssumeRolePolicyDocument=json.dumps(TRUST),
                           Description="CI", MaxSessionDuration=7200, Tags=[{"Key": "k", "Value": "v"}])["Role"]
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["RoleId"])
    assert (role["Arn"], role["AssumeRolePolicyDocument"], role["MaxSessionDuration"], role["Description"]) == (
        f"arn:aws:iam::{ACCOUNT}:role/build/ci", TRUST, 7200, "CI")
    got = iam.get_role(RoleName="ci")["Role"]
    assert (got["Tags"], got["RoleLastUsed"], got["RoleId"]) == ([{"Key": "k", "Value": "v"}], {}, role["RoleId"])
    listed = iam.list_roles()["Roles"]
    assert [r["RoleName"] for r in listed] == ["ci"] and "Tags" not in listed[0]
    default = iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    assert default["MaxSessionDuration"] == 3600
    iam.update_role(RoleName="ci", Description="CI builds", MaxSessionDuration=43200)
    new_trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]}
    iam.update_assume_role_policy(RoleName="ci", PolicyDocument=json.dumps(new_trust))
    got = iam.get_role(RoleName="ci")["Role"]
    assert (got["Description"], got["MaxSessionDuration"], got["AssumeRolePolicyDocument"]) == (
        "CI builds", 43200, new_trust)
    assert iam.list_instance_profiles_for_role(RoleName="ci")["InstanceProfiles"] == []
    assert error_of(iam.create_role, RoleName="CI", AssumeRolePolicyDocument=json.dumps(TRUST)) == (
        "EntityAlreadyExists", "Role with name CI already exists.", 409)
    iam.put_role_policy(RoleName="ci", PolicyName="inline", PolicyDocument=json.dumps(READ))
    assert error_of(iam.delete_role, RoleName="ci") == (
        "DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
    iam.delete_role_policy(RoleName="ci", PolicyName="inline")
    iam.delete_role(RoleName="ci")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["other"]


def test_trust_policy_and_duration_checks(srv: IamServer) -> None:
    iam = srv.client(validate=False)
    no_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    assert error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument=json.dumps(no_principal)) == (
        "MalformedPolicyDocument", "Missing required field Principal", 400)
    assert error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument="{not json") == (
        "MalformedPolicyDocument", "Syntax errors in policy.", 400)
    with_resource = {"Version": "2012-10-17", "Statement": [{**TRUST["Statement"][0], "Resource": "*"}]}
    assert error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument=json.dumps(with_resource)) == (
        "MalformedPolicyDocument", "Has prohibited field Resource", 400)
    assert error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST),
                    MaxSessionDuration=3599) == (
        "ValidationError", "1 validation error detected: Value '3599' at 'maxSessionDuration' failed to satisfy "
        "constraint: Member must have value greater than or equal to 3600", 400)
    assert error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST),
                    MaxSessionDuration=43201)[0] == "ValidationError"
    assert iam.list_roles()["Roles"] == []


def test_inline_policies(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.put_user_policy(UserName="u", PolicyName="read", PolicyDocument=json.dumps(READ))
    iam.put_group_policy(GroupName="g", PolicyName="write", PolicyDocument=json.dumps(WRITE))
    got = iam.get_user_policy(UserName="u", PolicyName="read")
    assert (got["UserName"], got["PolicyName"], got["PolicyDocument"]) == ("u", "read", READ)
    assert iam.list_user_policies(UserName="u")["PolicyNames"] == ["read"]
    assert iam.list_group_policies(GroupName="g")["PolicyNames"] == ["write"]
    assert error_of(iam.get_user_policy, UserName="u", PolicyName="nope") == (
        "NoSuchEntity", "The user policy with name nope cannot be found.", 404)
    assert error_of(iam.put_user_policy, UserName="u", PolicyName="bad", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{**READ["Statement"][0], "Principal": "*"}]})) == (
        "MalformedPolicyDocument", "Policy document should not specify a principal.", 400)
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": f"cloudtrail:Get{'X' * 40}{i}", "Resource": "*"} for i in range(40)]}
    assert error_of(iam.put_user_policy, UserName="u", PolicyName="big", PolicyDocument=json.dumps(big)) == (
        "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user u", 409)
    iam.add_user_to_group(GroupName="g", UserName="u")
    iam.attach_group_policy(GroupName="g", PolicyArn=READ_ONLY_ARN)
    policies = srv.iam.user_policies(ACCOUNT, "u")
    assert [d.name for d in policies.identity] == ["read", "write", READ_ONLY_ARN]
    assert json.loads(policies.identity[0].document) == READ and policies.boundary is None
    iam.delete_group_policy(GroupName="g", PolicyName="write")
    assert [d.name for d in srv.iam.user_policies(ACCOUNT, "u").identity] == ["read", READ_ONLY_ARN]


def test_managed_policies_and_versions(srv: IamServer) -> None:
    iam = srv.client()
    policy = iam.create_policy(PolicyName="trail-read", Path="/audit/", PolicyDocument=json.dumps(READ),
                               Description="read events")["Policy"]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/audit/trail-read"
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", policy["PolicyId"])
    assert (policy["Arn"], policy["DefaultVersionId"], policy["AttachmentCount"], policy["IsAttachable"]) == (
        arn, "v1", 0, True)
    assert error_of(iam.create_policy, PolicyName="TRAIL-read", PolicyDocument=json.dumps(READ)) == (
        "EntityAlreadyExists", "A policy called TRAIL-read already exists. Duplicate names are not allowed.", 409)
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(WRITE), SetAsDefault=True)
    assert (v2["PolicyVersion"]["VersionId"], v2["PolicyVersion"]["IsDefaultVersion"]) == ("v2", True)
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(READ))
    assert error_of(iam.create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(READ)) == (
        "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version.", 409)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v5", False), ("v4", False), ("v3", False), ("v2", True), ("v1", False)]
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == WRITE
    assert error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v2") == (
        "DeleteConflict", "Cannot delete the default version of a policy.", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert srv.iam.managed_policy_document(ACCOUNT, arn) == json.dumps(READ)
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert error_of(iam.delete_policy, PolicyArn=arn) == (
        "DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert (entities["PolicyUsers"], entities["PolicyGroups"], entities["PolicyRoles"]) == (
        [{"UserName": "u", "UserId": iam.get_user(UserName="u")["User"]["UserId"]}], [], [])
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["trail-read"]
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]] == ["trail-read"]
    assert iam.list_policies(Scope="Local", PathPrefix="/other/")["Policies"] == []
    iam.detach_user_policy(UserName="u", PolicyArn=arn)
    assert error_of(iam.detach_user_policy, UserName="u", PolicyArn=arn) == (
        "NoSuchEntity", f"Policy {arn} was not found.", 404)
    assert error_of(iam.delete_policy, PolicyArn=arn)[0] == "DeleteConflict"  # versions remain
    for v in ("v2", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": "b"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "a", "Value": "b"}]
    iam.delete_policy(PolicyArn=arn)
    assert error_of(iam.get_policy, PolicyArn=arn) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_aws_managed_policies(srv: IamServer) -> None:
    iam = srv.client()
    got = iam.get_policy(PolicyArn=READ_ONLY_ARN)["Policy"]
    assert (got["PolicyName"], got["DefaultVersionId"], got["Path"]) == ("AWSCloudTrail_ReadOnlyAccess", "v1", "/")
    document = iam.get_policy_version(PolicyArn=READ_ONLY_ARN, VersionId="v1")["PolicyVersion"]["Document"]
    assert document["Statement"][0]["Action"] == [
        "cloudtrail:Get*", "cloudtrail:Describe*", "cloudtrail:List*", "cloudtrail:LookupEvents"]
    names = [p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert names == ["AdministratorAccess", "AmazonEventBridgeFullAccess", "AmazonEventBridgeReadOnlyAccess",
                     "AWSCloudTrail_FullAccess", "AWSCloudTrail_ReadOnlyAccess", "CloudWatchFullAccess",
                     "CloudWatchLogsFullAccess", "CloudWatchLogsReadOnlyAccess", "CloudWatchReadOnlyAccess",
                     "IAMFullAccess", "IAMReadOnlyAccess"]
    denied = f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: iam:DeletePolicy on resource: " \
             f"policy {READ_ONLY_ARN}"
    assert error_of(iam.delete_policy, PolicyArn=READ_ONLY_ARN) == ("AccessDenied", denied, 403)
    assert error_of(iam.create_policy_version, PolicyArn=READ_ONLY_ARN, PolicyDocument=json.dumps(WRITE))[0] == (
        "AccessDenied")
    missing = "arn:aws:iam::aws:policy/NoSuchPolicy"
    iam.create_user(UserName="u")
    assert error_of(iam.attach_user_policy, UserName="u", PolicyArn=missing) == (
        "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)
    other_account = "arn:aws:iam::999988887777:policy/theirs"
    assert error_of(iam.attach_user_policy, UserName="u", PolicyArn=other_account)[0] == "NoSuchEntity"


def test_attach_quota(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    for i in range(10):
        arn = iam.create_policy(PolicyName=f"p{i}", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    assert error_of(iam.attach_role_policy, RoleName="r", PolicyArn=READ_ONLY_ARN) == (
        "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", 409)
    assert len(iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]) == 10
    assert len(srv.iam.role_policies(ACCOUNT, "r").identity) == 10


def test_permissions_boundaries(srv: IamServer) -> None:
    iam = srv.client()
    arn = iam.create_policy(PolicyName="bound", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    user = iam.create_user(UserName="u", PermissionsBoundary=arn)["User"]
    assert user["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                           "PermissionsBoundaryArn": arn}
    assert srv.iam.user_policies(ACCOUNT, "u").boundary == NamedDocument(arn, json.dumps(READ))
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=READ_ONLY_ARN)
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY_ARN
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    assert error_of(iam.delete_policy, PolicyArn=arn)[0] == "DeleteConflict"
    iam.delete_user_permissions_boundary(UserName="u")
    iam.delete_role_permissions_boundary(RoleName="r")
    assert "PermissionsBoundary" not in iam.get_user(UserName="u")["User"]
    assert srv.iam.role_policies(ACCOUNT, "r").boundary is None
    missing = f"arn:aws:iam::{ACCOUNT}:policy/none"
    assert error_of(iam.put_user_permissions_boundary, UserName="u", PermissionsBoundary=missing) == (
        "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)


def test_account_authorization_details(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="u")
    iam.put_user_policy(UserName="u", PolicyName="inline", PolicyDocument=json.dumps(READ))
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY_ARN)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_policy(PolicyName="local", PolicyDocument=json.dumps(WRITE))
    details = iam.get_account_authorization_details()
    user = details["UserDetailList"][0]
    assert (user["UserName"], user["GroupList"], user["UserPolicyList"], user["AttachedManagedPolicies"]) == (
        "u", ["g"], [{"PolicyName": "inline", "PolicyDocument": READ}],
        [{"PolicyName": "AWSCloudTrail_ReadOnlyAccess", "PolicyArn": READ_ONLY_ARN}])
    assert [g["GroupName"] for g in details["GroupDetailList"]] == ["g"]
    assert details["RoleDetailList"][0]["AssumeRolePolicyDocument"] == TRUST
    assert [p["PolicyName"] for p in details["Policies"]] == ["local", "AWSCloudTrail_ReadOnlyAccess"]
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert (len(only_roles["RoleDetailList"]), only_roles["UserDetailList"], only_roles["Policies"]) == (1, [], [])
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert sum(len(p["UserDetailList"]) + len(p["GroupDetailList"]) + len(p["RoleDetailList"]) + len(p["Policies"])
               for p in pages) == 5
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Users"], summary["Groups"], summary["Roles"], summary["Policies"],
            summary["AccessKeysPerUserQuota"]) == (1, 1, 1, 1, 2)


def test_documents_are_url_encoded_on_the_wire(srv: IamServer) -> None:
    """IAM sends policy documents URL-encoded; botocore decodes them (what the answers above show)."""
    iam = srv.client()
    document = json.dumps(TRUST)
    iam.create_role(RoleName="wire", AssumeRolePolicyDocument=document)
    body = "Action=GetRole&Version=2010-05-08&RoleName=wire"
    request = AWSRequest(method="POST", url=srv.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(srv.key.access_key_id, srv.key.secret_access_key), "iam", "us-east-1").add_auth(request)
    answer = httpx.post(srv.url + "/", content=body, headers=dict(request.headers.items()))
    assert answer.status_code == 200
    assert f"<AssumeRolePolicyDocument>{quote(document, safe='')}</AssumeRolePolicyDocument>" in answer.text
    assert answer.text.startswith('<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')


def test_generation_changes_on_every_change(srv: IamServer) -> None:
    iam = srv.client()
    before = srv.iam.generation()
    iam.create_user(UserName="g1")
    after_create = srv.iam.generation()
    assert after_create != before
    iam.get_user(UserName="g1")
    assert srv.iam.generation() == after_create
    iam.tag_user(UserName="g1", Tags=[{"Key": "a", "Value": "b"}])
    assert srv.iam.generation() != after_create
    from opentrail.iam.store import IamStore

    other = IamStore(srv.data_dir / "iam.db")  # another process's connection to the same file
    try:
        seen = srv.iam.generation()
        other.write([("UPDATE entities SET description = 'x' WHERE name = 'g1'", ())])
        assert srv.iam.generation() != seen
    finally:
        other.close()


