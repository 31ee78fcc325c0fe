"""AWS Organizations on opentrail's port: the explicit operation table (every operation of
``botocore/data/organizations/2016-11-28``: 63) -> handler, IAM action ``organizations:<Operation>``
and the resource type that action is authorized on (Service Authorization Reference, "Actions,
resources, and condition keys for AWS Organizations": ``account``, ``handshake``,
``organizationalunit``, ``policy`` (``awspolicy`` too for the AWS managed ones), ``resourcepolicy``,
``root``, ``responsibilitytransfer``; ``a|b`` when the action is authorized on the resource the
request names, one of those; ``*``: none).

Protocol AWS JSON 1.1, ``X-Amz-Target: AWSOrganizationsV20161128.<Operation>``, SigV4 signing name
``organizations``. Organizations is a global service: its calls are recorded in ``us-east-1``
(:attr:`~.services.Service.global_region`) with eventSource ``organizations.amazonaws.com``
("Logging AWS Organizations API calls with AWS CloudTrail": "all Organizations events are recorded
in the US East (N. Virginia) Region"), all as management events.
"""

from __future__ import annotations

from .services import Service, handlers_of, operation_table

#: The model's ``targetPrefix``.
TARGET_PREFIX = "AWSOrganizationsV20161128"

_TARGETS = "account|organizationalunit|root"
_TAGGABLE = "account|organizationalunit|policy|resourcepolicy|root"

#: Every operation of the model -> the resource type of its IAM action.
OPERATION_RESOURCES: dict[str, str] = {
    "AcceptHandshake": "handshake",
    "AttachPolicy": f"policy|{_TARGETS}",
    "CancelHandshake": "handshake",
    "CloseAccount": "account",
    "CreateAccount": "*",
    "CreateGovCloudAccount": "*",
    "CreateOrganization": "*",
    "CreateOrganizationalUnit": "organizationalunit|root",
    "CreatePolicy": "*",
    "DeclineHandshake": "handshake",
    "DeleteOrganization": "*",
    "DeleteOrganizationalUnit": "organizationalunit",
    "DeletePolicy": "policy",
    "DeleteResourcePolicy": "resourcepolicy",
    "DeregisterDelegatedAdministrator": "account",
    "DescribeAccount": "account",
    "DescribeCreateAccountStatus": "*",
    "DescribeEffectivePolicy": "account",
    "DescribeHandshake": "handshake",
    "DescribeOrganization": "*",
    "DescribeOrganizationalUnit": "organizationalunit",
    "DescribePolicy": "awspolicy|policy",
    "DescribeResourcePolicy": "*",
    "DescribeResponsibilityTransfer": "responsibilitytransfer",
    "DetachPolicy": f"policy|{_TARGETS}",
    "DisableAWSServiceAccess": "*",
    "DisablePolicyType": "root",
    "EnableAWSServiceAccess": "*",
    "EnableAllFeatures": "*",
    "EnablePolicyType": "root",
    "InviteAccountToOrganization": "account",
    "InviteOrganizationToTransferResponsibility": "*",
    "LeaveOrganization": "*",
    "ListAWSServiceAccessForOrganization": "*",
    "ListAccounts": "*",
    "ListAccountsForParent": "organizationalunit|root",
    "ListAccountsWithInvalidEffectivePolicy": "*",
    "ListChildren": "organizationalunit|root",
    "ListCreateAccountStatus": "*",
    "ListDelegatedAdministrators": "*",
    "ListDelegatedServicesForAccount": "account",
    "ListEffectivePolicyValidationErrors": "account",
    "ListHandshakesForAccount": "*",
    "ListHandshakesForOrganization": "*",
    "ListInboundResponsibilityTransfers": "*",
    "ListOrganizationalUnitsForParent": "organizationalunit|root",
    "ListOutboundResponsibilityTransfers": "*",
    "ListParents": "account|organizationalunit",
    "ListPolicies": "*",
    "ListPoliciesForTarget": _TARGETS,
    "ListRoots": "*",
    "ListTagsForResource": _TAGGABLE,
    "ListTargetsForPolicy": "awspolicy|policy",
    "MoveAccount": _TARGETS,
    "PutResourcePolicy": "resourcepolicy",
    "RegisterDelegatedAdministrator": "account",
    "RemoveAccountFromOrganization": "account",
    "TagResource": _TAGGABLE,
    "TerminateResponsibilityTransfer": "responsibilitytransfer",
    "UntagResource": _TAGGABLE,
    "UpdateOrganizationalUnit": "organizationalunit",
    "UpdatePolicy": "policy",
    "UpdateResponsibilityTransfer": "responsibilitytransfer",
}


def _service() -> Service:
    handlers = handlers_of("organizations_handlers", "ORGANIZATIONS_HANDLERS")
    return Service(name="organizations", model="organizations", iam_prefix="organizations",
                   event_source="organizations.amazonaws.com", target_prefix=TARGET_PREFIX,
                   operations=operation_table("organizations", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES, json_content_type="application/x-amz-json-1.1",
                   global_region="us-east-1")


#: AWS Organizations as a :class:`Service`.
ORGANIZATIONS: Service = _service()
