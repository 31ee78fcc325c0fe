"""AWS JSON 1.0 / 1.1 (``awsJson1_0``, ``awsJson1_1``): ``POST /`` with ``X-Amz-Target:
<prefix>.<Operation>`` (:mod:`opentrail.api.targets`) and a JSON object body; answers are JSON with
the service's ``application/x-amz-json-1.x`` content type; errors ``{"__type": code, "message": ...}``
and, for an ``awsQueryCompatible`` service (CloudWatch), the header
``x-amzn-query-error: <Query code>;<Sender|Receiver>`` from which botocore and the Smithy SDKs take
the error code."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AwsError, UnknownOperationException
from . import content_body

#: Content types accepted (botocore sends the service's own; some clients send plain JSON).
JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")


def query_error_header(error: AwsError) -> dict[str, str]:
    """``{"x-amzn-query-error": "<code>;<Sender|Receiver>"}`` for an error with a Query code."""
    code = error.query_code or error.code
    return {"x-amzn-query-error": f"{code};{'Sender' if error.sender_fault else 'Receiver'}"}


class JsonProtocol:
    """See the module docstring."""

    def operation(self, request: Request, body: bytes, service: Any) -> str | None:
        operation: str | None = service.operation_for_target(request.headers.get("x-amz-target"))
        return operation

    def decode(self, request: Request, body: bytes, operation: str, service: Any) -> dict[str, Any]:
        from ..app import parse_json_object

        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() not in JSON_CONTENT_TYPES:
            raise UnknownOperationException.for_content_type()
        return parse_json_object(content_body(request, body))

    def encode(self, payload: dict[str, Any], operation: str, service: Any, request_id: str) -> Response:
        return Response(orjson.dumps(payload), status_code=200, media_type=service.json_content_type,
                        headers={"x-amzn-RequestId": request_id})

    def encode_error(self, error: AwsError, service: Any, request_id: str) -> Response:
        headers = {"x-amzn-RequestId": request_id}
        if getattr(service, "query_compatible", False):
            headers.update(query_error_header(error))
        return Response(orjson.dumps(error.body()), status_code=error.status,
                        media_type=getattr(service, "json_content_type", "application/x-amz-json-1.1"),
                        headers=headers)


JSON = JsonProtocol()
