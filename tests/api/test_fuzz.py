"""Fuzzing the CloudTrail API edge with hypothesis against a real server (memory and SQLite stores).

Every answer must be: never a 5xx, an ``x-amzn-RequestId`` header, and for errors a JSON object
body with a string ``__type`` (and a string ``message`` when there is one). After each fuzz run the
store must still answer a LookupEvents with exactly the seeded events. Requests are sent signed
(botocore's SigV4Auth over the exact body bytes) and unsigned. Bounded by ``max_examples`` so the
file runs in well under 30 s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.api.operations import MODEL_OPERATIONS, TARGET_PREFIX
from opentrail.events.times import format_event_time
from opentrail.ingest import ingest_records
from opentrail.settings import Settings
from opentrail.store.sqlite import SqliteEventStore

from .conftest import REGION, Server, management_record, start_server

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
LOOKUP_TARGET = f"{TARGET_PREFIX}.LookupEvents"
SEEDED = 3


@pytest.fixture(params=["memory", "sqlite"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    store = SqliteEventStore(tmp_path / "events") if request.param == "sqlite" else None
    gen = start_server(tmp_path, Settings(max_request_bytes=64 * 1024), store=store)
    server = next(gen)
    base = int(time.time()) - 600
    records = [management_record(i, format_event_time(base + i), event_name="FuzzSeed") for i in range(SEEDED)]
    assert ingest_records(server.store, records).accepted == SEEDED
    yield server
    for _ in gen:
        pass


class Caller:
    """Sends raw requests over one keep-alive connection and checks every answer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.seen: dict[str, int] = {}

    def send(self, body: bytes, headers: dict[str, str], *, sign: bool, region: str = REGION) -> httpx.Response:
        headers = dict(headers)
        if sign:
            key = self.server.admin_key
            req = AWSRequest(method="POST", url=self.server.url + "/", data=body, headers=headers)
            SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "cloudtrail", region).add_auth(req)
            headers = dict(req.headers.items())
        response = self.http.post("/", content=body, headers=headers)
        self.check(response)
        return response

    def check(self, r: httpx.Response) -> None:
        assert r.status_code < 500, (r.status_code, r.text)
        assert r.headers.get("x-amzn-requestid"), r.headers
        body = orjson.loads(r.content)
        assert isinstance(body, dict), r.text
        if r.status_code >= 400:
            assert isinstance(body.get("__type"), str) and body["__type"], r.text
            assert set(body) <= {"__type", "message"}, r.text
            assert isinstance(body.get("message", ""), str), r.text
            self.seen[body["__type"]] = self.seen.get(body["__type"], 0) + 1
        else:
            self.seen["200"] = self.seen.get("200", 0) + 1

    def store_still_answers(self) -> None:
        client = self.server.client()
        deadline = time.time() + 5
        while True:  # the SQLite store commits self-recorded calls asynchronously; seeded events are there
            events = client.lookup_events(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "FuzzSeed"}])["Events"]
            if len(events) == SEEDED or time.time() > deadline:
                break
            time.sleep(0.05)
        assert [e["EventId"] for e in events] == [f"10000000-0000-4000-8000-{i:012d}" for i in (2, 1, 0)]
        self.http.close()


def json_headers(target: str | None = LOOKUP_TARGET) -> dict[str, str]:
    out = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        out["X-Amz-Target"] = target
    return out


#: JSON values of every type, including the awkward ones (huge and negative numbers, unicode,
#: long strings, deep nesting).
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "insight", "NaN", "Infinity", "-1", "1e400", "\u0000", "\ud7ff\U0010ffff", "x" * 3000,
                     "EventName", "2024-01-01T00:00:00Z"]),
)
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)), max_leaves=12)
ATTRIBUTE_KEYS = st.sampled_from(["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
                                  "EventSource", "AccessKeyId", "eventname", "", "Bogus"])
