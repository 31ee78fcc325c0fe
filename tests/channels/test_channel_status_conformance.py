"""GetChannel's IngestionStatus store (``lake-channel-status.db``:
:class:`opentrail.lake.channel_status.IngestionStatusStore`, and through
:class:`opentrail.lake.channels.ChannelService`) on both state backends (``state_dir``), with two
store objects on one database standing in for two nodes: one records, the other reads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.lake.channel_status import STATUS_DB, IngestionStatus, IngestionStatusStore
from opentrail.lake.channels import ChannelService
from opentrail.lake.service import EventDataStoreService, StoreSettings
from tests.channels.test_channel_store_conformance import ACCOUNT, AUDIT, REGION

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"
CHANNEL = "11111111-2222-4333-8444-555555555555"
EMPTY = IngestionStatus()


@pytest.fixture
def two(state_dir: Path) -> Iterator[tuple[IngestionStatusStore, IngestionStatusStore]]:
    first = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    second = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_attempt_success_and_error_follow_the_latest_calls(two: tuple[IngestionStatusStore, IngestionStatusStore]) -> None:
    node, _ = two
    assert node.status(CHANNEL) == EMPTY
    node.record(CHANNEL, 1000.25, A, None)  # one event, accepted
    assert node.status(CHANNEL) == IngestionStatus(1000.25, A, 1000.25, A, None)
    node.record(CHANNEL, 1001.5, None, "InvalidData")  # every event refused: no attempt eventID
    assert node.status(CHANNEL) == IngestionStatus(1000.25, A, 1001.5, None, "InvalidData")
    node.flush()
    node.record(CHANNEL, 1002.0, B, None)  # accepted again: the error code stays the latest failure's
    assert node.status(CHANNEL) == IngestionStatus(1002.0, B, 1002.0, B, "InvalidData")
    node.record(CHANNEL, 1003.0, C, "FieldTooLong")  # some accepted, some refused
    node.flush()
    assert node.status(CHANNEL) == IngestionStatus(1003.0, C, 1003.0, C, "FieldTooLong")
    assert node.status("other") == EMPTY


def test_one_node_records_the_other_reads(two: tuple[IngestionStatusStore, IngestionStatusStore]) -> None:
    first, second = two
    first.record(CHANNEL, 1000.0, A, "InvalidChecksum")
    assert second.status(CHANNEL) == EMPTY  # noted in memory only: written by flush (or the thread)
    first.flush()
    assert second.status(CHANNEL) == IngestionStatus(1000.0, A, 1000.0, A, "InvalidChecksum")
    first.flush()  # nothing noted since: nothing written, nothing changed
    assert second.status(CHANNEL) == IngestionStatus(1000.0, A, 1000.0, A, "InvalidChecksum")

    # the second node takes a later call; the first one's own answer includes it once written
    second.record(CHANNEL, 1005.0, None, "InvalidRecipient")
    second.flush()
    assert first.status(CHANNEL) == IngestionStatus(1000.0, A, 1005.0, None, "InvalidRecipient")

    # an older call written after a newer one changes only what it is the latest of (each pair by its time)
    first.record(CHANNEL, 1003.0, B, None)
    first.flush()
    assert second.status(CHANNEL) == IngestionStatus(1003.0, B, 1005.0, None, "InvalidRecipient")
    first.record(CHANNEL, 1004.0, None, "FieldNotFound")
    assert first.status(CHANNEL) == IngestionStatus(1003.0, B, 1005.0, None, "InvalidRecipient")
    first.flush()
    assert second.status(CHANNEL) == IngestionStatus(1003.0, B, 1005.0, None, "InvalidRecipient")


def test_a_restart_sees_what_close_wrote(state_dir: Path) -> None:
    node = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    node.record(CHANNEL, 1000.5, A, "InvalidData")
    node.close()  # writes what was noted
    again = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    try:
        assert again.status(CHANNEL) == IngestionStatus(1000.5, A, 1000.5, A, "InvalidData")
    finally:
        again.close()


def test_forget_removes_the_row_and_what_was_noted(two: tuple[IngestionStatusStore, IngestionStatusStore]) -> None:
    first, second = two
    first.record(CHANNEL, 1000.0, A, None)
    first.flush()
    second.record(CHANNEL, 1001.0, B, None)
    first.record(CHANNEL, 1002.0, C, None)
    second.forget(CHANNEL)
    assert second.status(CHANNEL) == EMPTY
    second.flush()
    assert first.status(CHANNEL) == IngestionStatus(1002.0, C, 1002.0, C, None)  # first's own note only
    assert second.status(CHANNEL) == EMPTY


def test_a_deleted_channels_note_is_not_written(state_dir: Path) -> None:
    alive: set[str] = {CHANNEL}
    node = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None, exists=alive.__contains__)
    reader = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    try:
        node.record(CHANNEL, 1000.0, A, None)
        node.record("22222222-2222-4333-8444-555555555555", 1000.0, B, None)
        node.flush()
        assert reader.status(CHANNEL) == IngestionStatus(1000.0, A, 1000.0, A, None)
        assert reader.status("22222222-2222-4333-8444-555555555555") == EMPTY
    finally:
        node.close()
        reader.close()


def test_the_background_thread_writes_what_was_noted(state_dir: Path) -> None:
    node = IngestionStatusStore(state_dir / STATUS_DB, flush_s=0.05)
    reader = IngestionStatusStore(state_dir / STATUS_DB, flush_s=None)
    try:
        node.record(CHANNEL, 1000.0, A, None)
        deadline = time.monotonic() + 5
        while reader.status(CHANNEL) == EMPTY and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reader.status(CHANNEL) == IngestionStatus(1000.0, A, 1000.0, A, None)
    finally:
        node.close()
        reader.close()


def test_channel_service_shares_the_status_and_delete_removes_it(state_dir: Path) -> None:
    stores = EventDataStoreService(state_dir, lambda: 1000.0)
    first = ChannelService(state_dir, stores, lambda: 2000.0, status_flush_s=None)
    second = ChannelService(state_dir, stores, lambda: 2000.0, recheck_s=60.0, status_flush_s=None)
    try:
        eds = stores.create(ACCOUNT, REGION, StoreSettings(name="audit", advanced_event_selectors=AUDIT))
        c = first.create(ACCOUNT, REGION, "partner", "Custom", [("EVENT_DATA_STORE", eds.id)])
        first.record_ingestion(c.id, 2001.0, A, "InvalidData")
        assert first.status(c.id) == IngestionStatus(2001.0, A, 2001.0, A, "InvalidData")
        first.flush_status()
        assert second.status(c.id) == IngestionStatus(2001.0, A, 2001.0, A, "InvalidData")
        second.delete(ACCOUNT, REGION, c.arn)
        assert first.status(c.id) == EMPTY
    finally:
        first.close()
        second.close()
        stores.close()
