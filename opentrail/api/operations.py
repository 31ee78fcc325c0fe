"""The explicit operation table: every CloudTrail operation of the botocore model -> its handler,
its IAM action (``cloudtrail:<Operation>``) and the resource type that action is authorized on.

No reflection: an operation is reachable only if it is listed here. Operations not implemented yet
answer ``UnknownOperationException`` with a message naming them (never a 500); a target that is not
``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<name in this table>`` (botocore) or
``CloudTrail_20131101.<name in this table>`` (Smithy-generated SDKs, see :mod:`.targets`) answers
``UnknownOperationException`` without a message, as AWS does. A test checks the table against the
model (``botocore/data/cloudtrail/2013-11-01/service-2.json``: 60 operations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..auth.sigv4 import Caller
from ..settings import Settings
from ..store.base import EventStore
from .errors import UnknownOperationException
from .ratelimit import RateLimiter
from .targets import accepted_target_prefixes, operation_for_target

#: ``X-Amz-Target`` prefix of the CloudTrail API (botocore model metadata ``targetPrefix``).
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
#: Every prefix AWS accepts: :data:`TARGET_PREFIX` and the Smithy service shape name ``CloudTrail_20131101``.
TARGET_PREFIXES: frozenset[str] = accepted_target_prefixes(TARGET_PREFIX)


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What a handler may use: the authenticated caller (``caller.region`` is the signing Region),
    settings, the event store, the injected clock (epoch seconds) and the LookupEvents limiter.
    ``token_key`` authenticates LookupEvents NextTokens (``<data-dir>/token.key``; None: a key made
    for the process, see :mod:`opentrail.api.token_key`)."""

    caller: Caller
    settings: Settings
    store: EventStore
    clock: Callable[[], float]
    lookup_limiter: RateLimiter
    trails: Any = None  # opentrail.trails.TrailService, or None when the app runs without trails
    public_keys: Any = None  # opentrail.digests.keys.KeyStore (ListPublicKeys), or None
    token_key: bytes | None = None
    lake: Any = None  # opentrail.lake.Lake (event data stores, queries), or None
    logs: Any = None  # opentrail.monitoring.logs.LogsService (CloudWatch Logs), or None
    monitoring: Any = None  # opentrail.monitoring.cloudwatch.CloudWatchService (metrics, alarms), or None
    eventbridge: Any = None  # opentrail.eventbridge.rules_service.RulesService (rules, connections), or None
    event_bus: Any = None  # opentrail.eventbridge.model.EventBus (what PutEvents hands events to), or None
    insights: Any = None  # opentrail.insights.model.InsightMetrics (ListInsightsMetricData), or None
    organizations: Any = None  # opentrail.organizations.service.OrganizationsService, or None
    accounts: Any = None  # opentrail.auth.accounts.AccountStore (STS: keys and sessions), or None
    iam: Any = None  # opentrail.iam store (an opentrail.iam.model.IamDirectory), or None


#: A handler takes the context and the request JSON object and returns the response JSON object;
#: it raises :class:`opentrail.api.errors.AwsError` subclasses for AWS errors.
Handler = Callable[[OperationContext, dict[str, Any]], dict[str, Any]]

#: Every operation of the model (all 60, alphabetical) -> the resource type its IAM action
#: ``cloudtrail:<Operation>`` is authorized on (Service Authorization Reference, "Actions defined by
#: AWS CloudTrail", summarised in ../shared/reference/access.md §E2): ``*`` (no resource-level
#: permissions), ``trail``, ``eventdatastore``, ``channel``, ``dashboard``,
#: ``trail|eventdatastore`` (either, by the name given), ``named`` (the ARN in ResourceId /
#: ResourceIdList / ResourceArn: a trail, event data store, channel or dashboard).
OPERATION_RESOURCES: dict[str, str] = {
    "AddTags": "named",
    "CancelQuery": "eventdatastore",
    "CreateChannel": "channel",
    "CreateDashboard": "dashboard",
    "CreateEventDataStore": "eventdatastore",
    "CreateTrail": "trail",
    "DeleteChannel": "channel",
    "DeleteDashboard": "dashboard",
    "DeleteEventDataStore": "eventdatastore",
    "DeleteResourcePolicy": "named",
    "DeleteTrail": "trail",
    "DeregisterOrganizationDelegatedAdmin": "*",
    "DescribeQuery": "eventdatastore",
    "DescribeTrails": "*",
    "DisableFederation": "eventdatastore",
    "EnableFederation": "eventdatastore",
    "GenerateQuery": "eventdatastore",
    "GetChannel": "channel",
    "GetDashboard": "dashboard",
    "GetEventConfiguration": "trail|eventdatastore",
    "GetEventDataStore": "eventdatastore",
    "GetEventSelectors": "trail",
    "GetImport": "*",
    "GetInsightSelectors": "trail|eventdatastore",
    "GetQueryResults": "eventdatastore",
    "GetResourcePolicy": "named",
    "GetTrail": "trail",
    "GetTrailStatus": "trail",
    "ListChannels": "*",
    "ListDashboards": "*",
    "ListEventDataStores": "*",
    "ListImportFailures": "*",
    "ListImports": "*",
    "ListInsightsData": "trail",
    "ListInsightsMetricData": "trail",
    "ListPublicKeys": "*",
    "ListQueries": "eventdatastore",
    "ListTags": "named",
    "ListTrails": "*",
    "LookupEvents": "*",
    "PutEventConfiguration": "trail|eventdatastore",
    "PutEventSelectors": "trail",
    "PutInsightSelectors": "trail|eventdatastore",
    "PutResourcePolicy": "named",
    "RegisterOrganizationDelegatedAdmin": "*",
    "RemoveTags": "named",
    "RestoreEventDataStore": "eventdatastore",
    "SearchSampleQueries": "*",
    "StartDashboardRefresh": "dashboard",
    "StartEventDataStoreIngestion": "eventdatastore",
    "StartImport": "*",
    "StartLogging": "trail",
    "StartQuery": "eventdatastore",
    "StopEventDataStoreIngestion": "eventdatastore",
    "StopImport": "*",
    "StopLogging": "trail",
    "UpdateChannel": "channel",
    "UpdateDashboard": "dashboard",
    "UpdateEventDataStore": "eventdatastore",
    "UpdateTrail": "trail",
}

