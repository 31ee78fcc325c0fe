"""The upstream's answer read with botocore's own response parsers.

``botocore.parsers.create_parser(protocol).parse()`` is given the status, headers and (captured)
body and the operation's output shape, exactly as botocore does on the client side; a status of
300 or more (except 304 Not Modified) is an error, parsed by the same parser into
``Error.Code``/``Error.Message`` (JSON ``__type`` prefixes stripped, S3 bodiless HEAD errors as
``404``/``Not Found``).

errorCode: when one of the operation's modelled error shapes carries the wire code under another
name, the shape name is written, as CloudTrail does for IAM (wire ``NoSuchEntity`` is recorded as
``NoSuchEntityException``, datasets/cloudtrail/stratus-red-team); otherwise the wire code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from .capture import CapturedCall
from .resolve import ResolvedCall


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """``output`` (the parsed output members, None when not parsed), the error code and message
    (None on success) and the service's request id (None when it sent none)."""

    output: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    request_id: str | None


def is_error(status: int) -> bool:
    """True for statuses botocore treats as errors (>= 300, except 304)."""
    return status >= 300 and status != 304


def _record_error_code(resolved: ResolvedCall, code: str) -> str:
    for shape in resolved.operation.error_shapes:
        wire = shape.metadata.get("error", {}).get("code")
        if wire == code and shape.name != code:
            return str(shape.name)
    return code


def _request_id(call: CapturedCall, parsed: dict[str, Any] | None) -> str | None:
    for name in ("x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"):
        value = call.response_header(name)
        if value:
            return value
    if parsed:
        rid = parsed.get("ResponseMetadata", {}).get("RequestId")
        if isinstance(rid, str) and rid:
            return rid
    return None


def parse_response(call: CapturedCall, resolved: ResolvedCall, *, want_output: bool = True) -> ParsedResponse:
    """Parse ``call``'s response for ``resolved`` (see the module docstring); a successful answer
    is only parsed when ``want_output``. Never raises: an unparseable error answer gives the HTTP
    status as code and no message."""
    if call.upstream_error is not None:
        return ParsedResponse(None, "ServiceUnavailable", call.upstream_error, None)
    error = is_error(call.status)
    body = call.response_body
    shape = resolved.operation.output_shape
    if (body is None or not want_output) and not error:
        return ParsedResponse(None, None, None, _request_id(call, None))
    headers = HeadersDict()
    for k, v in call.response_headers:
        headers[k] = v
    response = {"status_code": call.status, "headers": headers, "body": body or b""}
    protocol = resolved.protocol
    try:
        parsed: dict[str, Any] = create_parser(protocol).parse(response, shape if not error else None)
    except Exception:
        if error:
            return ParsedResponse(None, str(call.status), None, _request_id(call, None))
        return ParsedResponse(None, None, None, _request_id(call, None))
    rid = _request_id(call, parsed)
    if error:
        err = parsed.get("Error", {})
        code = str(err.get("Code") or call.status)
        message = err.get("Message")
        return ParsedResponse(None, _record_error_code(resolved, code), str(message) if message else None, rid)
    parsed.pop("ResponseMetadata", None)
    return ParsedResponse(parsed, None, None, rid)
