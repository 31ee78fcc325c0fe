"""Event data stores as plain typed values: no I/O, no wire casing.

Shapes mirror the botocore model's ``CreateEventDataStore``/``GetEventDataStore`` members in
snake_case (``../shared/reference/lake.md`` §A.1). Times are epoch seconds (float). An
:class:`EventDataStore` is immutable; the service replaces it on change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..trails.model import AdvancedEventSelector, InsightSelector

#: ``EventDataStoreStatus`` values of the model.
STATUSES: tuple[str, ...] = ("CREATED", "ENABLED", "PENDING_DELETION", "STARTING_INGESTION",
                             "STOPPING_INGESTION", "STOPPED_INGESTION")
#: Statuses in which a store can be queried (PENDING_DELETION cannot: InactiveEventDataStoreException).
QUERYABLE_STATUSES: frozenset[str] = frozenset({"CREATED", "ENABLED", "STARTING_INGESTION",
                                                "STOPPING_INGESTION", "STOPPED_INGESTION"})
#: ``BillingMode`` values and the default retention (days) of each.
DEFAULT_RETENTION_DAYS: dict[str, int] = {"EXTENDABLE_RETENTION_PRICING": 366, "FIXED_RETENTION_PRICING": 2557}
#: How long a deleted store can be restored, seconds (7 days), then it is purged.
PENDING_DELETION_S = 7 * 86400
#: Event categories whose events flow from the event log into a store now.
INGESTED_CATEGORIES: frozenset[str] = frozenset({"Management", "Data"})


@dataclass(frozen=True, slots=True)
class EventDataStore:
    """One event data store.

    - ``id``: a lowercase UUID (the table name in SQL); ``arn`` is
      ``arn:aws:cloudtrail:<home_region>:<account_id>:eventdatastore/<id>``.
    - ``advanced_event_selectors``: as given (or AWS's default: all management events).
    - ``category``: the ``eventCategory`` its selectors select (Management, Data, Insight,
      ActivityAuditLog, ConfigurationItem, ...), derived from the selectors.
    - ``status``: one of :data:`STATUSES`; ``deleted_time`` and ``status_before_deletion`` (the
      status RestoreEventDataStore returns to) set while PENDING_DELETION.
    - ``insight_selectors``: its Insights selectors (PutInsightSelectors; empty: Insights off) and
      ``insights_destination`` the ARN of the event data store (category Insight) that receives
      its Insights events, None while Insights are off.
    """

    id: str
    account_id: str
    home_region: str
    name: str
    status: str
    advanced_event_selectors: tuple[AdvancedEventSelector, ...]
    multi_region_enabled: bool = True
    organization_enabled: bool = False
    billing_mode: str = "EXTENDABLE_RETENTION_PRICING"
    retention_period_days: int = 366
    termination_protection_enabled: bool = True
    kms_key_id: str | None = None
    tags: tuple[tuple[str, str | None], ...] = ()
    created_time: float = 0.0
    updated_time: float = 0.0
    deleted_time: float | None = None
    status_before_deletion: str | None = None
    #: The event log's newest seq when the store was created: it takes the events appended after
    #: it (AWS does not backfill a new store). None: unknown (Lake ingestion uses its first sight).
    start_seq: int | None = None
    #: The event log's newest seq when StartEventDataStoreIngestion last made it ENABLED again: it
    #: takes no event appended before (none of the time it was stopped). None: never restarted.
    resumed_seq: int | None = None
    federation_status: str = "DISABLED"
    federation_role_arn: str | None = None
    insight_selectors: tuple[InsightSelector, ...] = ()
    insights_destination: str | None = None

    @property
    def arn(self) -> str:
        return event_data_store_arn(self.home_region, self.account_id, self.id)

    @property
    def category(self) -> str:
        """The ``eventCategory`` of its first selector (a store holds one kind of event: Management,
        Data and NetworkActivity selectors may be mixed, the other categories stand alone)."""
        for selector in self.advanced_event_selectors:
            for fs in selector.field_selectors:
                if fs.field == "eventCategory" and fs.equals:
                    return fs.equals[0]
        return "Management"

    def receives_from(self, region: str) -> bool:
        """True when events of ``region`` belong in this store (its home Region, or every Region
        when multi-Region)."""
        return self.multi_region_enabled or region == self.home_region


def event_data_store_arn(region: str, account_id: str, eds_id: str) -> str:
    """``arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>``."""
    return f"arn:aws:cloudtrail:{region}:{account_id}:eventdatastore/{eds_id}"
