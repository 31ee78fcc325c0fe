"""RecordCodec.compress_many: one zstd call per batch, frames identical to compress();
decompress_many (one zstd call) and LazyRecords give back each record."""

from __future__ import annotations

import pytest

import zstandard

from opentrail.store.sqlite_codec import DEFAULT_ZDICT, LazyRecords, RecordCodec
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


@pytest.mark.parametrize(
    "records",
    [[], [b'{"eventName":"A"}'], [b'{"a":1}' * 500, b"{}", b'{"b":"\\u0000"}'], [b"{}", b""], [b"", b""]],
)
def test_decompress_many_and_lazy_records_give_each_record(records: list[bytes]) -> None:
    codec = RecordCodec(DEFAULT_ZDICT)
    blobs = [codec.compress(r) for r in records]
    assert codec.decompress_many(blobs) == records
    assert codec.decompress_many(iter(blobs)) == records
    lazy = LazyRecords(blobs, codec)
    assert len(lazy) == len(records)
    assert [lazy.one(i) for i in range(len(records))] == records  # each on its own
    assert list(lazy) == records and lazy[-1:] == records[-1:]  # then all at once
    assert [lazy.one(i) for i in range(len(records))] == records


def test_decompress_many_of_a_corrupt_blob_raises_zstd_error() -> None:
    codec = RecordCodec(DEFAULT_ZDICT)
    with pytest.raises(zstandard.ZstdError):
        codec.decompress_many([codec.compress(b"{}"), b"not zstd"])
