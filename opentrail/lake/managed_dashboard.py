"""opentrail's built-in managed dashboard: six security views over one event data store.

AWS offers managed dashboards (Type MANAGED) that every account has, whose widgets cannot be
changed and which are refreshed on demand with ``$EventDataStoreId$`` naming the store to read
(User Guide "CloudTrail Lake dashboards"; StartDashboardRefresh: "For managed dashboards ...
The ``$EventDataStoreId$`` query parameter is required"). AWS's own managed dashboards are not
published; this one is opentrail's, named :data:`NAME`, and is listed in every account and Region.

ViewProperties follow the keys the console draws (docs/lake.md "Dashboards"): ``Title``, ``View``
(``Table``, ``LineChart``, ``BarChart``), ``XAxisColumn``/``YAxisColumn`` for charts, ``Width``
and ``Height`` in grid units.
"""

from __future__ import annotations

from .dashboards import EDS_ID, END_TIME, PERIOD, START_TIME, Dashboard, Widget, widget_alias

NAME = "opentrail-SecurityOverview"
_RANGE = "eventTime >= '?' AND eventTime < '?'"
_TIMES = (START_TIME, END_TIME)

#: (title, view properties, statement, parameters) of each widget.
_WIDGETS: tuple[tuple[dict[str, str], str, tuple[str, ...]], ...] = (
    ({"Title": "Events over time", "View": "LineChart", "XAxisColumn": "eventPeriod", "YAxisColumn": "eventCount",
      "Width": "6", "Height": "2"},
     "SELECT date_trunc('?', eventTime) AS eventPeriod, count(*) AS eventCount FROM ? WHERE " + _RANGE +
     " GROUP BY 1 ORDER BY 1", (PERIOD, EDS_ID, *_TIMES)),
    ({"Title": "Top callers", "View": "BarChart", "XAxisColumn": "caller", "YAxisColumn": "eventCount",
      "Width": "3", "Height": "2"},
     "SELECT coalesce(userIdentity.arn, userIdentity.principalId, userIdentity.type) AS caller, count(*) AS eventCount "
     "FROM ? WHERE " + _RANGE + " GROUP BY 1 ORDER BY eventCount DESC, caller LIMIT 10", (EDS_ID, *_TIMES)),
    ({"Title": "Failed calls by error code", "View": "BarChart", "XAxisColumn": "errorCode",
      "YAxisColumn": "eventCount", "Width": "3", "Height": "2"},
     "SELECT errorCode, count(*) AS eventCount FROM ? WHERE " + _RANGE +
     " AND errorCode IS NOT NULL GROUP BY errorCode ORDER BY eventCount DESC, errorCode LIMIT 10", (EDS_ID, *_TIMES)),
    ({"Title": "Console sign-ins", "View": "Table", "Width": "6", "Height": "2"},
     # the result from errorMessage (a failed sign-in has "Failed authentication"), not from the
     # responseElements map: reading the two map columns made this widget 3x slower over 10M events
     "SELECT eventTime, coalesce(userIdentity.arn, userIdentity.principalId) AS caller, sourceIPAddress, "
     "CASE WHEN errorMessage IS NULL THEN 'Success' ELSE 'Failure' END AS result, errorMessage "
     "FROM ? WHERE " + _RANGE + " AND eventName = 'ConsoleLogin' ORDER BY eventTime DESC LIMIT 100",
     (EDS_ID, *_TIMES)),
    ({"Title": "Access denied", "View": "Table", "Width": "6", "Height": "2"},
     "SELECT coalesce(userIdentity.arn, userIdentity.principalId) AS caller, eventSource, eventName, errorCode, "
     "count(*) AS eventCount FROM ? WHERE " + _RANGE +
     " AND (errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%UnauthorizedOperation%' OR errorCode = 'Forbidden')"
     " GROUP BY 1, 2, 3, 4 ORDER BY eventCount DESC, caller, eventName LIMIT 50", (EDS_ID, *_TIMES)),
    ({"Title": "Top event sources", "View": "BarChart", "XAxisColumn": "eventSource", "YAxisColumn": "eventCount",
      "Width": "3", "Height": "2"},
     "SELECT eventSource, count(*) AS eventCount FROM ? WHERE " + _RANGE +
     " GROUP BY eventSource ORDER BY eventCount DESC, eventSource LIMIT 10", (EDS_ID, *_TIMES)),
)


def managed_dashboard(account_id: str, region: str) -> Dashboard:
    """The built-in dashboard as the account and Region see it (created at epoch 0, no schedule)."""
    widgets = tuple(Widget(statement, params, tuple(props.items()), widget_alias(NAME, i))
                    for i, (props, statement, params) in enumerate(_WIDGETS))
    return Dashboard(name=NAME, account_id=account_id, region=region, type="MANAGED", widgets=widgets,
                     termination_protection_enabled=True, status="CREATED")
