"""Policy evaluation: exact decisions for the cases of the IAM User Guide's evaluation-logic pages,
escalation attempts, global condition keys, and AWS's access-denied messages."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.access import (
    BOUNDARY, IDENTITY, RCP, RESOURCE, SCP, SESSION, CompiledPolicySet, Decision, PolicySet,
    Principal, Request, denial_message, evaluate, parse_policy,
)
from opentrail.access.policy_document import Policy

A, B = "111122223333", "444455556666"
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)
TRAIL = f"arn:aws:cloudtrail:us-east-1:{A}:trail/prod"
TRAIL_B = f"arn:aws:cloudtrail:us-east-1:{B}:trail/shared"

ALICE = Principal.user(A, "alice", userid="AIDAEXAMPLEALICE", tags={"Team": "ops"}, org_id="o-exampleorg1")
SESSION_P = Principal.role_session(A, "Auditor", "s1", userid="AROAEXAMPLEAUD:s1", org_id="o-exampleorg1")
ROOT = Principal.root(A)
ROLE_ARN = f"arn:aws:iam::{A}:role/Auditor"
SESSION_ARN = f"arn:aws:sts::{A}:assumed-role/Auditor/s1"


def pol(*statements: dict[str, Any], kind: Any = "identity", name: str | None = None) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, kind, name)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def res_allow(principal: Any, action: Any = "cloudtrail:*", **extra: Any) -> Policy:
    return pol({"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}, kind="resource")


FULL_ACCESS = pol(allow("*"), kind="scp", name="FullAWSAccess")
RCP_FULL = pol({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}, kind="rcp")


def decide(principal: Principal, action: str, resources: tuple[str, ...] = (TRAIL,), req: dict[str, Any] | None = None,
           **policies: Any) -> tuple[str, str | None, str | None]:
    d = evaluate(Request(principal, action, NOW, resources, **(req or {})), PolicySet(**policies))
    return d.effect, d.policy_type, d.sid


ID_CT = pol({"Sid": "CT", **allow("cloudtrail:*")})

CASES: list[tuple[str, Principal, str, dict[str, Any], tuple[str, str | None, str | None]]] = [
    ("default deny", ALICE, "cloudtrail:GetTrail", {}, ("ImplicitDeny", IDENTITY, None)),
    ("identity allow", ALICE, "cloudtrail:GetTrail", {"identity": (ID_CT,)}, ("Allow", IDENTITY, "CT")),
    ("explicit deny wins", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT, pol({"Sid": "NoDelete", **deny("cloudtrail:Delete*")}))}, ("ExplicitDeny", IDENTITY, "NoDelete")),
    # wildcards that must not over-match
    ("exact action is not a prefix", ALICE, "cloudtrail:GetTrailStatus",
     {"identity": (pol(allow("cloudtrail:GetTrail")),)}, ("ImplicitDeny", IDENTITY, None)),
    ("Get* covers GetTrailStatus", ALICE, "cloudtrail:GetTrailStatus",
     {"identity": (pol(allow("cloudtrail:Get*")),)}, ("Allow", IDENTITY, None)),
    ("Get* does not cover Describe", ALICE, "cloudtrail:DescribeTrails",
     {"identity": (pol(allow("cloudtrail:Get*")),)}, ("ImplicitDeny", IDENTITY, None)),
    ("service prefix is exact", ALICE, "cloudtrail-data:PutAuditEvents",
     {"identity": (ID_CT,)}, ("ImplicitDeny", IDENTITY, None)),
    ("? is one character", ALICE, "cloudtrail:GetTrailStatus",
     {"identity": (pol(allow("cloudtrail:GetTrail?")),)}, ("ImplicitDeny", IDENTITY, None)),
    # case rules: actions case-insensitive, ARNs case-sensitive
    ("action case", ALICE, "CloudTrail:describetrails", {"identity": (pol(allow("cloudtrail:DescribeTrails")),)},
     ("Allow", IDENTITY, None)),
    ("ARN case", ALICE, "cloudtrail:GetTrail", {"identity": (pol(allow("cloudtrail:*", TRAIL.replace("prod", "Prod"))),)},
     ("ImplicitDeny", IDENTITY, None)),
    ("ARN: a * ending a segment crosses colons", ALICE, "cloudtrail:GetTrail",
     {"identity": (pol(allow("cloudtrail:*", "arn:aws:cloudtrail:us-east-1:*")),)}, ("Allow", IDENTITY, None)),
    ("ARN: other account", ALICE, "cloudtrail:GetTrail",
     {"identity": (pol(allow("cloudtrail:*", f"arn:aws:cloudtrail:*:{B}:*")),)}, ("ImplicitDeny", IDENTITY, None)),
    ("ARN: an inner * stays in its segment", ALICE, "cloudtrail:GetTrail",
     {"identity": (pol(allow("cloudtrail:*", "arn:aws:cloudtrail:us*3:trail/prod")),)}, ("ImplicitDeny", IDENTITY, None)),
    ("ARN wildcard in the resource part", ALICE, "cloudtrail:GetTrail",
     {"identity": (pol(allow("cloudtrail:*", "arn:aws:cloudtrail:*:*:trail/*")),)}, ("Allow", IDENTITY, None)),
    # NotAction / NotResource
    ("Deny NotAction denies the rest", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (pol(allow("*"), {"Sid": "ReadOnly", "Effect": "Deny", "NotAction": ["cloudtrail:Describe*", "cloudtrail:Get*"], "Resource": "*"}),)},
     ("ExplicitDeny", IDENTITY, "ReadOnly")),
    ("Deny NotAction spares the listed", ALICE, "cloudtrail:GetTrail",
     {"identity": (pol(allow("*"), {"Effect": "Deny", "NotAction": ["cloudtrail:Describe*", "cloudtrail:Get*"], "Resource": "*"}),)},
     ("Allow", IDENTITY, None)),
    ("Allow NotAction does not grant the listed", ALICE, "iam:CreateUser",
     {"identity": (pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),)}, ("ImplicitDeny", IDENTITY, None)),
    ("Allow NotAction grants the others", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),)}, ("Allow", IDENTITY, None)),
    ("Deny NotResource", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT, pol({"Effect": "Deny", "Action": "cloudtrail:*", "NotResource": TRAIL_B}))}, ("ExplicitDeny", IDENTITY, None)),
    # SCP chains
    ("SCP every level allows", ALICE, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "scps": ((FULL_ACCESS,), (pol({"Sid": "OU", **allow("cloudtrail:*")}, kind="scp"),))}, ("Allow", IDENTITY, "CT")),
    ("SCP one level lacks allow", ALICE, "s3:GetObject",
     {"identity": (pol(allow("*")),), "scps": ((FULL_ACCESS,), (pol(allow("cloudtrail:*"), kind="scp"),))}, ("ImplicitDeny", SCP, None)),
    ("SCP explicit deny", ALICE, "cloudtrail:StopLogging",
     {"identity": (ID_CT,), "scps": ((FULL_ACCESS, pol({"Sid": "KeepLogging", **deny("cloudtrail:StopLogging")}, kind="scp")),)},
     ("ExplicitDeny", SCP, "KeepLogging")),
    ("SCP deny reported before identity deny", ALICE, "cloudtrail:StopLogging",
     {"identity": (pol(deny("*")),), "scps": ((pol(deny("cloudtrail:*"), kind="scp"),),)}, ("ExplicitDeny", SCP, None)),
    # root
    ("root without policies", ROOT, "cloudtrail:DeleteTrail", {}, ("Allow", None, None)),
    ("root ignores identity policies", ROOT, "cloudtrail:DeleteTrail", {"identity": (pol(deny("*")),)}, ("Allow", None, None)),
    ("root in a member account: SCP deny", ROOT, "cloudtrail:StopLogging",
     {"scps": ((FULL_ACCESS, pol(deny("cloudtrail:StopLogging"), kind="scp")),)}, ("ExplicitDeny", SCP, None)),
    ("root in a member account: SCP lacks allow", ROOT, "cloudtrail:StopLogging",
     {"scps": ((pol(allow("s3:*"), kind="scp"),),)}, ("ImplicitDeny", SCP, None)),
    # permissions boundary and session policies
    ("boundary lacks allow", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT,), "boundary": pol(allow("cloudtrail:Describe*"))}, ("ImplicitDeny", BOUNDARY, None)),
    ("boundary allows", ALICE, "cloudtrail:DescribeTrails",
     {"identity": (ID_CT,), "boundary": pol(allow("cloudtrail:Describe*"))}, ("Allow", IDENTITY, "CT")),
    ("boundary does not grant", ALICE, "cloudtrail:DescribeTrails",
     {"boundary": pol(allow("*"))}, ("ImplicitDeny", IDENTITY, None)),
    ("boundary explicit deny", ALICE, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT,), "boundary": pol(allow("*"), deny("cloudtrail:Delete*"))}, ("ExplicitDeny", BOUNDARY, None)),
    ("session policy lacks allow", SESSION_P, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT,), "session": (pol(allow("cloudtrail:Get*")),)}, ("ImplicitDeny", SESSION, None)),
    ("session policies are one set", SESSION_P, "cloudtrail:DeleteTrail",
     {"identity": (ID_CT,), "session": (pol(allow("cloudtrail:Get*")), pol(allow("cloudtrail:Delete*")))}, ("Allow", IDENTITY, "CT")),
    ("session policy explicit deny", SESSION_P, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "session": (pol(deny("*")),)}, ("ExplicitDeny", SESSION, None)),
    # resource-based policies, same account
    ("resource names the user: no identity policy needed", ALICE, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": ALICE.arn}), "boundary": pol(allow("s3:*"))}, ("Allow", RESOURCE, None)),
    ("resource names the role: session policy still applies", SESSION_P, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": ROLE_ARN}), "session": (pol(allow("s3:*")),)}, ("ImplicitDeny", SESSION, None)),
    ("resource names the role: stands in for identity", SESSION_P, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": ROLE_ARN})}, ("Allow", RESOURCE, None)),
    ("resource names the session: not limited", SESSION_P, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": SESSION_ARN}), "session": (pol(allow("s3:*")),), "boundary": pol(allow("s3:*"))},
     ("Allow", RESOURCE, None)),
    ("resource names the account: identity must allow", ALICE, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": A})}, ("ImplicitDeny", IDENTITY, None)),
    ("resource names someone else", ALICE, "cloudtrail:GetTrail",
     {"resource": res_allow({"AWS": f"arn:aws:iam::{A}:user/bob"})}, ("ImplicitDeny", IDENTITY, None)),
    ("resource explicit deny", ALICE, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "resource": pol({"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}, kind="resource")},
     ("ExplicitDeny", RESOURCE, "D")),
    ("resource deny for another principal does not apply", ALICE, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "resource": pol({"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{A}:user/bob"}, "Action": "*", "Resource": "*"}, kind="resource")},
     ("Allow", IDENTITY, "CT")),
    ("NotPrincipal deny spares the named user", ALICE, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "resource": pol({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE.arn}, "Action": "*", "Resource": "*"}, kind="resource")},
     ("Allow", IDENTITY, "CT")),
    ("NotPrincipal needs role and session ARN", SESSION_P, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "resource": pol({"Effect": "Deny", "NotPrincipal": {"AWS": SESSION_ARN}, "Action": "*", "Resource": "*"}, kind="resource")},
     ("ExplicitDeny", RESOURCE, None)),
    ("NotPrincipal with role and session ARN", SESSION_P, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "resource": pol({"Effect": "Deny", "NotPrincipal": {"AWS": [SESSION_ARN, ROLE_ARN]}, "Action": "*", "Resource": "*"}, kind="resource")},
     ("Allow", IDENTITY, "CT")),
    # RCPs
    ("RCP deny", ALICE, "cloudtrail:GetTrail",
     {"identity": (ID_CT,), "rcps": ((RCP_FULL, pol({"Sid": "TLS", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, kind="rcp")),)},
     ("ExplicitDeny", RCP, "TLS")),
]


@pytest.mark.parametrize("name, principal, action, policies, expected", CASES, ids=[c[0] for c in CASES])
def test_decisions(name: str, principal: Principal, action: str, policies: dict[str, Any], expected: tuple[str, str | None, str | None]) -> None:
    assert decide(principal, action, req={"secure_transport": False}, **policies) == expected


CROSS = [
    ("identity only", {"identity": (ID_CT,)}, ("ImplicitDeny", RESOURCE, None)),
    ("resource only", {"resource": res_allow({"AWS": A})}, ("ImplicitDeny", IDENTITY, None)),
    ("both, resource names the account", {"identity": (ID_CT,), "resource": res_allow({"AWS": A})}, ("Allow", IDENTITY, "CT")),
    ("both, resource names the user", {"identity": (ID_CT,), "resource": res_allow({"AWS": ALICE.arn})}, ("Allow", IDENTITY, "CT")),
    ("both but boundary lacks allow", {"identity": (ID_CT,), "resource": res_allow({"AWS": A}), "boundary": pol(allow("s3:*"))},
     ("ImplicitDeny", BOUNDARY, None)),
    ("resource names another account", {"identity": (ID_CT,), "resource": res_allow({"AWS": "999988887777"})}, ("ImplicitDeny", RESOURCE, None)),
]


@pytest.mark.parametrize("name, policies, expected", CROSS, ids=[c[0] for c in CROSS])
def test_cross_account(name: str, policies: dict[str, Any], expected: tuple[str, str | None, str | None]) -> None:
    assert decide(ALICE, "cloudtrail:GetTrail", (TRAIL_B,), {"resource_account": B}, **policies) == expected


def test_cross_account_root_needs_resource_policy() -> None:
    assert decide(ROOT, "cloudtrail:GetTrail", (TRAIL_B,), {"resource_account": B}) == ("ImplicitDeny", RESOURCE, None)
    assert decide(ROOT, "cloudtrail:GetTrail", (TRAIL_B,), {"resource_account": B}, resource=res_allow({"AWS": A})) == ("Allow", RESOURCE, None)


def test_policy_variables_in_resource() -> None:
    p = pol(allow("cloudtrail:*", f"arn:aws:cloudtrail:*:{A}:trail/${{aws:username}}-*"))
    mine, theirs = f"arn:aws:cloudtrail:us-east-1:{A}:trail/alice-1", f"arn:aws:cloudtrail:us-east-1:{A}:trail/bob-1"
    assert decide(ALICE, "cloudtrail:GetTrail", (mine,), identity=(p,))[0] == "Allow"
    assert decide(ALICE, "cloudtrail:GetTrail", (theirs,), identity=(p,))[0] == "ImplicitDeny"
    # a role session has no aws:username: the pattern matches nothing
    assert decide(SESSION_P, "cloudtrail:GetTrail", (f"arn:aws:cloudtrail:us-east-1:{A}:trail/-1",), identity=(p,))[0] == "ImplicitDeny"


def test_substituted_values_are_not_wildcards() -> None:
    starry = Principal.user(A, "eve", tags={"team": "*"})
    p = pol(allow("cloudtrail:*", f"arn:aws:cloudtrail:*:{A}:trail/${{aws:PrincipalTag/team}}"))
    assert decide(starry, "cloudtrail:GetTrail", (TRAIL,), identity=(p,))[0] == "ImplicitDeny"
    assert decide(starry, "cloudtrail:GetTrail", (f"arn:aws:cloudtrail:us-east-1:{A}:trail/*",), identity=(p,))[0] == "Allow"


def test_every_resource_must_be_allowed() -> None:
    p = pol(allow("cloudtrail:*", TRAIL))
    d = evaluate(Request(ALICE, "cloudtrail:AddTags", NOW, (TRAIL, TRAIL_B)), PolicySet(identity=(p,)))
    assert (d.effect, d.resource) == ("ImplicitDeny", TRAIL_B)


def cond_allow(block: dict[str, Any]) -> PolicySet:
    return PolicySet(identity=(pol(allow("cloudtrail:*", Condition=block)),))


GLOBAL_KEYS = [
    # (principal, condition, request fields, allowed?)
    (ALICE, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"source_ip": "203.0.113.9"}, True),
    (ALICE, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"source_ip": "198.51.100.9"}, False),
    (ALICE, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {}, False),
    (ALICE, {"DateLessThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"}}, {}, True),
    (ALICE, {"DateGreaterThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"}}, {}, False),
    (ALICE, {"NumericLessThan": {"aws:EpochTime": "1796230801"}}, {}, True),
    (ALICE, {"DateLessThan": {"aws:EpochTime": "2026-12-02T16:59:59Z"}}, {}, False),
    (ALICE, {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}, {"requested_region": "eu-west-1"}, True),
    (ALICE, {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}, {"requested_region": "us-east-1"}, False),
    (ALICE, {"Bool": {"aws:SecureTransport": "true"}}, {"secure_transport": True}, True),
    (ALICE, {"Bool": {"aws:SecureTransport": "true"}}, {"secure_transport": False}, False),
    (ALICE, {"StringEquals": {"aws:PrincipalArn": ALICE.arn}}, {}, True),
    (SESSION_P, {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/Aud*"}}, {}, True),  # the role's ARN
    (ALICE, {"StringEquals": {"aws:PrincipalAccount": A}}, {}, True),
    (ALICE, {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}}, {}, True),
    (Principal.user(A, "bob"), {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}}, {}, False),
    (ALICE, {"StringEquals": {"aws:PrincipalTag/team": "ops"}}, {}, True),  # tag keys in any case
    (ALICE, {"StringEquals": {"aws:PrincipalTag/Team": "OPS"}}, {}, False),
    (ALICE, {"StringEquals": {"aws:username": "alice"}}, {}, True),
    (SESSION_P, {"StringEquals": {"aws:username": "alice"}}, {}, False),
    (ALICE, {"StringEquals": {"aws:userid": "AIDAEXAMPLEALICE"}}, {}, True),
    (SESSION_P, {"StringLike": {"aws:userid": "AROAEXAMPLEAUD:*"}}, {}, True),
    (ALICE, {"StringEquals": {"aws:PrincipalType": "User"}}, {}, True),
    (SESSION_P, {"StringEquals": {"aws:PrincipalType": "AssumedRole"}}, {}, True),
    (ALICE, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"mfa_present": True}, True),
    (ALICE, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}, False),
    (ALICE, {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"mfa_present": True, "mfa_age_s": 120}, True),
    (SESSION_P, {"DateGreaterThan": {"aws:TokenIssueTime": "2026-12-02T16:00:00Z"}}, {"token_issue_time": datetime(2026, 12, 2, 16, 30, tzinfo=timezone.utc)}, True),
    (ALICE, {"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    (ALICE, {"StringEquals": {"aws:ResourceTag/env": "prod"}}, {"context": {"aws:ResourceTag/env": "prod"}}, True),
    (ALICE, {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, {"context": {"aws:TagKeys": ["env"]}}, True),
    (ALICE, {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}, {"context": {"aws:TagKeys": ["env", "cost"]}}, False),
]


@pytest.mark.parametrize("principal, block, fields, allowed", GLOBAL_KEYS)
def test_global_condition_keys(principal: Principal, block: dict[str, Any], fields: dict[str, Any], allowed: bool) -> None:
    d = evaluate(Request(principal, "cloudtrail:GetTrail", NOW, (TRAIL,), **fields), cond_allow(block))
    assert d.allowed is allowed


def test_mfa_deny_with_ifexists_denies_long_term_keys() -> None:
    # The guide's warning: BoolIfExists false is true when the key is missing (long-term keys).
    ps = PolicySet(identity=(ID_CT, pol({"Sid": "MFA", **deny("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})})))
    results = [evaluate(Request(ALICE, "cloudtrail:GetTrail", NOW, (TRAIL,), mfa_present=m), ps).effect for m in (None, False, True)]
    assert results == ["ExplicitDeny", "ExplicitDeny", "Allow"]


def message(principal: Principal, action: str, resources: tuple[str, ...], **policies: Any) -> str:
    r = Request(principal, action, NOW, resources)
    return denial_message(r, evaluate(r, PolicySet(**policies)))


MESSAGES = [
    ({}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} because no identity-based policy allows the cloudtrail:DeleteTrail action"),
    ({"identity": (pol(deny("*")),)}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in an identity-based policy"),
    ({"identity": (ID_CT,), "scps": ((pol(deny("*"), kind="scp"),),)}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a service control policy"),
    ({"identity": (ID_CT,), "scps": ((pol(allow("s3:*"), kind="scp"),),)}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} because no service control policy allows the cloudtrail:DeleteTrail action"),
    ({"identity": (ID_CT,), "boundary": pol(allow("s3:*"))}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} because no permissions boundary allows the cloudtrail:DeleteTrail action"),
    ({"identity": (ID_CT,), "boundary": pol(deny("*"))}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a permissions boundary"),
    ({"identity": (ID_CT,), "session": (pol(allow("s3:*")),)}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} because no session policy allows the cloudtrail:DeleteTrail action"),
    ({"identity": (ID_CT,), "session": (pol(deny("*")),)}, f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a session policy"),
    ({"identity": (ID_CT,), "resource": pol({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}, kind="resource")},
     f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a resource-based policy"),
    ({"identity": (ID_CT,), "rcps": ((pol({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}, kind="rcp"),),)},
     f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a resource control policy"),
]


@pytest.mark.parametrize("policies, expected", MESSAGES)
def test_denial_messages(policies: dict[str, Any], expected: str) -> None:
    assert message(ALICE, "cloudtrail:DeleteTrail", (TRAIL,), **policies) == expected


def test_denial_message_without_resource_and_for_sessions() -> None:
    assert message(SESSION_P, "cloudtrail:DescribeTrails", ("*",)) == (
        f"User: {SESSION_ARN} is not authorized to perform: cloudtrail:DescribeTrails because no identity-based policy allows the cloudtrail:DescribeTrails action")
    r = Request(ALICE, "cloudtrail:GetTrail", NOW, (TRAIL_B,), resource_account=B)
    assert denial_message(r, evaluate(r, PolicySet(identity=(ID_CT,)))) == (
        f"User: {ALICE.arn} is not authorized to perform: cloudtrail:GetTrail on resource: {TRAIL_B} because no resource-based policy allows the cloudtrail:GetTrail action")


def test_denial_message_with_policy_arn() -> None:
    scp = pol(deny("*"), kind="scp", name="arn:aws:organizations::999988887777:policy/o-exampleorg1/service_control_policy/p-2kgnabcd")
    r = Request(ALICE, "cloudtrail:DeleteTrail", NOW, (TRAIL,))
    d = evaluate(r, PolicySet(identity=(ID_CT,), scps=((scp,),)))
    assert denial_message(r, d, with_policy_arn=True) == (
        f"User: {ALICE.arn} is not authorized to perform: cloudtrail:DeleteTrail on resource: {TRAIL} with an explicit deny in a service control policy: {scp.name}")


def test_compiled_set_is_reused_and_bounded() -> None:
    compiled = CompiledPolicySet(PolicySet(identity=(ID_CT, pol(deny("cloudtrail:Delete*")))), max_actions=2)
    r = Request(ALICE, "cloudtrail:GetTrail", NOW, (TRAIL,))
    first = evaluate(r, compiled)
    view = compiled.view("CLOUDTRAIL:GetTrail")
    assert evaluate(r, compiled) == first and compiled.view("cloudtrail:gettrail") is view
    assert evaluate(Request(ALICE, "cloudtrail:DeleteTrail", NOW, (TRAIL,)), compiled).effect == "ExplicitDeny"
    evaluate(Request(ALICE, "cloudtrail:StopLogging", NOW, (TRAIL,)), compiled)
    assert len(compiled._views) <= 2
    assert isinstance(first, Decision) and first.effect == "Allow"


def test_rcp_level_without_allow() -> None:
    rcp = pol({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}, kind="rcp")
    assert decide(ALICE, "cloudtrail:GetTrail", identity=(ID_CT,), rcps=((rcp,),)) == ("ImplicitDeny", RCP, None)


POOL = [
    allow("cloudtrail:*"), allow("cloudtrail:Get*", TRAIL), deny("cloudtrail:Delete*"),
    {"Effect": "Deny", "NotAction": "cloudtrail:Describe*", "Resource": "*"},
    allow("*", Condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}}),
    deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    allow("cloudtrail:*", f"arn:aws:cloudtrail:*:{A}:trail/${{aws:username}}"),
    {"Effect": "Allow", "NotAction": "iam:*", "NotResource": TRAIL_B},
]
ACTIONS = ["cloudtrail:GetTrail", "cloudtrail:DeleteTrail", "cloudtrail:DescribeTrails", "iam:CreateUser", "s3:GetObject"]


def test_properties_over_combinations() -> None:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=4), max_size=3),
           st.sampled_from(ACTIONS), st.booleans())
    def check(groups: list[list[dict[str, Any]]], action: str, tls: bool) -> None:
        identity = tuple(pol(*g) for g in groups)
        r = Request(ALICE, action, NOW, (TRAIL,), secure_transport=tls)
        plain = evaluate(r, PolicySet(identity=identity))
        compiled = CompiledPolicySet(PolicySet(identity=identity))
        assert evaluate(r, compiled) == plain == evaluate(r, compiled)  # the index changes nothing
        with_deny = evaluate(r, PolicySet(identity=(*identity, pol(deny("*")))))
        assert with_deny.effect == "ExplicitDeny"  # a deny-all always wins
        if plain.effect == "ExplicitDeny":  # adding policies never lifts an explicit deny
            assert evaluate(r, PolicySet(identity=(pol(allow("*")), *identity))).effect == "ExplicitDeny"

    check()
