"""The Organizations operation table against the botocore model: every operation listed with its
IAM action and resource type, the implemented ones, and the error codes the domain raises are
error shapes of the model."""

from __future__ import annotations

import inspect

from opentrail.api.model import service_model
from opentrail.api.organizations_errors import WIRE_ERRORS
from opentrail.api.organizations_operations import OPERATION_RESOURCES, ORGANIZATIONS
from opentrail.api.services import is_implemented
from opentrail.organizations import errors

IMPLEMENTED = {
    "AttachPolicy", "CreateAccount", "CreateOrganization", "CreateOrganizationalUnit", "CreatePolicy",
    "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DeregisterDelegatedAdministrator",
    "DescribeAccount", "DescribeCreateAccountStatus", "DescribeOrganization", "DescribeOrganizationalUnit",
    "DescribePolicy", "DetachPolicy", "DisableAWSServiceAccess", "EnableAWSServiceAccess", "EnablePolicyType",
    "ListAWSServiceAccessForOrganization", "ListAccounts", "ListAccountsForParent", "ListChildren",
    "ListCreateAccountStatus", "ListDelegatedAdministrators", "ListDelegatedServicesForAccount",
    "ListOrganizationalUnitsForParent", "ListParents", "ListPolicies", "ListPoliciesForTarget", "ListRoots",
    "ListTagsForResource", "ListTargetsForPolicy", "MoveAccount", "RegisterDelegatedAdministrator",
    "RemoveAccountFromOrganization", "TagResource", "UntagResource", "UpdateOrganizationalUnit", "UpdatePolicy",
}


def test_table_covers_the_model() -> None:
    model = service_model("organizations")
    assert sorted(OPERATION_RESOURCES) == sorted(model.operation_names) == sorted(ORGANIZATIONS.operations)
    assert len(OPERATION_RESOURCES) == 63
    assert {op for op, h in ORGANIZATIONS.operations.items() if is_implemented(h)} == IMPLEMENTED
    types = {t for r in OPERATION_RESOURCES.values() for t in r.split("|")}
    assert types == {"*", "account", "awspolicy", "handshake", "organizationalunit", "policy", "resourcepolicy",
                     "responsibilitytransfer", "root"}
    assert (OPERATION_RESOURCES["AttachPolicy"], OPERATION_RESOURCES["CreateAccount"],
            OPERATION_RESOURCES["DescribePolicy"]) == ("policy|account|organizationalunit|root", "*",
                                                       "awspolicy|policy")
    assert ORGANIZATIONS.iam_action("AttachPolicy") == "organizations:AttachPolicy"
    assert (ORGANIZATIONS.event_source, ORGANIZATIONS.global_region, ORGANIZATIONS.target_prefix) == (
        "organizations.amazonaws.com", "us-east-1", "AWSOrganizationsV20161128")


def test_domain_errors_are_error_shapes_of_the_model() -> None:
    codes = {c.__name__ for _, c in inspect.getmembers(errors, inspect.isclass)
             if issubclass(c, errors.OrganizationsError) and c is not errors.OrganizationsError}
    assert codes <= set(WIRE_ERRORS)
    shapes = {s.name for op in IMPLEMENTED for s in service_model("organizations").operation_model(op).error_shapes}
    assert codes <= shapes
    reasons = set(service_model("organizations").shape_for("ConstraintViolationExceptionReason").enum)
    assert set(errors.CONSTRAINT_TEXTS) <= reasons
