"""What the AWS Organizations handlers share: the service of the context, the caller's account, the
model's shapes (``Organization``, ``Account``, ``Root``, ``OrganizationalUnit``, ``PolicySummary``,
``Policy``, ``CreateAccountStatus``) and pages.

Pages hold at most ``MaxResults`` (1-20; 20 when absent, opentrail's choice: AWS leaves the default
page size unspecified) items; ``NextToken`` is sealed under the server's key, bound to the operation,
the caller and the request's parameters, and holds the offset of the next item. A token that was
not made for the request answers InvalidInputException INVALID_NEXT_TOKEN.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..organizations.errors import InvalidInputException
from ..organizations.model import SCP, Account, CreateAccountStatus, Organization, OrganizationalUnit, Policy
from .errors import AwsError
from .logs_tokens import seal, unseal
from .services import context_part
from .wire_common import integer, token_key

#: Page size when ``MaxResults`` is not given (the model's maximum).
DEFAULT_PAGE = 20


def service(ctx: Any, operation: str) -> Any:
    """``ctx.organizations`` (:class:`~opentrail.organizations.service.OrganizationsService`), or
    UnknownOperationException naming ``operation`` when the server runs without it."""
    return context_part(ctx, "organizations", operation)


def caller(ctx: Any) -> str:
    """The caller's account."""
    return str(ctx.caller.account_id)


def tags_of(params: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in params.get("Tags") or []}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def page(ctx: Any, operation: str, params: dict[str, Any], items: Sequence[Any], key: str,
         binding: Sequence[Any] = ()) -> dict[str, Any]:
    """``{key: items[offset:offset + MaxResults]}`` and ``NextToken`` when more follow; ``items``
    are already rendered."""
    bound = [operation, caller(ctx), *binding]
    now_ms = int(ctx.clock() * 1000)
    offset = 0
    if params.get("NextToken") is not None:
        try:
            offset = unseal(token_key(ctx), bound, params["NextToken"], now_ms)
        except AwsError:
            raise InvalidInputException.next_token() from None
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInputException.next_token()
    size = integer(params, "MaxResults") or DEFAULT_PAGE
    out: dict[str, Any] = {key: list(items[offset:offset + size])}
    if offset + size < len(items):
        out["NextToken"] = seal(token_key(ctx), bound, offset + size, now_ms)
    return out


def organization_json(org: Organization) -> dict[str, Any]:
    """``Organization``; ``AvailablePolicyTypes`` (deprecated by AWS) lists the SCP type for an
    organization with all features."""
    out: dict[str, Any] = {"Id": org.id, "Arn": org.arn, "FeatureSet": org.feature_set,
                           "MasterAccountArn": org.account_arn(org.management_account_id),
                           "MasterAccountId": org.management_account_id,
                           "MasterAccountEmail": org.management.email,
                           "AvailablePolicyTypes": []}
    if org.feature_set == "ALL":
        out["AvailablePolicyTypes"] = [{"Type": SCP, "Status": "ENABLED"}]
    return out


def account_json(org: Organization, account: Account) -> dict[str, Any]:
    return {"Id": account.id, "Arn": org.account_arn(account.id), "Email": account.email, "Name": account.name,
            "Status": account.status, "State": account.status, "JoinedMethod": account.joined_method,
            "JoinedTimestamp": account.joined_s}


def root_json(org: Organization) -> dict[str, Any]:
    return {"Id": org.root_id, "Arn": org.root_arn, "Name": "Root",
            "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in org.policy_types]}


def ou_json(org: Organization, ou: OrganizationalUnit) -> dict[str, Any]:
    return {"Id": ou.id, "Arn": org.ou_arn(ou.id), "Name": ou.name}


def policy_summary(org: Organization, policy: Policy) -> dict[str, Any]:
    return {"Id": policy.id, "Arn": org.policy_arn(policy.id), "Name": policy.name,
            "Description": policy.description, "Type": policy.type,
            "AwsManaged": policy.id == "p-FullAWSAccess"}


def policy_json(org: Organization, policy: Policy) -> dict[str, Any]:
    return {"PolicySummary": policy_summary(org, policy), "Content": policy.content}


def status_json(status: CreateAccountStatus) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": status.id, "AccountName": status.account_name, "State": status.state,
                           "RequestedTimestamp": status.requested_s, "CompletedTimestamp": status.completed_s}
    if status.account_id is not None:
        out["AccountId"] = status.account_id
    if status.failure_reason is not None:
        out["FailureReason"] = status.failure_reason
    return out
