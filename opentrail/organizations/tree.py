"""Roots, organizational units, moving accounts and tags (a mixin of
:class:`~.service.OrganizationsService`: it uses ``_managed``, ``_readable``, ``_stage``,
``_lock``)."""

from __future__ import annotations

from typing import Any, Callable

from . import errors as e
from .model import MAX_OU_DEPTH, SCP, FULL_AWS_ACCESS_ID, Account, Organization, OrganizationalUnit, random_id


class TreeOperations:
    _lock: Any

    # provided by OrganizationsService
    _managed: Callable[[str], Organization]
    _readable: Callable[[str], Organization]
    _stage: Callable[[Organization], None]

    def list_roots(self, caller: str) -> Organization:
        return self._readable(caller)

    def _parent(self, org: Organization, parent_id: str) -> None:
        if not org.is_parent(parent_id):
            raise e.ParentNotFoundException()

    def create_ou(self, caller: str, parent_id: str, name: str, tags: dict[str, str]) -> tuple[Organization, OrganizationalUnit]:
        with self._lock:
            org = self._managed(caller).copy()
            self._parent(org, parent_id)
            if any(ou.parent_id == parent_id and ou.name == name for ou in org.ous.values()):
                raise e.DuplicateOrganizationalUnitException()
            if len(org.path_to(parent_id)) > MAX_OU_DEPTH:
                raise e.ConstraintViolationException.of("OU_DEPTH_LIMIT_EXCEEDED")
            ou = OrganizationalUnit(random_id(f"ou-{org.root_id[2:]}-", 8), name, parent_id, dict(tags))
            org.ous[ou.id] = ou
            if SCP in org.policy_types:
                org.attachments[ou.id] = [FULL_AWS_ACCESS_ID]
            self._stage(org)
            return org, ou

    def _ou(self, org: Organization, ou_id: str) -> OrganizationalUnit:
        ou = org.ous.get(ou_id)
        if ou is None:
            raise e.OrganizationalUnitNotFoundException()
        return ou

    def describe_ou(self, caller: str, ou_id: str) -> tuple[Organization, OrganizationalUnit]:
        org = self._readable(caller)
        return org, self._ou(org, ou_id)

    def update_ou(self, caller: str, ou_id: str, name: str | None) -> tuple[Organization, OrganizationalUnit]:
        with self._lock:
            org = self._managed(caller).copy()
            ou = self._ou(org, ou_id)
            if name is not None and name != ou.name:
                if any(o.parent_id == ou.parent_id and o.name == name for o in org.ous.values()):
                    raise e.DuplicateOrganizationalUnitException()
                ou.name = name
                self._stage(org)
            return org, ou

    def delete_ou(self, caller: str, ou_id: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            self._ou(org, ou_id)
            if any(c.parent_id == ou_id for c in [*org.ous.values(), *org.accounts.values()]):
                raise e.OrganizationalUnitNotEmptyException()
            del org.ous[ou_id]
            org.attachments.pop(ou_id, None)
            self._stage(org)

    def list_ous_for_parent(self, caller: str, parent_id: str) -> tuple[Organization, list[OrganizationalUnit]]:
        org = self._readable(caller)
        self._parent(org, parent_id)
        return org, sorted((o for o in org.ous.values() if o.parent_id == parent_id), key=lambda o: o.id)

    def list_accounts_for_parent(self, caller: str, parent_id: str) -> tuple[Organization, list[Account]]:
        org = self._readable(caller)
        self._parent(org, parent_id)
        return org, sorted((a for a in org.accounts.values() if a.parent_id == parent_id),
                           key=lambda a: (a.joined_s, a.id))

    def list_children(self, caller: str, parent_id: str, child_type: str) -> list[str]:
        org = self._readable(caller)
        self._parent(org, parent_id)
        if child_type == "ACCOUNT":
            return [a.id for a in sorted(org.accounts.values(), key=lambda a: (a.joined_s, a.id))
                    if a.parent_id == parent_id]
        return sorted(o.id for o in org.ous.values() if o.parent_id == parent_id)

    def list_parents(self, caller: str, child_id: str) -> tuple[str, str]:
        """(parent id, ``ROOT`` or ``ORGANIZATIONAL_UNIT``) of an account or OU."""
        org = self._readable(caller)
        parent = org.parent_of(child_id)
        if parent is None:
            raise e.ChildNotFoundException()
        return parent, "ROOT" if parent == org.root_id else "ORGANIZATIONAL_UNIT"

    def move_account(self, caller: str, account_id: str, source_id: str, destination_id: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            account = org.accounts.get(account_id)
            if account is None:
                raise e.AccountNotFoundException()
            if not org.is_parent(source_id):
                raise e.SourceParentNotFoundException()
            if not org.is_parent(destination_id):
                raise e.DestinationParentNotFoundException()
            if account.parent_id != source_id:
                raise e.AccountNotFoundException()
            if destination_id == source_id:
                raise e.DuplicateAccountException()
            account.parent_id = destination_id
            self._stage(org)

    # --- tags -----------------------------------------------------------------------------------

    def _tags_of(self, org: Organization, resource_id: str) -> dict[str, str]:
        if resource_id == org.root_id:
            return org.root_tags
        for table in (org.accounts, org.ous, org.policies):
            if resource_id in table:
                return table[resource_id].tags  # type: ignore[attr-defined, no-any-return]
        raise e.TargetNotFoundException()

    def tag_resource(self, caller: str, resource_id: str, tags: dict[str, str]) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            self._tags_of(org, resource_id).update(tags)
            self._stage(org)

    def untag_resource(self, caller: str, resource_id: str, keys: list[str]) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            tags = self._tags_of(org, resource_id)
            for key in keys:
                tags.pop(key, None)
            self._stage(org)

    def list_tags(self, caller: str, resource_id: str) -> dict[str, str]:
        org = self._readable(caller)
        return dict(self._tags_of(org, resource_id))
