"""Which data and network activity events reach the bus: those a logging trail of the event's
account takes (its Region, global service events and event selectors, as trail delivery decides:
:mod:`opentrail.delivery.routing`). AWS: "When using CloudTrail with Amazon S3, you need to
configure CloudTrail to log data events" (EventBridge User Guide, "AWS service events delivered
via AWS CloudTrail"). The trails are read as they are now (not as they were when the event was
recorded); management and Insights events need no trail here.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from ..delivery.routing import ALWAYS, NEVER, partition_route, takes_record
from ..trails.model import Trail


class Trails(Protocol):
    @property
    def version(self) -> int: ...

    def trails(self) -> list[Trail]: ...


class TrailDataEvents:
    """The bus's ``data_events`` gate over ``trails`` (re-read when their version changes)."""

    def __init__(self, trails: Trails) -> None:
        self._trails = trails
        self._version: int | None = None
        self._by_account: dict[str, list[Trail]] = {}
        self._lock = threading.Lock()

    def _logging(self, account_id: str) -> list[Trail]:
        with self._lock:
            version = self._trails.version
            if version != self._version:
                by_account: dict[str, list[Trail]] = {}
                for trail in self._trails.trails():
                    if trail.status.is_logging:
                        by_account.setdefault(trail.account_id, []).append(trail)
                self._by_account, self._version = by_account, version
            return self._by_account.get(account_id, [])

    def __call__(self, account_id: str, region: str, category: str, record: dict[str, Any]) -> bool:
        for trail in self._logging(account_id):
            route = partition_route(trail, account_id, region, category)
            if route == ALWAYS or (route != NEVER and takes_record(trail, category, record)):
                return True
        return False
