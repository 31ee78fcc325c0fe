"""Dashboards and their refreshes (``lake.db``: :class:`DashboardRepository`) on both state backends
(``state_dir``: SQLite and PostgreSQL), including two repositories on one state_dir standing in for
two nodes (a scheduled slot is claimed once across them)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from opentrail.lake.dashboard_repository import DashboardRepository, Refresh
from opentrail.lake.dashboards import Dashboard, RefreshSchedule, Widget
from opentrail.lake.service import LAKE_DB

ACCOUNT = "111122223333"
REGION = "us-east-1"


@pytest.fixture
def repos(state_dir: Path) -> Iterator[tuple[DashboardRepository, DashboardRepository]]:
    first, second = DashboardRepository(state_dir / LAKE_DB), DashboardRepository(state_dir / LAKE_DB)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _dashboard(name: str, region: str = REGION) -> Dashboard:
    return Dashboard(name, ACCOUNT, region, widgets=(
        Widget("SELECT eventName FROM eds WHERE eventTime > ?", ("$StartTime$",), (("View", "Table"),), "w-0"),),
        refresh_schedule=RefreshSchedule("HOURS", 6, "ENABLED", "01:30"), tags=(("k", "v"), ("n", None)),
        created_time=100.5, updated_time=200.25, schedule_set_time=150.0, extra={"note": "x"})


def _refresh(rid: str, name: str, created: float, slot: float | None) -> Refresh:
    return Refresh(rid, ACCOUNT, REGION, name, created, slot, "STARTING", {}, {"$StartTime$": "2024-01-01 00:00:00"})


def test_dashboards(repos: tuple[DashboardRepository, DashboardRepository]) -> None:
    repo, _ = repos
    b, a, other = _dashboard("b"), _dashboard("a"), _dashboard("a", "eu-west-1")
    for d in (b, a, other):
        repo.put(d)
    assert repo.get(ACCOUNT, REGION, "a") == a
    assert repo.regional(ACCOUNT, REGION) == [a, b]
    assert repo.all() == [other, a, b]  # by account, Region, name
    repo.delete(ACCOUNT, REGION, "a")
    assert repo.get(ACCOUNT, REGION, "a") is None and repo.regional(ACCOUNT, REGION) == [b]


def test_refreshes(repos: tuple[DashboardRepository, DashboardRepository]) -> None:
    repo, _ = repos
    assert repo.claim_refresh(_refresh("1", "a", 10.0, 3600.0)) is True
    assert repo.claim_refresh(_refresh("2", "a", 11.0, 3600.0)) is False  # that slot is claimed
    assert repo.claim_refresh(_refresh("3", "a", 12.0, None)) is True
    assert repo.claim_refresh(_refresh("4", "a", 13.0, None)) is True  # on demand: no slot
    assert repo.starting() == [_refresh("1", "a", 10.0, 3600.0), _refresh("3", "a", 12.0, None),
                               _refresh("4", "a", 13.0, None)]
    repo.finish_refresh("3", {"w-0": "q-1"}, "one widget failed")
    assert repo.refresh("3") == Refresh("3", ACCOUNT, REGION, "a", 12.0, None, "STARTED", {"w-0": "q-1"},
                                        {"$StartTime$": "2024-01-01 00:00:00"}, "one widget failed")
    assert repo.latest_refresh(ACCOUNT, REGION, "a").refresh_id == "4"  # type: ignore[union-attr]
    assert repo.latest_slot(ACCOUNT, REGION, "a") == 3600.0
    assert repo.latest_slot(ACCOUNT, REGION, "none") is None
    assert (repo.refresh_exists("1"), repo.refresh_exists("9")) == (True, False)
    repo.forget_refreshes(ACCOUNT, REGION, "a")
    assert (repo.refresh("1"), repo.starting(), repo.latest_refresh(ACCOUNT, REGION, "a")) == (None, [], None)


def test_two_nodes_share_dashboards_and_claim_a_slot_once(
        repos: tuple[DashboardRepository, DashboardRepository]) -> None:
    first, second = repos
    first.put(_dashboard("a"))
    assert second.get(ACCOUNT, REGION, "a") == _dashboard("a")
    assert first.claim_refresh(_refresh("1", "a", 10.0, 7200.0)) is True
    assert second.claim_refresh(_refresh("2", "a", 10.0, 7200.0)) is False
    second.finish_refresh("1", {"w-0": "q"}, None)
    assert first.refresh("1").status == "STARTED"  # type: ignore[union-attr]
    second.delete(ACCOUNT, REGION, "a")
    assert first.all() == []
