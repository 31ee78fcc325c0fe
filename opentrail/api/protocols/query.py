"""AWS Query (``awsQuery``): CloudWatch as older clients call it -- ``POST /`` with a form-encoded
body ``Action=<Operation>&Version=2010-08-01&<members>``, XML answers.

Requests, read from the operation's input shape in the botocore model (what botocore's
``QuerySerializer`` writes): structure members by name (``Namespace=CIS``), nested with dots
(``StatisticValues.Sum=3``); lists as ``<name>.member.<n>`` from 1 (``Dimensions.member.1.Name``;
an empty list is ``<name>=``); maps as ``<name>.entry.<n>.key`` / ``.value``; booleans ``true`` /
``false``; numbers in decimal; timestamps ISO 8601 (``2026-12-02T10:00:00Z``, fractions and offsets
accepted) or epoch seconds; blobs base64. The result is the plain object handlers get from every
protocol (the JSON form: timestamps as epoch seconds, blobs as base64 text). A value that is not of
its member's type answers ``InvalidParameterValue``.

Answers: ``<{Op}Response xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><{Op}Result>...
</{Op}Result><ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></{Op}Response>``
(``Content-Type: text/xml``), the result written from the output shape (lists as ``<member>``
items, maps as ``<entry><key/><value/></entry>``, timestamps ``2026-12-02T10:00:00.000Z``);
operations without output answer the response element with its metadata only. Errors:
``<ErrorResponse xmlns=...><Error><Type>Sender|Receiver</Type><Code>{Query code}</Code><Message>...
</Message></Error><RequestId>...</RequestId></ErrorResponse>`` with the error's HTTP status. The
error codes of the common errors are the Query forms AWS lists in "Common Errors" (``InvalidAction``,
``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``MissingAuthenticationToken``, ...).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AwsError
from ..model import service_description, service_model
from . import content_body

#: Content type of every Query answer.
XML_CONTENT_TYPE = "text/xml"

#: Query codes of the errors that are not shapes of the service's model (AWS "Common Errors").
COMMON_QUERY_CODES: dict[str, str] = {
    "UnknownOperationException": "InvalidAction",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "AccessDeniedException": "AccessDenied",
    "ThrottlingException": "Throttling",
    "SerializationException": "MalformedQueryString",
}
#: The message of InvalidAction when the operation is unknown (AWS "Common Errors").
INVALID_ACTION_MESSAGE = "The action or operation requested is invalid. Verify that the action is typed correctly."

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _invalid(value: str, path: str) -> AwsError:
    from ..cloudwatch_errors import InvalidParameterValueException

    shown = value if len(value) <= 200 else value[:200] + "..."
    return InvalidParameterValueException(f"Value ({shown}) for parameter {path} is invalid.")


def query_code(error: AwsError) -> str:
    """The Query-protocol code of ``error``: its model Query code, the common error's Query name
    (:data:`COMMON_QUERY_CODES`), else its own code."""
    return error.query_code or COMMON_QUERY_CODES.get(error.code, error.code)


def query_pairs(body: bytes) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a form-encoded body (blank values kept)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    return parse_qsl(text, keep_blank_values=True)


# --- decoding ------------------------------------------------------------------------------


class _Node:
    """One dotted name prefix of the request: its own value (when given) and its children."""

    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(pairs: list[tuple[str, str]]) -> _Node:
    root = _Node()
    for name, value in pairs:
        node = root
        for part in name.split("."):
            node = node.children.setdefault(part, _Node())
        node.value = value
    return root


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp (``2026-12-02T10:00:00Z``, ``...00.123Z``,
    ``...+01:00``; no offset: UTC) or of epoch seconds given as a number. Raises ValueError."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ValueError(text)
        return number
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _indexed(node: _Node, path: str) -> list[_Node]:
    items: list[tuple[int, _Node]] = []
    for key, child in node.children.items():
        if not key.isdigit() or int(key) < 1:
            raise _invalid(key, path)
        items.append((int(key), child))
    return [child for _, child in sorted(items, key=lambda kv: kv[0])]


def _decode(node: _Node, shape: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for member, member_shape in shape.members.items():
            child = node.children.get(member_shape.serialization.get("name", member))
            if child is not None:
                out[member] = _decode(child, member_shape, f"{path}.{member}" if path else member)
        return out
    if kind == "list":
        if not node.children:
            if node.value in (None, ""):
                return []
            raise _invalid(node.value, path)
        if shape.serialization.get("flattened"):
            holder = node
        else:
            holder = node.children.get(shape.member.serialization.get("name", "member")) or _Node()
        return [_decode(item, shape.member, f"{path}.member.{i}") for i, item in enumerate(_indexed(holder, path), 1)]
    if kind == "map":
        holder = node if shape.serialization.get("flattened") else node.children.get("entry") or _Node()
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        for entry in _indexed(holder, path):
            key_node = entry.children.get(key_name)
            if key_node is None or key_node.value is None:
                raise _invalid("", f"{path}.entry.key")
            value_node = entry.children.get(value_name)
            result[key_node.value] = None if value_node is None else _decode(value_node, shape.value,
                                                                             f"{path}.{key_node.value}")
        return result
    text = node.value if node.value is not None else ""
    try:
        if kind == "string":
            return text
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("double", "float"):
            return float(text)
        if kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return text
    except (ValueError, OverflowError):
        raise _invalid(text, path) from None
    return text


def decode_query(pairs: list[tuple[str, str]], input_shape: Any) -> dict[str, Any]:
    """The JSON-form request object of ``pairs`` (``Action`` and ``Version`` left out) for the
    botocore ``input_shape`` (None: ``{}``). Raises InvalidParameterValueException for a value that
    is not of its member's type."""
    if input_shape is None:
        return {}
    params = [(k, v) for k, v in pairs if k not in ("Action", "Version")]
    decoded: dict[str, Any] = _decode(_tree(params), input_shape, "")
    return decoded


