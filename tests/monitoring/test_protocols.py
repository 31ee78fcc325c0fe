"""CloudWatch's Query and Smithy RPC v2 CBOR protocols against botocore's own serializers and
parsers, for every operation of the model: a request botocore writes decodes to the JSON form of
its input, and an answer we write parses, in botocore, to the output we meant."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import urlencode

import botocore.parsers
import botocore.serialize
import cbor2
import pytest

from opentrail.api.cloudwatch_errors import InvalidParameterValueException, ResourceNotFound
from opentrail.api.errors import SerializationException, UnknownOperationException
from opentrail.api.model import service_model
from opentrail.api.protocols.cbor import decode_cbor, encode_output
from opentrail.api.protocols.query import decode_query, encode_error_body, encode_result, iso_timestamp, query_pairs

MODEL = service_model("cloudwatch")
OPERATIONS = sorted(MODEL.operation_names)
WHEN = dt.datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=dt.timezone.utc)


def example(shape: Any, depth: int = 0, salt: int = 0, *, query: bool = False) -> Any:
    """A value of ``shape`` with every member set (lists and maps of two), as a botocore caller
    gives it (timestamps as datetimes, blobs as bytes). With ``query``, members that are empty
    structures (``EvaluationWindow.SlidingWindow``) are left out: the Query protocol has no form for
    them (botocore writes nothing)."""
    kind = shape.type_name
    if kind == "structure":
        assert depth < 20
        if shape.is_tagged_union:  # one member set
            name, member = next((n, m) for n, m in shape.members.items() if m.members or m.type_name != "structure")
            return {name: example(member, depth + 1, 0, query=query)}
        return {name: example(member, depth + 1, i, query=query) for i, (name, member) in enumerate(shape.members.items())
                if not (query and member.type_name == "structure" and not member.members)}
    if kind == "list":
        return [example(shape.member, depth + 1, salt + i, query=query) for i in range(2)]
    if kind == "map":
        return {f"k{i}&<{salt}>": example(shape.value, depth + 1, i, query=query) for i in range(2)}
    if kind == "string":
        if shape.enum:
            return shape.enum[salt % len(shape.enum)]
        return f"{shape.name} {salt} & <é>"
    if kind in ("integer", "long"):
        return 7 + salt
    if kind in ("double", "float"):
        return 1.5 + salt
    if kind == "boolean":
        return salt % 2 == 0
    if kind == "timestamp":
        return WHEN + dt.timedelta(seconds=salt)
    if kind == "blob":
        return b"\x00\xffblob" + bytes([salt])
    raise AssertionError(kind)


def json_form(value: Any) -> Any:
    """What handlers see: timestamps as epoch seconds, blobs as base64 text."""
    if isinstance(value, dict):
        return {k: json_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_form(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def normalized(value: Any) -> Any:
    """Numbers compared as floats (a double 2 and 2.0 are the same member)."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dt.datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return float(value)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_query_request_decodes_to_the_json_form(operation: str) -> None:
    op = MODEL.operation_model(operation)
    params = example(op.input_shape, query=True) if op.input_shape is not None else {}
    request = botocore.serialize.create_serializer("query", include_validation=False).serialize_to_request(params, op)
    pairs = query_pairs(urlencode(request["body"]).encode())
    assert ("Action", operation) in pairs and ("Version", "2010-08-01") in pairs
    assert normalized(decode_query(pairs, op.input_shape)) == normalized(json_form(params))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_cbor_request_decodes_to_the_json_form(operation: str) -> None:
    op = MODEL.operation_model(operation)
    params = example(op.input_shape) if op.input_shape is not None else {}
    request = botocore.serialize.create_serializer("smithy-rpc-v2-cbor", include_validation=False).serialize_to_request(params, op)
    assert request["url_path"] == f"/service/GraniteServiceVersion20100801/operation/{operation}"
    assert request["headers"]["smithy-protocol"] == "rpc-v2-cbor"
    assert normalized(decode_cbor(request["body"], op.input_shape)) == normalized(json_form(params))


