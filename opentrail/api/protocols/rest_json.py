"""AWS rest-json (``restJson1``) for the one operation opentrail serves in it: CloudTrail Data's
``PutAuditEvents`` (``POST /PutAuditEvents?channelArn=...&externalId=...``, botocore model
``cloudtrail-data/2021-08-11``).

The operation is the one whose ``http.requestUri`` path equals the request path (method POST); the
input object is the JSON body with the members the model places in the query string
(``location: querystring``) added under their member names. Answers are ``application/json``;
errors carry their code in ``x-amzn-ErrorType`` and the body ``{"message": ...}`` (botocore's
rest-json parser reads the header, then ``__type``/``code`` in the body), HTTP 400 unless the error
says otherwise (the model gives the errors no status).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AwsError
from . import content_body


@lru_cache(maxsize=8)
def _routes(model: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Request path -> (operation, {query name: member name}) for the model's POST operations."""
    from ..model import service_description

    m = service_description(model)
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for name, op in m["operations"].items():
        http = op.get("http", {})
        if http.get("method") != "POST":
            continue
        path = http.get("requestUri", "/").split("?")[0]
        members = m["shapes"][op["input"]["shape"]].get("members", {}) if "input" in op else {}
        query = {v.get("locationName", k): k for k, v in members.items() if v.get("location") == "querystring"}
        out[path] = (name, query)
    return out


class RestJsonProtocol:
    """See the module docstring."""

    def operation(self, request: Request, body: bytes, service: Any) -> str | None:
        found = _routes(service.model).get(request.url.path)
        return found[0] if found is not None and request.method == "POST" else None

    def decode(self, request: Request, body: bytes, operation: str, service: Any) -> dict[str, Any]:
        from ..app import parse_json_object

        params = parse_json_object(content_body(request, body))
        _, query = _routes(service.model)[request.url.path]
        values = parse_qs(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        for wire_name, member in query.items():
            if wire_name in values:
                params[member] = values[wire_name][0]
        return params

    def encode(self, payload: dict[str, Any], operation: str, service: Any, request_id: str) -> Response:
        return Response(orjson.dumps(payload), status_code=200, media_type="application/json",
                        headers={"x-amzn-RequestId": request_id})

    def encode_error(self, error: AwsError, service: Any, request_id: str) -> Response:
        body = {"message": error.message} if error.message else {}
        return Response(orjson.dumps(body), status_code=error.status, media_type="application/json",
                        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code})


REST_JSON = RestJsonProtocol()
