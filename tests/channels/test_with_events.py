"""PutAuditEvents' events and the call's record in one durable append (opentrail.api.calls.WithEvents),
and the eventIDs of a batch (opentrail.lake.audit_events.new_event_ids)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import pytest

from opentrail.api.calls import WithEvents, run_recorded
from opentrail.api.errors import ServiceUnavailable
from opentrail.lake.audit_events import new_event_ids
from opentrail.store.base import NewEvent
from opentrail.store.errors import DataDirectoryFullError
from opentrail.store.memory import MemoryEventStore

ACCOUNT, REGION = "111122223333", "eu-west-1"
RECORD = {"eventVersion": "1.11", "eventTime": "2026-12-02T10:00:00Z", "eventSource": "cloudtrail-data.amazonaws.com",
          "eventName": "PutAuditEvents", "awsRegion": REGION, "eventID": "5b1b7c40-0000-4000-8000-000000000001",
          "recipientAccountId": ACCOUNT}


class CountingStore(MemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.appends: list[list[str]] = []

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> Any:
        self.appends.append([e.event_id for e in events])
        return super().append(events, wait_visible=wait_visible)


class FullStore(MemoryEventStore):
    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> Any:
        raise DataDirectoryFullError(self.directory)


def _events(n: int) -> list[NewEvent]:
    return [NewEvent(f"e{i}", 1_700_000_000, ACCOUNT, REGION, "ActivityAuditLog", b'{"eventID": "e%d"}' % i)
            for i in range(n)]


def test_the_record_and_the_events_are_one_append_record_first() -> None:
    store, durable = CountingStore(), []
    answer = run_recorded(operation="PutAuditEvents", store=store, read_only=False,
                          call=lambda: WithEvents({"successful": [], "failed": []}, _events(3),
                                                  lambda: durable.append(True)),
                          make_record=lambda r, e: RECORD)
    assert answer == {"successful": [], "failed": []}
    assert store.appends == [[RECORD["eventID"], "e0", "e1", "e2"]]
    assert [e.event_id for e in store.read_since(0, 10)] == [RECORD["eventID"], "e0", "e1", "e2"]
    assert durable == [True]


def test_nothing_is_accepted_when_the_append_fails(tmp_path: Path) -> None:
    durable: list[bool] = []
    with pytest.raises(ServiceUnavailable):
        run_recorded(operation="PutAuditEvents", store=FullStore(tmp_path), read_only=False,
                     call=lambda: WithEvents({"successful": [], "failed": []}, _events(2),
                                             lambda: durable.append(True)),
                     make_record=lambda r, e: RECORD)
    assert durable == []


def test_new_event_ids_are_distinct_version_4_uuids() -> None:
    ids = new_event_ids(100)
    assert len(set(ids)) == 100
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i) for i in ids)
    assert new_event_ids(0) == []