def _http(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": body, "status_code": status, "headers": headers or {}}


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if MODEL.operation_model(o).output_shape is not None])
def test_query_answer_parses_in_botocore(operation: str) -> None:
    op = MODEL.operation_model(operation)
    payload = json_form(example(op.output_shape))
    body = encode_result(payload, operation, "cloudwatch", "req-1")
    parsed = botocore.parsers.create_parser("query").parse(_http(body), op.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    assert normalized(json_form(parsed)) == normalized(payload)


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if MODEL.operation_model(o).output_shape is not None])
def test_cbor_answer_parses_in_botocore(operation: str) -> None:
    op = MODEL.operation_model(operation)
    payload = json_form(example(op.output_shape))
    parsed = botocore.parsers.create_parser("smithy-rpc-v2-cbor").parse(
        _http(encode_output(payload, op.output_shape)), op.output_shape)
    assert normalized(json_form(parsed)) == normalized(payload)


def test_query_answer_of_an_operation_without_output() -> None:
    assert encode_result({}, "PutMetricData", "cloudwatch", "r-2") == (
        b'<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        b"<ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></PutMetricDataResponse>")


def test_query_answer_bytes() -> None:
    body = encode_result({"Metrics": [{"Namespace": "CIS", "MetricName": "RootUse",
                                       "Dimensions": [{"Name": "a&b", "Value": "<v>"}]}]},
                         "ListMetrics", "cloudwatch", "r-1")
    assert body == (
        b'<ListMetricsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ListMetricsResult>'
        b"<Metrics><member><Namespace>CIS</Namespace><MetricName>RootUse</MetricName><Dimensions><member>"
        b"<Name>a&amp;b</Name><Value>&lt;v&gt;</Value></member></Dimensions></member></Metrics></ListMetricsResult>"
        b"<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListMetricsResponse>")


def test_query_timestamps() -> None:
    assert iso_timestamp(1796205600.0) == "2026-12-02T10:00:00.000Z"
    assert iso_timestamp(1796205600.5) == "2026-12-02T10:00:00.500Z"
    shape = MODEL.operation_model("GetMetricStatistics").input_shape
    for text, epoch in (("2026-12-02T10:00:00Z", 1796205600.0), ("2026-12-02T10:00:00.250Z", 1796205600.25),
                        ("2026-12-02T11:00:00+01:00", 1796205600.0), ("2026-12-02T10:00:00", 1796205600.0),
                        ("1796205600", 1796205600.0)):
        assert decode_query([("StartTime", text)], shape) == {"StartTime": epoch}


def test_query_empty_list_and_bad_values() -> None:
    shape = MODEL.operation_model("DescribeAlarms").input_shape
    assert decode_query([("AlarmNames", "")], shape) == {"AlarmNames": []}
    assert decode_query([("AlarmNames.member.2", "b"), ("AlarmNames.member.1", "a")], shape) == {
        "AlarmNames": ["a", "b"]}
    with pytest.raises(InvalidParameterValueException) as info:
        decode_query([("MaxRecords", "ten")], shape)
    assert info.value.message == "Value (ten) for parameter MaxRecords is invalid."
    assert info.value.query_code == "InvalidParameterValue"
    with pytest.raises(InvalidParameterValueException):
        decode_query([("AlarmNames.member.x", "a")], shape)
    alarm = MODEL.operation_model("PutMetricAlarm").input_shape
    with pytest.raises(InvalidParameterValueException) as info:
        decode_query([("ActionsEnabled", "yes")], alarm)
    assert info.value.message == "Value (yes) for parameter ActionsEnabled is invalid."


def test_query_errors() -> None:
    body = encode_error_body(ResourceNotFound("Alarm x not found"), "cloudwatch", "r-3")
    assert body == (b'<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender'
                    b"</Type><Code>ResourceNotFound</Code><Message>Alarm x not found</Message></Error>"
                    b"<RequestId>r-3</RequestId></ErrorResponse>")
    parsed = botocore.parsers.create_parser("query").parse(_http(body, 404), None)
    assert parsed["Error"] == {"Type": "Sender", "Code": "ResourceNotFound", "Message": "Alarm x not found"}
    assert b"<Code>InvalidAction</Code><Message>The action or operation requested is invalid." in encode_error_body(
        UnknownOperationException(), "cloudwatch", "r")


def test_cbor_bad_bodies() -> None:
    shape = MODEL.operation_model("DescribeAlarms").input_shape
    assert decode_cbor(b"", shape) == {}
    with pytest.raises(SerializationException) as info:
        decode_cbor(b"\xff\x00", shape)
    assert info.value.message == "The request body is not valid CBOR"
    with pytest.raises(SerializationException) as info:
        decode_cbor(cbor2.dumps([1]), shape)
    assert info.value.message == "Expected a map for the input structure"
    with pytest.raises(SerializationException) as info:
        decode_cbor(cbor2.dumps({"MaxRecords": "10"}), shape)
    assert info.value.message == "Expected an integer for MaxRecords"
    nested: Any = {}
    for _ in range(200):
        nested = {"a": nested}
    assert decode_cbor(cbor2.dumps({"AlarmNames": ["x"], "Unknown": nested}), shape) == {"AlarmNames": ["x"]}
    assert decode_cbor(cbor2.dumps({"AlarmNames": None, "MaxRecords": 5}), shape) == {"MaxRecords": 5}


# --- random values (hypothesis) ----------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).filter(
    lambda t: all(c in "\t\n\r" or " " <= c < "\ufffe" for c in t))


