"""The same API over the real SQLite event store (submit is asynchronous there)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from opentrail.events.times import format_event_time
from opentrail.ingest import ingest_records
from opentrail.settings import Settings
from opentrail.store.sqlite import SqliteEventStore

from .conftest import Server, management_record, start_server


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path, Settings(), store=SqliteEventStore(tmp_path / "events"))


def test_paging_and_self_recording_on_sqlite(sqlite_server: Server) -> None:
    server = sqlite_server
    base = int(time.time()) - 3600
    records = [management_record(i, format_event_time(base + i)) for i in range(75)]
    assert ingest_records(server.store, records).accepted == 75
    client = server.client()
    pages = list(client.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]))
    ids = [e["EventId"] for p in pages for e in p["Events"]]
    assert [len(p["Events"]) for p in pages] == [50, 25]
    assert ids == [f"10000000-0000-4000-8000-{i:012d}" for i in range(74, -1, -1)]
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}]
    deadline = time.time() + 5
    while True:  # the two page calls were submitted without waiting
        events = client.lookup_events(LookupAttributes=attrs)["Events"]
        if len(events) >= 2 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(events) >= 2
    record = orjson.loads(events[-1]["CloudTrailEvent"])
    assert record["requestParameters"] == {
        "lookupAttributes": [{"attributeKey": "EventSource", "attributeValue": "ec2.amazonaws.com"}]}
