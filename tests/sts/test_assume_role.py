"""STS AssumeRole through boto3 against a real server: the answer, the trust policy (same account,
another account, a principal not named, conditions), DurationSeconds bounds, session policies,
tags, SourceIdentity, role chaining, the recorded AssumeRole event and the AssumedRole userIdentity
of the session's calls on every service, expiry, forged tokens and deleted roles."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail.auth.sigv4 import Caller
from opentrail.proxy.identity import IdentityResolver

from .conftest import ACCOUNT, StsServer
from .iam_fake import allow, trust
from .test_sts_api import EXPIRED, INVALID, answer, error_of, recorded, signing_on_server_time

OTHER = "444455556666"


def assume(srv: StsServer, role_arn: str, name: str = "build-42", credentials: dict[str, Any] | None = None,
           key: Any = None, **params: Any) -> dict[str, Any]:
    return srv.client("sts", credentials=credentials, key=key).assume_role(RoleArn=role_arn, RoleSessionName=name,
                                                                           **params)


def recorded_by(srv: StsServer, event_name: str, access_key_id: str) -> dict[str, Any]:
    """The one event ``event_name`` made with ``access_key_id`` (waits up to 5 s for it)."""
    deadline = time.time() + 5
    while True:
        mine = [e for e in recorded(srv, event_name) if e["userIdentity"].get("accessKeyId") == access_key_id]
        if mine or time.time() > deadline:
            assert len(mine) == 1, event_name
            return mine[0]
        time.sleep(0.05)


def denied(caller_arn: str, role_arn: str, action: str = "sts:AssumeRole") -> tuple[str, str, int]:
    return ("AccessDenied", f"User: {caller_arn} is not authorized to perform: {action} on resource: {role_arn}",
            403)


def test_assume_role_answer_and_caller_identity(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT), path="/build/")
    got = assume(srv, role.arn)
    credentials = got["Credentials"]
    assert sorted(answer(got)) == ["AssumedRoleUser", "Credentials"]
    assert got["AssumedRoleUser"] == {"AssumedRoleId": f"{role.role_id}:build-42",
                                      "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"}
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["SecretAccessKey"]) == 40
    created = srv.accounts.sessions.describe(credentials["AccessKeyId"])
    assert created is not None
    assert credentials["Expiration"].timestamp() == created.created_s + 3600  # default duration
    assert answer(srv.client("sts", credentials=credentials).get_caller_identity()) == {
        "UserId": f"{role.role_id}:build-42", "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"}


def test_recorded_assume_role_and_session_calls_on_every_service(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT, actions=("sts:AssumeRole", "sts:SetSourceIdentity")))
    srv.iam.role_inline[(ACCOUNT, "ci")] = [allow("*")]  # the session may call everything
    got = assume(srv, role.arn, DurationSeconds=900, SourceIdentity="alice")
    credentials = got["Credentials"]
    event = recorded(srv, "AssumeRole")[0]
    assert (event["eventSource"], event["readOnly"], event["userIdentity"]["type"]) == (
        "sts.amazonaws.com", True, "Root")
    assert event["requestParameters"] == {"roleArn": role.arn, "roleSessionName": "build-42",
                                          "durationSeconds": 900, "sourceIdentity": "alice"}
    expiration = event["responseElements"]["credentials"]["expiration"]
    assert event["responseElements"] == {
        "credentials": {"accessKeyId": credentials["AccessKeyId"], "expiration": expiration},
        "assumedRoleUser": {"assumedRoleId": f"{role.role_id}:build-42",
                            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"},
        "sourceIdentity": "alice"}
    assert credentials["SessionToken"] not in json.dumps(event)
    assert event["resources"] == [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role.arn}]
    # the session on every service
    # (the test server runs CloudTrail's history, Logs and STS; EventBridge, CloudWatch and
    # Organizations answer UnknownOperationException there, after authenticating and recording)
    srv.client("logs", credentials=credentials).describe_log_groups()
    srv.client("cloudtrail", credentials=credentials).lookup_events(MaxResults=1)
    srv.client("sts", credentials=credentials).get_caller_identity()
    for service, call in (("events", "list_rules"), ("cloudwatch", "describe_alarms"),
                          ("organizations", "describe_organization")):
        assert error_of(getattr(srv.client(service, credentials=credentials), call))[0] == \
            "UnknownOperationException"
    session = srv.accounts.sessions.describe(credentials["AccessKeyId"])
    assert session is not None
    created = Caller(ACCOUNT, "x", None, "us-east-1", session_created=session.created_s)._created()
    expected = {
        "type": "AssumedRole", "principalId": f"{role.role_id}:build-42",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42", "accountId": ACCOUNT,
        "accessKeyId": credentials["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role.role_id, "arn": role.arn, "accountId": ACCOUNT,
                              "userName": "ci"},
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
            "sourceIdentity": "alice"}}
    for name in ("DescribeLogGroups", "LookupEvents", "GetCallerIdentity", "ListRules", "DescribeAlarms",
                 "DescribeOrganization"):
        identity = recorded_by(srv, name, credentials["AccessKeyId"])["userIdentity"]
        assert json.dumps(identity) == json.dumps(expected), name  # same members, same order
    # the capture proxy names the same session from its key id alone
    resolved = IdentityResolver(srv.accounts, ACCOUNT).identify(credentials["AccessKeyId"], "us-east-1")
    assert (resolved.user_identity, resolved.account_id) == (expected, ACCOUNT)


def test_failed_assume_role_is_recorded_with_aws_message(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(f"arn:aws:iam::{ACCOUNT}:user/someone-else"))
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert error_of(srv.client("sts").assume_role, RoleArn=role.arn, RoleSessionName="x1") == denied(root, role.arn)
    event = recorded(srv, "AssumeRole")[0]
    assert (event["errorCode"], event["errorMessage"]) == ("AccessDenied", denied(root, role.arn)[1])
    missing = f"arn:aws:iam::{ACCOUNT}:role/missing"
    assert error_of(srv.client("sts").assume_role, RoleArn=missing, RoleSessionName="x1") == denied(root, missing)
    assert error_of(srv.client("sts").assume_role, RoleArn="not-an-arn-at-all-xx", RoleSessionName="x1") == (
        "ValidationError", "not-an-arn-at-all-xx is invalid", 400)


def test_trust_policy_same_account_users(srv: StsServer) -> None:
    named = srv.accounts.create_access_key(ACCOUNT, user_name="builder")
    other = srv.accounts.create_access_key(ACCOUNT, user_name="intruder")
    role = srv.iam.add_role(ACCOUNT, "ci", trust(f"arn:aws:iam::{ACCOUNT}:user/builder"))
    assert assume(srv, role.arn, key=named)["AssumedRoleUser"]["Arn"].endswith("/ci/build-42")
    assert error_of(srv.client("sts", key=other).assume_role, RoleArn=role.arn, RoleSessionName="s1") == denied(
        f"arn:aws:iam::{ACCOUNT}:user/intruder", role.arn)
    # a trust policy naming the account: a user also needs an identity-based Allow
    acct_role = srv.iam.add_role(ACCOUNT, "acct", trust(ACCOUNT))
    assert error_of(srv.client("sts", key=other).assume_role, RoleArn=acct_role.arn, RoleSessionName="s1") == \
        denied(f"arn:aws:iam::{ACCOUNT}:user/intruder", acct_role.arn)
    srv.iam.user_inline[(ACCOUNT, "intruder")] = [allow("sts:AssumeRole", acct_role.arn)]
    assert assume(srv, acct_role.arn, key=other)["AssumedRoleUser"]["AssumedRoleId"] == f"{acct_role.role_id}:build-42"


def test_trust_policy_across_accounts(srv: StsServer) -> None:
    srv.accounts.create_account(OTHER)
    other_root = srv.accounts.create_access_key(OTHER)
    other_user = srv.accounts.create_access_key(OTHER, user_name="deployer")
    refusing = srv.iam.add_role(ACCOUNT, "private", trust(ACCOUNT))
    assert error_of(srv.client("sts", key=other_root).assume_role, RoleArn=refusing.arn, RoleSessionName="s1") == \
        denied(f"arn:aws:iam::{OTHER}:root", refusing.arn)
    shared = srv.iam.add_role(ACCOUNT, "shared", trust(OTHER))
    got = assume(srv, shared.arn, key=other_root)
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/shared/build-42"
    assert srv.client("sts", credentials=got["Credentials"]).get_caller_identity()["Account"] == ACCOUNT
    # an IAM user of the other account needs its own identity-based Allow as well
    assert error_of(srv.client("sts", key=other_user).assume_role, RoleArn=shared.arn, RoleSessionName="s1") == \
        denied(f"arn:aws:iam::{OTHER}:user/deployer", shared.arn)
    srv.iam.user_inline[(OTHER, "deployer")] = [allow("sts:AssumeRole", shared.arn)]
    assert assume(srv, shared.arn, key=other_user)["AssumedRoleUser"]["AssumedRoleId"] == f"{shared.role_id}:build-42"


def test_external_id_condition(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "vendor", trust(ACCOUNT, condition={"StringEquals": {"sts:ExternalId": "e-123"}}))
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert error_of(srv.client("sts").assume_role, RoleArn=role.arn, RoleSessionName="s1") == denied(root, role.arn)
    assert error_of(srv.client("sts").assume_role, RoleArn=role.arn, RoleSessionName="s1", ExternalId="e-999") == \
        denied(root, role.arn)
    assert assume(srv, role.arn, ExternalId="e-123")["AssumedRoleUser"]["AssumedRoleId"].endswith(":build-42")


def test_duration_bounds(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT), max_session_duration_s=7200)
    sts = srv.client("sts")
    assert error_of(sts.assume_role, RoleArn=role.arn, RoleSessionName="s1", DurationSeconds=7201) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)
    code, _, status = error_of(srv.client("sts", validate=False).assume_role, RoleArn=role.arn,
                               RoleSessionName="s1", DurationSeconds=899)
    assert (code, status) == ("ValidationError", 400)
    got = assume(srv, role.arn, DurationSeconds=7200)["Credentials"]
    session = srv.accounts.sessions.describe(got["AccessKeyId"])
    assert session is not None and session.expires_s - session.created_s == 7200


def test_session_name_rules(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT))
    sts = srv.client("sts", validate=False)
    for bad in ("x", "a" * 65, "has space"):
        code, _, status = error_of(sts.assume_role, RoleArn=role.arn, RoleSessionName=bad)
        assert (code, status) == ("ValidationError", 400), bad
    assert assume(srv, role.arn, name="a+=,.@-_9" * 7)["AssumedRoleUser"]["AssumedRoleId"].endswith("a+=,.@-_9" * 7)


def test_session_policy_tags_and_packed_size(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT, actions=("sts:AssumeRole", "sts:TagSession")))
    srv.iam.managed["arn:aws:iam::aws:policy/ReadOnlyAccess"] = allow("cloudtrail:LookupEvents")
    policy = allow("cloudtrail:LookupEvents")
    got = assume(srv, role.arn, Policy=policy, PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
                 Tags=[{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": "ci"}], TransitiveTagKeys=["team"])
    assert 0 < got["PackedPolicySize"] <= 100
    session = srv.accounts.sessions.describe(got["Credentials"]["AccessKeyId"])
    assert session is not None and session.role_session is not None
    assert (session.role_session.session_policy, session.role_session.session_policy_arns,
            dict(session.role_session.tags), session.transitive_tag_keys,
            session.role_session.assumed_by_arn) == (
        policy, ("arn:aws:iam::aws:policy/ReadOnlyAccess",), {"team": "ops", "env": "ci"}, ("team",),
        f"arn:aws:iam::{ACCOUNT}:root")
    sts = srv.client("sts")
    assert error_of(sts.assume_role, RoleArn=role.arn, RoleSessionName="s1", Policy='{"Statement": []}') == (
        "MalformedPolicyDocument", "Syntax errors in policy.", 400)
    assert error_of(sts.assume_role, RoleArn=role.arn, RoleSessionName="s1",
                    PolicyArns=[{"arn": "arn:aws:iam::aws:policy/Nope"}]) == (
        "MalformedPolicyDocument", "Policy arn:aws:iam::aws:policy/Nope does not exist or is not attachable.", 400)
    big = [{"Key": f"k{i:02d}" + "x" * 100, "Value": __import__("secrets").token_hex(120)} for i in range(50)]
    code, message, status = error_of(sts.assume_role, RoleArn=role.arn, RoleSessionName="s1", Tags=big)
    assert (code, status) == ("PackedPolicyTooLarge", 400)
    assert message.startswith("Packed size of session tags consumes ") and message.endswith("% of allotted space.")
    # tags need sts:TagSession in the trust policy
    plain = srv.iam.add_role(ACCOUNT, "plain", trust(ACCOUNT))
    assert error_of(sts.assume_role, RoleArn=plain.arn, RoleSessionName="s1", Tags=[{"Key": "a", "Value": "b"}]) == \
        denied(f"arn:aws:iam::{ACCOUNT}:root", plain.arn, "sts:TagSession")


def test_role_chaining(srv: StsServer) -> None:
    first = srv.iam.add_role(ACCOUNT, "first", trust(ACCOUNT, actions=("sts:AssumeRole", "sts:SetSourceIdentity",
                                                                        "sts:TagSession")))
    second = srv.iam.add_role(ACCOUNT, "second", trust(first.arn, actions=("sts:AssumeRole", "sts:SetSourceIdentity",
                                                                            "sts:TagSession")),
                              max_session_duration_s=43200)
    srv.iam.role_inline[(ACCOUNT, "first")] = [allow("sts:GetSessionToken")]  # so its own error is seen
    outer = assume(srv, first.arn, name="outer", SourceIdentity="alice", Tags=[{"Key": "team", "Value": "ops"}],
                   TransitiveTagKeys=["team"])["Credentials"]
    sts = srv.client("sts", credentials=outer)
    outer_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/first/outer"
    assert error_of(sts.assume_role, RoleArn=second.arn, RoleSessionName="inner", DurationSeconds=3601) == (
        "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
        "chaining.", 400)
    assert error_of(sts.assume_role, RoleArn=second.arn, RoleSessionName="inner", SourceIdentity="mallory") == (
        "ValidationError", "SourceIdentity cannot be changed once set", 400)
    inner = sts.assume_role(RoleArn=second.arn, RoleSessionName="inner")
    assert inner["SourceIdentity"] == "alice"
    session = srv.accounts.sessions.describe(inner["Credentials"]["AccessKeyId"])
    assert session is not None and session.role_session is not None
    assert (session.role_session.source_identity, dict(session.role_session.tags), session.transitive_tag_keys,
            session.role_session.assumed_by_arn, session.expires_s - session.created_s) == (
        "alice", {"team": "ops"}, ("team",), outer_arn, 3600)
    # a role session may not call GetSessionToken; a role that does not trust the session refuses it
    assert error_of(sts.get_session_token) == ("AccessDenied", "Cannot call GetSessionToken with session credentials",
                                               403)
    assert error_of(sts.assume_role, RoleArn=first.arn, RoleSessionName="again") == denied(outer_arn, first.arn)


def test_expired_forged_and_deleted_role(srv: StsServer) -> None:
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT))
    credentials = assume(srv, role.arn, DurationSeconds=900)["Credentials"]
    sts_of = srv.client
    forged = dict(credentials, SessionToken=credentials["SessionToken"][:-4] + "AAAA")
    assert error_of(sts_of("sts", credentials=forged).get_caller_identity) == ("InvalidClientTokenId", INVALID, 400)
    other = assume(srv, role.arn, name="other")["Credentials"]
    swapped = dict(credentials, SessionToken=other["SessionToken"])
    assert error_of(sts_of("sts", credentials=swapped).get_caller_identity) == ("InvalidClientTokenId", INVALID, 400)
    # the role is deleted: the session keeps working until it expires, as on AWS
    srv.iam.delete_role(ACCOUNT, "ci")
    assert sts_of("sts", credentials=credentials).get_caller_identity()["Arn"].endswith("/ci/build-42")
    session = srv.accounts.sessions.describe(credentials["AccessKeyId"])
    assert session is not None
    srv.clock.offset = session.expires_s - srv.clock() + srv.clock.offset + 1
    with signing_on_server_time(srv):
        assert error_of(sts_of("sts", credentials=credentials).get_caller_identity) == ("ExpiredToken", EXPIRED, 400)
        code, message, status = error_of(sts_of("logs", credentials=credentials).describe_log_groups)
        assert (code, message, status) == ("ExpiredTokenException", EXPIRED, 400)


def ingest_status(srv: StsServer, credentials: dict[str, Any]) -> tuple[int, str | None]:
    body = b'{"Records": []}'
    request = AWSRequest(method="POST", url=srv.url + "/_opentrail/ingest", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]),
              "opentrail", "us-east-1").add_auth(request)
    prepared = request.prepare()
    r = httpx.post(prepared.url, content=body, headers=dict(prepared.headers))
    return r.status_code, r.json().get("__type")


def test_ingest_endpoint_keeps_its_admin_account_rule_for_role_sessions(srv: StsServer) -> None:
    admin_role = srv.iam.add_role(ACCOUNT, "ingest", trust(ACCOUNT))
    assert ingest_status(srv, assume(srv, admin_role.arn)["Credentials"]) == (200, None)
    srv.accounts.create_account(OTHER)
    other_role = srv.iam.add_role(OTHER, "ingest", trust(ACCOUNT))
    assert ingest_status(srv, assume(srv, other_role.arn)["Credentials"]) == (400, "AccessDeniedException")
