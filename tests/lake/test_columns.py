"""The DuckDB-built columns (opentrail.lake.columns) equal record_row's, record by record: every
record of the shared datasets as the event log stores it, and generated odd records."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.events.files import iter_file_records, loads
from opentrail.events.record import RecordRejected, read_record, record_bytes
from opentrail.lake import columns
from opentrail.lake.schema import SCHEMA, record_row
from tests.paths import DATASETS



def expected(raws: list[bytes]) -> pa.Table:
    rows = []
    for raw in raws:
        loaded = loads(raw)  # integers beyond 64 bits exactly
        rows.append(record_row(loaded if isinstance(loaded, dict) else {}, raw))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def dataset_records() -> list[bytes]:
    raws = []
    for path in sorted(DATASETS.rglob("*")):
        if not path.is_file() or path.suffix in (".md", ".tsv"):
            continue
        for item in iter_file_records(path):
            if getattr(item, "record", None) is None:
                continue
            try:
                raws.append(read_record(item.record, default_account_id="123456789012").record)
            except RecordRejected:
                pass
    return raws


def test_every_dataset_record_gets_record_rows_values() -> None:
    raws = dataset_records()
    assert len(raws) > 3500
    table, ok = columns.fast_table(raws)
    # the fast path takes nearly all of them (the rest: float numbers, odd spellings)
    assert ok.true_count > 0.95 * len(raws)
    assert columns.table_of_bytes(raws).equals(expected(raws))
    fast_only = [r for r, f in zip(raws, ok.to_pylist()) if f]
    assert table.filter(ok).equals(expected(fast_only))


def test_rows_of_bytes_order_names_the_records() -> None:
    raws = [orjson.dumps({"eventName": "A", "n": 1.5}), orjson.dumps({"eventName": "B"}), b"[1]",
            orjson.dumps({"eventName": "C", "EVENTNAME": "D"})]
    table, order = columns.rows_of_bytes(raws)
    assert order == [1, 0, 2, 3]
    assert table.column("eventname").to_pylist() == ["B", "A", None, "D"]


ODD_RECORDS: list[dict[str, Any]] = [
    {"eventTime": "2024-05-01T10:00:00.123Z", "readOnly": "true", "managementEvent": "FALSE"},
    {"eventTime": "2024-05-01T10:00:00+02:00", "readOnly": "yes"},
    {"eventTime": "2024-05-01T10:00:00.123456Z"},
    {"eventTime": "2024-02-30T10:00:00Z"},
    {"eventTime": "", "eventName": 5, "awsRegion": True, "errorCode": {"a": 1}, "userAgent": [1]},
    {"EventName": "x", "eventSource": None, "USERIDENTITY": {"ARN": "a", "Type": "t"}},
    {"userIdentity": {"arn": "a", "ARN": "b"}},
    {"userIdentity": "odd", "tlsDetails": {}, "resources": ["x", {"ARN": 1, "accountId": "1"}, {"arn": "y"}]},
    {"userIdentity": {"sessionContext": {"attributes": {"creationDate": "bad", "mfaAuthenticated": False}}}},
    {"userIdentity": {"sessionContext": {"attributes": {"creationDate": "2024-01-01T00:00:00Z"},
                                         "webIdFederationData": {"attributes": {"a": {"b": [1, "x"]}, "c": "d"}}}}},
    {"requestParameters": {"n": None, "f": 1.5, "b": True, "o": {"k": [1, None, "é"]}, "s": "a\"b\\c\n"},
     "responseElements": [], "additionalEventData": "text", "serviceEventDetails": {}},
    {"requestParameters": {"x": -0, "big": 18446744073709551615, "neg": -9223372036854775808, "u": "\u2028"}},
    {"resources": [{"ARN": "arn:1", "type": "AWS::S3::Object", "accountId": 7}, {"ARNPrefix": "p"}, None]},
    # integers beyond 64 bits (orjson refuses them; the event log stores the stdlib's JSON)
    {"requestParameters": {"big": 2**64, "neg": -2**63 - 1, "o": {"k": [10**30, "x"]}}, "apiVersion": 2**64,
     "userIdentity": {"accountId": -2**70}, "resources": [{"accountId": 2**65}]},
    {"requestParameters": {"big": 2**64, "f": 1.5}, "eventTime": "2024-05-01T10:00:00Z"},
]


def test_false_alarms_are_rechecked_and_taken() -> None:
    """Keys inside maps that spell a member otherwise (EC2's responseElements requestId, S3's
    additionalEventData CipherSuite), resources' ARN and a string holding braces make the one
    regular expression suspect a record; the member-by-member check takes them on the fast path.
    A key spelling a member otherwise where the member is read is not taken."""
    base = {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventName": "RunInstances",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a",
                             "sessionContext": {"attributes": {"creationDate": "2024-05-01T09:00:00Z"},
                                                "webIdFederationData": {}}}}
    taken = [{**base, "responseElements": {"requestId": "r-1", "Type": {"a": 1}}},
             {**base, "additionalEventData": {"CipherSuite": "ECDHE", "SignatureVersion": "SigV4"}},
             {**base, "resources": [{"accountId": "1", "type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}]},
             {**base, "requestParameters": {"filter": {"userIdentity": "x", "attributes": [1]}}}]
    not_taken = [{**base, "requestID": "a", "RequestID": "b"},
                 {**base, "userIdentity": {"type": "IAMUser", "ARN": "arn:aws:iam::1:user/a"}},
                 {**base, "tlsDetails": {"CipherSuite": "x"}},
                 {**base, "resources": [{"arn": "arn:aws:s3:::b"}]},
                 {**base, "userIdentity": {"sessionContext": {"attributes": "odd"}}}]
    raws = [orjson.dumps(r) for r in taken + not_taken]
    table, ok = columns.fast_table(raws)
    assert ok.to_pylist() == [True] * len(taken) + [False] * len(not_taken)
    assert columns.table_of_bytes(raws).equals(expected(raws))


def test_odd_records() -> None:
    raws = [record_bytes(r) for r in ODD_RECORDS] + [b"[]", b'"x"', b"null"]
    assert columns.table_of_bytes(raws).equals(expected(raws))


def test_integers_beyond_64_bits_keep_their_digits() -> None:
    """DuckDB's path and Python's (the record decoded exactly, or given decoded by orjson: a float,
    decoded again) both write the digits."""
    record = {"eventTime": "2024-05-01T10:00:00Z", "apiVersion": 2**64,
              "requestParameters": {"big": 2**64, "neg": -2**63 - 1, "o": {"k": [10**30, "x"]}}}
    raw = record_bytes(record)
    assert raw == (b'{"eventTime":"2024-05-01T10:00:00Z","apiVersion":18446744073709551616,"requestParameters":'
                   b'{"big":18446744073709551616,"neg":-9223372036854775809,"o":{"k":[1000000000000000000000000000000,"x"]}}}')
    params = [("big", "18446744073709551616"), ("neg", "-9223372036854775809"),
              ("o", '{"k":[1000000000000000000000000000000,"x"]}')]
    table, ok = columns.fast_table([raw])
    assert ok.to_pylist() == [True]
    assert table.column("requestparameters").to_pylist() == [params]
    assert table.column("apiversion").to_pylist() == ["18446744073709551616"]
    # a float sends the record to Python's path; the orjson decoding given (a float) is not used
    odd = record_bytes({**record, "f": 1.5})
    slow, slow_ok = columns.fast_table([odd])
    assert slow_ok.to_pylist() == [False]
    slow = columns.table_of_bytes([odd], parsed=[orjson.loads(odd)])
    assert slow.select(["requestparameters", "apiversion"]).to_pylist() == table.select(
        ["requestparameters", "apiversion"]).to_pylist()
    assert record_row(loads(raw), raw)["requestparameters"] == params


_NAMES = ["eventTime", "eventtime", "EVENTTIME", "eventName", "readOnly", "readonly", "managementEvent",
          "userIdentity", "useridentity", "requestParameters", "RequestParameters", "resources", "tlsDetails",
          "errorCode", "type", "arn", "ARN", "sessionContext", "attributes", "creationDate", "accountId",
          "webIdFederationData", "cipherSuite", "CipherSuite", "sessionIssuer", "x", "eventID"]
_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1) | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.sampled_from(["true", "False", "", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5Z",
                               "2024-05-01T23:59:59.999+05:30", "2024-05-01", "a/b", "\\u", "\x01"])
            | st.text(max_size=8))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=4), inner, max_size=4),
                       max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(_NAMES), _values, max_size=6), min_size=1, max_size=8))
def test_generated_records(records: list[dict[str, Any]]) -> None:
    raws = [record_bytes(r) for r in records]
    assert columns.table_of_bytes(raws).equals(expected(raws))


def test_build_threads_sets_the_calling_threads_duckdb_threads_only() -> None:
    """Lake ingestion builds on one DuckDB thread (it shares the cores with the API); other threads
    (imports) keep :data:`THREADS`."""
    import threading

    from opentrail.lake import columns
    from opentrail.lake.ingest import INGEST_BUILD_THREADS

    seen: dict[str, int] = {}

    def build(name: str, threads: int | None) -> None:
        if threads is not None:
            columns.build_threads(threads)
        columns.table_of_bytes([b'{"eventName":"A"}'])
        seen[name] = int(columns._connection().execute("SELECT current_setting('threads')").fetchone()[0])
        if threads is not None:
            columns.build_threads(5)  # also after the connection exists
            seen[name + " then 5"] = int(columns._connection().execute("SELECT current_setting('threads')").fetchone()[0])

    for name, threads in (("ingest", INGEST_BUILD_THREADS), ("import", None)):
        t = threading.Thread(target=build, args=(name, threads))
        t.start()
        t.join()
    assert INGEST_BUILD_THREADS == 1
    assert seen == {"ingest": 1, "ingest then 5": 5, "import": columns.THREADS}
