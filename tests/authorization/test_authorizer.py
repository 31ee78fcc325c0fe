"""The Authorizer without a server: IAM operations (their API is built elsewhere; a Service with
IAM's resource types stands in) and role sessions (AssumeRole is built elsewhere)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from opentrail.api.authorization import AccessDenied, Authorizer
from opentrail.api.errors import AccessDeniedException
from opentrail.api.operations import CLOUDTRAIL
from opentrail.api.recording import CallInfo
from opentrail.api.services import Service
from opentrail.auth.sigv4 import Caller
from opentrail.iam.model import RoleSession
from opentrail.settings import Settings
from tests.memory_iam import MemoryIamDirectory

ACCOUNT = "111122223333"
INFO = CallInfo("203.0.113.7", "test", None)
NOW = 1_800_000_000.0
IAM = Service(name="iam", model="iam", iam_prefix="iam", event_source="iam.amazonaws.com", target_prefix="",
              operations={}, resources={"PutUserPolicy": "user", "ListUsers": "*"}, global_region="us-east-1")
SELF_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "arn:aws:iam::*:user/${aws:username}"}]})
READ_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["cloudtrail:Get*", "cloudtrail:Describe*", "cloudtrail:LookupEvents"],
    "Resource": "*"}]})
FULL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def user_caller(name: str) -> Caller:
    return Caller(ACCOUNT, "AKIAEXAMPLE", name, "eu-west-1")


def test_put_user_policy_only_on_themselves() -> None:
    iam = MemoryIamDirectory()
    iam.add_user(ACCOUNT, "alice")
    iam.add_user(ACCOUNT, "bob", path="/eng/")
    iam.put_policy(ACCOUNT, "self", SELF_ONLY, user="alice")
    auth = Authorizer(Settings(), iam)
    caller = user_caller("alice")
    assert auth.authorize(caller, IAM, "PutUserPolicy", {"UserName": "alice"}, INFO, NOW).allowed  # type: ignore[union-attr]
    with pytest.raises(AccessDenied) as exc:
        auth.authorize(caller, IAM, "PutUserPolicy", {"UserName": "bob"}, INFO, NOW)
    assert (exc.value.code, exc.value.status) == ("AccessDenied", 403)
    assert exc.value.message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: iam:PutUserPolicy on resource:"
        f" arn:aws:iam::{ACCOUNT}:user/eng/bob because no identity-based policy allows the iam:PutUserPolicy action")
    # no UserName: IAM acts on the caller
    assert auth.authorize(caller, IAM, "PutUserPolicy", {}, INFO, NOW).allowed  # type: ignore[union-attr]


def session_caller(session: RoleSession) -> Caller:
    return Caller(ACCOUNT, "ASIAEXAMPLE", None, "us-east-1", session_created=NOW - 60, role_session=session)


def test_session_policy_limits_a_role_session() -> None:
    iam = MemoryIamDirectory()
    role = iam.add_role(ACCOUNT, "ci", tags={"team": "build"})
    iam.put_policy(ACCOUNT, "all", FULL, role="ci")
    auth = Authorizer(Settings(), iam)
    plain = RoleSession("ci", "/", role.role_id, "build-42")
    assert auth.authorize(session_caller(plain), CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW).allowed  # type: ignore[union-attr]
    limited = replace(plain, session_policy=READ_ONLY)
    assert auth.authorize(session_caller(limited), CLOUDTRAIL, "GetTrail", {"Name": "t1"}, INFO, NOW).allowed  # type: ignore[union-attr]
    with pytest.raises(AccessDeniedException) as exc:
        auth.authorize(session_caller(limited), CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW)
    assert exc.value.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42 is not authorized to perform: cloudtrail:CreateTrail"
        f" on resource: arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t1 because no session policy allows the"
        " cloudtrail:CreateTrail action")
    # a managed policy passed as PolicyArns limits too
    iam.create_policy(f"arn:aws:iam::{ACCOUNT}:policy/ro", READ_ONLY)
    by_arn = replace(plain, session_name="by-arn", session_policy_arns=(f"arn:aws:iam::{ACCOUNT}:policy/ro",))
    with pytest.raises(AccessDeniedException):
        auth.authorize(session_caller(by_arn), CLOUDTRAIL, "StopLogging", {"Name": "t1"}, INFO, NOW)


def test_session_keys_in_conditions() -> None:
    iam = MemoryIamDirectory()
    role = iam.add_role(ACCOUNT, "ci", tags={"team": "build"})
    cond = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "build", "aws:RequestedRegion": "us-east-1",
                                       "aws:userid": f"{role.role_id}:s1", "aws:RequestTag/env": "prod"},
                      "Bool": {"aws:MultiFactorAuthPresent": "false", "aws:SecureTransport": "false"},
                      "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                      "DateGreaterThan": {"aws:TokenIssueTime": "2027-01-01T00:00:00Z"}}}]}
    iam.put_policy(ACCOUNT, "cond", json.dumps(cond), role="ci")
    auth = Authorizer(Settings(), iam)
    caller = session_caller(RoleSession("ci", "/", role.role_id, "s1"))
    params: dict[str, Any] = {"Name": "t", "TagsList": [{"Key": "env", "Value": "prod"}]}
    assert auth.authorize(caller, CLOUDTRAIL, "CreateTrail", params, INFO, NOW).allowed  # type: ignore[union-attr]
    with pytest.raises(AccessDeniedException):
        auth.authorize(caller, CLOUDTRAIL, "CreateTrail", {"Name": "t"}, INFO, NOW)


def test_a_session_of_a_deleted_role_is_denied() -> None:
    auth = Authorizer(Settings(), MemoryIamDirectory())
    with pytest.raises(AccessDeniedException):
        auth.authorize(session_caller(RoleSession("gone", "/", "AROAGONE", "s")), CLOUDTRAIL, "ListTrails", {}, INFO, NOW)


def test_compiled_policies_are_cached_until_iam_changes() -> None:
    iam = MemoryIamDirectory()
    iam.add_user(ACCOUNT, "alice")
    iam.put_policy(ACCOUNT, "ro", READ_ONLY, user="alice")
    auth = Authorizer(Settings(), iam)
    caller = user_caller("alice")
    auth.authorize(caller, CLOUDTRAIL, "LookupEvents", {}, INFO, NOW)
    first = auth._cache[("user", ACCOUNT, "alice")]
    auth.authorize(caller, CLOUDTRAIL, "LookupEvents", {}, INFO, NOW)
    assert auth._cache[("user", ACCOUNT, "alice")] is first
    iam.put_policy(ACCOUNT, "deny", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]}), user="alice")
    with pytest.raises(AccessDeniedException):
        auth.authorize(caller, CLOUDTRAIL, "LookupEvents", {}, INFO, NOW)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="--iam-enforcement must be one of enforce, log-only, not 'off'"):
        Authorizer(Settings(iam_enforcement="off"))


def test_permits_and_decide_answer_without_raising_or_logging(caplog: pytest.LogCaptureFixture) -> None:
    """The console's entry point: whether the call would go ahead, and the decision itself."""
    iam = MemoryIamDirectory()
    iam.add_user(ACCOUNT, "auditor")
    iam.put_policy(ACCOUNT, "ro", READ_ONLY, user="auditor")
    caller = user_caller("auditor")
    enforce = Authorizer(Settings(), iam)
    assert enforce.permits(caller, CLOUDTRAIL, "LookupEvents", {}, INFO, NOW) is True
    assert enforce.permits(caller, CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW) is False
    request, decision = enforce.decide(caller, CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW)  # type: ignore[misc]
    assert (decision.effect, decision.policy_type, decision.resource) == (
        "ImplicitDeny", "identity-based policy", f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1")
    assert request.action == "cloudtrail:CreateTrail"
    root = Caller(ACCOUNT, "AKIAROOT", None, "eu-west-1")
    assert enforce.decide(root, CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW) is None
    assert enforce.permits(root, CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW) is True
    log_only = Authorizer(Settings(iam_enforcement="log-only"), iam)
    with caplog.at_level("WARNING", logger="opentrail.authorization"):
        assert log_only.permits(caller, CLOUDTRAIL, "CreateTrail", {"Name": "t1"}, INFO, NOW) is True
    assert caplog.records == []
