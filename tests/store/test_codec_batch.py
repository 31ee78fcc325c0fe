"""RecordCodec.compress_many: one zstd call per batch, frames identical to compress()."""

from __future__ import annotations

import pytest

from opentrail.store.sqlite_codec import DEFAULT_ZDICT, RecordCodec
from opentrail.store.sqlite_log import decode_batch, encode_batch, encode_frames
from opentrail.store.base import NewEvent


@pytest.mark.parametrize(
    "records",
    [[], [b'{"eventName":"A"}'], [b'{"a":1}' * 500, b"{}", b'{"b":"\\u0000"}'], [b"{}", b""], [b""]],
)
def test_frames_are_compress_of_each_record(records: list[bytes]) -> None:
    codec = RecordCodec(DEFAULT_ZDICT)
    frames, lengths = codec.compress_many(records)
    singles = [codec.compress(r) for r in records]
    assert frames == b"".join(singles)
    assert lengths == [len(s) for s in singles]


def test_encode_frames_matches_encode_batch_and_decodes() -> None:
    codec = RecordCodec(DEFAULT_ZDICT)
    events = [
        NewEvent("e1", 10, "111122223333", "us-east-1", "Management", b'{"x":1}', (("EventId", "e1"), ("EventName", "A"))),
        NewEvent("e2", 11, "111122223333", "eu-west-1", "Data", b'{"y":2}', ()),
    ]
    frames, lengths = codec.compress_many([e.record for e in events])
    payload = encode_frames(events, frames, lengths)
    assert payload == encode_batch(events, [codec.compress(e.record) for e in events])
    decoded = decode_batch(payload)
    assert [(d[:6], codec.decompress(d[6])) for d in decoded] == [
        (("e1", 10, "111122223333", "us-east-1", "Management", ["EventName\x1fA"]), b'{"x":1}'),
        (("e2", 11, "111122223333", "eu-west-1", "Data", []), b'{"y":2}'),
    ]
