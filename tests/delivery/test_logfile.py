"""Log file bodies: exact bytes, deterministic gzip, and the background compressor."""

from __future__ import annotations

import gzip
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.delivery.logfile import (BodyCompressor, fill_points, log_file_body, raw_body, runs_from_bytes, runs_to_bytes,
                                        to_runs)


def test_raw_body_joins_the_record_bytes() -> None:
    assert raw_body([]) == b'{"Records":[]}'
    assert raw_body([b'{"a":1}']) == b'{"Records":[{"a":1}]}'
    assert raw_body(iter([b'{"a":1}', b'{"b":2}', b'{"c":3}'])) == b'{"Records":[{"a":1},{"b":2},{"c":3}]}'


def test_log_file_body_is_one_gzip_member_with_the_same_bytes_every_time() -> None:
    records = [b'{"eventID":"%d"}' % i for i in range(2500)]  # more than one CHUNK_RECORDS
    body = log_file_body(records)
    assert body[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, MTIME 0, OS unknown
    assert gzip.decompress(body) == b'{"Records":[' + b",".join(records) + b"]}"
    assert log_file_body(list(records)) == body


def test_compressor_builds_bodies_in_the_background_in_order() -> None:
    compressor = BodyCompressor(max_pending=2, idle_s=0.05)
    futures = [compressor.submit([b'{"n":%d}' % i] * 50_000) for i in range(5)]
    assert [gzip.decompress(f.result(timeout=30)) for f in futures] == [
        b'{"Records":[' + b",".join([b'{"n":%d}' % i] * 50_000) + b"]}" for i in range(5)]


def test_submit_waits_while_max_pending_bodies_are_unfinished(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow_body(records: list[bytes]) -> bytes:
        release.wait(30)
        return b"body"

    monkeypatch.setattr("opentrail.delivery.logfile.log_file_body", slow_body)
    compressor = BodyCompressor(max_pending=1, idle_s=0.05)
    first = compressor.submit([b"{}"])
    second: list[object] = []
    submitter = threading.Thread(target=lambda: second.append(compressor.submit([b"{}"])))
    submitter.start()
    submitter.join(0.3)
    assert submitter.is_alive() and second == [] and not first.done()
    release.set()
    submitter.join(30)
    assert first.result(timeout=30) == b"body" and second[0].result(timeout=30) == b"body"  # type: ignore[attr-defined]


def test_compressor_hands_errors_to_the_waiter_and_keeps_working() -> None:
    compressor = BodyCompressor(idle_s=0.05)
    bad = compressor.submit([b"x", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        bad.result(timeout=30)
    assert gzip.decompress(compressor.submit([b"{}"]).result(timeout=30)) == b'{"Records":[{}]}'


def test_compressor_thread_ends_when_idle_and_starts_again() -> None:
    compressor = BodyCompressor(idle_s=0.05)
    compressor.submit([b"{}"]).result(timeout=30)
    threads = [t for t in threading.enumerate() if t.name == "opentrail-log-file-gzip"]
    for t in threads:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads)
    assert gzip.decompress(compressor.submit([b"{}"]).result(timeout=30)) == b'{"Records":[{}]}'



@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.integers(0, 30), st.lists(st.integers(1, 12), max_size=40), st.integers(1, 5), st.integers(1, 40))
def test_fill_points_are_where_appending_one_by_one_fills_a_batch(count: int, raw_bytes: int, sizes: list[int],
                                                                  max_records: int, max_raw_bytes: int) -> None:
    count, raw_bytes = min(count, max_records - 1), min(raw_bytes, max_raw_bytes - 1)  # a batch not yet full
    expected, n, b = [], count, raw_bytes
    for i, size in enumerate(sizes):
        n, b = n + 1, b + size
        if n >= max_records or b >= max_raw_bytes:
            expected.append(i)
            n, b = 0, 0
    assert fill_points(count, raw_bytes, sizes, max_records, max_raw_bytes) == expected


def test_runs_of_seqs_roundtrip_through_bytes() -> None:
    assert to_runs([]) == []
    assert to_runs([4, 5, 6]) == [(4, 6)]
    assert to_runs([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert to_runs(range(10, 20)) == [(10, 19)]
    assert runs_from_bytes(runs_to_bytes([(1, 3), (7, 7)])) == [(1, 3), (7, 7)]
