"""STS AssumeRole: request (the JSON form of ``AssumeRoleRequest``) -> trust check
(:mod:`opentrail.sts.trust`) -> a role session (:class:`opentrail.sts.sessions.SessionStore`) ->
``{Credentials, AssumedRoleUser, PackedPolicySize?, SourceIdentity?}`` (STS API reference,
"AssumeRole").

Rules, in the order they are checked (the model's own constraints -- RoleSessionName 2..64
``[\\w+=,.@-]*``, DurationSeconds 900..43200, at most 50 Tags -- are checked before, by the
operation table's validation):

- SerialNumber/TokenCode: opentrail has no MFA devices -> AccessDenied "MultiFactorAuthentication
  failed, unable to validate MFA code." (as GetSessionToken; opentrail's wording);
- RoleArn not ``arn:aws:iam::<12 digits>:role/<path/>name`` -> ValidationError "<arn> is invalid"
  (opentrail's wording);
- the role does not exist, or the caller may not assume it -> AccessDenied "User: <caller ARN> is
  not authorized to perform: sts:AssumeRole on resource: <role ARN>" (AWS's text; AWS does not
  say whether the role exists). With Tags (or transitive tags passed on by role chaining) the trust
  policy must also allow ``sts:TagSession``, with a SourceIdentity ``sts:SetSourceIdentity``;
- DurationSeconds (default 3600) above the role's MaxSessionDuration -> ValidationError "The
  requested DurationSeconds exceeds the MaxSessionDuration set for this role." (AWS's text); a
  role session assuming a role (role chaining) is limited to one hour -> ValidationError "The
  requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
  (AWS's text, IAM User Guide "Role chaining");
- Policy not a valid identity policy -> MalformedPolicyDocument with IAM's text
  (:mod:`opentrail.access.policy_document`); a PolicyArns ARN that is no managed policy ->
  MalformedPolicyDocument "Policy <arn> does not exist or is not attachable." (opentrail's wording);
- Policy longer than 2048 characters (IAM User Guide, "IAM and AWS STS quotas": "The plaintext that
  you use for both inline and managed session policies can't exceed 2,048 characters"), or a packed
  size over 100 % -> PackedPolicyTooLarge "Packed size of session tags consumes <n>% of allotted
  space." (AWS's text for tags, seen in GitHub issues aws/containers-roadmap#2413 and
  aws-actions/configure-aws-credentials#1803; used for policies too);
- a SourceIdentity that differs from the one of the calling role session (role chaining keeps it:
  "The value that is set cannot be changed during the role session") -> ValidationError
  "SourceIdentity cannot be changed once set" (opentrail's wording).

PackedPolicySize (answered only when Policy, PolicyArns or Tags are given, as AWS does) is
opentrail's measure: the zlib-compressed size of the session policy, policy ARNs and tags as a
percentage of :data:`PACKED_LIMIT_BYTES`, rounded up. AWS's packing is not documented.

Role chaining passes the calling session's transitive tags on (they win over a tag of the same key
passed again) and its SourceIdentity.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

from ..access.policy_document import MalformedPolicyDocumentException as PolicyError
from ..access.policy_document import parse_policy
from ..iam.model import RoleSession
from ..sts.trust import ACTION, AssumeRequest, denial_message, refused_action
from .services import context_part
from .sts_errors import WIRE_ERRORS, AccessDenied, ValidationError

DEFAULT_DURATION_S = 3_600
#: Longest role chaining session, seconds (IAM User Guide, "Role chaining").
CHAINED_MAX_DURATION_S = 3_600
#: Longest plaintext session policy, characters (IAM and AWS STS quotas).
MAX_POLICY_CHARS = 2_048
#: The compressed size that is 100 % of PackedPolicySize (opentrail's measure).
PACKED_LIMIT_BYTES = 1_024
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})$")


def _packed_size(policy: str | None, arns: list[str], tags: dict[str, str]) -> int:
    packed = json.dumps([json.loads(policy) if policy else None, arns, tags], separators=(",", ":"))
    return math.ceil(len(zlib.compress(packed.encode("utf-8"), 9)) * 100 / PACKED_LIMIT_BYTES)


def _session_policy(iam: Any, account: str, params: dict[str, Any]) -> tuple[str | None, list[str]]:
    policy = params.get("Policy")
    if policy is not None:
        try:
            parse_policy(policy, "identity")
        except PolicyError as exc:
            raise WIRE_ERRORS["MalformedPolicyDocumentException"](exc.message) from None
    arns = [p["arn"] for p in params.get("PolicyArns") or [] if p.get("arn")]
    for arn in arns:
        if iam.managed_policy_document(account, arn) is None:
            raise WIRE_ERRORS["MalformedPolicyDocumentException"](
                f"Policy {arn} does not exist or is not attachable.")
    return policy, arns


def assume_role(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    accounts = context_part(ctx, "accounts", "AssumeRole")
    iam = context_part(ctx, "iam", "AssumeRole")
    caller = ctx.caller
    now = ctx.clock()
    if params.get("SerialNumber") is not None or params.get("TokenCode") is not None:
        raise AccessDenied("MultiFactorAuthentication failed, unable to validate MFA code.")
    role_arn = params["RoleArn"]
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ValidationError(f"{role_arn} is invalid")
    account, name = match.group(1), match.group(3)
    parent = caller.role_session
    tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
    transitive = list(params.get("TransitiveTagKeys") or [])
    if parent is not None:
        carried = {k: v for k, v in parent.tags.items() if k in _transitive_keys(accounts, caller)}
        tags = {**{k: v for k, v in tags.items() if k.lower() not in {c.lower() for c in carried}}, **carried}
        transitive = list(dict.fromkeys([*carried, *transitive]))
    source_identity = params.get("SourceIdentity")
    if parent is not None and parent.source_identity is not None:
        if source_identity is not None and source_identity != parent.source_identity:
            raise ValidationError("SourceIdentity cannot be changed once set")
        source_identity = parent.source_identity
    ask = AssumeRequest(role_session_name=params["RoleSessionName"], external_id=params.get("ExternalId"),
                        source_identity=source_identity, tags=tags, transitive_tag_keys=transitive)
    role = iam.get_role(account, name)
    if role is None or role.arn != role_arn:
        raise AccessDenied(denial_message(caller, role_arn))
    actions = [ACTION] + (["sts:TagSession"] if tags else []) + (["sts:SetSourceIdentity"] if source_identity else [])
    refused = refused_action(caller, role, iam, ask, now, actions)
    if refused is not None:
        raise AccessDenied(denial_message(caller, role_arn, refused))
    duration = int(params.get("DurationSeconds", DEFAULT_DURATION_S))
    if parent is not None and duration > CHAINED_MAX_DURATION_S:
        raise ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
                              "by role chaining.")
    if duration > role.max_session_duration_s:
        raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    policy, arns = _session_policy(iam, account, params)
    packed: int | None = None
    if policy is not None or arns or params.get("Tags"):
        packed = _packed_size(policy, arns, tags)
        if packed > 100 or (policy is not None and len(policy) > MAX_POLICY_CHARS):
            raise WIRE_ERRORS["PackedPolicyTooLargeException"](
                f"Packed size of session tags consumes {packed}% of allotted space.")
    session = RoleSession(role_name=role.name, role_path=role.path, role_id=role.role_id,
                          session_name=params["RoleSessionName"], session_policy=policy,
                          session_policy_arns=tuple(arns), tags=tags, source_identity=source_identity,
                          assumed_by_arn=caller.arn)
    issued = accounts.sessions.create(account_id=account, user_name=None, parent_access_key_id=caller.access_key_id,
                                      duration_s=duration, now=now, role_session=session,
                                      transitive_tag_keys=tuple(k for k in transitive if k in tags))
    answer: dict[str, Any] = {
        "Credentials": {"AccessKeyId": issued.access_key_id, "SecretAccessKey": issued.secret_access_key,
                        "SessionToken": issued.session_token, "Expiration": issued.expires_s},
        "AssumedRoleUser": {"AssumedRoleId": f"{role.role_id}:{session.session_name}",
                            "Arn": f"arn:aws:sts::{account}:assumed-role/{role.name}/{session.session_name}"},
    }
    if packed is not None:
        answer["PackedPolicySize"] = packed
    if source_identity is not None:
        answer["SourceIdentity"] = source_identity
    return answer


def _transitive_keys(accounts: Any, caller: Any) -> tuple[str, ...]:
    """The transitive tag keys of the calling role session (looked up by its key id)."""
    found = accounts.sessions.describe(caller.access_key_id)
    return found.transitive_tag_keys if found is not None else ()
