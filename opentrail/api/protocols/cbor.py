"""Smithy RPC v2 CBOR (``smithy.protocols#rpcv2Cbor``): CloudWatch as the Go SDK v2 (and so
Terraform's AWS provider), the Java, .NET, Kotlin, Swift and C++ SDKs call it.

Requests (Smithy "RPC v2 CBOR protocol" specification): ``POST /service/<ServiceShape>/operation/
<Operation>`` (CloudWatch: ``/service/GraniteServiceVersion20100801/operation/PutMetricAlarm``) with
``smithy-protocol: rpc-v2-cbor``, ``Content-Type: application/cbor`` and the input structure as a
CBOR map (RFC 8949, decoded with ``cbor2``); an operation without input has no body. Values, read
from the operation's input shape in the botocore model: timestamps as tag 1 (epoch seconds, integer
or float; an untagged number is accepted), blobs as byte strings, null members absent. The result is
the plain object handlers get from every protocol (the JSON form: timestamps as epoch seconds,
blobs as base64 text). A body that is not CBOR, is not a map, or holds a value that is not of its
member's type answers ``SerializationException``.

Answers carry ``smithy-protocol: rpc-v2-cbor``; an operation with output answers its output
structure as a CBOR map (``Content-Type: application/cbor``; timestamps tag 1 with float seconds,
blobs byte strings), one without output an empty body. Errors are a CBOR map ``{"__type": <shape
ID>, "message": ...}`` (``com.amazonaws.cloudwatch#ResourceNotFound`` for the model's errors, the
bare code for the common ones) with the error's HTTP status and, the model being
``awsQueryCompatible``, ``x-amzn-query-error: <Query code>;Sender|Receiver``.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from typing import Any

import cbor2
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AwsError, SerializationException
from ..model import service_model
from . import content_body
from .json import query_error_header

#: Content type of CBOR bodies, both ways.
CBOR_CONTENT_TYPE = "application/cbor"
#: The ``smithy-protocol`` header value of the protocol.
SMITHY_PROTOCOL = "rpc-v2-cbor"
#: Namespace of the Smithy shape IDs in error ``__type`` (the model's Smithy namespace).
SHAPE_NAMESPACE = {"cloudwatch": "com.amazonaws.cloudwatch"}
#: Deepest nesting accepted in a request (as :data:`opentrail.api.app.MAX_REQUEST_DEPTH`).
MAX_DEPTH = 64


def _wrong(path: str, expected: str) -> SerializationException:
    return SerializationException(f"Expected {expected} for {path or 'the input structure'}")


def _decode(value: Any, shape: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SerializationException(f"CBOR nesting depth exceeds the limit of {MAX_DEPTH}")
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _wrong(path, "a map")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _wrong(path, "text keys")
            member = shape.members.get(key)
            if member is None or item is None or item is cbor2.undefined:
                continue  # unknown members are ignored, as AWS ignores them; null is absent
            out[key] = _decode(item, member, f"{path}.{key}" if path else key, depth + 1)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong(path, "an array")
        return [None if item is None else _decode(item, shape.member, f"{path}.{i}", depth + 1)
                for i, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _wrong(path, "a map")
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _wrong(path, "text keys")
            result[key] = None if item is None else _decode(item, shape.value, f"{path}.{key}", depth + 1)
        return result
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong(path, "a text string")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong(path, "a boolean")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(path, "an integer")
        return value
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(path, "a number")
        return float(value)
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, cbor2.CBORTag) and value.tag == 1:
            value = value.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _wrong(path, "a timestamp (tag 1, epoch seconds)")
        return float(value)
    if kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise _wrong(path, "a byte string")
        return base64.b64encode(bytes(value)).decode("ascii")
    raise _wrong(path, kind)


def decode_cbor(body: bytes, input_shape: Any) -> dict[str, Any]:
    """The JSON-form request object of a CBOR ``body`` for the botocore ``input_shape`` (an empty
    body or an operation without input: ``{}``). Raises SerializationException."""
    if not body:
        return {}
    try:
        value = cbor2.loads(body)
    except Exception:  # cbor2's CBORDecodeError and what a hostile body makes it raise
        raise SerializationException("The request body is not valid CBOR") from None
    if value is None:
        return {}
    if input_shape is None:
        if not isinstance(value, dict):
            raise _wrong("", "a map")
        return {}
    decoded: dict[str, Any] = _decode(value, input_shape, "", 1)
    return decoded


def _encode(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {k: _encode(v, shape.members[k]) for k, v in value.items() if v is not None and k in shape.members}
    if kind == "list":
        return [None if item is None else _encode(item, shape.member) for item in value]
    if kind == "map":
        return {k: None if v is None else _encode(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(1, float(value))
    if kind == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except binascii.Error:
                return value.encode("utf-8")
        return bytes(value)
    if kind in ("double", "float"):
        return float(value)
    return value


def encode_output(payload: dict[str, Any], output_shape: Any) -> bytes:
    """The CBOR body of the JSON-form ``payload`` of ``output_shape``."""
    return bytes(cbor2.dumps(_encode(payload, output_shape)))


def error_type(error: AwsError, model: str) -> str:
    """``__type`` of ``error``: the absolute shape ID for an error of the model, else its code."""
    namespace = SHAPE_NAMESPACE.get(model)
    if error.query_code is not None and namespace:
        return f"{namespace}#{error.code}"
    return error.code


class CborProtocol:
    """See the module docstring."""

    def operation(self, request: Request, body: bytes, service: Any) -> str | None:
        from ..services import CBOR_PATH

        match = CBOR_PATH.match(request.url.path)
        if match is None or match.group(1) not in service.target_prefixes:
            return None
        operation = match.group(2)
        return operation if operation in service.operations else None

    def decode(self, request: Request, body: bytes, operation: str, service: Any) -> dict[str, Any]:
        return decode_cbor(content_body(request, body), service_model(service.model).operation_model(operation).input_shape)

    def encode(self, payload: dict[str, Any], operation: str, service: Any, request_id: str) -> Response:
        headers = {"x-amzn-RequestId": request_id, "smithy-protocol": SMITHY_PROTOCOL}
        output = service_model(service.model).operation_model(operation).output_shape
        if output is None:
            return Response(b"", status_code=200, headers=headers)
        return Response(encode_output(payload, output), status_code=200, media_type=CBOR_CONTENT_TYPE,
                        headers=headers)

    def encode_error(self, error: AwsError, service: Any, request_id: str) -> Response:
        headers = {"x-amzn-RequestId": request_id, "smithy-protocol": SMITHY_PROTOCOL}
        if getattr(service, "query_compatible", False):
            headers.update(query_error_header(error))
        body: dict[str, Any] = {"__type": error_type(error, service.model)}
        if error.message is not None:
            body["message"] = error.message
        return Response(bytes(cbor2.dumps(body)), status_code=error.status, media_type=CBOR_CONTENT_TYPE,
                        headers=headers)


CBOR = CborProtocol()
