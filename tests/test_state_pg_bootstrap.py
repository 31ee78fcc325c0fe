"""Nodes starting at the same moment on an EMPTY PostgreSQL database (issue 17): each opens the
event store (its migrations), the state stores of every service (their schemas and tables), the
shared secrets, the leases and the first admin account, all at once from several threads, as
several ``opentrail serve --database-url`` processes do. Every node comes up, and they agree on one
admin account and key, one NextToken key and one digest signing key."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from opentrail import state_db
from opentrail.api.token_key import load_token_key
from opentrail.auth.accounts import AccountStore, bootstrap
from opentrail.delivery.cloudwatch_logs_state import CloudWatchLogsState
from opentrail.delivery.state import DeliveryState
from opentrail.digests.keys import KeyStore
from opentrail.digests.state import DigestState
from opentrail.eventbridge.bus_state import BusState
from opentrail.eventbridge.rules_service import RulesService
from opentrail.iam.store import IamStore
from opentrail.insights.counts import SqliteInsightCounts
from opentrail.lake.channels import ChannelService
from opentrail.lake.dashboard_service import DashboardService
from opentrail.lake.imports import ImportState
from opentrail.lake.service import EventDataStoreService
from opentrail.leases import Leases
from opentrail.monitoring.cloudwatch import CloudWatchService
from opentrail.monitoring.logs import LogsService
from opentrail.objectstore import LocalFolderStorage
from opentrail.organizations.service import OrganizationsService
from opentrail.state_pg import close_pools
from opentrail.store.postgres import PostgresEventStore
from opentrail.trails import TrailService
from tests import postgres as pg
from tests.state_backends import outcomes, race

NODES = 4
T = 1_800_000_000.0


def _node(data_dir: Path, url: str) -> dict[str, Any]:
    """What a node opens at start, in ``serve``'s order; closes it all; returns what it agreed on."""
    opened: list[Any] = []
    try:
        opened.append(PostgresEventStore(url))
        boot = bootstrap(data_dir, {})
        token_key = load_token_key(data_dir)
        keys = KeyStore(data_dir / "keys", lambda: T)
        signing = keys.current("us-east-1").fingerprint
        clock = lambda: T  # noqa: E731
        accounts = AccountStore(data_dir / "accounts.db")
        opened += [accounts, DeliveryState(data_dir / "delivery.db"), DigestState(data_dir / "digests.db"),
                   CloudWatchLogsState(data_dir / "cloudwatch-logs.db"), BusState(data_dir / "eventbridge-bus.db"),
                   SqliteInsightCounts(data_dir / "insights.db"), ImportState(data_dir / "lake-imports.db")]
        monitoring = CloudWatchService(data_dir, clock)
        opened += [monitoring, LogsService(data_dir, clock, metric_sink=monitoring.put_metric_points)]
        opened.append(TrailService(data_dir, LocalFolderStorage(data_dir / "buckets"), clock))
        stores = EventDataStoreService(data_dir, clock)
        opened += [stores, ChannelService(data_dir, stores, clock), DashboardService(data_dir, clock)]
        opened += [RulesService(data_dir, clock, head_seq=lambda: 0), OrganizationsService(data_dir, clock),
                   IamStore(data_dir / "iam.db"), Leases(data_dir, data_dir.name, clock)]
        return {"admin": (boot.account_id, boot.access_key_id), "created": boot.created,
                "credentials": (data_dir / "credentials").read_text() if boot.credentials_path else None,
                "token_key": token_key, "signing_key": signing}
    finally:
        for thing in reversed(opened):
            thing.close()


@pytest.mark.slow  # about 5 s: a new database and every store, four times at once
def test_nodes_starting_at_once_on_an_empty_database_all_come_up_and_agree(tmp_path: Path) -> None:
    with pg.own_database() as url:
        namespace = "boot" + secrets.token_hex(3)
        dirs = [tmp_path / f"node{i}" for i in range(NODES)]
        for d in dirs:
            state_db.register_database(d, url, namespace)
        try:
            results = race([lambda d=d: _node(d, url) for d in dirs])
        finally:
            for d in dirs:
                state_db.unregister_database(d)
            close_pools(url)
        assert outcomes(results) == ["ok"] * NODES, [r for r in results if isinstance(r, BaseException)]
        assert len({r["admin"] for r in results}) == 1
        assert sorted(r["created"] for r in results) == [False] * (NODES - 1) + [True]
        assert len({r["credentials"] for r in results}) == 1 and results[0]["credentials"] is not None
        assert len({r["token_key"] for r in results}) == 1
        assert len({r["signing_key"] for r in results}) == 1
