"""Wire protocols: how a request names its operation and carries its input, and how answers and
errors are written, per AWS protocol. Handlers see only plain objects (the JSON form of the
operation's input and output shapes: member names as the model spells them, timestamps as epoch
seconds, blobs as base64 text); a protocol translates to and from the wire.

- :class:`opentrail.api.protocols.json.JsonProtocol` -- AWS JSON 1.0 / 1.1 (``X-Amz-Target``):
  CloudTrail, CloudWatch Logs, CloudWatch (botocore ≥ 1.42.7).
- ``query`` -- AWS Query (form-encoded ``Action=...``, XML answers): CloudWatch's older clients.
- ``cbor`` -- Smithy RPC v2 CBOR (``/service/<Shape>/operation/<Op>``): CloudWatch from the Go v2
  SDK (and so Terraform's AWS provider).
- ``rest_json`` -- AWS rest-json (``POST /PutAuditEvents?channelArn=...``): CloudTrail Data.

:func:`protocol_for` picks one for a request and its service.
"""

from __future__ import annotations

from typing import Any, Protocol as TypingProtocol

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AwsError


class WireProtocol(TypingProtocol):
    """One AWS protocol (see the module docstring)."""

    def operation(self, request: Request, body: bytes, service: Any) -> str | None:
        """The operation the request names (None: UnknownOperationException)."""

    def decode(self, request: Request, body: bytes, operation: str, service: Any) -> dict[str, Any]:
        """The request's input object; raises AwsError (SerializationException, the content type's
        UnknownOperationException, ...) for a body the protocol cannot read."""

    def encode(self, payload: dict[str, Any], operation: str, service: Any, request_id: str) -> Response:
        """The answer for a handler's output object."""

    def encode_error(self, error: AwsError, service: Any, request_id: str) -> Response:
        """The answer for an AwsError."""


#: Largest body accepted once a ``Content-Encoding: gzip`` request is inflated (the default
#: ``max_request_bytes``).
MAX_INFLATED_BYTES = 8 * 1024 * 1024


def content_body(request: Request, body: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """The body as the protocol reads it: inflated when ``Content-Encoding`` is ``gzip`` (botocore
    and the Smithy SDKs gzip PutMetricData bodies over 10 KB, the model's ``requestcompression``
    trait; the signature covers the compressed bytes). Raises SerializationException for a body
    that does not inflate and RequestEntityTooLargeException past ``limit`` bytes inflated."""
    import zlib

    from ..errors import RequestEntityTooLargeException, SerializationException

    encodings = [e.strip().lower() for e in request.headers.get("content-encoding", "").split(",") if e.strip()]
    if "gzip" not in encodings or not body:
        return body
    inflater = zlib.decompressobj(wbits=31)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise SerializationException("The request body could not be decompressed (Content-Encoding: gzip)") from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise RequestEntityTooLargeException.for_limit(limit)
    return inflated


def protocol_for(request: Request, service: Any) -> WireProtocol:
    """The protocol of ``request`` to ``service``: Query for STS, IAM and a form-encoded CloudWatch request, CBOR
    for CloudWatch's ``/service/.../operation/...`` path, AWS JSON otherwise."""
    from .json import JSON

    if service.name == "cloudtrail-data":  # rest-json (POST /PutAuditEvents?channelArn=...)
        from .rest_json import REST_JSON

        return REST_JSON
    if service.name in ("sts", "iam"):  # Query only (the models' protocols: ["query"])
        from .query import QUERY

        return QUERY
    if service.name == "monitoring":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            from .query import QUERY

            return QUERY
        if request.url.path.startswith("/service/"):
            from .cbor import CBOR

            return CBOR
    return JSON
