"""The Nodes page and the health endpoint's ``cluster``: the nodes and the leases of a
:class:`~opentrail.leased_worker.Coordinator` (on a SQLite lease table here: the page and the
endpoint do not depend on the backend), and what a single node shows."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.console.node_pages import nodes_view
from opentrail.leased_worker import Coordinator
from opentrail.leases import Leases
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.console.conftest import ACCOUNT, CSRF_RE
from tests.serving import serving


class Idle:
    def stop(self) -> None:
        pass


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, Coordinator, httpx.Client]]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    coordinator = Coordinator(Leases(tmp_path, "node-1", time.time, ttl_s=30), url="http://127.0.0.1:4588")
    coordinator.supervise("delivery", Idle)
    coordinator.start()
    other = Leases(tmp_path, "node-2", time.time, ttl_s=30)
    other.heartbeat("http://127.0.0.1:4589")
    assert other.acquire("retention") == 1
    deadline = time.monotonic() + 5
    while coordinator.workers[0].token is None and time.monotonic() < deadline:
        time.sleep(0.01)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, cluster=coordinator)
    try:
        with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            form = client.get("/console/signin")
            client.post("/console/signin", data={
                "csrf_token": CSRF_RE.search(form.text).group(1),  # type: ignore[union-attr]
                "access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key,
                "region": "us-east-1", "next": "/console/events"})
            yield url, coordinator, client
    finally:
        coordinator.stop()
        other.close()
        coordinator.leases.close()
        store.close()
        accounts.close()


def test_health_lists_the_nodes_and_the_leases(cluster: tuple[str, Coordinator, httpx.Client]) -> None:
    _, _, client = cluster
    body = client.get("/_opentrail/health").json()
    assert body["status"] == "ok"
    c = body["cluster"]
    assert (c["nodeId"], c["leaseTtlSeconds"]) == ("node-1", 30.0)
    assert [(n["nodeId"], n["url"], n["live"], n["leaseCount"]) for n in c["nodes"]] == [
        ("node-1", "http://127.0.0.1:4588", True, 1), ("node-2", "http://127.0.0.1:4589", True, 1)]
    assert [(x["name"], x["holder"], x["token"]) for x in c["leases"]] == [("delivery", "node-1", 1),
                                                                          ("retention", "node-2", 1)]
    assert 25 < c["leases"][0]["expiresAt"] - time.time() <= 30


def test_the_nodes_page_shows_the_same(cluster: tuple[str, Coordinator, httpx.Client]) -> None:
    _, _, client = cluster
    page = client.get("/console/nodes")
    assert page.status_code == 200
    assert '<code id="this-node">node-1</code>' in page.text
    rows = re.findall(r'<tr data-lease="([^"]+)"><th scope="row">[^<]+</th><td>([^<]+)</td>\s*<td>(\d+)</td>', page.text)
    assert rows == [("delivery", "node-1 (this node)", "1"), ("retention", "node-2", "1")]
    assert re.findall(r'<tr data-node="([^"]+)">', page.text) == ["node-1", "node-2"]
    assert re.findall(r'<td class="lease-count">(\d+)</td>', page.text) == ["1", "1"]


def test_nodes_view_says_when_leases_expire() -> None:
    health = {"nodeId": "a", "nodes": [{"nodeId": "a", "url": "u", "host": "h", "pid": 7, "started": 0.0,
                                        "lastSeen": 95.0, "live": True, "leaseCount": 1}],
              "leases": [{"name": "delivery", "holder": "a", "token": 3, "expiresAt": 104.0, "acquiredAt": 90.0},
                         {"name": "lake", "holder": "b", "token": 1, "expiresAt": 99.0, "acquiredAt": 80.0},
                         {"name": "insights", "holder": "", "token": 2, "expiresAt": 0.0, "acquiredAt": 70.0}]}
    view = nodes_view(health, 100.0)
    assert view["nodes"] == [{"id": "a", "url": "u", "host": "h", "pid": 7, "started": "1970-01-01 00:00:00 UTC",
                              "seen": "5 s ago", "this": True, "leases": 1, "live": True}]
    assert [(x["holder"], x["expires"], x["this"]) for x in view["leases"]] == [
        ("a", "in 4 s", True), ("b", "expired", False), ("(free)", "", False)]


def test_a_single_node_says_so(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert "cluster" not in client.get("/_opentrail/health").json()
        form = client.get("/console/signin")
        client.post("/console/signin", data={
            "csrf_token": CSRF_RE.search(form.text).group(1),  # type: ignore[union-attr]
            "access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key,
            "region": "us-east-1", "next": "/console/events"})
        page = client.get("/console/nodes")
        assert page.status_code == 200 and 'id="single-node"' in page.text
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as signed_out:
        assert signed_out.get("/console/nodes").status_code in (302, 303)  # to the sign-in page
    store.close()
    accounts.close()
