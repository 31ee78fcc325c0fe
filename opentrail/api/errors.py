"""AWS errors named after the wire: one class per AWS error code, rendered by one handler.

The class name *is* the error code; the message is built in the class in AWS's wording; ``status``
is the HTTP status. :func:`error_response` renders any of them as AWS JSON 1.1 does::

    HTTP 400, Content-Type: application/x-amz-json-1.1
    {"__type": "InvalidMaxResultsException", "message": "..."}

(botocore reads ``__type``, dropping anything before ``#``, and ``message``/``Message``.)

Sources for the wording (see docs/api.md for what could not be verified):

- Authentication errors of AWS JSON services (Coral): ``UnrecognizedClientException`` "The
  security token included in the request is invalid." (HTTP 400, boto/boto3#509);
  ``InvalidSignatureException`` "The request signature we calculated does not match ..." and the
  clock-skew forms "Signature expired: 20151120T200815Z is now earlier than 20151120T201846Z
  (20151120T202346Z - 5 min.)" / "Signature not yet current: ... is still later than ...
  (... + 5 min.)" (HTTP 400, aws/aws-sdk-js#254, remind101/logspout-kinesis#21);
  ``MissingAuthenticationTokenException`` "Request is missing Authentication Token" (HTTP 400; the
  shorter "Missing Authentication Token" with HTTP 403 is API Gateway's and REST services').
- ``UnknownOperationException`` carries no message on AWS (boto/botocore#1846 shows an empty one).
- ``ThrottlingException`` "Rate exceeded" is what AWS answers when LookupEvents' 2/s is exceeded.
- ``ServiceUnavailable`` (HTTP 503, "The request has failed due to a temporary failure of the
  server.") is one of the "Common Errors" of AWS API references, CloudTrail's included, like
  ``InternalFailure``; botocore retries any HTTP 503 by itself, in legacy mode
  (``service_unavailable`` policy of ``botocore/data/_retry.json``) and in standard/adaptive mode
  (``_TRANSIENT_STATUS_CODES`` of ``botocore/retries/standard.py``). The data-directory-full
  message is opentrail's.
- CloudTrail's modeled errors (InvalidLookupAttributesException, ...) come from the botocore model
  ``cloudtrail/2013-11-01/service-2.json``; their messages paraphrase the model's documentation.
"""

from __future__ import annotations

import contextlib

import logging
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import orjson
from starlette.responses import Response

from ..store.errors import DataDirectoryFullError, is_database_unavailable, is_disk_full
from ..store.space import mount_point

log = logging.getLogger("opentrail.api")

#: Content type of every AWS JSON 1.1 response, errors included.
JSON_11 = "application/x-amz-json-1.1"


class AwsError(Exception):
    """Base of every wire error. ``code`` is the class name; ``message`` may be None (no member)."""

    status: int = 400
    default_message: str | None = None
    #: The Query-protocol error code of a model with ``awsQueryCompatible`` (CloudWatch:
    #: ``InvalidParameterValue`` for the ``InvalidParameterValueException`` shape); None: ``code``.
    query_code: str | None = None
    #: Who is at fault, for the Query protocol and ``x-amzn-query-error``: Sender (the caller) or Receiver.
    sender_fault: bool = True

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message or self.code)

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, str]:
        """The JSON body ``{"__type": code, "message": ...}`` (message left out when None)."""
        out = {"__type": self.code}
        if self.message is not None:
            out["message"] = self.message
        return out


# --- authentication (SigV4) ----------------------------------------------------------------


class MissingAuthenticationTokenException(AwsError):
    """No Authorization header (and no presigned query).

    AWS JSON services answer HTTP 400 ``{"__type": "...#MissingAuthenticationTokenException",
    "message": "Request is missing Authentication Token"}``: architect/dynalite index.js (recorded
    from DynamoDB) and the real DynamoDB answer quoted in
    amazon-archives/aws-dynamodb-session-tomcat#42 ("Request is missing Authentication Token
    (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: MissingAuthenticationTokenException")."""

    default_message = "Request is missing Authentication Token"


class UnrecognizedClientException(AwsError):
    """Unknown or inactive access key id, or a session token that is no session's (Query code
    InvalidClientTokenId)."""

    default_message = "The security token included in the request is invalid."


class ExpiredTokenException(AwsError):
    """Session credentials past their expiry. AWS JSON services answer ``ExpiredTokenException``,
    Query services (STS, CloudWatch's Query form) ``ExpiredToken`` (AWS "Common Errors":
    "ExpiredTokenException: The security token included in the request is expired"; STS answers
    ``ExpiredToken``)."""

    default_message = "The security token included in the request is expired"
    query_code = "ExpiredToken"


