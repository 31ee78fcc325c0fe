"""Organization trails and organization event data stores: who may make them, and whom they cover.

Pure functions over the organization read interface (:class:`OrganizationDirectory`, served by
:class:`opentrail.organizations.service.OrganizationsService`); no I/O of their own.

What AWS does (CloudTrail User Guide, "Creating a trail for an organization", "Prepare for creating a
trail for your organization", "Organization event data stores", "CloudTrail delegated administrator";
API Reference, CreateTrail ``IsOrganizationTrail``):

- Prerequisites, checked in this order by :func:`organization_owner`: the caller is in an organization
  (OrganizationsNotInUseException), is its management account or a CloudTrail delegated administrator
  (NotOrganizationMasterAccountException), the organization has all features
  (OrganizationNotInAllFeaturesModeException), and trusted access for ``cloudtrail.amazonaws.com``
  is enabled (CloudTrailAccessNotEnabledException).
- The management account owns every organization trail and event data store, also those a delegated
  administrator creates (the trail's ARN names the management account: aws-cloudformation
  coverage-roadmap#1932, terraform-provider-aws#30758).
- An organization trail (store) covers every account of the organization *now*: accounts that join
  are logged from then on, accounts removed stop being logged (:func:`covered`). When its owner is no
  longer the management account of an organization (the organization was deleted), or trusted access
  for CloudTrail was disabled, it covers its own account only, under the plain ``AWSLogs/<account>/``
  layout (opentrail's choice: AWS documents that disabling trusted access stops CloudTrail from
  managing the organization's resources, not what becomes of the files).
"""

from __future__ import annotations

from typing import Any, Protocol

from . import errors as E

#: The service principal of CloudTrail (trusted access, delegated administrators).
CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
#: Most CloudTrail delegated administrators per organization (User Guide, "CloudTrail delegated administrator").
MAX_DELEGATED_ADMINS = 3


class OrganizationDirectory(Protocol):
    """What these rules read (:class:`opentrail.organizations.reads.OrganizationReads`); ``version``
    grows with every committed change of any organization."""

    version: int

    def organization_of(self, account_id: str) -> Any:
        """The :class:`opentrail.organizations.model.Organization` of the account, or None."""
        ...


def is_delegated_admin(org: Any, account_id: str) -> bool:
    """``account_id`` is a CloudTrail delegated administrator of ``org``."""
    return CLOUDTRAIL_PRINCIPAL in org.delegated.get(account_id, {})


def organization_owner(orgs: OrganizationDirectory | None, caller: str, *, store: bool = False) -> str:
    """The account that owns an organization trail (``store``: event data store) the caller makes:
    its organization's management account. Raises OrganizationsNotInUseException,
    NotOrganizationMasterAccountException, OrganizationNotInAllFeaturesModeException,
    CloudTrailAccessNotEnabledException (in this order)."""
    org = orgs.organization_of(caller) if orgs is not None else None
    if org is None:
        raise E.OrganizationsNotInUseException()
    if caller != org.management_account_id and not is_delegated_admin(org, caller):
        raise (E.NotOrganizationMasterAccountException.for_event_data_store() if store
               else E.NotOrganizationMasterAccountException())
    if org.feature_set != "ALL":
        raise E.OrganizationNotInAllFeaturesModeException()
    if CLOUDTRAIL_PRINCIPAL not in org.service_access:
        raise E.CloudTrailAccessNotEnabledException()
    return str(org.management_account_id)


def may_manage(orgs: OrganizationDirectory | None, caller: str, owner: str) -> bool:
    """``caller`` may change an organization resource of ``owner``: it is the owner, or a CloudTrail
    delegated administrator of the organization ``owner`` manages."""
    if caller == owner:
        return True
    org = orgs.organization_of(caller) if orgs is not None else None
    return org is not None and org.management_account_id == owner and is_delegated_admin(org, caller)


def covered(orgs: OrganizationDirectory | None, owner: str, organization: bool) -> tuple[str | None, frozenset[str]]:
    """(organization id, accounts) an organization-wide resource of ``owner`` covers now: every
    account of the organization ``owner`` manages; for an ordinary resource, or when ``owner``
    manages no organization any more or trusted access is off, (None, {owner})."""
    if organization and orgs is not None:
        org = orgs.organization_of(owner)
        if org is not None and org.management_account_id == owner and CLOUDTRAIL_PRINCIPAL in org.service_access:
            return str(org.id), frozenset(org.accounts)
    return None, frozenset((owner,))


def viewers_owner(orgs: OrganizationDirectory | None, account_id: str) -> str | None:
    """The management account whose organization resources ``account_id`` sees as a member (read
    only), or None when it is in no organization or is the management account itself."""
    org = orgs.organization_of(account_id) if orgs is not None else None
    if org is None or org.management_account_id == account_id:
        return None
    return str(org.management_account_id)


def _managed_for_admins(orgs: Any, caller: str) -> Any:
    """The organization ``caller`` manages, for the delegated administrator operations."""
    org = orgs.organization_of(caller) if orgs is not None else None
    if org is None:
        raise E.OrganizationsNotInUseException()
    if org.management_account_id != caller:
        raise E.NotOrganizationManagementAccountException()
    if org.feature_set != "ALL":
        raise E.OrganizationNotInAllFeaturesModeException()
    if CLOUDTRAIL_PRINCIPAL not in org.service_access:
        raise E.CloudTrailAccessNotEnabledException()
    return org


def register_delegated_admin(orgs: Any, caller: str, account_id: str) -> None:
    """RegisterOrganizationDelegatedAdmin: registers ``account_id`` with Organizations as delegated
    administrator for ``cloudtrail.amazonaws.com`` (``orgs.register_delegated_admin``, staged with
    the call). Raises OrganizationsNotInUseException, NotOrganizationManagementAccountException,
    OrganizationNotInAllFeaturesModeException, CloudTrailAccessNotEnabledException (trusted access
    is not turned on here: the model lists this error for the operation),
    CannotDelegateManagementAccountException, AccountNotFoundException, AccountRegisteredException,
    DelegatedAdminAccountLimitExceededException (at most :data:`MAX_DELEGATED_ADMINS`)."""
    org = _managed_for_admins(orgs, caller)
    if account_id == org.management_account_id:
        raise E.CannotDelegateManagementAccountException()
    if account_id not in org.accounts:
        raise E.AccountNotFoundException.for_account(account_id)
    if is_delegated_admin(org, account_id):
        raise E.AccountRegisteredException()
    if sum(1 for a in org.delegated if is_delegated_admin(org, a)) >= MAX_DELEGATED_ADMINS:
        raise E.DelegatedAdminAccountLimitExceededException()
    orgs.register_delegated_admin(caller, account_id, CLOUDTRAIL_PRINCIPAL)


def deregister_delegated_admin(orgs: Any, caller: str, account_id: str) -> None:
    """DeregisterOrganizationDelegatedAdmin: the reverse (``orgs.deregister_delegated_admin``);
    nothing the administrator made is removed (AWS: the management account owns it). Raises the
    prerequisite errors of :func:`register_delegated_admin`, AccountNotFoundException and
    AccountNotRegisteredException."""
    org = _managed_for_admins(orgs, caller)
    if account_id not in org.accounts:
        raise E.AccountNotFoundException.for_account(account_id)
    if not is_delegated_admin(org, account_id):
        raise E.AccountNotRegisteredException()
    orgs.deregister_delegated_admin(caller, account_id, CLOUDTRAIL_PRINCIPAL)