#: All 60 operations of the model, in alphabetical order.
MODEL_OPERATIONS: tuple[str, ...] = tuple(OPERATION_RESOURCES)


def iam_action(operation: str) -> str:
    """The IAM action that authorizes ``operation``: ``cloudtrail:<Operation>``."""
    return f"cloudtrail:{operation}"


#: Operations whose calls CloudTrail records with ``readOnly: true``.
READ_ONLY_PREFIXES: tuple[str, ...] = ("Get", "Describe", "List", "Lookup", "Search")


def is_read_only(operation: str) -> bool:
    """True for Get*/Describe*/List*/Lookup*/Search* operations."""
    return operation.startswith(READ_ONLY_PREFIXES)


def _not_implemented(operation: str) -> Handler:
    def handler(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
        raise UnknownOperationException.not_implemented(operation)

    handler.__name__ = f"not_implemented_{operation}"
    return handler


def _build_table() -> dict[str, Handler]:
    from .lake_channels import CHANNEL_HANDLERS
    from .lake_dashboards import DASHBOARD_HANDLERS
    from .lake_imports import IMPORT_HANDLERS
    from .lake_queries import QUERY_HANDLERS
    from .lake_stores import LAKE_STORE_HANDLERS
    from .insights_data import list_insights_data
    from .insights_metrics import list_insights_metric_data
    from .lookup_events import lookup_events

    from .public_keys import list_public_keys
    from .trails import TRAIL_HANDLERS
    from .trail_organization import ORGANIZATION_HANDLERS

    from .validation import validated

    implemented: dict[str, Handler] = {"LookupEvents": lookup_events, "ListPublicKeys": list_public_keys,
                                       **TRAIL_HANDLERS, **LAKE_STORE_HANDLERS, **QUERY_HANDLERS,
                                       **IMPORT_HANDLERS, **DASHBOARD_HANDLERS, **ORGANIZATION_HANDLERS,
                                       **CHANNEL_HANDLERS, "ListInsightsData": list_insights_data,
                                       "ListInsightsMetricData": list_insights_metric_data}
    # Every implemented handler runs behind the model's request validation (types, constraints).
    return {op: validated(op, implemented[op]) if op in implemented else _not_implemented(op)
            for op in MODEL_OPERATIONS}


#: Operation name -> handler, for every operation of the model; implemented ones validate the request
#: against the model first (:func:`opentrail.api.validation.validated`).
OPERATIONS: dict[str, Handler] = _build_table()


def implemented_operations() -> list[str]:
    """Names of the operations that have a real handler (for the coverage page)."""
    return [op for op, h in OPERATIONS.items() if not h.__name__.startswith("not_implemented_")]


def _cloudtrail() -> Any:
    from .services import Service

    return Service(name="cloudtrail", model="cloudtrail", iam_prefix="cloudtrail",
                   event_source="cloudtrail.amazonaws.com", target_prefix=TARGET_PREFIX,
                   operations=OPERATIONS, resources=OPERATION_RESOURCES,
                   json_content_type="application/x-amz-json-1.1")


#: CloudTrail as a :class:`opentrail.api.services.Service` (signing name ``cloudtrail``).
CLOUDTRAIL = _cloudtrail()


def operation_from_target(target: str | None) -> str | None:
    """The operation named by an ``X-Amz-Target`` value (``<one of TARGET_PREFIXES>.<Operation>``),
    or None when it is missing, for another service, or not an operation of the model."""
    return operation_for_target(target, TARGET_PREFIXES, OPERATIONS)
