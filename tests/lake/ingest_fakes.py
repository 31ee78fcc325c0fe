"""A tiny stand-in for the event data store service as ingestion uses it (all, version, purge_deleted), and record makers."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from typing import Any, Callable

from opentrail.lake.model import PENDING_DELETION_S, EventDataStore
from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
_ids = itertools.count(1)


class FakeStores:
    """``all()``, ``version``, ``purge_deleted(now)`` over a list the test edits with :meth:`put`."""

    def __init__(self, *stores: EventDataStore) -> None:
        self.stores: dict[str, EventDataStore] = {s.id: s for s in stores}
        self.version = 1

    def all(self) -> list[EventDataStore]:
        return list(self.stores.values())

    def put(self, store: EventDataStore) -> EventDataStore:
        self.stores[store.id] = store
        self.version += 1
        return store

    def update(self, eds_id: str, **changes: Any) -> EventDataStore:
        return self.put(replace(self.stores[eds_id], **changes))

    def purge_deleted(self, now: float, owns: Callable[[str], bool] | None = None) -> list[str]:
        gone = [s.id for s in self.stores.values()
                if s.status == "PENDING_DELETION" and s.deleted_time is not None and now - s.deleted_time >= PENDING_DELETION_S
                and (owns is None or owns(s.id))]
        for eds_id in gone:
            del self.stores[eds_id]
        if gone:
            self.version += 1
        return gone


def selector(*fields: AdvancedFieldSelector) -> tuple[AdvancedEventSelector, ...]:
    return (AdvancedEventSelector(tuple(fields)),)


def eds(account: str = ACCOUNT, region: str = "us-east-1", **kw: Any) -> EventDataStore:
    values: dict[str, Any] = dict(id=str(uuid.uuid4()), account_id=account, home_region=region, name="s",
                                  status="ENABLED", advanced_event_selectors=())
    values.update(kw)
    return EventDataStore(**values)


def record(region: str = "us-east-1", name: str = "RunInstances", account: str = ACCOUNT,
           time: str = "2024-05-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    rec = {"eventVersion": "1.11", "userIdentity": {"type": "Root", "accountId": account, "arn": f"arn:aws:iam::{account}:root"},
           "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": region,
           "readOnly": False, "eventID": f"00000000-0000-4000-8000-{n:012d}", "eventType": "AwsApiCall",
           "managementEvent": True, "recipientAccountId": account, "eventCategory": "Management",
           "requestParameters": {"instanceType": "t3.micro", "tags": [{"k": "v"}]}}
    rec.update(extra)
    return rec
