"""The reader's one-pass lookup pairs equal the documented two-step derivation
(``lookup_pairs(lookup_fields(...))``) for every dataset record and for arbitrary record-like dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.events.lookup import lookup_fields, lookup_pairs
from opentrail.events.record import read_record, record_lookup_pairs

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cloudtrail"


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child)


def _dataset_dicts() -> list[dict[str, Any]]:
    """Every JSON object (records and their nested objects) in the datasets' .json files."""
    out: list[dict[str, Any]] = []
    for path in sorted(DATASETS.rglob("*.json")):
        try:
            value = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        out.extend(_objects(value))
    return out


def test_every_dataset_object_gets_the_documented_pairs() -> None:
    objs = _dataset_dicts()
    assert len(objs) > 5000
    for obj in objs:
        for event_id in ("given-id", obj.get("eventID") if isinstance(obj.get("eventID"), str) and obj["eventID"] else "x"):
            assert record_lookup_pairs(obj, event_id) == lookup_pairs(lookup_fields(obj, event_id=event_id)), obj


def test_read_record_uses_the_pairs_of_its_event_id() -> None:
    record = {"eventTime": "2024-01-01T00:00:00Z", "recipientAccountId": "111122223333", "eventName": "GetObject",
              "readOnly": True, "resources": [{"type": "AWS::S3::Object", "ARN": "a"}, {"type": "AWS::S3::Object", "ARN": "b"}]}
    event = read_record(record)
    assert event.lookup == (
        ("EventId", event.event_id),
        ("EventName", "GetObject"),
        ("ReadOnly", "true"),
        ("ResourceType", "AWS::S3::Object"),
        ("ResourceName", "a"),
        ("ResourceName", "b"),
    )


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                           max_leaves=10)
texts = st.sampled_from(["", "x", "arn:aws:sts::1:assumed-role/R/sess", "p:q", "TRUE", "False"]) | json_values
record_like = st.fixed_dictionaries(
    {},
    optional={
        "eventName": texts,
        "eventSource": texts,
        "readOnly": texts,
        "insightDetails": st.fixed_dictionaries({}, optional={"eventName": texts, "eventSource": texts}) | json_values,
        "userIdentity": st.fixed_dictionaries(
            {},
            optional={"userName": texts, "type": st.sampled_from(["AssumedRole", "FederatedUser", "IAMUser", "Root", "AWSService"]),
                      "arn": texts, "principalId": texts, "accessKeyId": texts},
        ) | json_values,
        "resources": st.lists(st.fixed_dictionaries({}, optional={"type": texts, "ARN": texts}) | json_values, max_size=4)
        | json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(obj=record_like, event_id=st.text(min_size=1, max_size=3))
def test_arbitrary_records_get_the_documented_pairs(obj: dict[str, Any], event_id: str) -> None:
    assert record_lookup_pairs(obj, event_id) == lookup_pairs(lookup_fields(obj, event_id=event_id))
