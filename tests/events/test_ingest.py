from __future__ import annotations

from opentrail.ingest import IngestOutcome, Rejection, ingest_records, retention_bound, retention_cutoff
from opentrail.store.base import LookupQuery
from opentrail.store.memory import MemoryEventStore

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def rec(eid: str, time: str, account: str = "123456789012") -> dict[str, object]:
    return {"eventID": eid, "eventTime": time, "recipientAccountId": account, "eventName": "X"}


def test_ingest_counts_keeps_every_event_time() -> None:
    store = MemoryEventStore()
    records = [
        rec("a", "2023-11-14T00:00:00Z"),
        rec("b", "2023-08-16T22:13:20Z"),
        rec("c", "2019-08-16T22:13:19Z"),  # years old: retention counts from receipt, so kept
        rec("a", "2023-11-14T00:00:00Z"),  # duplicate in batch
        "not an object",
        rec("d", "nope"),
        rec("a", "2023-11-14T00:00:00Z", account="999999999999"),  # same id, other account
    ]
    out = ingest_records(store, records)
    assert out == IngestOutcome(
        accepted=4, duplicates=1, expired=0,
        rejected=(Rejection(4, "NotAnObject", "a record must be a JSON object, got str"),
                  Rejection(5, "InvalidEventTime", "eventTime: unrecognised eventTime 'nope'")),
        accounts=(("123456789012", 3), ("999999999999", 1)),
    )
    assert store.count() == 4
    again = ingest_records(store, records[:2])
    assert again == IngestOutcome(0, 2, 0, ())
    page = store.lookup(LookupQuery("123456789012", "us-east-1", attribute=("EventId", "b")))
    assert [e.event_id for e in page.events] == ["b"]


def test_defaults_and_retention_bound() -> None:
    store = MemoryEventStore()
    old = {"eventTime": "1999-01-01T00:00:00Z", "eventID": "old"}
    out = ingest_records(store, [old], default_account_id="1", default_region="eu-west-3")
    assert out == IngestOutcome(1, 0, 0, (), accounts=(("1", 1),))
    [e] = store.read_since(0, 10)
    assert (e.account_id, e.region, e.event_time) == ("1", "eu-west-3", 915148800)
    assert retention_cutoff(0, NOW) is None
    assert retention_cutoff(1, NOW) == 1_699_913_600
    clocked = MemoryEventStore(clock=lambda: NOW)
    ingest_records(clocked, [old], default_account_id="1")
    assert retention_bound(clocked, 0, NOW + 5 * 86400) is None  # 0 keeps everything
    assert retention_bound(clocked, 1, NOW + 86400) is None  # received exactly a day ago: kept
    assert retention_bound(clocked, 1, NOW + 86401) == (int(NOW) + 1, 1)


def test_empty_batch_does_not_touch_the_store() -> None:
    class Exploding(MemoryEventStore):
        def append(self, events, *, wait_visible=True):  # type: ignore[no-untyped-def]
            raise AssertionError("append called")

    assert ingest_records(Exploding(), []) == IngestOutcome(0, 0, 0, ())
    assert ingest_records(Exploding(), [5]).rejected[0].code == "NotAnObject"


def test_outcome_json_round_trip() -> None:
    out = IngestOutcome(2, 1, 3, (Rejection(4, "TooLarge", "big"),), accounts=(("1", 2),))
    d = out.to_json()
    assert d == {"accepted": 2, "duplicates": 1, "expired": 3, "rejected": [{"index": 4, "code": "TooLarge", "reason": "big"}],
                 "indexed": True, "accounts": {"1": 2}}
    assert IngestOutcome.from_json(d) == out
    del d["accounts"]  # from a server before per-account counts
    assert IngestOutcome.from_json(d) == IngestOutcome(2, 1, 3, (Rejection(4, "TooLarge", "big"),))
