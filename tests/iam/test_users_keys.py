"""IAM users, groups and access keys through boto3 against a real server: answers, paging, tags, AWS's
error codes and messages, keys that SigV4 accepts, refuses when inactive or deleted, and what is
recorded (eventSource iam.amazonaws.com in us-east-1, no secret in any record)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import ACCOUNT, IamServer, error_of

INVALID = "The security token included in the request is invalid."


def answer(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_user_lifecycle(srv: IamServer) -> None:
    iam = srv.client()
    user = iam.create_user(UserName="alice", Path="/eng/", Tags=[{"Key": "team", "Value": "audit"}])["User"]
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["UserId"])
    assert (user["UserName"], user["Path"], user["Arn"], user["Tags"]) == (
        "alice", "/eng/", f"arn:aws:iam::{ACCOUNT}:user/eng/alice", [{"Key": "team", "Value": "audit"}])
    got = iam.get_user(UserName="alice")["User"]
    assert got == user
    assert iam.get_user(UserName="ALICE")["User"]["UserName"] == "alice"  # names ignore case
    assert error_of(iam.create_user, UserName="Alice") == (
        "EntityAlreadyExists", "User with name Alice already exists.", 409)
    iam.update_user(UserName="alice", NewUserName="alicia", NewPath="/audit/")
    renamed = iam.get_user(UserName="alicia")["User"]
    assert (renamed["UserId"], renamed["Arn"]) == (user["UserId"], f"arn:aws:iam::{ACCOUNT}:user/audit/alicia")
    assert error_of(iam.get_user, UserName="alice") == (
        "NoSuchEntity", "The user with name alice cannot be found.", 404)
    iam.delete_user(UserName="alicia")
    again = iam.create_user(UserName="alicia")["User"]
    assert again["UserId"] != user["UserId"] and "Tags" not in again


#: What a user may do on itself: read itself, manage its keys, get session tokens (the policy
#: variable ``${aws:username}`` names the caller).
SELF_SERVICE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:GetUser", "iam:*AccessKey*"],
     "Resource": "arn:aws:iam::*:user/*${aws:username}"},
    {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"}]})


def test_get_user_without_name_answers_the_caller(srv: IamServer) -> None:
    iam = srv.client()
    root = iam.get_user()["User"]
    assert (root["UserId"], root["Arn"]) == (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
    assert "UserName" not in root
    iam.create_user(UserName="bob", Path="/ops/")
    iam.put_user_policy(UserName="bob", PolicyName="self", PolicyDocument=SELF_SERVICE)
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    me = srv.client(key=key).get_user()["User"]
    assert (me["UserName"], me["Path"]) == ("bob", "/ops/")


def test_list_users_paging_and_path_prefix(srv: IamServer) -> None:
    iam = srv.client()
    for name, path in (("carol", "/"), ("alice", "/eng/"), ("Bob", "/eng/team/"), ("dave", "/ops/")):
        iam.create_user(UserName=name, Path=path)
    first = iam.list_users(MaxItems=2)
    assert [u["UserName"] for u in first["Users"]] == ["alice", "Bob"]
    assert first["IsTruncated"] is True
    rest = iam.list_users(MaxItems=2, Marker=first["Marker"])
    assert ([u["UserName"] for u in rest["Users"]], rest["IsTruncated"], "Marker" in rest) == (
        ["carol", "dave"], False, False)
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/eng/")["Users"]] == ["alice", "Bob"]
    paginated = [u["UserName"] for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1})
                 for u in p["Users"]]
    assert paginated == ["alice", "Bob", "carol", "dave"]


def test_user_tags(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="t", Tags=[{"Key": "a", "Value": "1"}])
    iam.tag_user(UserName="t", Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert iam.list_user_tags(UserName="t")["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    first = iam.list_user_tags(UserName="t", MaxItems=1)
    assert (first["Tags"], first["IsTruncated"]) == ([{"Key": "a", "Value": "3"}], True)
    assert iam.list_user_tags(UserName="t", Marker=first["Marker"])["Tags"] == [{"Key": "b", "Value": "2"}]
    assert error_of(iam.list_user_tags, UserName="t", Marker="%%%") == ("ValidationError", "Invalid Marker.", 400)
    iam.untag_user(UserName="t", TagKeys=["a"])
    assert answer(iam.list_user_tags(UserName="t")) == {"Tags": [{"Key": "b", "Value": "2"}], "IsTruncated": False}


def test_bad_names_are_validation_errors(srv: IamServer) -> None:
    iam = srv.client(validate=False)
    assert error_of(iam.create_user, UserName="a b") == (
        "ValidationError", "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+", 400)
    assert error_of(iam.create_user, UserName="x" * 65)[0:2] == (
        "ValidationError", "1 validation error detected: Value '" + "x" * 65 + "' at 'userName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64")
    assert error_of(iam.create_user, UserName="p", Path="nopath")[0] == "ValidationError"


def test_delete_user_conflicts(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="u")
    key = iam.create_access_key(UserName="u")["AccessKey"]
    assert error_of(iam.delete_user, UserName="u") == (
        "DeleteConflict", "Cannot delete entity, must delete access keys first.", 409)
    iam.delete_access_key(UserName="u", AccessKeyId=key["AccessKeyId"])
    iam.create_login_profile(UserName="u", Password="Correct-Horse-9")
    assert error_of(iam.delete_user, UserName="u")[1] == "Cannot delete entity, must delete login profile first."
    iam.delete_login_profile(UserName="u")
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    assert error_of(iam.delete_user, UserName="u")[1] == "Cannot delete entity, must delete policies first."
    iam.delete_user_policy(UserName="u", PolicyName="p")
    iam.attach_user_policy(UserName="u", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert error_of(iam.delete_user, UserName="u")[1] == "Cannot delete entity, must detach all policies first."
    iam.detach_user_policy(UserName="u", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="u")
    assert error_of(iam.delete_group, GroupName="g") == (
        "DeleteConflict", "Cannot delete entity, must remove users from group first.", 409)
    iam.remove_user_from_group(GroupName="g", UserName="u")
    iam.delete_user(UserName="u")
    iam.delete_group(GroupName="g")
    assert iam.list_users()["Users"] == [] and iam.list_groups()["Groups"] == []


def test_groups(srv: IamServer) -> None:
    iam = srv.client()
    group = iam.create_group(GroupName="auditors", Path="/sec/")["Group"]
    assert re.fullmatch(r"AGPA[A-Z0-9]{17}", group["GroupId"])
    assert group["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/sec/auditors"
    assert error_of(iam.create_group, GroupName="Auditors") == (
        "EntityAlreadyExists", "Group with name Auditors already exists.", 409)
    for name in ("zed", "amy"):
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="auditors", UserName=name)
    got = iam.get_group(GroupName="auditors")
    assert (got["Group"], [u["UserName"] for u in got["Users"]]) == (group, ["amy", "zed"])
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="amy")["Groups"]] == ["auditors"]
    iam.update_group(GroupName="auditors", NewGroupName="readers")
    assert iam.list_groups()["Groups"][0]["GroupName"] == "readers"
    assert error_of(iam.get_group, GroupName="auditors") == (
        "NoSuchEntity", "The group with name auditors cannot be found.", 404)
    assert error_of(iam.add_user_to_group, GroupName="readers", UserName="nobody") == (
        "NoSuchEntity", "The user with name nobody cannot be found.", 404)


def test_access_keys_quota_status_and_signing(srv: IamServer) -> None:
    iam = srv.client()
    user = iam.create_user(UserName="ci", Path="/bots/")["User"]
    iam.put_user_policy(UserName="ci", PolicyName="self", PolicyDocument=SELF_SERVICE)
    first = iam.create_access_key(UserName="ci")["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", first["AccessKeyId"]) and len(first["SecretAccessKey"]) == 40
    assert (first["UserName"], first["Status"]) == ("ci", "Active")
    second = srv.client(key=first).create_access_key()["AccessKey"]  # no UserName: the caller's user
    assert second["UserName"] == "ci"
    assert error_of(iam.create_access_key, UserName="ci") == (
        "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    listed = iam.list_access_keys(UserName="ci")["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([first["AccessKeyId"], second["AccessKeyId"]])
    assert all("SecretAccessKey" not in k for k in listed)

    ident = srv.client("sts", key=first).get_caller_identity()
    assert (ident["UserId"], ident["Arn"]) == (user["UserId"], f"arn:aws:iam::{ACCOUNT}:user/bots/ci")
    session = srv.client("sts", key=first).get_session_token()["Credentials"]

    iam.update_access_key(UserName="ci", AccessKeyId=first["AccessKeyId"], Status="Inactive")
    assert {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="ci")["AccessKeyMetadata"]}[
        first["AccessKeyId"]] == "Inactive"
    assert error_of(srv.client("sts", key=first).get_caller_identity) == ("InvalidClientTokenId", INVALID, 400)
    import boto3
    from botocore.config import Config

    def session_client() -> Any:
        return boto3.client("sts", endpoint_url=srv.url, region_name="us-east-1",
                            aws_access_key_id=session["AccessKeyId"], aws_secret_access_key=session["SecretAccessKey"],
                            aws_session_token=session["SessionToken"], config=Config(retries={"max_attempts": 1}))

    assert error_of(session_client().get_caller_identity)[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName="ci", AccessKeyId=first["AccessKeyId"], Status="Active")
    assert srv.client("sts", key=first).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/bots/ci"
    assert session_client().get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/bots/ci"

    iam.delete_access_key(UserName="ci", AccessKeyId=first["AccessKeyId"])
    assert error_of(srv.client("sts", key=first).get_caller_identity) == ("InvalidClientTokenId", INVALID, 400)
    assert error_of(session_client().get_caller_identity)[0] == "InvalidClientTokenId"
    assert error_of(iam.delete_access_key, UserName="ci", AccessKeyId=first["AccessKeyId"]) == (
        "NoSuchEntity", f"The Access Key with id {first['AccessKeyId']} cannot be found.", 404)
    last = answer(iam.get_access_key_last_used(AccessKeyId=second["AccessKeyId"]))
    assert last == {"UserName": "ci", "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}


def test_key_renamed_with_its_user(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="old")
    key = iam.create_access_key(UserName="old")["AccessKey"]
    iam.update_user(UserName="old", NewUserName="new", NewPath="/moved/")
    assert srv.client("sts", key=key).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/moved/new"
    assert iam.list_access_keys(UserName="new")["AccessKeyMetadata"][0]["UserName"] == "new"


def test_records_are_global_and_hold_no_secret(srv: IamServer) -> None:
    iam = srv.client(region="eu-west-3")
    iam.create_user(UserName="rec")
    key = iam.create_access_key(UserName="rec")["AccessKey"]
    iam.create_login_profile(UserName="rec", Password="Sup3r-Secret-Pw")
    created = srv.recorded("CreateAccessKey")[0]
    assert (created["eventSource"], created["awsRegion"], created["readOnly"]) == (
        "iam.amazonaws.com", "us-east-1", False)
    assert created["requestParameters"] == {"userName": "rec"}
    assert created["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]
    assert "secretAccessKey" not in created["responseElements"]["accessKey"]
    profile = srv.recorded("CreateLoginProfile")[0]
    assert profile["requestParameters"] == {"userName": "rec"}
    everything = json.dumps([srv.recorded(name) for name in ("CreateUser", "CreateAccessKey", "CreateLoginProfile")])
    assert key["SecretAccessKey"] not in everything and "Sup3r-Secret-Pw" not in everything
    failed = srv.client().create_user
    error_of(failed, UserName="rec")
    denied = srv.recorded("CreateUser", 2)[0]
    assert (denied["errorCode"], denied["errorMessage"]) == (
        "EntityAlreadyExistsException", "User with name rec already exists.")
    listed = srv.client().list_users()
    assert listed["Users"]
    read = srv.recorded("ListUsers")[0]
    assert (read["readOnly"], read["responseElements"]) == (True, None)


def test_root_access_keys(srv: IamServer) -> None:
    iam = srv.client()
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [srv.key.access_key_id]
    assert "UserName" not in keys[0]
    extra = iam.create_access_key()["AccessKey"]
    assert srv.client("sts", key=extra).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert error_of(iam.create_access_key)[0:2] == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")


@pytest.mark.parametrize("operation,kwargs,message", [
    ("get_user", {"UserName": "ghost"}, "The user with name ghost cannot be found."),
    ("list_access_keys", {"UserName": "ghost"}, "The user with name ghost cannot be found."),
    ("delete_group", {"GroupName": "ghost"}, "The group with name ghost cannot be found."),
    ("get_role", {"RoleName": "ghost"}, "The role with name ghost cannot be found."),
])
def test_not_found(srv: IamServer, operation: str, kwargs: dict[str, Any], message: str) -> None:
    assert error_of(getattr(srv.client(), operation), **kwargs) == ("NoSuchEntity", message, 404)
