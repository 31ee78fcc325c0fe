"""IAM policies enforced on real calls: boto3 against a server with the in-memory IAM directory."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.authorization.conftest import ACCOUNT, BUCKET, FULL, READ_ONLY_ARN, AuthServer

USER = f"arn:aws:iam::{ACCOUNT}:user"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def denied(call: Any, **kw: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        call(**kw)
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def make_trail(srv: AuthServer, name: str = "prod") -> None:
    srv.client(srv.root).create_trail(Name=name, S3BucketName=BUCKET)


def test_auditor_reads_but_cannot_change(srv: AuthServer) -> None:
    make_trail(srv)
    ct = srv.client(srv.user("auditor", attach=(READ_ONLY_ARN,)))
    assert ct.lookup_events(MaxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["prod"]
    assert ct.get_trail_status(Name="prod")["IsLogging"] is False
    assert denied(ct.create_trail, Name="t2", S3BucketName=BUCKET) == (
        "AccessDeniedException",
        f"User: {USER}/auditor is not authorized to perform: cloudtrail:CreateTrail on resource: {TRAIL}/t2"
        " because no identity-based policy allows the cloudtrail:CreateTrail action", 400)
    assert denied(ct.stop_logging, Name="prod")[1] == (
        f"User: {USER}/auditor is not authorized to perform: cloudtrail:StopLogging on resource: {TRAIL}/prod"
        " because no identity-based policy allows the cloudtrail:StopLogging action")
    assert [t["Name"] for t in srv.client(srv.root).describe_trails()["trailList"]] == ["prod"]


def test_denied_call_is_in_event_history(srv: AuthServer) -> None:
    ct = srv.client(srv.user("auditor", attach=(READ_ONLY_ARN,)))
    message = denied(ct.delete_trail, Name="prod")[1]
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteTrail"}])
    record = json.loads(events["Events"][0]["CloudTrailEvent"])
    assert (record["errorCode"], record["errorMessage"]) == ("AccessDeniedException", message)
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["arn"] == f"{USER}/auditor"
    assert record["requestParameters"] == {"name": "prod"}
    assert record["responseElements"] is None


def test_explicit_deny_on_stop_logging(srv: AuthServer) -> None:
    make_trail(srv)
    deny = doc({"Effect": "Allow", "Action": "*", "Resource": "*"},
               {"Sid": "NoStop", "Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"})
    ct = srv.client(srv.user("ops", documents={"ops": deny}))
    ct.start_logging(Name="prod")
    assert denied(ct.stop_logging, Name="prod")[1] == (
        f"User: {USER}/ops is not authorized to perform: cloudtrail:StopLogging on resource: {TRAIL}/prod"
        " with an explicit deny in an identity-based policy")
    assert srv.client(srv.root).get_trail_status(Name="prod")["IsLogging"] is True


def test_not_action_with_deny(srv: AuthServer) -> None:
    policy = doc({"Effect": "Allow", "Action": "*", "Resource": "*"},
                 {"Effect": "Deny", "NotAction": ["cloudtrail:LookupEvents", "cloudtrail:Describe*"], "Resource": "*"})
    ct = srv.client(srv.user("narrow", documents={"p": policy}))
    ct.lookup_events(MaxResults=1)
    ct.describe_trails()
    code, message, _ = denied(ct.list_trails)
    assert (code, message) == ("AccessDeniedException", f"User: {USER}/narrow is not authorized to perform:"
                               " cloudtrail:ListTrails with an explicit deny in an identity-based policy")


def test_wildcards_do_not_over_match(srv: AuthServer) -> None:
    make_trail(srv)
    exact = srv.client(srv.user("exact", documents={"p": doc(
        {"Effect": "Allow", "Action": "cloudtrail:GetTrail", "Resource": "*"})}))
    assert exact.get_trail(Name="prod")["Trail"]["Name"] == "prod"
    assert denied(exact.get_trail_status, Name="prod")[0] == "AccessDeniedException"
    prefix = srv.client(srv.user("prefix", documents={"p": doc(
        {"Effect": "Allow", "Action": "cloudtrail:Get*", "Resource": "*"})}))
    assert prefix.get_trail_status(Name="prod")["IsLogging"] is False
    assert denied(prefix.describe_trails)[0] == "AccessDeniedException"


def test_actions_ignore_case_arns_do_not(srv: AuthServer) -> None:
    make_trail(srv)
    make_trail(srv, "Prod")
    ct = srv.client(srv.user("cased", documents={"p": doc(
        {"Effect": "Allow", "Action": "CLOUDTRAIL:getTRAILstatus", "Resource": f"{TRAIL}/prod"})}))
    assert ct.get_trail_status(Name="prod")["IsLogging"] is False
    assert denied(ct.get_trail_status, Name="Prod")[1] == (
        f"User: {USER}/cased is not authorized to perform: cloudtrail:GetTrailStatus on resource: {TRAIL}/Prod"
        " because no identity-based policy allows the cloudtrail:GetTrailStatus action")
    # a trail named by ARN is the same resource
    assert ct.get_trail_status(Name=f"{TRAIL}/prod")["IsLogging"] is False


def test_permissions_boundary_limits(srv: AuthServer) -> None:
    key = srv.user("bounded", documents={"all": FULL})
    srv.iam.set_boundary(ACCOUNT, READ_ONLY_ARN, user="bounded")
    ct = srv.client(key)
    ct.describe_trails()
    assert denied(ct.create_trail, Name="x", S3BucketName=BUCKET)[1] == (
        f"User: {USER}/bounded is not authorized to perform: cloudtrail:CreateTrail on resource: {TRAIL}/x"
        " because no permissions boundary allows the cloudtrail:CreateTrail action")


def test_policy_change_takes_effect_at_once(srv: AuthServer) -> None:
    ct = srv.client(srv.user("late"))
    assert denied(ct.describe_trails)[0] == "AccessDeniedException"
    srv.iam.attach(ACCOUNT, READ_ONLY_ARN, user="late")
    assert ct.describe_trails()["trailList"] == []


def test_user_with_a_path(srv: AuthServer) -> None:
    ct = srv.client(srv.user("pathed", path="/audit/team/"))
    assert denied(ct.list_trails)[1] == (
        f"User: {USER}/audit/team/pathed is not authorized to perform: cloudtrail:ListTrails"
        " because no identity-based policy allows the cloudtrail:ListTrails action")


def test_query_services_answer_access_denied_403(srv: AuthServer) -> None:
    key = srv.user("nobody")
    code, message, status = denied(srv.client(key, "cloudwatch").describe_alarms, AlarmNames=["high-cpu"])
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f"User: {USER}/nobody is not authorized to perform: cloudwatch:DescribeAlarms on resource:"
                       f" arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:high-cpu because no identity-based policy"
                       " allows the cloudwatch:DescribeAlarms action")
    code, message, status = denied(srv.client(key, "sts").get_session_token)
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith("sts:GetSessionToken because no identity-based policy allows the sts:GetSessionToken action")
    code, _, status = denied(srv.client(key, "logs").describe_log_groups)
    assert (code, status) == ("AccessDeniedException", 400)


def test_get_caller_identity_is_never_denied(srv: AuthServer) -> None:
    key = srv.user("denyall", documents={"p": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})})
    assert srv.client(key, "sts").get_caller_identity()["Arn"] == f"{USER}/denyall"


def test_keys_of_users_unknown_to_iam_keep_working(srv: AuthServer) -> None:
    legacy = srv.accounts.create_access_key(ACCOUNT, "legacy-bot")
    ct = srv.client(legacy)
    ct.create_trail(Name="legacy", S3BucketName=BUCKET)
    ct.stop_logging(Name="legacy")


def test_root_keys_skip_identity_policies(srv: AuthServer) -> None:
    ct = srv.client(srv.root)
    ct.create_trail(Name="rooted", S3BucketName=BUCKET)
    ct.delete_trail(Name="rooted")


def _member_with_scp(srv: AuthServer) -> tuple[Any, str]:
    org = srv.client(srv.root, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="dev@example.com", AccountName="dev")["CreateAccountStatus"]["AccountId"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    scp = org.create_policy(Name="no-stop", Description="", Type="SERVICE_CONTROL_POLICY", Content=doc(
        {"Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"}))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=member)
    org.attach_policy(PolicyId=scp, TargetId=ACCOUNT)  # the management account: no effect
    return org, member


def test_scp_applies_to_member_root_but_not_management(srv: AuthServer) -> None:
    _, member = _member_with_scp(srv)
    member_ct = srv.client(srv.accounts.create_access_key(member))
    member_ct.create_trail(Name="dev", S3BucketName=BUCKET)
    assert denied(member_ct.stop_logging, Name="dev")[1] == (
        f"User: arn:aws:iam::{member}:root is not authorized to perform: cloudtrail:StopLogging on resource:"
        f" arn:aws:cloudtrail:us-east-1:{member}:trail/dev with an explicit deny in a service control policy")
    mgmt = srv.client(srv.root)
    mgmt.create_trail(Name="main", S3BucketName=BUCKET)
    mgmt.start_logging(Name="main")
    mgmt.stop_logging(Name="main")


def test_scp_applies_to_member_iam_users(srv: AuthServer) -> None:
    _, member = _member_with_scp(srv)
    ct = srv.client(srv.user("admin", account=member, documents={"all": FULL}))
    ct.create_trail(Name="dev", S3BucketName=BUCKET)
    assert denied(ct.stop_logging, Name="dev")[1].endswith("with an explicit deny in a service control policy")


def test_log_only_allows_and_logs(log_only: AuthServer, caplog: pytest.LogCaptureFixture) -> None:
    ct = log_only.client(log_only.user("auditor", attach=(READ_ONLY_ARN,)))
    with caplog.at_level(logging.WARNING, logger="opentrail.authorization"):
        ct.create_trail(Name="tlo", S3BucketName=BUCKET)
    assert [r.getMessage() for r in caplog.records if r.name == "opentrail.authorization"] == [
        "iam-enforcement log-only: allowed a call that would be denied: "
        f"User: {USER}/auditor is not authorized to perform: cloudtrail:CreateTrail on resource: {TRAIL}/tlo"
        " because no identity-based policy allows the cloudtrail:CreateTrail action"]
    assert log_only.records("CreateTrail")[0].get("errorCode") is None