LOOKUP_ATTRIBUTE = st.one_of(
    st.fixed_dictionaries({"AttributeKey": ATTRIBUTE_KEYS | JSON_VALUES, "AttributeValue": JSON_VALUES}),
    JSON_VALUES,
)
LOOKUP_PARAMS = st.fixed_dictionaries({}, optional={
    "LookupAttributes": st.lists(LOOKUP_ATTRIBUTE, max_size=3) | JSON_VALUES,
    "StartTime": JSON_VALUES | st.integers(min_value=-(2**40), max_value=2**40),
    "EndTime": JSON_VALUES | st.integers(min_value=-(2**40), max_value=2**40),
    "EventCategory": st.sampled_from(["insight", "Insight", "management", ""]) | JSON_VALUES,
    "MaxResults": st.integers(min_value=-5, max_value=60) | JSON_VALUES,
    "NextToken": JSON_VALUES,
    "Unknown": JSON_VALUES,
})
#: Raw bodies orjson or Python treat specially (huge, infinite and NaN numbers, bad UTF-8, deep
#: nesting, timestamps outside any store's range).
RAW_BODY_LIST = [b"", b" ", b"{}", b"[]", b"null", b"0", b'"x"', b"{", b'{"MaxResults": 1e400}', b'{"StartTime": -1e400}',
                 b'{"MaxResults": NaN}', b'{"StartTime": 18446744073709551615}', b'{"StartTime": 1e308, "EndTime": 1e308}',
                 b'{"StartTime": -1e308}', b'{"EndTime": -1e308}', b'{"EndTime": 18446744073709551615}',
                 b'{"MaxResults": 18446744073709551615}', b'{"MaxResults": 5.5}', b"\xff\xfe{}",
                 b'{"a":' * 200 + b"1" + b"}" * 200, b'{"NextToken": "' + b"A" * 600 + b'"}',
                 b'{"StartTime": 253402300800}', b'{"EndTime": -62135596801}', b'{"StartTime": 2147483648}',
                 b'{"EndTime": 4294967296.5}']
RAW_BODIES = st.sampled_from(RAW_BODY_LIST)


def run_fuzz(server: Server, strategy: st.SearchStrategy[Any], send: Callable[[Caller, Any], None]) -> Caller:
    caller = Caller(server)

    @FUZZ
    @given(strategy)
    def body(value: Any) -> None:
        send(caller, value)

    body()
    caller.store_still_answers()
    return caller


def test_arbitrary_bytes(fuzz_server: Server) -> None:
    def send(c: Caller, v: tuple[bytes, bool]) -> None:
        c.send(v[0], json_headers(), sign=v[1])

    caller = run_fuzz(fuzz_server, st.tuples(st.binary(max_size=300) | RAW_BODIES, st.booleans()), send)
    assert "SerializationException" in caller.seen and "MissingAuthenticationTokenException" in caller.seen


def test_arbitrary_json_bodies(fuzz_server: Server) -> None:
    def send(c: Caller, v: tuple[Any, bool]) -> None:
        c.send(orjson.dumps(v[0]), json_headers(), sign=v[1])

    run_fuzz(fuzz_server, st.tuples(JSON_VALUES, st.booleans()), send)


def test_lookup_events_parameters_of_every_type(fuzz_server: Server) -> None:
    def send(c: Caller, params: dict[str, Any]) -> None:
        c.send(orjson.dumps(params), json_headers(), sign=True)

    caller = run_fuzz(fuzz_server, LOOKUP_PARAMS, send)
    assert caller.seen.get("200", 0) > 0 and "SerializationException" in caller.seen


def test_every_operation_with_random_bodies(fuzz_server: Server) -> None:
    targets = st.sampled_from(MODEL_OPERATIONS).map(lambda op: f"{TARGET_PREFIX}.{op}") | st.one_of(
        st.none(), st.text(max_size=60), st.just(TARGET_PREFIX + "."), st.just("DynamoDB_20120810.ListTables"))

    def send(c: Caller, v: tuple[str | None, Any, bool]) -> None:
        target, payload, sign = v
        # h11 refuses header values with surrounding whitespace: such a target is left out.
        printable = all(ch.isprintable() and ch.isascii() for ch in target or "") and target == (target or "").strip()
        headers = json_headers(target if printable else None)
        c.send(orjson.dumps(payload), headers, sign=sign)

    run_fuzz(fuzz_server, st.tuples(targets, st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=4),
                                    st.booleans()), send)


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.strip)


