"""AWS Organizations through boto3 against a real opentrail server: the organization, accounts,
OUs, service control policies, trusted access, delegated administrators, tags, pages, the
CloudTrail records of the calls and the read interface; exact values throughout."""

from __future__ import annotations

import json
import re
from typing import Any

from opentrail.organizations.model import FULL_AWS_ACCESS_CONTENT
from opentrail.organizations.service import OrganizationsService

from .conftest import Management, OrgServer

SCP = "SERVICE_CONTROL_POLICY"
DENY_STOP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"}]})
FULL_AWS_ACCESS = {"Id": "p-FullAWSAccess",
                   "Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
                   "Name": "FullAWSAccess", "Description": "Allows access to every operation", "Type": SCP,
                   "AwsManaged": True}


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def create_org(m: Management) -> tuple[str, str]:
    """(organization id, root id) of a new organization managed by ``m``."""
    org = m.org.create_organization()["Organization"]
    return org["Id"], m.org.list_roots()["Roots"][0]["Id"]


def new_account(m: Management, name: str) -> str:
    return str(m.org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"])


def test_create_organization_answers_aws_shapes_and_ids(org_server: OrgServer, mgmt: Management) -> None:
    me = mgmt.account_id
    org = mgmt.org.create_organization()["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", org["Id"])
    o = org["Id"]
    assert org == {"Id": o, "Arn": f"arn:aws:organizations::{me}:organization/{o}", "FeatureSet": "ALL",
                   "MasterAccountArn": f"arn:aws:organizations::{me}:account/{o}/{me}", "MasterAccountId": me,
                   "MasterAccountEmail": f"{me}@opentrail.invalid",
                   "AvailablePolicyTypes": [{"Type": SCP, "Status": "ENABLED"}]}
    assert mgmt.org.describe_organization()["Organization"] == org
    [root] = mgmt.org.list_roots()["Roots"]
    assert re.fullmatch(r"r-[0-9a-z]{4}", root["Id"])
    assert root == {"Id": root["Id"], "Arn": f"arn:aws:organizations::{me}:root/{o}/{root['Id']}", "Name": "Root",
                    "PolicyTypes": []}
    [account] = mgmt.org.list_accounts()["Accounts"]
    assert {k: v for k, v in account.items() if k != "JoinedTimestamp"} == {
        "Id": me, "Arn": f"arn:aws:organizations::{me}:account/{o}/{me}", "Email": f"{me}@opentrail.invalid",
        "Name": me, "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": "INVITED"}
    assert org_server.organizations.organization_id_of(me) == o


def test_create_account_makes_an_opentrail_account_that_is_a_member(org_server: OrgServer, mgmt: Management) -> None:
    o, root = create_org(mgmt)
    status = mgmt.org.create_account(Email="dev@example.com", AccountName="dev",
                                     Tags=[{"Key": "team", "Value": "a"}])["CreateAccountStatus"]
    dev = status["AccountId"]
    assert re.fullmatch(r"car-[a-z0-9]{32}", status["Id"]) and re.fullmatch(r"[1-9]\d{11}", dev)
    assert status["RequestedTimestamp"] == status["CompletedTimestamp"]
    assert {k: v for k, v in status.items() if not k.endswith("Timestamp")} == {
        "Id": status["Id"], "AccountName": "dev", "State": "SUCCEEDED", "AccountId": dev}
    assert mgmt.org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"] == status
    assert mgmt.org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"] == [status]
    assert mgmt.org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"] == []
    described = mgmt.org.describe_account(AccountId=dev)["Account"]
    assert {k: v for k, v in described.items() if k != "JoinedTimestamp"} == {
        "Id": dev, "Arn": f"arn:aws:organizations::{mgmt.account_id}:account/{o}/{dev}", "Email": "dev@example.com",
        "Name": "dev", "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": "CREATED"}
    assert described["JoinedTimestamp"] == status["RequestedTimestamp"]
    assert [a["Id"] for a in mgmt.org.list_accounts()["Accounts"]] == [mgmt.account_id, dev]
    assert mgmt.org.list_tags_for_resource(ResourceId=dev)["Tags"] == [{"Key": "team", "Value": "a"}]
    # the account is a real opentrail account: a key made for it signs, and it sees its organization
    member = org_server.client(org_server.new_key(dev))
    assert member.describe_organization()["Organization"]["Id"] == o
    # the same email again: a FAILED request, as AWS's asynchronous CreateAccount reports it
    failed = mgmt.org.create_account(Email="DEV@example.com", AccountName="dev2")["CreateAccountStatus"]
    assert (failed["State"], failed["FailureReason"], "AccountId" in failed) == ("FAILED", "EMAIL_ALREADY_EXISTS", False)
    assert org_server.organizations.member_accounts(dev) == sorted([mgmt.account_id, dev])
    assert org_server.organizations.management_account(dev) == mgmt.account_id


def test_organizational_units_and_moving_accounts(org_server: OrgServer, mgmt: Management) -> None:
    o, root = create_org(mgmt)
    dev = new_account(mgmt, "ou-dev")
    ou = mgmt.org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]
    assert re.fullmatch(rf"ou-{root[2:]}-[a-z0-9]{{8}}", ou["Id"])
    assert ou == {"Id": ou["Id"], "Arn": f"arn:aws:organizations::{mgmt.account_id}:ou/{o}/{ou['Id']}",
                  "Name": "workloads"}
    inner = mgmt.org.create_organizational_unit(ParentId=ou["Id"], Name="prod")["OrganizationalUnit"]
    assert mgmt.org.describe_organizational_unit(OrganizationalUnitId=ou["Id"])["OrganizationalUnit"] == ou
    renamed = mgmt.org.update_organizational_unit(OrganizationalUnitId=ou["Id"], Name="work")["OrganizationalUnit"]
    assert renamed == {**ou, "Name": "work"}
    assert mgmt.org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"] == [renamed]
    assert mgmt.org.list_children(ParentId=ou["Id"], ChildType="ORGANIZATIONAL_UNIT")["Children"] == [
        {"Id": inner["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert mgmt.org.list_children(ParentId=root, ChildType="ACCOUNT")["Children"] == [
        {"Id": mgmt.account_id, "Type": "ACCOUNT"}, {"Id": dev, "Type": "ACCOUNT"}]
    assert body(mgmt.org.move_account(AccountId=dev, SourceParentId=root, DestinationParentId=inner["Id"])) == {}
    assert mgmt.org.list_parents(ChildId=dev)["Parents"] == [{"Id": inner["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert mgmt.org.list_parents(ChildId=ou["Id"])["Parents"] == [{"Id": root, "Type": "ROOT"}]
    assert [a["Id"] for a in mgmt.org.list_accounts_for_parent(ParentId=inner["Id"])["Accounts"]] == [dev]
    assert [a["Id"] for a in mgmt.org.list_accounts_for_parent(ParentId=root)["Accounts"]] == [mgmt.account_id]
    mgmt.org.move_account(AccountId=dev, SourceParentId=inner["Id"], DestinationParentId=root)
    assert body(mgmt.org.delete_organizational_unit(OrganizationalUnitId=inner["Id"])) == {}
    assert mgmt.org.list_children(ParentId=ou["Id"], ChildType="ORGANIZATIONAL_UNIT")["Children"] == []


def test_service_control_policies(org_server: OrgServer, mgmt: Management) -> None:
    o, root = create_org(mgmt)
    dev = new_account(mgmt, "scp-dev")
    ou = mgmt.org.create_organizational_unit(ParentId=root, Name="guarded")["OrganizationalUnit"]["Id"]
    assert org_server.organizations.scp_chain(dev) == []  # SCPs not enabled yet
    enabled = mgmt.org.enable_policy_type(RootId=root, PolicyType=SCP)["Root"]
    assert enabled["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    for target in (root, ou, dev, mgmt.account_id):
        assert mgmt.org.list_policies_for_target(TargetId=target, Filter=SCP)["Policies"] == [FULL_AWS_ACCESS]
    assert mgmt.org.describe_policy(PolicyId="p-FullAWSAccess")["Policy"] == {
        "PolicySummary": FULL_AWS_ACCESS, "Content": FULL_AWS_ACCESS_CONTENT}
    created = mgmt.org.create_policy(Name="deny-stop", Description="no StopLogging", Type=SCP, Content=DENY_STOP,
                                     Tags=[{"Key": "k", "Value": "v"}])["Policy"]
    pid = created["PolicySummary"]["Id"]
    assert re.fullmatch(r"p-[a-z0-9]{8}", pid)
    summary = {"Id": pid, "Arn": f"arn:aws:organizations::{mgmt.account_id}:policy/{o}/service_control_policy/{pid}",
               "Name": "deny-stop", "Description": "no StopLogging", "Type": SCP, "AwsManaged": False}
    assert created == {"PolicySummary": summary, "Content": DENY_STOP}
    assert mgmt.org.list_policies(Filter=SCP)["Policies"] == [FULL_AWS_ACCESS, summary]
    mgmt.org.move_account(AccountId=dev, SourceParentId=root, DestinationParentId=ou)
    assert body(mgmt.org.attach_policy(PolicyId=pid, TargetId=ou)) == {}
    assert mgmt.org.list_policies_for_target(TargetId=ou, Filter=SCP)["Policies"] == [FULL_AWS_ACCESS, summary]
    assert mgmt.org.list_targets_for_policy(PolicyId=pid)["Targets"] == [
        {"TargetId": ou, "Arn": f"arn:aws:organizations::{mgmt.account_id}:ou/{o}/{ou}", "Name": "guarded",
         "Type": "ORGANIZATIONAL_UNIT"}]
    assert org_server.organizations.scp_chain(dev) == [[FULL_AWS_ACCESS_CONTENT], [FULL_AWS_ACCESS_CONTENT, DENY_STOP],
                                                       [FULL_AWS_ACCESS_CONTENT]]
    assert org_server.organizations.scp_chain(mgmt.account_id) == []  # SCPs never affect the management account
    updated = mgmt.org.update_policy(PolicyId=pid, Name="deny-stop-2")["Policy"]
    assert updated == {"PolicySummary": {**summary, "Name": "deny-stop-2"}, "Content": DENY_STOP}
    assert body(mgmt.org.detach_policy(PolicyId=pid, TargetId=ou)) == {}
    assert body(mgmt.org.delete_policy(PolicyId=pid)) == {}
    assert mgmt.org.list_policies(Filter=SCP)["Policies"] == [FULL_AWS_ACCESS]


def test_trusted_access_and_delegated_administrators(org_server: OrgServer, mgmt: Management) -> None:
    create_org(mgmt)
    dev = new_account(mgmt, "admin-dev")
    reads = org_server.organizations
    assert reads.trusted_access_enabled(dev, "cloudtrail.amazonaws.com") is False
    assert body(mgmt.org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")) == {}
    [enabled] = mgmt.org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert enabled["ServicePrincipal"] == "cloudtrail.amazonaws.com"
    assert reads.trusted_access_enabled(dev, "cloudtrail.amazonaws.com") is True
    mgmt.org.register_delegated_administrator(AccountId=dev, ServicePrincipal="cloudtrail.amazonaws.com")
    [admin] = mgmt.org.list_delegated_administrators(ServicePrincipal="cloudtrail.amazonaws.com")["DelegatedAdministrators"]
    assert (admin["Id"], admin["Name"], admin["Email"], admin["JoinedMethod"]) == (
        dev, "admin-dev", "admin-dev@example.com", "CREATED")
    assert mgmt.org.list_delegated_administrators(ServicePrincipal="config.amazonaws.com")["DelegatedAdministrators"] == []
    [service] = mgmt.org.list_delegated_services_for_account(AccountId=dev)["DelegatedServices"]
    assert service["ServicePrincipal"] == "cloudtrail.amazonaws.com"
    assert reads.delegated_admins(mgmt.account_id, "cloudtrail.amazonaws.com") == [dev]
    # a delegated administrator may read the organization
    admin_client = org_server.client(org_server.new_key(dev))
    assert [a["Id"] for a in admin_client.list_accounts()["Accounts"]] == [mgmt.account_id, dev]
    mgmt.org.deregister_delegated_administrator(AccountId=dev, ServicePrincipal="cloudtrail.amazonaws.com")
    assert reads.delegated_admins(mgmt.account_id, "cloudtrail.amazonaws.com") == []
    mgmt.org.disable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    assert mgmt.org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []


def test_tags_pages_remove_and_delete(org_server: OrgServer, mgmt: Management) -> None:
    o, root = create_org(mgmt)
    accounts = [new_account(mgmt, f"page{i}") for i in range(3)]
    mgmt.org.tag_resource(ResourceId=root, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}])
    assert mgmt.org.list_tags_for_resource(ResourceId=root)["Tags"] == [{"Key": "a", "Value": "1"},
                                                                        {"Key": "b", "Value": "2"}]
    mgmt.org.untag_resource(ResourceId=root, TagKeys=["a"])
    assert mgmt.org.list_tags_for_resource(ResourceId=root)["Tags"] == [{"Key": "b", "Value": "2"}]
    first = mgmt.org.list_accounts(MaxResults=3)
    second = mgmt.org.list_accounts(MaxResults=3, NextToken=first["NextToken"])
    assert [a["Id"] for a in first["Accounts"] + second["Accounts"]] == [mgmt.account_id, *accounts]
    assert "NextToken" not in second
    paged = [a["Id"] for p in mgmt.org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1})
             for a in p["Accounts"]]
    assert paged == [mgmt.account_id, *accounts]
    for account in accounts:
        assert body(mgmt.org.remove_account_from_organization(AccountId=account)) == {}
    assert org_server.organizations.organization_of(accounts[0]) is None
    assert body(mgmt.org.delete_organization()) == {}
    assert org_server.organizations.organization_of(mgmt.account_id) is None


def test_calls_are_recorded_in_us_east_1(org_server: OrgServer, mgmt: Management) -> None:
    key = mgmt.key
    org = org_server.client(key, region="eu-west-1")  # a global service: recorded in us-east-1 whatever the client says
    o = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    org.describe_organization()
    [record] = org_server.records("CreateOrganization", mgmt.account_id)
    assert (record["eventSource"], record["awsRegion"], record["readOnly"], record["eventCategory"]) == (
        "organizations.amazonaws.com", "us-east-1", False, "Management")
    assert record["requestParameters"] == {"featureSet": "ALL"}
    assert record["responseElements"]["organization"]["id"] == o
    assert "masterAccountEmail" not in record["responseElements"]["organization"]  # sensitive in the model
    [describe] = org_server.records("DescribeOrganization", mgmt.account_id)
    assert (describe["awsRegion"], describe["readOnly"], describe.get("responseElements")) == ("us-east-1", True, None)
    trail = org_server.client(key, "cloudtrail", region="us-east-1")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                    "AttributeValue": "CreateOrganization"}])["Events"]
    assert [(e["EventSource"], e["EventName"], json.loads(e["CloudTrailEvent"])["awsRegion"]) for e in events] == [
        ("organizations.amazonaws.com", "CreateOrganization", "us-east-1")]


def test_state_survives_a_restart(org_server: OrgServer, mgmt: Management) -> None:
    o, root = create_org(mgmt)
    dev = new_account(mgmt, "restart")
    mgmt.org.enable_policy_type(RootId=root, PolicyType=SCP)
    again = OrganizationsService(org_server.data_dir)
    try:
        org = again.organization_of(dev)
        assert org is not None and (org.id, org.root_id, sorted(org.accounts)) == (o, root, sorted([mgmt.account_id, dev]))
        assert again.scp_chain(dev) == [[FULL_AWS_ACCESS_CONTENT], [FULL_AWS_ACCESS_CONTENT]]
    finally:
        again.close()