class InvalidSignatureException(AwsError):
    """Bad signature, wrong credential scope or a request time more than 5 minutes off."""

    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )

    @classmethod
    def expired(cls, signed: str, now_minus_5: str, now: str) -> "InvalidSignatureException":
        return cls(f"Signature expired: {signed} is now earlier than {now_minus_5} ({now} - 5 min.)")

    @classmethod
    def not_yet_current(cls, signed: str, now_plus_5: str, now: str) -> "InvalidSignatureException":
        return cls(f"Signature not yet current: {signed} is still later than {now_plus_5} ({now} + 5 min.)")


class IncompleteSignatureException(AwsError):
    """An Authorization header that cannot be parsed (missing Credential/SignedHeaders/Signature or
    date)."""


class AccessDeniedException(AwsError):
    """The caller is authenticated but not allowed (e.g. a non-admin key on the ingest endpoint)."""

    @classmethod
    def for_action(cls, arn: str, action: str) -> "AccessDeniedException":
        return cls(f"User: {arn} is not authorized to perform: {action}")


# --- protocol ------------------------------------------------------------------------------


class UnknownOperationException(AwsError):
    """Missing or unknown ``X-Amz-Target``; AWS sends no message (HTTP 400, body
    ``{"__type":"UnknownOperationException"}``: aws/aws-sdk-net#1536; architect/dynalite index.js,
    recorded from DynamoDB). opentrail also uses it, with a message, for operations of the model it
    does not implement yet.

    A body whose Content-Type is not AWS JSON is also UnknownOperationException on AWS, with HTTP
    404 (dynalite index.js: DynamoDB answers ``404 <UnknownOperationException/>``); opentrail sends
    the same code and status as JSON, see :meth:`for_content_type`."""

    @classmethod
    def not_implemented(cls, operation: str) -> "UnknownOperationException":
        return cls(f"opentrail does not implement the {operation} operation yet.")

    @classmethod
    def for_content_type(cls) -> "UnknownOperationException":
        """The answer to a Content-Type that is not AWS JSON: HTTP 404, no message."""
        error = cls()
        error.status = 404
        return error


#: At most this many characters of a request value are quoted in an error message (AWS quotes the
#: whole value; opentrail bounds the answer and the recorded errorMessage, see docs/api.md).
SHOWN_VALUE_CHARS = 1000


class SerializationException(AwsError):
    """A body that is not JSON (no message, as AWS), or a member of the wrong JSON type.

    Wording from architect/dynalite ``validations/index.js`` ``checkTypes``, recorded from the Coral
    deserializer of AWS JSON services (DynamoDB): a body that does not parse has no message; a
    member of the wrong type is described by :meth:`for_value`."""

    @classmethod
    def for_value(cls, value: object, expected: str) -> "SerializationException":
        """The Coral message for JSON ``value`` where a member of shape type ``expected`` ("Integer",
        "Long", "Double", "Float", "String", "Boolean", "Timestamp", "Blob", "List", "Map",
        "Structure") was expected, e.g. ``class java.lang.String can not be converted to an
        Integer``; a string given for a Boolean is quoted upper-cased (``'YES' can not be converted
        to an Boolean``; at most :data:`SHOWN_VALUE_CHARS` characters of it)."""
        if isinstance(value, dict) and expected not in ("Structure", "Map"):
            return cls("Start of structure or map found where not expected.")
        if isinstance(value, list) and expected != "List":
            return cls("Start of list found where not expected")
        if expected == "List":
            return cls("Expected list or null")
        if expected == "Map":
            return cls("Expected map or null")
        if expected == "Structure":
            return cls("Expected null")
        if isinstance(value, bool):
            java = "java.lang.Boolean"
        elif isinstance(value, (int, float)):
            java = "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
        else:
            if expected == "Boolean":
                return cls(f"'{str(value)[:SHOWN_VALUE_CHARS].upper()}' can not be converted to an Boolean")
            java = "java.lang.String"
        if expected == "Timestamp":
            return cls(f"class {java} can not be converted to milliseconds since epoch")
        if expected == "Blob":
            return cls(f"class {java} can not be converted to a Blob")
        return cls(f"class {java} can not be converted to an {expected}")

    @classmethod
    def too_deep(cls, limit: int) -> "SerializationException":
        """A request whose JSON nests deeper than ``limit`` levels (opentrail's documented limit;
        AWS publishes none)."""
        return cls(f"JSON nesting depth exceeds the limit of {limit}")


class RequestEntityTooLargeException(AwsError):
    """A body larger than ``settings.max_request_bytes``."""

    status = 413

    @classmethod
    def for_limit(cls, limit: int) -> "RequestEntityTooLargeException":
        return cls(f"Request body is larger than the limit of {limit} bytes.")


class ValidationException(AwsError):
    """A parameter that breaks the model's constraints and has no more specific error."""


class ThrottlingException(AwsError):
    """Over the per-account-and-Region request rate."""

    default_message = "Rate exceeded"


