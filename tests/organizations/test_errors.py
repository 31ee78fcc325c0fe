"""AWS Organizations errors through boto3: code, message (and Reason where the model has one) for
callers in no organization, members calling management-only operations, and refused requests."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from .conftest import Management, OrgServer

SCP = "SERVICE_CONTROL_POLICY"
NOT_IN_USE = ("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
DENIED = ("AccessDeniedException", "You don't have permissions to access this resource.")


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_an_account_in_no_organization(mgmt: Management) -> None:
    assert error(mgmt.org.describe_organization) == NOT_IN_USE
    assert error(mgmt.org.list_accounts) == NOT_IN_USE
    assert error(mgmt.org.create_account, Email="a@example.com", AccountName="a") == NOT_IN_USE
    assert error(mgmt.org.delete_organization) == NOT_IN_USE


def test_management_only_operations_refuse_members(org_server: OrgServer, mgmt: Management) -> None:
    mgmt.org.create_organization()
    root = mgmt.org.list_roots()["Roots"][0]["Id"]
    dev = mgmt.org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
    member = org_server.client(org_server.new_key(dev))
    assert member.describe_organization()["Organization"]["MasterAccountId"] == mgmt.account_id
    assert error(member.create_organization) == ("AlreadyInOrganizationException",
                                                 "The provided account is already a member of an organization.")
    assert error(member.list_accounts) == DENIED
    assert error(member.create_account, Email="x@example.com", AccountName="x") == DENIED
    assert error(member.create_organizational_unit, ParentId=root, Name="x") == DENIED
    assert error(member.enable_aws_service_access, ServicePrincipal="cloudtrail.amazonaws.com") == DENIED
    assert error(member.delete_organization) == DENIED
    assert error(mgmt.org.delete_organization) == (
        "OrganizationNotEmptyException",
        "To delete an organization you must first remove all member accounts (except the master).")
    assert error(mgmt.org.create_organization) == ("AlreadyInOrganizationException",
                                                   "The provided account is already a member of an organization.")


def test_refused_requests(org_server: OrgServer, mgmt: Management) -> None:
    mgmt.org.create_organization()
    root = mgmt.org.list_roots()["Roots"][0]["Id"]
    dev = mgmt.org.create_account(Email="r@example.com", AccountName="r")["CreateAccountStatus"]["AccountId"]
    org = mgmt.org
    assert error(org.describe_account, AccountId="999999999999") == (
        "AccountNotFoundException", "You specified an account that doesn't exist.")
    assert error(org.describe_create_account_status, CreateAccountRequestId="car-0123456789") == (
        "CreateAccountStatusNotFoundException",
        "We can't find an create account request with the CreateAccountRequestId that you specified.")
    assert error(org.create_organizational_unit, ParentId="r-zzzz", Name="x") == (
        "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
    ou = org.create_organizational_unit(ParentId=root, Name="dup")["OrganizationalUnit"]["Id"]
    assert error(org.create_organizational_unit, ParentId=root, Name="dup") == (
        "DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
    org.move_account(AccountId=dev, SourceParentId=root, DestinationParentId=ou)
    assert error(org.delete_organizational_unit, OrganizationalUnitId=ou)[0] == "OrganizationalUnitNotEmptyException"
    assert error(org.describe_organizational_unit, OrganizationalUnitId=f"ou-{root[2:]}-zzzzzzzz") == (
        "OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified.")
    assert error(org.move_account, AccountId=dev, SourceParentId=ou, DestinationParentId=ou) == (
        "DuplicateAccountException", "That account is already present in the specified destination.")
    assert error(org.list_parents, ChildId="999999999999")[0] == "ChildNotFoundException"
    assert error(org.remove_account_from_organization, AccountId=mgmt.account_id)[0] == (
        "MasterCannotLeaveOrganizationException")
    assert error(org.enable_aws_service_access, ServicePrincipal="nonsense") == (
        "InvalidInputException", "You specified an unrecognized service principal.")
    assert error(org.register_delegated_administrator, AccountId=mgmt.account_id,
                 ServicePrincipal="cloudtrail.amazonaws.com") == (
        "ConstraintViolationException",
        "You cannot register master account/yourself as delegated administrator for your organization.")
    org.register_delegated_administrator(AccountId=dev, ServicePrincipal="cloudtrail.amazonaws.com")
    assert error(org.register_delegated_administrator, AccountId=dev, ServicePrincipal="cloudtrail.amazonaws.com") == (
        "AccountAlreadyRegisteredException",
        "The provided account is already a delegated administrator for your organization.")
    assert error(org.deregister_delegated_administrator, AccountId=dev, ServicePrincipal="config.amazonaws.com") == (
        "AccountNotRegisteredException",
        "The provided account is not a registered delegated administrator for your organization.")
    assert error(org.remove_account_from_organization, AccountId=dev)[0] == "ConstraintViolationException"
    assert error(org.tag_resource, ResourceId="999999999999", Tags=[{"Key": "a", "Value": "b"}]) == (
        "TargetNotFoundException", "You specified a target that doesn't exist.")
    assert error(org.list_accounts, NextToken="forged")[0] == "InvalidInputException"


def test_policy_errors(org_server: OrgServer, mgmt: Management) -> None:
    mgmt.org.create_organization()
    root = mgmt.org.list_roots()["Roots"][0]["Id"]
    org = mgmt.org
    good = '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}'
    malformed = ("MalformedPolicyDocumentException",
                 "The provided policy document does not meet the requirements of the specified policy type.")
    for content in ("not json", "[]", '{"Version": "2012-10-17"}', '{"Statement": []}',
                    '{"Version": "2012-10-17", "Statement": []}', '{"Version": "2012-10-17", "Statement": ["x"]}'):
        assert error(org.create_policy, Name="p", Description="", Type=SCP, Content=content) == malformed
    assert error(org.create_policy, Name="p", Description="", Type="TAG_POLICY", Content=good) == (
        "InvalidInputException", "You specified an invalid policy type string.")
    pid = org.create_policy(Name="p", Description="", Type=SCP, Content=good)["Policy"]["PolicySummary"]["Id"]
    assert error(org.create_policy, Name="p", Description="", Type=SCP, Content=good) == (
        "DuplicatePolicyException", "A policy with the same name already exists.")
    assert error(org.attach_policy, PolicyId=pid, TargetId=root) == (
        "PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types.")
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    assert error(org.enable_policy_type, RootId=root, PolicyType=SCP) == (
        "PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.")
    assert error(org.enable_policy_type, RootId="r-zzzz", PolicyType=SCP) == (
        "RootNotFoundException", "You specified a root that doesn't exist.")
    assert error(org.describe_policy, PolicyId="p-zzzzzzzz") == (
        "PolicyNotFoundException", "You specified a policy that doesn't exist.")
    assert error(org.attach_policy, PolicyId=pid, TargetId="999999999999") == (
        "TargetNotFoundException", "You specified a target that doesn't exist.")
    org.attach_policy(PolicyId=pid, TargetId=root)
    assert error(org.attach_policy, PolicyId=pid, TargetId=root) == (
        "DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.")
    assert error(org.delete_policy, PolicyId=pid) == (
        "PolicyInUseException", "The policy is attached to one or more entities. You must detach it from all roots, "
        "OUs, and accounts before performing this operation.")
    org.detach_policy(PolicyId=pid, TargetId=root)
    assert error(org.detach_policy, PolicyId=pid, TargetId=root) == (
        "PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.")
    with pytest.raises(ClientError) as info:
        org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=root)
    assert info.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert info.value.response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    assert error(org.update_policy, PolicyId="p-FullAWSAccess", Name="x") == (
        "InvalidInputException", "You specified a policy that is managed by Amazon Web Services and can't be modified.")
    assert error(org.create_policy, Name="q", Description="", Type=SCP, Content="{}")[0] == malformed[0]


def test_unimplemented_operations_answer_unknown_operation(mgmt: Management) -> None:
    assert error(mgmt.org.invite_account_to_organization, Target={"Id": "123456789012", "Type": "ACCOUNT"})[0] == (
        "UnknownOperationException")