# --- encoding ------------------------------------------------------------------------------


def iso_timestamp(epoch_s: float) -> str:
    """``2026-12-02T10:00:00.000Z`` for epoch seconds (milliseconds, UTC)."""
    moment = datetime.fromtimestamp(epoch_s, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: str) -> str:
    """XML text: ``& < >`` escaped, carriage returns as ``&#xD;`` (a parser would read a raw one as a
    line feed), characters XML 1.0 cannot hold as U+FFFD."""
    return escape(_XML_INVALID.sub("\ufffd", value), {"\r": "&#xD;"})


def _scalar(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, (int, float)):
        return iso_timestamp(float(value))
    if kind in ("double", "float") and isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    return _text(str(value))


def _encode(parts: list[str], name: str, value: Any, shape: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        parts.append(f"<{name}>")
        _members(parts, value, shape)
        parts.append(f"</{name}>")
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            for item in value:
                _encode(parts, name, item, shape.member)
            return
        parts.append(f"<{name}>")
        for item in value:
            if item is not None:
                _encode(parts, item_name, item, shape.member)
        parts.append(f"</{name}>")
    elif kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        parts.append(f"<{name}>")
        for key, item in value.items():
            parts.append(f"<entry><{key_name}>{_text(str(key))}</{key_name}>")
            if item is not None:
                _encode(parts, value_name, item, shape.value)
            parts.append("</entry>")
        parts.append(f"</{name}>")
    else:
        parts.append(f"<{name}>{_scalar(value, kind)}</{name}>")


def _members(parts: list[str], value: dict[str, Any], shape: Any) -> None:
    for member, member_shape in shape.members.items():
        item = value.get(member)
        if item is not None:
            _encode(parts, member_shape.serialization.get("name", member), item, member_shape)


def encode_result(payload: dict[str, Any], operation: str, model: str, request_id: str) -> bytes:
    """The XML answer of ``operation`` of botocore model ``model`` for the JSON-form ``payload``."""
    namespace = service_description(model)["metadata"].get("xmlNamespace", "")
    output = service_model(model).operation_model(operation).output_shape
    parts = [f'<{operation}Response xmlns="{namespace}">']
    if output is not None:
        wrapper = output.serialization.get("resultWrapper", f"{operation}Result")
        parts.append(f"<{wrapper}>")
        _members(parts, payload, output)
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>")
    return "".join(parts).encode("utf-8")


def encode_error_body(error: AwsError, model: str, request_id: str) -> bytes:
    """The XML ``ErrorResponse`` of ``error``."""
    namespace = service_description(model)["metadata"].get("xmlNamespace", "")
    code = query_code(error)
    message = error.message
    if message is None and code == "InvalidAction":
        message = INVALID_ACTION_MESSAGE
    kind = "Sender" if error.sender_fault else "Receiver"
    text = f"<Message>{_text(message)}</Message>" if message is not None else ""
    return (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{_text(code)}</Code>{text}'
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode("utf-8")


class QueryProtocol:
    """See the module docstring."""

    @staticmethod
    def _pairs(request: Request, body: bytes) -> list[tuple[str, str]]:
        """The request's pairs, read once per request (the body may be gzip: inflated first)."""
        pairs: list[tuple[str, str]] | None = getattr(request.state, "query_pairs", None)
        if pairs is None:
            pairs = query_pairs(content_body(request, body))
            request.state.query_pairs = pairs
        return pairs

    def operation(self, request: Request, body: bytes, service: Any) -> str | None:
        action = next((v for k, v in self._pairs(request, body) if k == "Action"), None)
        if action is None:
            action = request.query_params.get("Action")
        return action if action in service.operations else None

    def decode(self, request: Request, body: bytes, operation: str, service: Any) -> dict[str, Any]:
        from ..cloudwatch_errors import InvalidParameterValueException

        pairs = self._pairs(request, body)
        version = next((v for k, v in pairs if k == "Version"), None)
        expected = service_description(service.model)["metadata"]["apiVersion"]
        if version is not None and version != expected:
            raise InvalidParameterValueException(
                f"The requested version ({version}) of service {service.model} does not exist; it is {expected}.")
        return decode_query(pairs, service_model(service.model).operation_model(operation).input_shape)

    def encode(self, payload: dict[str, Any], operation: str, service: Any, request_id: str) -> Response:
        return Response(encode_result(payload, operation, service.model, request_id), status_code=200,
                        media_type=XML_CONTENT_TYPE, headers={"x-amzn-RequestId": request_id})

    def encode_error(self, error: AwsError, service: Any, request_id: str) -> Response:
        return Response(encode_error_body(error, service.model, request_id), status_code=error.status,
                        media_type=XML_CONTENT_TYPE, headers={"x-amzn-RequestId": request_id})


QUERY = QueryProtocol()