def values(shape: Any, depth: int = 0, *, text: st.SearchStrategy[str] = _XML_TEXT) -> st.SearchStrategy[Any]:
    """Random values of ``shape`` as a botocore caller gives them."""
    kind = shape.type_name
    if kind == "structure":
        members = {n: values(m, depth + 1, text=text) for n, m in shape.members.items()
                   if not (m.type_name == "structure" and not m.members)}
        if shape.is_tagged_union:
            return st.one_of(*(st.fixed_dictionaries({n: s}) for n, s in members.items()))
        strategy = st.fixed_dictionaries({}, optional=members)
        return strategy if depth == 0 else strategy.filter(bool)  # Query has no form for {} (botocore sends nothing)
    if kind == "list":
        return st.lists(values(shape.member, depth + 1, text=text), max_size=3)
    if kind == "map":
        return st.dictionaries(text, values(shape.value, depth + 1, text=text), min_size=1, max_size=3)  # {}: as above
    if kind == "string":
        return st.sampled_from(shape.enum) if shape.enum else text
    if kind in ("integer", "long"):
        return st.integers(-(2**31), 2**31 - 1)
    if kind in ("double", "float"):
        return st.floats(allow_nan=False, allow_infinity=False, width=64)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(0, 4 * 10**12).map(lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc))
    if kind == "blob":
        return st.binary(max_size=8)
    raise AssertionError(kind)


def exact(value: Any) -> Any:
    """JSON form with timestamps to the millisecond and numbers as floats."""
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, dt.datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


SAMPLED = ["PutMetricAlarm", "PutMetricData", "GetMetricData", "DescribeAlarms", "DescribeAlarmHistory",
           "ListMetrics", "TagResource"]


@pytest.mark.parametrize("operation", SAMPLED)
def test_random_requests_round_trip(operation: str) -> None:
    op = MODEL.operation_model(operation)
    query = botocore.serialize.create_serializer("query", include_validation=False)
    cbor = botocore.serialize.create_serializer("smithy-rpc-v2-cbor", include_validation=False)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values(op.input_shape))
    def check(params: dict[str, Any]) -> None:
        body = query.serialize_to_request(params, op)["body"]
        assert exact(decode_query(query_pairs(urlencode(body).encode()), op.input_shape)) == exact(params)
        assert exact(decode_cbor(cbor.serialize_to_request(params, op)["body"], op.input_shape)) == exact(params)

    check()


@pytest.mark.parametrize("operation", ["DescribeAlarms", "DescribeAlarmHistory", "GetMetricData",
                                       "GetMetricStatistics", "ListMetrics"])
def test_random_answers_parse_in_botocore(operation: str) -> None:
    op = MODEL.operation_model(operation)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values(op.output_shape))
    def check(output: dict[str, Any]) -> None:
        payload = json_form(output)
        xml = botocore.parsers.create_parser("query").parse(_http(encode_result(payload, operation, "cloudwatch", "r")),
                                                             op.output_shape)
        binary = botocore.parsers.create_parser("smithy-rpc-v2-cbor").parse(
            _http(encode_output(payload, op.output_shape)), op.output_shape)
        assert exact(xml) == exact(output)
        assert exact(binary) == exact(output)

    check()
