"""The AWS Organizations service: every operation opentrail serves, on the organizations of
:class:`~.store.SqliteOrganizationsStore`, and the read interface others use
(:class:`~.reads.OrganizationReads`: the organization of an account, its management account, member
accounts, delegated administrators, trusted access, the SCP chain of an account).

State lives in memory (loaded at start) and in the store. An operation checks the caller and the
request against the current state, builds the changed organization as a copy and *stages* one change
(:class:`opentrail.staging.Staging`): when the call's record is durable the copy is written and then
becomes current; a call that fails changes nothing. When the store was written by another process or
node (:meth:`~.store.SqliteOrganizationsStore.changed`), the organizations are read again (and
:attr:`OrganizationsService.version` grows): every operation looks first, the read interface (policy
evaluation's SCPs, organization trails) at most every :data:`opentrail.state_watch.PG_RECHECK_S` on
PostgreSQL. Two nodes changing one organization at the same moment: the later write wins. CreateAccount's staged change also creates the
account in the :class:`opentrail.auth.accounts.AccountStore` (``create_account(account_id)``; no
keys: the operator makes them with ``opentrail create-access-key --account-id``).

Who may call what (AWS: "This operation can be called only from the organization's management
account", or "... or by a member account that is a delegated administrator"): an account in no
organization gets AWSOrganizationsNotInUseException for every operation but CreateOrganization; a
member gets AccessDeniedException for management-only operations; delegated administrators (for
any service) may call the read operations (:data:`DELEGATED_READS` in :mod:`.tree`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, ContextManager

from ..staging import Staging
from . import errors as e
from .model import SCP, Account, CreateAccountStatus, Organization, random_account_id, random_id
from .policies import PolicyOperations
from .reads import OrganizationReads
from .store import ORGANIZATIONS_DB, SqliteOrganizationsStore
from .tree import TreeOperations


class OrganizationsService(PolicyOperations, TreeOperations, OrganizationReads):
    """Organizations in ``data_dir``; ``clock`` gives epoch seconds; ``create_account(account_id)``
    creates an opentrail account (:meth:`opentrail.auth.accounts.AccountStore.create_account`);
    ``monotonic`` paces the look for other nodes' changes."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time, *,
                 create_account: Callable[[str], object] = lambda account_id: None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = SqliteOrganizationsStore(Path(data_dir) / ORGANIZATIONS_DB, monotonic=monotonic)
        self._clock = clock
        self._create_account = create_account
        self._lock = threading.RLock()
        self._staging = Staging(self._lock)
        self._orgs: dict[str, Organization] = {}
        self._member_of: dict[str, str] = {}
        self._load()
        #: grows with every committed change, here or elsewhere (organization trails and stores
        #: refresh their accounts)
        self.version = 0

    def _load(self) -> None:
        self._orgs = {o.id: o for o in self._store.load()}
        self._member_of = {a: o.id for o in self._orgs.values() for a in o.accounts}

    def _refresh(self, *, fresh: bool = False) -> None:
        """Read the organizations again when the store says someone wrote (``fresh``: look now)."""
        with self._lock:
            if self._store.changed(fresh=fresh):
                self._load()
                self.version += 1


    def _now(self) -> float:
        """The clock in epoch seconds, to the millisecond (AWS's timestamps; every SDK reads them alike)."""
        return round(self._clock(), 3)

    def close(self) -> None:
        self._store.close()

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the lock and stage this thread's changes until the yielded ``commit`` writes them."""
        return self._staging.changes()

    # --- state ----------------------------------------------------------------------------------

    def _stage(self, org: Organization, before: Callable[[], None] | None = None,
               taken: Callable[[], Exception] = e.ConcurrentModificationException) -> None:
        """Stage the write of ``org``, changed from the organization held now (None: a new one):
        when another node changed that one meanwhile, the write raises
        ConcurrentModificationException (AWS's answer to concurrent changes) and writes nothing;
        ``taken()`` is raised when an account of ``org`` is in another organization."""
        base = self._orgs.get(org.id)

        def change() -> None:
            if before is not None:
                before()
            self._store.save(org, base=base, changed=e.ConcurrentModificationException, taken=taken)
            old = self._orgs.get(org.id)
            for account in (old.accounts if old else {}):
                self._member_of.pop(account, None)
            self._orgs[org.id] = org
            self._member_of.update({a: org.id for a in org.accounts})
            self.version += 1

        self._staging.apply(change)

    def _stage_delete(self, org: Organization) -> None:
        base = self._orgs.get(org.id, org)

        def change() -> None:
            self._store.delete(org.id, base=base, changed=e.ConcurrentModificationException)
            self._orgs.pop(org.id, None)
            for account in org.accounts:
                self._member_of.pop(account, None)
            self.version += 1

        self._staging.apply(change)

    def _org(self, caller: str) -> Organization:
        """The caller's organization, or AWSOrganizationsNotInUseException."""
        with self._lock:
            self._refresh(fresh=True)
            org_id = self._member_of.get(caller)
            if org_id is None:
                raise e.AWSOrganizationsNotInUseException()
            return self._orgs[org_id]

    def _managed(self, caller: str) -> Organization:
        """The organization ``caller`` manages; AccessDeniedException for a member."""
        org = self._org(caller)
        if org.management_account_id != caller:
            raise e.AccessDeniedException()
        return org

    def _readable(self, caller: str) -> Organization:
        """The organization, for its management account or a delegated administrator."""
        org = self._org(caller)
        if org.management_account_id != caller and not org.delegated.get(caller):
            raise e.AccessDeniedException()
        return org

    # --- the organization -------------------------------------------------------------------------

    def create_organization(self, caller: str, feature_set: str = "ALL") -> Organization:
        """A new organization managed by ``caller``; AlreadyInOrganizationException when it is in one."""
        with self._lock:
            self._refresh(fresh=True)
            if caller in self._member_of:
                raise e.AlreadyInOrganizationException()
            now = self._now()
            root = random_id("r-", 4)
            org = Organization(id=random_id("o-", 10), feature_set=feature_set, management_account_id=caller,
                               root_id=root, created_s=now)
            org.accounts[caller] = Account(caller, caller, management_email(caller), "INVITED", now, root)
            self._stage(org, taken=e.AlreadyInOrganizationException)
            return org

    def describe_organization(self, caller: str) -> Organization:
        """The caller's organization (any member may ask)."""
        return self._org(caller)

    def delete_organization(self, caller: str) -> None:
        """OrganizationNotEmptyException while accounts other than the management account are in it."""
        with self._lock:
            org = self._managed(caller)
            if len(org.accounts) > 1:
                raise e.OrganizationNotEmptyException()
            self._stage_delete(org)

    # --- accounts -------------------------------------------------------------------------------

    def create_account(self, caller: str, email: str, name: str, tags: dict[str, str]) -> CreateAccountStatus:
        """A new member account in the root, SUCCEEDED at once; an email already used in the
        organization answers a FAILED status with FailureReason EMAIL_ALREADY_EXISTS (as AWS's
        asynchronous request does)."""
        with self._lock:
            org = self._managed(caller).copy()
            now = self._now()
            status = CreateAccountStatus(random_id("car-", 32), name, "SUCCEEDED", now, now)
            if any(a.email.lower() == email.lower() for a in org.accounts.values()):
                status.state, status.failure_reason = "FAILED", "EMAIL_ALREADY_EXISTS"
                org.create_statuses[status.id] = status
                self._stage(org)
                return status
            account_id = random_account_id()
            while account_id in self._member_of:
                account_id = random_account_id()
            status.account_id = account_id
            org.accounts[account_id] = Account(account_id, name, email, "CREATED", now, org.root_id, tags=dict(tags))
            if SCP in org.policy_types:
                org.attachments[account_id] = ["p-FullAWSAccess"]
            org.create_statuses[status.id] = status
            self._stage(org, before=lambda: self._create_account(account_id) and None)
            return status

    def describe_create_account_status(self, caller: str, request_id: str) -> CreateAccountStatus:
        org = self._managed(caller)
        status = org.create_statuses.get(request_id)
        if status is None:
            raise e.CreateAccountStatusNotFoundException()
        return status

    def list_create_account_status(self, caller: str, states: list[str] | None) -> list[CreateAccountStatus]:
        org = self._managed(caller)
        return sorted((s for s in org.create_statuses.values() if not states or s.state in states),
                      key=lambda s: (s.requested_s, s.id))

    def list_accounts(self, caller: str) -> list[Account]:
        return sorted(self._readable(caller).accounts.values(), key=lambda a: (a.joined_s, a.id))

    def describe_account(self, caller: str, account_id: str) -> tuple[Organization, Account]:
        org = self._readable(caller)
        if account_id not in org.accounts:
            raise e.AccountNotFoundException()
        return org, org.accounts[account_id]

    def remove_account(self, caller: str, account_id: str) -> None:
        """The account leaves the organization (it stays an opentrail account, standalone)."""
        with self._lock:
            org = self._managed(caller).copy()
            if account_id not in org.accounts:
                raise e.AccountNotFoundException()
            if account_id == org.management_account_id:
                raise e.MasterCannotLeaveOrganizationException()
            if org.delegated.get(account_id):
                raise e.ConstraintViolationException.of("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
            del org.accounts[account_id]
            org.attachments.pop(account_id, None)
            self._stage(org)

    # --- trusted access and delegated administrators ----------------------------------------------

    def enable_service_access(self, caller: str, principal: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            check_principal(principal)
            org.service_access.setdefault(principal, self._now())
            self._stage(org)

    def disable_service_access(self, caller: str, principal: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            check_principal(principal)
            org.service_access.pop(principal, None)
            self._stage(org)

    def list_service_access(self, caller: str) -> list[tuple[str, float]]:
        return sorted(self._readable(caller).service_access.items())

    def register_delegated_admin(self, caller: str, account_id: str, principal: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            if account_id not in org.accounts:
                raise e.AccountNotFoundException()
            if account_id == org.management_account_id:
                raise e.ConstraintViolationException.of("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
            check_principal(principal)
            services = org.delegated.setdefault(account_id, {})
            if principal in services:
                raise e.AccountAlreadyRegisteredException()
            services[principal] = self._now()
            self._stage(org)

    def deregister_delegated_admin(self, caller: str, account_id: str, principal: str) -> None:
        with self._lock:
            org = self._managed(caller).copy()
            if account_id not in org.accounts:
                raise e.AccountNotFoundException()
            if account_id == org.management_account_id:
                raise e.ConstraintViolationException.of("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
            check_principal(principal)
            services = org.delegated.get(account_id, {})
            if principal not in services:
                raise e.AccountNotRegisteredException()
            del services[principal]
            if not services:
                del org.delegated[account_id]
            self._stage(org)

    def list_delegated_admins(self, caller: str, principal: str | None) -> list[tuple[Account, float]]:
        """(account, first delegation time) of each delegated administrator (for ``principal``)."""
        org = self._readable(caller)
        out = [(org.accounts[a], s[principal] if principal else min(s.values()))
               for a, s in org.delegated.items() if principal is None or principal in s]
        return sorted(out, key=lambda x: (x[1], x[0].id))

    def list_delegated_services(self, caller: str, account_id: str) -> list[tuple[str, float]]:
        org = self._readable(caller)
        if account_id not in org.accounts:
            raise e.AccountNotFoundException()
        if not org.delegated.get(account_id):
            raise e.AccountNotRegisteredException()
        return sorted(org.delegated[account_id].items())


def management_email(account_id: str) -> str:
    """The email opentrail gives an account that joined without one (the management account):
    opentrail accounts have no email; ``<account>@opentrail.invalid`` (RFC 2606: never delivered)."""
    return f"{account_id}@opentrail.invalid"


def check_principal(principal: str) -> None:
    """A service principal is ``<service>.amazonaws.com`` (InvalidInputException otherwise, with
    AWS's "You specified an unrecognized service principal."); opentrail does not keep AWS's list."""
    name, _, domain = principal.partition(".")
    if not name or domain != "amazonaws.com":
        raise e.InvalidInputException.service_principal()
