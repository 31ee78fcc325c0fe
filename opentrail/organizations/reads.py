"""The read interface of :class:`~.service.OrganizationsService` for the rest of opentrail
(policy evaluation, organization trails and event data stores): plain values, no caller checks,
from memory (a dictionary lookup each, after the service's look for other nodes' changes), never
raising for an account in no organization."""

from __future__ import annotations

from typing import Any

from .model import SCP, Organization


class OrganizationReads:
    _lock: Any
    _orgs: dict[str, Organization]
    _member_of: dict[str, str]

    def _refresh(self, *, fresh: bool = False) -> None: ...

    def organization_of(self, account_id: str) -> Organization | None:
        """The organization ``account_id`` belongs to (management or member), or None. The value is
        a snapshot: a later change replaces it, never alters it."""
        with self._lock:
            self._refresh()
            org_id = self._member_of.get(account_id)
            return self._orgs[org_id] if org_id is not None else None

    def organization_id_of(self, account_id: str) -> str | None:
        """``o-...`` of the account's organization (for ``aws:PrincipalOrgID`` and AWSLogs/<o-id>/), or None."""
        org = self.organization_of(account_id)
        return org.id if org else None

    def management_account(self, account_id: str) -> str | None:
        """The management account of ``account_id``'s organization, or None."""
        org = self.organization_of(account_id)
        return org.management_account_id if org else None

    def member_accounts(self, account_id: str) -> list[str]:
        """Every account of ``account_id``'s organization (the management account too), sorted; []
        when it is in none."""
        org = self.organization_of(account_id)
        return sorted(org.accounts) if org else []

    def delegated_admins(self, account_id: str, service_principal: str) -> list[str]:
        """The delegated administrators for ``service_principal`` (e.g. ``cloudtrail.amazonaws.com``)
        in ``account_id``'s organization, sorted; [] when none."""
        org = self.organization_of(account_id)
        return sorted(a for a, s in org.delegated.items() if service_principal in s) if org else []

    def trusted_access_enabled(self, account_id: str, service_principal: str) -> bool:
        """True when EnableAWSServiceAccess(``service_principal``) holds in ``account_id``'s organization."""
        org = self.organization_of(account_id)
        return org is not None and service_principal in org.service_access

    def scp_chain(self, account_id: str) -> list[list[str]]:
        """The SCPs that apply to ``account_id``: one list per level from the root down through its
        OUs to the account itself, each the content (JSON text) of the SCPs attached there. An
        action is allowed by SCPs only if every level allows it (AWS's SCP evaluation). [] (no SCP
        applies) for an account in no organization, for the management account (SCPs never affect
        it) and while SCPs are not enabled on the root."""
        org = self.organization_of(account_id)
        if org is None or account_id == org.management_account_id or SCP not in org.policy_types:
            return []
        return [[p.content for p in org.policies_of(target, SCP)] for target in org.path_to(account_id)]
