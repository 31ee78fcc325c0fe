from __future__ import annotations

from opentrail.ingest import IngestOutcome, Rejection, ingest_records, retention_cutoff
from opentrail.store.base import LookupQuery
from opentrail.store.memory import MemoryEventStore

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def rec(eid: str, time: str, account: str = "123456789012") -> dict[str, object]:
    return {"eventID": eid, "eventTime": time, "recipientAccountId": account, "eventName": "X"}


def test_ingest_counts_and_retention() -> None:
    store = MemoryEventStore()
    records = [
        rec("a", "2023-11-14T00:00:00Z"),
        rec("b", "2023-08-16T22:13:20Z"),  # exactly 90 days old: kept
        rec("c", "2023-08-16T22:13:19Z"),  # one second older: expired
        rec("a", "2023-11-14T00:00:00Z"),  # duplicate in batch
        "not an object",
        rec("d", "nope"),
        rec("a", "2023-11-14T00:00:00Z", account="999999999999"),  # same id, other account
    ]
    out = ingest_records(store, records, retention_days=90, now=NOW)
    assert out == IngestOutcome(
        accepted=3, duplicates=1, expired=1,
        rejected=(Rejection(4, "NotAnObject", "a record must be a JSON object, got str"),
                  Rejection(5, "InvalidEventTime", "eventTime: unrecognised eventTime 'nope'")),
    )
    assert store.count() == 3
    again = ingest_records(store, records[:2], retention_days=90, now=NOW)
    assert again == IngestOutcome(0, 2, 0, ())
    page = store.lookup(LookupQuery("123456789012", "us-east-1", attribute=("EventId", "b")))
    assert [e.event_id for e in page.events] == ["b"]


def test_retention_zero_keeps_everything_and_defaults() -> None:
    store = MemoryEventStore()
    old = {"eventTime": "1999-01-01T00:00:00Z", "eventID": "old"}
    out = ingest_records(store, [old], retention_days=0, now=NOW, default_account_id="1", default_region="eu-west-3")
    assert out == IngestOutcome(1, 0, 0, ())
    [e] = store.read_since(0, 10)
    assert (e.account_id, e.region, e.event_time) == ("1", "eu-west-3", 915148800)
    assert retention_cutoff(0, NOW) is None
    assert retention_cutoff(1, NOW) == 1_699_913_600


def test_empty_batch_does_not_touch_the_store() -> None:
    class Exploding(MemoryEventStore):
        def append(self, events, *, wait_visible=True):  # type: ignore[no-untyped-def]
            raise AssertionError("append called")

    assert ingest_records(Exploding(), [], retention_days=0, now=NOW) == IngestOutcome(0, 0, 0, ())
    assert ingest_records(Exploding(), [5], retention_days=0, now=NOW).rejected[0].code == "NotAnObject"


def test_outcome_json_round_trip() -> None:
    out = IngestOutcome(2, 1, 3, (Rejection(4, "TooLarge", "big"),))
    d = out.to_json()
    assert d == {"accepted": 2, "duplicates": 1, "expired": 3, "rejected": [{"index": 4, "code": "TooLarge", "reason": "big"}],
                 "indexed": True}
    assert IngestOutcome.from_json(d) == out