def test_odd_headers(fuzz_server: Server) -> None:
    odd = st.fixed_dictionaries({}, optional={
        "Content-Type": HEADER_TEXT | st.sampled_from(["application/x-amz-json-1.1; charset=utf-8", "APPLICATION/JSON",
                                                       "application/x-amz-json-1.0", "text/plain", ""]),
        "X-Amz-Target": HEADER_TEXT | st.just(LOOKUP_TARGET),
        "Authorization": HEADER_TEXT | st.sampled_from([
            "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, "
            "SignedHeaders=host, Signature=00", "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/cloudtrail/"
            "aws4_request,SignedHeaders=;;;,Signature=", "Bearer x", "AWS4-HMAC-SHA256 ,,,==,=,"]),
        "X-Amz-Date": HEADER_TEXT | st.sampled_from(["20240101T000000Z", "99999999T999999Z", "0", ""]),
        "X-Amz-Security-Token": HEADER_TEXT,
        "X-Amz-Content-Sha256": HEADER_TEXT,
        "Content-Encoding": st.sampled_from(["gzip", "br", "identity"]),
    })

    def send(c: Caller, v: tuple[dict[str, str], bool, str]) -> None:
        headers, sign, region = v
        c.send(b'{"MaxResults": 1}', {**json_headers(), **headers}, sign=sign, region=region)

    run_fuzz(fuzz_server, st.tuples(odd, st.booleans(), st.sampled_from([REGION, "eu-west-1", "x", "US_EAST_1"])),
             send)


def test_signed_with_unknown_key_and_wrong_secret(fuzz_server: Server) -> None:
    def send(c: Caller, v: tuple[str, str, bytes]) -> None:
        akid, secret, body = v
        req = AWSRequest(method="POST", url=c.server.url + "/", data=body, headers=json_headers())
        SigV4Auth(Credentials(akid, secret), "cloudtrail", REGION).add_auth(req)
        r = c.http.post("/", content=body, headers=dict(req.headers.items()))
        c.check(r)
        assert r.status_code == 400

    ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/,= "), min_size=1,
                  max_size=30) | st.just(fuzz_server.admin_key.access_key_id)
    caller = run_fuzz(fuzz_server, st.tuples(ids, st.text(max_size=40), st.binary(max_size=50)), send)
    assert set(caller.seen) <= {"UnrecognizedClientException", "InvalidSignatureException", "200",
                                "SerializationException", "IncompleteSignatureException"}


def test_every_awkward_raw_body_signed(fuzz_server: Server) -> None:
    caller = Caller(fuzz_server)
    for body in RAW_BODY_LIST:
        caller.send(body, json_headers(), sign=True)
    caller.store_still_answers()


def test_forged_next_tokens_with_extreme_cursors(fuzz_server: Server) -> None:
    # The token's binding is a plain hash of the parameters, so a client can forge one whose cursor
    # holds any integers orjson reads; the store must never see values it cannot handle.
    import base64
    import hashlib

    from .conftest import ADMIN_ACCOUNT

    binding = hashlib.sha256(orjson.dumps([ADMIN_ACCOUNT, REGION, None, None, None, False])).hexdigest()[:16]
    caller = Caller(fuzz_server)
    for cursor in ([2**64 - 1, 2**64 - 1], [-(2**63), -(2**63)], [2**31, 0], [0, 2**32], [-1, 5], [2**40, 2**40]):
        token = base64.urlsafe_b64encode(orjson.dumps([*cursor, binding])).decode().rstrip("=")
        r = caller.send(orjson.dumps({"NextToken": token}), json_headers(), sign=True)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:
            assert r.json() == {"__type": "InvalidNextTokenException", "message": "Invalid NextToken."}
    caller.store_still_answers()
