"""The console's Nodes page (``/console/nodes``): with several nodes sharing one PostgreSQL database
(``serve --database-url``), the nodes with their last heartbeat and the leases on the background
work with their holder, fencing token and expiry -- what ``GET /_opentrail/health`` shows under
``cluster``. A single-node server says so."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .backend import ConsoleBackend
from .pages import Pages
from .web import signin_redirect

NODES = "/nodes"


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def nodes_view(health: dict[str, Any], now: float) -> dict[str, Any]:
    """The template's rows from :meth:`opentrail.leased_worker.Coordinator.health` at ``now``."""
    nodes = [{"id": n["nodeId"], "url": n["url"], "host": n["host"], "pid": n["pid"], "started": _when(n["started"]),
              "seen": f"{max(0.0, now - n['lastSeen']):.0f} s ago", "this": n["nodeId"] == health["nodeId"],
              "leases": n["leaseCount"], "live": n["live"]}
             for n in health.get("nodes", [])]
    leases = [{"name": x["name"], "holder": x["holder"] or "(free)", "token": x["token"],
               "expires": ("expired" if x["expiresAt"] <= now else f"in {x['expiresAt'] - now:.0f} s")
               if x["holder"] else "", "this": x["holder"] == health["nodeId"]}
              for x in health.get("leases", [])]
    return {"node_id": health["nodeId"], "nodes": nodes, "leases": leases, "error": health.get("error")}


class NodePages(Pages):
    """``cluster``: the node's :class:`opentrail.leased_worker.Coordinator` (None: one node)."""

    def __init__(self, backend: ConsoleBackend, cluster: Any) -> None:
        super().__init__(backend)
        self.cluster = cluster

    async def nodes(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        view: dict[str, Any] = {"cluster": False}
        if self.cluster is not None:
            from ..api.app import cluster_health

            health = await run_in_threadpool(cluster_health, self.cluster)
            view = {"cluster": True, **nodes_view(health, time.time())}
        return self.page(request, session, "nodes.html", view)
