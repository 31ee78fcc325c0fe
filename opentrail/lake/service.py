"""EventDataStoreService: the event data store operations of CloudTrail Lake, persisted in
``<data-dir>/lake.db``.

Every operation takes the caller's account and Region (the signing Region) and raises the errors
of :mod:`opentrail.lake.errors` (and, for the errors trails answer too, those of
:mod:`opentrail.trails.errors`). Behaviour copied from AWS (botocore model
``cloudtrail/2013-11-01``, API Reference and User Guide, ``../shared/reference/lake.md`` §A.1):

- An event data store belongs to an account and lives in the Region it was created in; the
  EventDataStore parameter is its ARN or its ID (a lowercase UUID, the ARN's last part). Another
  Region's store is not found; an ARN of another account, or a value that is neither an ID nor an
  event data store ARN, is EventDataStoreARNInvalidException.
- Defaults: all management events (the selector AWS shows, ``Default management events`` with
  ``eventCategory`` Equals ``Management``), multi-Region on, organization off, termination
  protection on, BillingMode EXTENDABLE_RETENTION_PRICING, retention 366 days (2557 under
  FIXED_RETENTION_PRICING), ingestion started.
- RetentionPeriod 7-3653 days (the model), at most 2557 under FIXED_RETENTION_PRICING
  (InvalidParameterException). Names are unique per account and Region; at most 10 stores per
  account and Region in any lifecycle stage (AWS quota page).
- Statuses: a new store is CREATED in the CreateEventDataStore answer and ENABLED (or
  STOPPED_INGESTION with StartIngestion false) right after; Stop/StartEventDataStoreIngestion move
  ENABLED <-> STOPPED_INGESTION at once (AWS passes through STOPPING_/STARTING_INGESTION);
  DeleteEventDataStore (termination protection off) makes it PENDING_DELETION, from which
  RestoreEventDataStore returns it to its previous status within 7 days; :meth:`purge_deleted`
  removes it after that.
- UpdateEventDataStore needs at least one member besides EventDataStore; BillingMode cannot go from
  EXTENDABLE to FIXED; a KMS key, once set, cannot be changed or removed; the event category
  cannot change.
- OrganizationEnabled true needs what an organization trail needs
  (:func:`opentrail.trails.organization.organization_owner`: OrganizationsNotInUseException,
  NotOrganizationMasterAccountException, OrganizationNotInAllFeaturesModeException,
  CloudTrailAccessNotEnabledException); the store belongs to the management account (also when a
  delegated administrator creates it) and Lake ingestion gives it every member account's events.
  Member accounts do not see it ("Member accounts can't see the organization event data store, nor
  can they modify or delete it ... nor can they run queries": User Guide, "Understanding
  organization event data stores"): to them its ID is EventDataStoreNotFoundException and its ARN
  (another account's) EventDataStoreARNInvalidException. A CloudTrail delegated administrator sees
  it (ListEventDataStores, by ID or by the management account's ARN), updates, stops and starts,
  deletes, restores, tags, federates and queries it, but neither converts it (OrganizationEnabled,
  either way: only the management account, API Reference) nor enables Insights on it (User Guide
  table): NotOrganizationMasterAccountException.
  KmsKeyId is checked and kept, not used (docs/lake.md).

Changes can be *staged* exactly as :meth:`opentrail.trails.service.TrailService.staged_changes`
does: the API records a call durably before its change is made.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager

from ..staging import Staging
from ..trails import errors as TE
from ..trails.model import AdvancedEventSelector, AdvancedFieldSelector, InsightSelector
from ..trails.names import ROLE_ARN, check_kms_key_id
from ..trails.organization import OrganizationDirectory, may_manage, organization_owner, viewers_owner
from ..trails.selectors import validate_advanced_event_selectors
from ..trails.tags import check_tags, merge_tags, remove_tags
from . import errors as E
from .insights import check_source_selectors, with_insight_selectors
from .model import DEFAULT_RETENTION_DAYS, PENDING_DELETION_S, EventDataStore
from .reruns import write_or_rerun

LAKE_DB = "lake.db"
MAX_STORES_PER_REGION = 10
MAX_SELECTORS = 5
MIN_RETENTION_DAYS = 7
MAX_RETENTION_DAYS = {"EXTENDABLE_RETENTION_PRICING": 3653, "FIXED_RETENTION_PRICING": 2557}
BILLING_MODES = tuple(MAX_RETENTION_DAYS)
#: Categories of CloudTrail events (one store may mix them).
CLOUDTRAIL_EVENT_CATEGORIES = ("Management", "Data", "NetworkActivity")
#: Categories that stand alone in a store and whose selectors only select (no filtering).
STANDALONE_CATEGORIES = ("Insight", "ConfigurationItem", "Evidence", "ActivityAuditLog")
#: Categories whose ingestion can be started and stopped (model: Start/StopEventDataStoreIngestion).
INGESTION_CATEGORIES = ("Management", "Data", "NetworkActivity", "ConfigurationItem")
#: The selector AWS gives a store created without selectors (GetEventDataStore shows it).
DEFAULT_SELECTORS: tuple[AdvancedEventSelector, ...] = (
    AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("Management",)),),
                          name="Default management events"),
)

_EDS_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):([0-9]{12}):eventdatastore/(.+)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Tags = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """The settable members of Create/UpdateEventDataStore; None means "not given"."""

    name: str | None = None
    advanced_event_selectors: tuple[AdvancedEventSelector, ...] | None = None
    multi_region_enabled: bool | None = None
    organization_enabled: bool | None = None
    retention_period: int | None = None
    termination_protection_enabled: bool | None = None
    kms_key_id: str | None = None
    billing_mode: str | None = None

    def given(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))


def _category_of(selector: AdvancedEventSelector) -> str | None:
    fs = next((f for f in selector.field_selectors if f.field == "eventCategory"), None)
    return fs.equals[0] if fs is not None and fs.equals else None


def validate_store_selectors(selectors: tuple[AdvancedEventSelector, ...]) -> None:
    """InvalidEventSelectorsException unless ``selectors`` suit an event data store: at most 5;
    CloudTrail event selectors (Management/Data/NetworkActivity) follow the trail rules
    (:func:`opentrail.trails.selectors.validate_advanced_event_selectors`); Insight,
    ConfigurationItem, Evidence and ActivityAuditLog selectors only select their category
    (``eventCategory`` Equals one value, no other field) and are not mixed with other categories."""
    if not selectors:
        raise TE.InvalidEventSelectorsException("An event data store must have at least one advanced event selector.")
    if len(selectors) > MAX_SELECTORS:
        raise TE.InvalidEventSelectorsException(
            f"Too many advanced event selectors. An event data store can have up to {MAX_SELECTORS} advanced event selectors."
        )
    categories = [_category_of(s) for s in selectors]
    standalone = [c for c in categories if c in STANDALONE_CATEGORIES]
    if not standalone:
        validate_advanced_event_selectors(selectors)
        return
    if len(set(categories)) != 1:
        raise TE.InvalidEventSelectorsException(
            f"An event data store for {standalone[0]} events cannot select other event categories."
        )
    for selector in selectors:
        if selector.name is not None and len(selector.name) > 1000:
            raise TE.InvalidEventSelectorsException(f"Value {selector.name} for AdvancedEventSelectors.Name is invalid.")
        for fs in selector.field_selectors:
            if fs.field != "eventCategory" or fs.value_count() != 1:
                raise TE.InvalidEventSelectorsException(
                    f"Advanced event selectors for {standalone[0]} events support only the eventCategory field "
                    "with the Equals operator and one value."
                )


class EventDataStoreService:
    """Event data store management over ``<data_dir>/lake.db``; ``clock`` gives epoch seconds.
    ``head_seq`` (the event log's newest seq once everything acknowledged is visible:
    :func:`opentrail.delivery.marks.head_seq`) is read when a new store is committed and kept as its
    ``start_seq``: the store takes the events appended after it, from the moment
    CreateEventDataStore returns (None: Lake ingestion decides when it first sees the store)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float], *,
                 head_seq: Callable[[], int] | None = None, organizations: OrganizationDirectory | None = None) -> None:
        from .repository import StoreRepository

        #: the organizations (None: no account is in one); set after construction by the server
        self.organizations = organizations
        self._repo = StoreRepository(Path(data_dir) / LAKE_DB)
        self._clock = clock
        self._head_seq = head_seq
        self._changes = 0
        self._staging = Staging(self._repo.lock)
        #: store ARN -> a channel that sends events to it, or None (set by the channel service)
        self.channel_for_store: Callable[[str], object | None] | None = None

    def close(self) -> None:
        self._repo.close()

    @property
    def version(self) -> int:
        """A number that changes after every change of a store, by this service or by another node
        (seen within 0.5 s): Lake ingestion re-reads the stores when it moves."""
        return self._changes + self._repo.generation

    # --- reads for ingestion and queries -----------------------------------------------------

    def all(self) -> list[EventDataStore]:
        """Every store of every account, any status (immutable snapshot)."""
        return self._repo.all()

    def _administered_owner(self, account_id: str) -> str | None:
        """The management account whose organization event data stores ``account_id`` administers as
        a CloudTrail delegated administrator, or None."""
        owner = viewers_owner(self.organizations, account_id)
        return owner if owner is not None and may_manage(self.organizations, account_id, owner) else None

    def _sees(self, account_id: str, eds: EventDataStore) -> bool:
        """The caller's own store, or an organization store of the organization it administers as a
        delegated administrator (member accounts see no organization store: User Guide,
        "Understanding organization event data stores")."""
        if eds.account_id == account_id:
            return True
        return eds.organization_enabled and eds.account_id == self._administered_owner(account_id)

    def find(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """The store named by its ID or ARN in the caller's account and Region (PENDING_DELETION
        included) -- or, for a CloudTrail delegated administrator, an organization store of its
        management account (its ARN names the management account). Raises
        EventDataStoreARNInvalidException, EventDataStoreNotFoundException."""
        if id_or_arn.startswith("arn:"):
            m = _EDS_ARN.fullmatch(id_or_arn)
            if m is None or (m.group(2) != account_id and m.group(2) != self._administered_owner(account_id)):
                raise E.EventDataStoreARNInvalidException()
            arn_region, eds_id = m.group(1), m.group(3)
            if arn_region != region:
                raise E.EventDataStoreNotFoundException()
        else:
            eds_id = id_or_arn
            if not _UUID.fullmatch(eds_id):
                raise E.EventDataStoreARNInvalidException()
        eds = self._repo.get(eds_id)
        if eds is None or not self._sees(account_id, eds) or eds.home_region != region:
            raise E.EventDataStoreNotFoundException()
        return eds

    def _regional(self, account_id: str, region: str) -> list[EventDataStore]:
        return [s for s in self._repo.all() if s.account_id == account_id and s.home_region == region]

    def _listed(self, account_id: str, region: str) -> list[EventDataStore]:
        """ListEventDataStores' stores: the account's, and a delegated administrator's organization
        stores of its management account."""
        return [s for s in self._repo.all() if s.home_region == region and self._sees(account_id, s)]

    # --- staged changes ----------------------------------------------------------------------

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the store lock and stage this thread's changes until the yielded ``commit`` writes
        them (:class:`opentrail.staging.Staging`; the API records the call in between)."""
        return self._staging.changes()

    def _apply(self, change: Callable[[], None]) -> None:
        """Run ``change`` now, or stage it inside :meth:`staged_changes`."""
        self._staging.apply(change)

    def _save(self, eds: EventDataStore, check: Callable[[], None] | None = None,
              rerun: Callable[[], EventDataStore] | None = None) -> EventDataStore:
        """Write ``eds``, a change of the store as held now (caller holds the lock): in the write
        transaction, ConflictException (nothing written) when another node changed that store
        meanwhile -- its change is not overwritten -- then ``check`` (a new name free). With
        ``rerun`` (operations whose model has no ConflictException): the operation is run again
        against the fresh store instead (:func:`.reruns.write_or_rerun`), and when the write ran now
        (not staged) what the re-run returned is returned."""
        base = self._repo.get(eds.id)

        def unchanged() -> None:
            if self._repo.get(eds.id) != base:
                raise E.ConflictException()
            if check is not None:
                check()

        def put() -> None:
            self._repo.put(eds, check=unchanged)
            self._changes += 1

        rerun_result: list[EventDataStore] = []

        def write() -> None:
            again = write_or_rerun(put, rerun)
            if again is not None:
                rerun_result.append(again)

        self._apply(write)
        return rerun_result[0] if rerun_result else eds

    def _remove(self, eds_id: str) -> None:
        def delete() -> None:
            self._repo.delete(eds_id)
            self._changes += 1

        self._apply(delete)

    # --- checks ------------------------------------------------------------------------------

    @staticmethod
    def _check_retention(days: int, billing_mode: str) -> None:
        top = MAX_RETENTION_DAYS[billing_mode]
        if not MIN_RETENTION_DAYS <= days <= top:
            raise TE.InvalidParameterException(
                f"RetentionPeriod must be between {MIN_RETENTION_DAYS} and {top} days when BillingMode is "
                f"{billing_mode}; {days} was specified."
            )

    @staticmethod
    def _check_common(s: StoreSettings) -> None:
        if s.billing_mode is not None and s.billing_mode not in BILLING_MODES:
            raise TE.InvalidParameterException(
                f"BillingMode must be one of {', '.join(BILLING_MODES)}; {s.billing_mode} was specified."
            )
        if s.kms_key_id is not None:
            check_kms_key_id(s.kms_key_id)
        if s.advanced_event_selectors is not None:
            validate_store_selectors(s.advanced_event_selectors)

    def _check_name_free(self, account_id: str, region: str, name: str, ignore: str | None) -> None:
        if any(s.name == name and s.id != ignore for s in self._regional(account_id, region)):
            raise E.EventDataStoreAlreadyExistsException()

    # --- operations --------------------------------------------------------------------------

    def create(self, account_id: str, region: str, settings: StoreSettings, tags: Tags = (),
               start_ingestion: bool = True) -> EventDataStore:
        """CreateEventDataStore; returns the stored store (ENABLED, or STOPPED_INGESTION when
        ``start_ingestion`` is false; the API answers Status CREATED). Raises
        EventDataStoreAlreadyExistsException, EventDataStoreMaxLimitExceededException,
        InvalidEventSelectorsException, InvalidParameterException, InvalidKmsKeyIdException,
        OrganizationsNotInUseException, InvalidTagParameterException, TagsLimitExceededException."""
        assert settings.name is not None
        if settings.organization_enabled:
            account_id = organization_owner(self.organizations, account_id, store=True)
        self._check_common(settings)
        billing = settings.billing_mode or "EXTENDABLE_RETENTION_PRICING"
        retention = DEFAULT_RETENTION_DAYS[billing] if settings.retention_period is None else settings.retention_period
        self._check_retention(retention, billing)
        check_tags(tags)
        merged = merge_tags((), tags)
        name = settings.name

        def check_room() -> None:
            self._check_name_free(account_id, region, name, None)
            if len(self._regional(account_id, region)) >= MAX_STORES_PER_REGION:
                raise E.EventDataStoreMaxLimitExceededException()

        with self._repo.lock:
            check_room()
            now = self._clock()
            eds = EventDataStore(
                id=str(uuid.uuid4()),
                account_id=account_id,
                home_region=region,
                name=settings.name,
                status="ENABLED" if start_ingestion else "STOPPED_INGESTION",
                advanced_event_selectors=settings.advanced_event_selectors or DEFAULT_SELECTORS,
                multi_region_enabled=settings.multi_region_enabled is not False,
                organization_enabled=bool(settings.organization_enabled),
                billing_mode=billing,
                retention_period_days=retention,
                termination_protection_enabled=settings.termination_protection_enabled is not False,
                kms_key_id=settings.kms_key_id or None,
                tags=merged,
                created_time=now,
                updated_time=now,
            )
            head_seq = self._head_seq

            def write() -> None:  # at commit: after the call's own record is durable; checked again
                self._repo.put(eds if head_seq is None else dataclasses.replace(eds, start_seq=head_seq()),
                               check=check_room)
                self._changes += 1

            self._apply(write)
            return eds

    def update(self, account_id: str, region: str, id_or_arn: str, settings: StoreSettings) -> EventDataStore:
        """UpdateEventDataStore. Raises the lookup errors, InactiveEventDataStoreException
        (PENDING_DELETION), InvalidParameterException (nothing to change, EXTENDABLE -> FIXED, a KMS
        key change, retention out of range), EventDataStoreAlreadyExistsException (a name in use),
        InvalidEventSelectorsException (bad selectors, a change of event category),
        InvalidInsightSelectorsException (selectors that no longer log what its Insights watch) and the
        checks of :meth:`create`."""
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if not settings.given():
                raise TE.InvalidParameterException(
                    "You must specify at least one parameter to update besides EventDataStore."
                )
            if eds.status == "PENDING_DELETION":
                raise E.InactiveEventDataStoreException()
            self._check_common(settings)
            if settings.organization_enabled is not None and settings.organization_enabled != eds.organization_enabled:
                # only the management account converts a store, either way (API Reference,
                # UpdateEventDataStore OrganizationEnabled), not a delegated administrator
                owner = (organization_owner(self.organizations, account_id, store=True) if settings.organization_enabled
                         else eds.account_id)
                if account_id != owner or eds.account_id != account_id:
                    raise TE.NotOrganizationMasterAccountException.for_event_data_store()
            if settings.billing_mode == "FIXED_RETENTION_PRICING" and eds.billing_mode == "EXTENDABLE_RETENTION_PRICING":
                raise TE.InvalidParameterException(
                    "You cannot change the billing mode of an event data store from EXTENDABLE_RETENTION_PRICING "
                    "to FIXED_RETENTION_PRICING."
                )
            billing = settings.billing_mode or eds.billing_mode
            retention = eds.retention_period_days if settings.retention_period is None else settings.retention_period
            self._check_retention(retention, billing)
            if settings.kms_key_id is not None and eds.kms_key_id is not None and settings.kms_key_id != eds.kms_key_id:
                raise TE.InvalidParameterException(
                    "The KMS key of an event data store cannot be changed or removed once it is set."
                )
            selectors = settings.advanced_event_selectors or eds.advanced_event_selectors
            new_category = _category_of(selectors[0]) if selectors else None
            family = (lambda c: c if c in STANDALONE_CATEGORIES else "CloudTrail")
            if family(new_category) != family(eds.category):
                raise TE.InvalidEventSelectorsException(
                    f"You cannot change the event category of an event data store ({eds.category} to {new_category})."
                )
            if settings.name is not None:
                self._check_name_free(account_id, region, settings.name, eds.id)
            if eds.insight_selectors and settings.advanced_event_selectors is not None:
                check_source_selectors(dataclasses.replace(eds, advanced_event_selectors=selectors),
                                       eds.insight_selectors)
            updated = dataclasses.replace(
                eds,
                name=settings.name or eds.name,
                advanced_event_selectors=selectors,
                multi_region_enabled=eds.multi_region_enabled if settings.multi_region_enabled is None
                else settings.multi_region_enabled,
                billing_mode=billing,
                retention_period_days=retention,
                termination_protection_enabled=eds.termination_protection_enabled
                if settings.termination_protection_enabled is None else settings.termination_protection_enabled,
                kms_key_id=settings.kms_key_id or eds.kms_key_id,
                organization_enabled=eds.organization_enabled if settings.organization_enabled is None
                else settings.organization_enabled,
                updated_time=self._clock(),
            )
            renamed = settings.name
            return self._save(updated, None if renamed is None else
                              lambda: self._check_name_free(account_id, region, renamed, eds.id))

    def delete(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """DeleteEventDataStore: PENDING_DELETION for 7 days. Raises the lookup errors,
        InactiveEventDataStoreException (already PENDING_DELETION),
        EventDataStoreTerminationProtectedException, EventDataStoreFederationEnabledException,
        ChannelExistsForEDSException (a channel sends events to it)."""
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if eds.status == "PENDING_DELETION":
                raise E.InactiveEventDataStoreException()
            if eds.termination_protection_enabled:
                raise E.EventDataStoreTerminationProtectedException()
            if eds.federation_status == "ENABLED":
                raise E.EventDataStoreFederationEnabledException()
            if self.channel_for_store is not None and self.channel_for_store(eds.arn) is not None:
                raise E.ChannelExistsForEDSException()
            now = self._clock()
            return self._save(dataclasses.replace(eds, status="PENDING_DELETION", deleted_time=now,
                                                  status_before_deletion=eds.status, updated_time=now))

    def restore(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """RestoreEventDataStore: back to the status it had before DeleteEventDataStore (ENABLED:
        it takes the events appended from now on, ``resumed_seq``, none of the time it was
        deleted). Raises the lookup errors and InvalidEventDataStoreStatusException (not
        PENDING_DELETION). Its model has no ConflictException: when another node changed the store meanwhile, it runs again against
        the fresh store (:mod:`.reruns`; restored there already: InvalidEventDataStoreStatusException)."""
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if eds.status != "PENDING_DELETION":
                raise E.InvalidEventDataStoreStatusException()
            status = eds.status_before_deletion or "ENABLED"
            # like StartEventDataStoreIngestion: nothing of the time it was deleted
            resumed = {"resumed_seq": self._head_seq()} if status == "ENABLED" and self._head_seq is not None else {}
            return self._save(dataclasses.replace(eds, status=status, deleted_time=None, status_before_deletion=None,
                                                  updated_time=self._clock(), **resumed),
                              rerun=lambda: self.restore(account_id, region, id_or_arn))

    def _set_ingestion(self, account_id: str, region: str, id_or_arn: str, start: bool) -> EventDataStore:
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if eds.status != ("STOPPED_INGESTION" if start else "ENABLED"):
                raise E.InvalidEventDataStoreStatusException()
            if eds.category not in INGESTION_CATEGORIES:
                raise E.InvalidEventDataStoreCategoryException()
            resumed = {"resumed_seq": self._head_seq()} if start and self._head_seq is not None else {}
            return self._save(dataclasses.replace(eds, status="ENABLED" if start else "STOPPED_INGESTION",
                                                  updated_time=self._clock(), **resumed))

    def start_ingestion(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """StartEventDataStoreIngestion: STOPPED_INGESTION -> ENABLED; the store takes the events
        appended from now on (``resumed_seq``: the event log's head seq now), none of the time it
        was stopped. Raises the lookup errors, InvalidEventDataStoreStatusException,
        InvalidEventDataStoreCategoryException."""
        return self._set_ingestion(account_id, region, id_or_arn, True)

    def stop_ingestion(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """StopEventDataStoreIngestion: ENABLED -> STOPPED_INGESTION (same errors as start)."""
        return self._set_ingestion(account_id, region, id_or_arn, False)

    def list(self, account_id: str, region: str, after: tuple[float, str] | None,
             limit: int) -> tuple[list[EventDataStore], tuple[float, str] | None]:
        """ListEventDataStores: the stores of the account and Region (any status), ordered by
        (creation time, id), ``limit`` per page after the cursor ``after``; returns the page and the
        next cursor (None at the end)."""
        stores = self._listed(account_id, region)
        if after is not None:
            stores = [s for s in stores if (s.created_time, s.id) > after]
        page = stores[:limit]
        more = len(stores) > limit
        return page, ((page[-1].created_time, page[-1].id) if more else None)

    def purge_deleted(self, now: float, owns: Callable[[str], bool] | None = None) -> list[str]:
        """Remove the stores PENDING_DELETION for 7 days or more whose ID ``owns`` selects (all:
        None, else a Lake ingestion shard's, :mod:`opentrail.shards`); returns their IDs."""
        with self._repo.lock:
            gone = [s.id for s in self._repo.all()
                    if s.status == "PENDING_DELETION" and s.deleted_time is not None
                    and now - s.deleted_time >= PENDING_DELETION_S and (owns is None or owns(s.id))]
            for eds_id in gone:
                self._remove(eds_id)
            return gone

    # --- tags --------------------------------------------------------------------------------

    def tagged(self, account_id: str, region: str, arn: str) -> EventDataStore:
        """The store of an event data store ARN for AddTags, RemoveTags and ListTags.
        As for trails, an unknown store is ResourceNotFoundException and another account's ARN
        CloudTrailARNInvalidException; a store PENDING_DELETION is InactiveEventDataStoreException."""
        try:
            eds = self.find(account_id, region, arn)
        except E.EventDataStoreARNInvalidException:
            raise TE.CloudTrailARNInvalidException.wrong_account(account_id) from None
        except E.EventDataStoreNotFoundException:
            raise TE.ResourceNotFoundException.for_arn(arn) from None
        if eds.status == "PENDING_DELETION":
            raise E.InactiveEventDataStoreException()
        return eds

    def add_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        """AddTags on an event data store: new keys added, existing keys overwritten; at most 50."""
        check_tags(tags)
        with self._repo.lock:
            eds = self.tagged(account_id, region, arn)
            self._save(dataclasses.replace(eds, tags=merge_tags(eds.tags, tags)))

    def remove_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        """RemoveTags on an event data store (a given Value must match the stored one)."""
        check_tags(tags)
        with self._repo.lock:
            eds = self.tagged(account_id, region, arn)
            self._save(dataclasses.replace(eds, tags=remove_tags(eds.tags, tags)))

    # --- federation ----------------------------------------------------------------------------

    def _insights_store(self, account_id: str, region: str, id_or_arn: str, role: str) -> EventDataStore:
        """The store PutInsightSelectors/GetInsightSelectors name; InvalidParameterException when there
        is none (their model lists no event data store error)."""
        try:
            return self.find(account_id, region, id_or_arn)
        except E.EventDataStoreARNInvalidException:
            raise TE.InvalidParameterException(
                f"The {role} {id_or_arn} is not the ARN or ID of an event data store of account {account_id}."
            ) from None
        except E.EventDataStoreNotFoundException:
            raise TE.InvalidParameterException(f"The {role} {id_or_arn} was not found.") from None

    def put_insight_selectors(self, account_id: str, region: str, id_or_arn: str, destination: str | None,
                              insight_selectors: tuple[InsightSelector, ...]) -> EventDataStore:
        """PutInsightSelectors on an event data store (:func:`.insights.with_insight_selectors`):
        ``destination`` (ID or ARN) may be None only with an empty list. Raises
        InvalidParameterException (a store not found), InvalidInsightSelectorsException."""
        with self._repo.lock:
            source = self._insights_store(account_id, region, id_or_arn, "event data store")
            if source.account_id != account_id:  # a delegated administrator may not (User Guide)
                raise TE.NotOrganizationMasterAccountException.for_event_data_store()
            target = None if destination is None else self._insights_store(
                account_id, region, destination, "Insights destination")
            return self._save(with_insight_selectors(source, target, insight_selectors, self._clock()))

    def get_insight_selectors(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """GetInsightSelectors on an event data store; InsightNotEnabledException when it has none."""
        eds = self._insights_store(account_id, region, id_or_arn, "event data store")
        if not eds.insight_selectors:
            raise TE.InsightNotEnabledException(
                f"Event data store {eds.arn} does not have Insights enabled. Edit the event data store "
                "settings to enable Insights, and then try the operation again."
            )
        return eds

    def enable_federation(self, account_id: str, region: str, id_or_arn: str, role_arn: str) -> EventDataStore:
        """EnableFederation: FederationStatus ENABLED with ``role_arn`` (an IAM role ARN, kept and not
        assumed: there is no Glue catalog here; the store's files are read directly, see
        docs/lake.md). Raises the lookup errors, InvalidParameterException (not a role ARN),
        InactiveEventDataStoreException (PENDING_DELETION), EventDataStoreFederationEnabledException.
        Its model has no ConflictException: a store another node changed meanwhile is handled as
        RestoreEventDataStore does (:mod:`.reruns`)."""
        if not ROLE_ARN.fullmatch(role_arn):
            raise TE.InvalidParameterException(
                f"FederationRoleArn {role_arn[:1000]} is not valid. Expected arn:aws:iam::<account-id>:role/<name>.")
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if eds.status == "PENDING_DELETION":
                raise E.InactiveEventDataStoreException()
            if eds.federation_status == "ENABLED":
                raise E.EventDataStoreFederationEnabledException()
            return self._save(dataclasses.replace(eds, federation_status="ENABLED", federation_role_arn=role_arn,
                                                  updated_time=self._clock()),
                              rerun=lambda: self.enable_federation(account_id, region, id_or_arn, role_arn))

    def disable_federation(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        """DisableFederation: FederationStatus DISABLED, the role forgotten (a no-op when already
        disabled). Raises the lookup errors, InactiveEventDataStoreException (PENDING_DELETION). A
        store another node changed meanwhile: run again against it (:mod:`.reruns`)."""
        with self._repo.lock:
            eds = self.find(account_id, region, id_or_arn)
            if eds.status == "PENDING_DELETION":
                raise E.InactiveEventDataStoreException()
            if eds.federation_status == "DISABLED":
                return eds
            return self._save(dataclasses.replace(eds, federation_status="DISABLED", federation_role_arn=None,
                                                  updated_time=self._clock()),
                              rerun=lambda: self.disable_federation(account_id, region, id_or_arn))


def is_event_data_store_arn(value: str) -> bool:
    """True for ``arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>``-shaped values (the
    tag operations route these to :class:`EventDataStoreService`)."""
    return _EDS_ARN.fullmatch(value) is not None


__all__ = ["EventDataStoreService", "StoreSettings", "DEFAULT_SELECTORS", "MAX_STORES_PER_REGION",
           "is_event_data_store_arn", "validate_store_selectors"]