class InternalFailure(AwsError):
    """Any unexpected exception (logged with its traceback); the goal is that nothing reaches it."""

    status = 500
    default_message = "The request processing has failed because of an unknown error, exception or failure."


class ServiceUnavailable(AwsError):
    """The server cannot take the request now but will later (opentrail: the data directory is
    full, or the S3-compatible storage a trail names cannot be reached). HTTP 503, which AWS SDKs
    retry by themselves (see the module docstring)."""

    status = 503
    default_message = "The request has failed due to a temporary failure of the server."

    @classmethod
    def data_directory_full(cls, filesystem: str) -> "ServiceUnavailable":
        """``The data directory is full: free space on <filesystem> and retry.``"""
        return cls(f"The data directory is full: free space on {filesystem} and retry.")

    @classmethod
    def database_unreachable(cls) -> "ServiceUnavailable":
        """``The database did not answer: retry later.`` (the PostgreSQL event store)."""
        return cls("The database did not answer: retry later.")

    @classmethod
    def storage_unreachable(cls, code: str) -> "ServiceUnavailable":
        """``The S3-compatible storage did not answer (<code>): retry later.`` (``code`` as
        LatestDeliveryError shows it: RequestTimeout, ServiceUnavailable, SlowDown...)."""
        return cls(f"The S3-compatible storage did not answer ({code}): retry later.")


def declare_errors(handler: Any, wire_errors: Mapping[str, type[AwsError]], *codes: str) -> None:
    """Record on ``handler`` (as ``handler.errors``) the error codes it can answer through its
    service; each must be one of ``wire_errors``. The error contract test checks them against the
    operation's errors in the botocore model."""
    assert all(c in wire_errors for c in codes), codes
    handler.errors = tuple(codes)


@contextlib.contextmanager
def errors_by_code(wire_errors: Mapping[str, type[AwsError]]) -> Iterator[None]:
    """Re-raise an exception raised inside the block whose ``code`` names a class of
    ``wire_errors`` (a domain error: :class:`opentrail.domain_errors.DomainError`, or another
    service's error of the same shape) as that AwsError with its ``message``; anything else passes
    through unchanged."""
    try:
        yield
    except AwsError:
        raise
    except Exception as exc:
        code = getattr(exc, "code", None)
        if isinstance(code, str) and code in wire_errors:
            message = getattr(exc, "message", None)
            raise wire_errors[code](message if isinstance(message, str) and message else None) from None
        raise


def store_error_to_aws(exc: BaseException, *, data_dir: Path | None = None) -> AwsError:
    """The wire error for an exception a store (or another writer in the data directory) raised:
    an :class:`AwsError` as it is; a full disk -- :class:`DataDirectoryFullError`, or a raw
    ``sqlite3`` SQLITE_FULL / ``OSError`` ENOSPC or EDQUOT -- :class:`ServiceUnavailable`
    naming the filesystem (the error's own, else ``data_dir``'s); the PostgreSQL database
    unreachable (``psycopg.OperationalError``) :class:`ServiceUnavailable` too; anything else
    :class:`InternalFailure`. Logging is the caller's."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, DataDirectoryFullError):
        return ServiceUnavailable.data_directory_full(exc.filesystem)
    if is_disk_full(exc):
        where = getattr(exc, "filename", None) or data_dir
        filesystem = mount_point(where) if where is not None else "the data directory's filesystem"
        return ServiceUnavailable.data_directory_full(filesystem)
    if is_database_unavailable(exc):
        return ServiceUnavailable.database_unreachable()
    return InternalFailure()


# --- CloudTrail modeled errors (LookupEvents) ----------------------------------------------


class InvalidLookupAttributesException(AwsError):
    """More than one lookup attribute, an unknown AttributeKey, a bad value, or an attribute that
    Insights lookups do not support."""


class InvalidTimeRangeException(AwsError):
    """StartTime after EndTime."""

    default_message = "Start time must be before end time."


class InvalidMaxResultsException(AwsError):
    """MaxResults outside 1..50."""

    default_message = "Max results must be between 1 and 50."


class InvalidNextTokenException(AwsError):
    """A token that was not issued by opentrail or was issued for other parameters."""

    default_message = "Invalid NextToken."


class InvalidEventCategoryException(AwsError):
    """EventCategory other than ``insight``."""


def new_request_id() -> str:
    """A fresh ``x-amzn-RequestId`` (UUID, as AWS JSON services send)."""
    return str(uuid.uuid4())


def json_response(payload: object, request_id: str, status: int = 200) -> Response:
    """An AWS JSON 1.1 response with ``x-amzn-RequestId``."""
    return Response(
        orjson.dumps(payload),
        status_code=status,
        media_type=JSON_11,
        headers={"x-amzn-RequestId": request_id},
    )


def error_response(error: AwsError, request_id: str) -> Response:
    """Render ``error`` the way AWS JSON 1.1 services do."""
    return json_response(error.body(), request_id, error.status)
