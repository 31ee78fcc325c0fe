"""The web console: event history, one event, downloads, activity chart, trails, Lake, log groups,
alarms, EventBridge rules (with a pattern tester) and Insights events; sign-in.

Server-rendered Jinja2 pages with a little JavaScript of our own, all served by opentrail (no CDN,
no network access at run time). Pages call the CloudTrail API handlers as the signed-in user
(:mod:`.backend`), so the console shows what LookupEvents/DescribeTrails answer, and its calls are
recorded like API calls with ``sessionCredentialFromConsole``. See docs/console.md.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..auth.accounts import AccountStore
from ..insights.model import InsightMetrics
from ..settings import Settings
from ..store.base import EventStore
from .auth_pages import AuthPages
from .backend import ConsoleBackend
from .denials import answering_denials
from .history_pages import HistoryPages
from .iam_pages import IAM, IamPages
from .simulator_pages import SIMULATE, SimulatorPages
from .insights_pages import INSIGHTS, InsightsPages
from .dashboard_pages import DASHBOARDS, DashboardPages
from .lake_pages import LAKE, LakePages
from .monitoring_pages import ALARMS, LOGS, MonitoringPages
from .node_pages import NODES, NodePages
from .rules_pages import RULES, RulesPages
from .sessions import SessionStore
from .trail_pages import TrailPages
from .web import BASE, STATIC_DIR


def console_routes(*, settings: Settings, store: EventStore, accounts: AccountStore,
                   clock: Callable[[], float], trails: Any = None,
                   sessions: SessionStore | None = None, token_key: bytes | None = None,
                   lake: Any = None, logs: Any = None, monitoring: Any = None, eventbridge: Any = None,
                   event_bus: Any = None, insights: InsightMetrics | None = None, authorizer: Any = None,
                   iam: Any = None, organizations: Any = None, cluster: Any = None) -> list[BaseRoute]:
    """The console's routes (``GET /`` included), for :func:`opentrail.api.app.build_app`;
    ``token_key`` as in build_app, so page links survive a restart; ``lake`` the API's
    :class:`opentrail.lake.Lake` (None: the Lake page says the server runs without it);
    ``eventbridge`` the :class:`opentrail.eventbridge.rules_service.RulesService` (None: the rule
    pages say the server runs without it) and ``event_bus`` the bus whose ``rule_status`` the rule
    pages show (:class:`opentrail.eventbridge.bus.EventBusWorker`; None: no matches shown);
    ``insights`` the Insights counts the insight pages chart (None: the chart says none are available);
    ``authorizer`` the app's :class:`opentrail.api.authorization.Authorizer`, which every console call
    goes through (None: one over ``iam`` and ``organizations``); ``iam`` the IAM store behind the IAM
    page, IAM user sign-in and the policy simulator (None: those say the server runs without IAM).
    ``cluster`` the node's :class:`opentrail.leased_worker.Coordinator` the Nodes page shows (None:
    a single node). Every route answers a denied call with HTTP 403 (:mod:`.denials`)."""
    # on PostgreSQL the sessions and their secret are shared by every node (SessionStore.for_data_dir)
    sessions = sessions or SessionStore.for_data_dir(clock, settings.data_dir)
    backend = ConsoleBackend(settings, store, accounts, clock, trails, sessions, token_key, lake,
                             logs, monitoring, eventbridge, event_bus, insights, authorizer, iam, organizations)
    auth, history, trail = AuthPages(backend), HistoryPages(backend), TrailPages(backend)
    lake_pages = LakePages(backend)
    dashboard_pages = DashboardPages(backend)
    monitoring = MonitoringPages(backend)
    rules = RulesPages(backend)
    insight_pages = InsightsPages(backend)
    iam_pages, simulator = IamPages(backend), SimulatorPages(backend)
    node_pages = NodePages(backend, cluster)
    routes: list[BaseRoute] = [
        Route("/", auth.root, methods=["GET"]),
        Route(BASE, auth.root, methods=["GET"]),
        Route(BASE + "/", auth.root, methods=["GET"]),
        Route(BASE + "/signin", auth.signin_form, methods=["GET"]),
        Route(BASE + "/signin", auth.signin, methods=["POST"]),
        Route(BASE + "/signout", auth.signout, methods=["POST"]),
        Route(BASE + "/region", auth.switch_region, methods=["POST"]),
        Route(BASE + "/events", history.events, methods=["GET"]),
        Route(BASE + NODES, node_pages.nodes, methods=["GET"]),
        Route(BASE + "/events/download", history.download, methods=["GET"]),
        Route(BASE + "/events/{event_id}", history.event, methods=["GET"]),
        Route(BASE + "/activity", history.activity, methods=["GET"]),
        Route(BASE + "/trails", trail.trails, methods=["GET"]),
        Route(BASE + "/trails", trail.create, methods=["POST"]),
        Route(BASE + "/trails/action", trail.action, methods=["POST"]),
        Route(LAKE, lake_pages.lake, methods=["GET"]),
        Route(LAKE + "/stores", lake_pages.create_store, methods=["POST"]),
        Route(LAKE + "/stores/action", lake_pages.store_action, methods=["POST"]),
        Route(LAKE + "/queries", lake_pages.start_query, methods=["POST"]),
        Route(LAKE + "/queries/{query_id}", lake_pages.query, methods=["GET"]),
        Route(LAKE + "/queries/{query_id}/cancel", lake_pages.cancel_query, methods=["POST"]),
        Route(LAKE + "/queries/{query_id}/download", lake_pages.download, methods=["GET"]),
        Route(DASHBOARDS, dashboard_pages.dashboards, methods=["GET"]),
        Route(DASHBOARDS + "/{name}", dashboard_pages.dashboard, methods=["GET"]),
        Route(DASHBOARDS + "/{name}/refresh", dashboard_pages.refresh, methods=["POST"]),
        Route(LOGS, monitoring.log_groups, methods=["GET"]),
        Route(LOGS + "/group", monitoring.log_group, methods=["GET"]),
        Route(ALARMS, monitoring.alarms, methods=["GET"]),
        Route(ALARMS + "/view", monitoring.alarm, methods=["GET"]),
        Route(RULES, rules.rules, methods=["GET"]),
        Route(RULES + "/view", rules.rule, methods=["GET"]),
        Route(RULES + "/match", rules.match, methods=["GET"]),
        Route(RULES + "/test", rules.tester, methods=["GET"]),
        Route(RULES + "/test", rules.test, methods=["POST"]),
        Route(INSIGHTS, insight_pages.insights, methods=["GET"]),
        Route(INSIGHTS + "/{shared_event_id}", insight_pages.insight, methods=["GET"]),
        Route(IAM, iam_pages.iam, methods=["GET"]),
        Route(IAM + "/users", iam_pages.create_user, methods=["POST"]),
        Route(IAM + "/keys", iam_pages.key_action, methods=["POST"]),
        Route(IAM + "/attachments", iam_pages.attachment, methods=["POST"]),
        Route(SIMULATE, simulator.form, methods=["GET"]),
        Route(SIMULATE, simulator.simulate, methods=["POST"]),
    ]
    # every page answers a denied call with 403 and AWS's message
    routes = [Route(r.path, answering_denials(backend, r.endpoint), methods=list(r.methods or ()))
              if isinstance(r, Route) else r for r in routes]
    routes.append(Mount(BASE + "/static", app=StaticFiles(directory=str(STATIC_DIR)), name="console-static"))
    return routes


__all__ = ["console_routes", "SessionStore"]
