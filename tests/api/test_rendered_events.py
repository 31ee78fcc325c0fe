"""The LRU of rendered LookupEvents entries (opentrail/api/rendered_events.py): byte-identical
answers, exact after purges and when another store's event has the same seq, bounded."""

from __future__ import annotations

import time
from typing import Any, Callable

import orjson

from opentrail.api.lookup_events import RENDERED
from opentrail.api.rendered_events import MAX_CACHED_RECORD_BYTES, RenderedEvents, render_event
from opentrail.events.times import format_event_time
from opentrail.store.base import StoredEvent

from .conftest import Server, management_record
from .test_lookup_events import seed


def stored(seq: int, record: Any, *, event_id: str = "id-1", event_time: int = 1_700_000_000) -> StoredEvent:
    raw = record if isinstance(record, bytes) else orjson.dumps(record)
    return StoredEvent(seq, event_id, event_time, "111122223333", "us-east-1", "Management", raw)


RECORDS: list[Any] = [
    management_record(1, "2024-01-01T00:00:00Z"),
    {**management_record(2, "2024-01-01T00:00:01Z"), "resources": [
        {"ARN": "arn:aws:s3:::b\"q", "type": "AWS::S3::Bucket"}, {"type": "no-arn"}]},
    {"eventID": "x", "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/R/s\u00e9\u2603"},
     "readOnly": "TRUE", "note": "tab\tnl\n\u0001 \U0001F600 </script>"},
    {"eventCategory": "Insight", "insightDetails": {"eventName": "PutObject", "eventSource": "s3.amazonaws.com"}},
    b'{"eventID":"spaced" ,  "eventName" : "A"}',  # stored bytes are kept as they are
    b"[1, 2]",  # JSON but not an object
]


def test_rendering_through_the_lru_is_byte_identical() -> None:
    cache = RenderedEvents(capacity=100)
    events = [stored(i + 1, r, event_id=f"id-{i}") for i, r in enumerate(RECORDS)]
    plain = orjson.dumps({"Events": [render_event(e) for e in events], "NextToken": "t"})
    assert orjson.dumps({"Events": cache.render(events), "NextToken": "t"}) == plain
    assert (cache.hits, cache.misses) == (0, len(events))
    assert orjson.dumps({"Events": cache.render(events), "NextToken": "t"}) == plain
    assert (cache.hits, cache.misses) == (len(events), len(events))
    assert orjson.loads(plain)["Events"][4]["CloudTrailEvent"] == '{"eventID":"spaced" ,  "eventName" : "A"}'


def test_another_event_under_a_cached_seq_is_rendered_anew() -> None:
    cache = RenderedEvents(capacity=10)
    first = stored(7, {"eventName": "A"})
    assert orjson.loads(orjson.dumps(cache.render([first])))[0]["EventName"] == "A"
    for other, member, value in [
        (stored(7, {"eventName": "B"}), "EventName", "B"),  # another record
        (stored(7, {"eventName": "A"}, event_id="id-2"), "EventId", "id-2"),  # another (derived) eventID
        (stored(7, {"eventName": "A"}, event_time=5), "EventTime", 5),  # another eventTime
    ]:
        (entry,) = orjson.loads(orjson.dumps(cache.render([other])))
        assert entry[member] == value
    assert (cache.hits, cache.misses) == (0, 4)


def test_lru_is_bounded_and_skips_large_records() -> None:
    cache = RenderedEvents(capacity=3)
    events = [stored(i, {"eventName": f"E{i}"}) for i in range(5)]
    cache.render(events)
    assert len(cache) == 3
    cache.render(events[2:])  # the three most recent are kept
    assert (cache.hits, cache.misses) == (3, 5)
    big = stored(99, {"eventName": "Big", "pad": "x" * MAX_CACHED_RECORD_BYTES})
    cache.render([big])
    cache.render([big])
    assert (cache.hits, cache.misses) == (3, 7)
    off = RenderedEvents(capacity=0)
    off.render(events)
    assert len(off) == 0


def names(client: Any) -> list[str]:
    return [e["EventName"] for e in client.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}])["Events"]]


def test_purged_events_disappear_from_answers(server: Server) -> None:
    now = int(time.time())
    seed(server, [management_record(i, format_event_time(now - 100 + i), event_name=f"Op{i}") for i in range(4)])
    client = server.client()
    assert names(client) == ["Op3", "Op2", "Op1", "Op0"]
    assert names(client) == ["Op3", "Op2", "Op1", "Op0"]  # rendered from the LRU
    assert server.store.purge_before(now - 98) == 2
    assert names(client) == ["Op3", "Op2"]
    assert server.store.purge_before(now) == 2
    assert names(client) == []


def test_two_stores_with_the_same_seqs(make_server: Callable[..., Server]) -> None:
    """RENDERED is shared by every store of the process: seq 1 of one store is not seq 1 of another."""
    now = int(time.time())
    one, two = make_server(), make_server()
    seed(one, [management_record(1, format_event_time(now - 10), event_name="FromOne")])
    seed(two, [management_record(1, format_event_time(now - 10), event_name="FromTwo")])
    assert names(one.client()) == ["FromOne"]
    before = RENDERED.hits
    assert names(two.client()) == ["FromTwo"]
    assert names(one.client()) == ["FromOne"]
    assert RENDERED.hits == before
