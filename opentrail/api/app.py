"""The ASGI application: every AWS service opentrail serves (CloudTrail, CloudWatch Logs,
CloudWatch, EventBridge, STS) on ``POST /``, the ingest endpoint, health and the web console.

Routes:

- ``POST /`` -- the AWS APIs, routed to a service by the SigV4 credential scope (then the
  ``X-Amz-Target`` prefix, then CloudWatch's Query content type) by
  :func:`opentrail.api.services.service_for_request`: ``cloudtrail`` (AWS JSON 1.1,
  ``[com.amazonaws.cloudtrail.v20131101.]CloudTrail_20131101.<Op>``), ``logs`` (AWS JSON 1.1,
  ``Logs_20140328.<Op>``), ``monitoring`` (AWS JSON 1.0 ``GraniteServiceVersion20100801.<Op>``, or
  AWS Query ``Action=<Op>``), ``events`` (AWS JSON 1.1, ``AWSEvents.<Op>``), ``organizations``
  (AWS JSON 1.1, ``AWSOrganizationsV20161128.<Op>``). Each service dispatches through its explicit operation table.
- ``POST /service/GraniteServiceVersion20100801/operation/<Op>`` -- CloudWatch in Smithy RPC v2 CBOR.
- ``POST /PutAuditEvents?channelArn=...`` -- CloudTrail Data in rest-json (:mod:`.cloudtrail_data`).
- ``POST /_opentrail/ingest`` -- trusted producers (see :mod:`opentrail.api.ingest_route`).
- ``GET /_opentrail/health`` -- ``{"status": "ok" | "degraded", "dataDirectory": {"freeBytes": N,
  "full": bool}}``: "degraded" while the data directory is full
  (:func:`opentrail.store.space.data_directory_status`); HTTP 200 either way. With several nodes
  (``cluster``, :class:`opentrail.leased_worker.Coordinator`) also ``"cluster": {"nodeId",
  "leaseTtlSeconds", "nodes": [{"nodeId", "url", "host", "pid", "started", "lastSeen", "live",
  "leaseCount"}], "leases": [{"name", "holder", "token", "expiresAt", "acquiredAt"}]}`` (times in
  epoch seconds; ``live``: heartbeat fresh; ``leaseCount``: unexpired leases held), or
  ``{"nodeId", "error"}`` and "degraded" while the database does not answer.
- ``GET /`` and ``/console/...`` -- the web console (see :mod:`opentrail.console`).

Request processing for the APIs, in order: body size (413), SigV4 for the routed service
(authentication errors), the operation (UnknownOperationException), the protocol's body
(:mod:`opentrail.api.protocols`: Content-Type, SerializationException, nesting limit
:data:`MAX_REQUEST_DEPTH`), the IAM check (:class:`opentrail.api.authorization.Authorizer`: a denial
is the call's AWS error, recorded like any), then the handler behind the model's request validation, run and recorded
by :func:`opentrail.api.calls.run_recorded` under the service's eventSource (a change is made only
once its record is durable). Every response carries ``x-amzn-RequestId``; errors are rendered by the
protocol; any unexpected exception is logged and answered with ``InternalFailure`` (500).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth.accounts import AccountStore
from ..auth.sigv4 import Caller, SignatureRejected, verify
from ..insights.model import InsightMetrics
from ..settings import Settings
from ..store.base import EventStore
from ..store.space import data_directory_status
from .errors import (
    AwsError,
    InternalFailure,
    RequestEntityTooLargeException,
    SerializationException,
    UnknownOperationException,
    new_request_id,
    store_error_to_aws,
)
from .authorization import Authorizer
from .operations import OperationContext
from .protocols import protocol_for
from .services import service_for_request
from .ratelimit import RateLimiter
from .calls import run_recorded, services_staging, staging_of
from .commit_errors import commit_errors
from .recording import CallInfo, call_record, record_call

log = logging.getLogger("opentrail.api")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or RequestEntityTooLargeException as soon as it exceeds ``limit`` bytes
    (a Content-Length over the limit is refused before reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLargeException.for_limit(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLargeException.for_limit(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def call_info(request: Request) -> CallInfo:
    """Client address, User-Agent, Host and TLS facts of ``request`` for the record."""
    client = request.client
    tls = request.scope.get("extensions", {}).get("tls") or {}
    return CallInfo(
        source_ip=client.host if client else "127.0.0.1",
        user_agent=request.headers.get("user-agent", ""),
        host=request.headers.get("host"),
        tls_version=tls.get("tls_version_name") if isinstance(tls, dict) else None,
        cipher_suite=tls.get("cipher_suite") if isinstance(tls, dict) else None,
        is_tls=request.url.scheme == "https",
    )


def authenticate(request: Request, body: bytes, accounts: AccountStore, service: str, now: float) -> Caller:
    """SigV4-verify ``request`` for ``service``; raises :class:`SignatureRejected`."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    return verify(
        method=request.method,
        path=raw_path.decode("latin-1"),
        query_string=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=body,
        accounts=accounts,
        service=service,
        now=now,
    )


#: Deepest JSON nesting accepted in a request (the request object itself is level 1). The
#: deepest CloudTrail input shape nests 5 levels (AdvancedEventSelectors); 64 leaves room for every
#: AWS model while keeping every record writable (orjson writes at most 254 levels).
MAX_REQUEST_DEPTH = 64


def json_depth(value: Any) -> int:
    """Nesting depth of decoded JSON ``value`` (a scalar is 0, ``{}`` and ``[]`` are 1)."""
    depth = 0
    level = [value]
    while level:
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            break
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return depth


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request JSON object; an empty body or ``null`` is ``{}``. Raises SerializationException:
    without a message when the body is not JSON, in Coral's wording when it is JSON but not an
    object (see :meth:`SerializationException.for_value`), and when it nests deeper than
    :data:`MAX_REQUEST_DEPTH` (:meth:`SerializationException.too_deep`)."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SerializationException() from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SerializationException.for_value(value, "Structure")
    if json_depth(value) > MAX_REQUEST_DEPTH:
        raise SerializationException.too_deep(MAX_REQUEST_DEPTH)
    return value


class RequestIdMiddleware:
    """Adds ``x-amzn-RequestId`` to responses that lack one (Starlette's own 404/405 answers)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-amzn-requestid" for k, _ in headers):
                    headers.append((b"x-amzn-requestid", new_request_id().encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_app(
    *,
    settings: Settings,
    store: EventStore,
    accounts: AccountStore,
    clock: Callable[[], float] = time.time,
    trails: Any = None,
    public_keys: Any = None,
    token_key: bytes | None = None,
    lake: Any = None,
    logs: Any = None,
    monitoring: Any = None,
    eventbridge: Any = None,
    event_bus: Any = None,
    insights: InsightMetrics | None = None,
    organizations: Any = None,
    iam: Any = None,
    cluster: Any = None,
) -> Starlette:
    """The opentrail ASGI app over ``store`` and ``accounts``; ``clock`` (epoch seconds) is used
    for signature times, event times, retention and rate limiting. ``trails`` is the
    :class:`opentrail.trails.TrailService` behind the trail operations (None: they answer
    UnknownOperationException). ``public_keys`` is the :class:`opentrail.digests.keys.KeyStore`
    behind ListPublicKeys. ``token_key`` authenticates LookupEvents NextTokens
    (:func:`opentrail.api.token_key.load_token_key`; None: a key made for the process). ``lake`` is
    the :class:`opentrail.lake.Lake` behind the event data store and query operations (None: they
    answer UnknownOperationException). ``logs`` and ``monitoring`` are the CloudWatch Logs and
    CloudWatch services behind those APIs (None: their operations answer UnknownOperationException).
    ``eventbridge`` is the :class:`opentrail.eventbridge.rules_service.RulesService` behind the
    EventBridge API (None: its operations answer UnknownOperationException) and ``event_bus`` the
    :class:`opentrail.eventbridge.model.EventBus` PutEvents hands events to (None: every entry fails).
    ``insights`` is the :class:`opentrail.insights.model.InsightMetrics` behind ListInsightsMetricData
    and the console's Insights charts (None: ListInsightsMetricData answers as if no call had been
    counted, so clients keep working, and the charts say no counts are available). ``organizations``
    is the :class:`opentrail.organizations.service.OrganizationsService` behind the Organizations API
    (None: its operations answer UnknownOperationException). ``iam`` is the IAM store (an
    :class:`opentrail.iam.model.IamDirectory`) behind the IAM API, AssumeRole and policy enforcement
    (None: IAM operations answer UnknownOperationException). ``cluster`` is the node's
    :class:`opentrail.leased_worker.Coordinator` shown by health and the console's Nodes page (None:
    one node, no leases)."""
    from .lookup_events import lookup_events_rendered  # here: it imports .operations, which imports it

    limiter = RateLimiter(settings.lookup_events_rate_limit_per_s, clock)
    authorizer = Authorizer(settings, iam, organizations)
    if getattr(lake, "policies", None) is not None:  # cross-account calls allowed by a channel's or store's policy
        authorizer.resource_policy = lake.policies.policy_for
    # CloudTrail operations run on the event loop itself (short, never waiting on I/O beyond a local
    # read): LookupEvents, as lookup_events_rendered (entries pre-rendered as JSON, same bytes).
    inline_handlers = {"LookupEvents": lookup_events_rendered}

    async def api(request: Request) -> Response:
        request_id = new_request_id()
        event_time = clock()
        headers = request.headers
        service = service_for_request(authorization=headers.get("authorization"),
                                      query_string=request.scope.get("query_string", b"").decode("latin-1"),
                                      target=headers.get("x-amz-target"),
                                      content_type=headers.get("content-type", ""), path=request.url.path)
        protocol = protocol_for(request, service)
        operation: str | None = None
        caller: Caller | None = None
        params: dict[str, Any] | None = None
        response: dict[str, Any] | None = None
        error: AwsError | None = None
        try:
            body = await read_body(request, settings.max_request_bytes)
            try:
                operation = protocol.operation(request, body, service)
            except AwsError:
                operation = None
            try:
                caller = authenticate(request, body, accounts, service.name, clock())
            except SignatureRejected as exc:
                caller = exc.caller
                raise exc.error from None
            if operation is None:
                raise UnknownOperationException()
            params = protocol.decode(request, body, operation, service)
        except AwsError as exc:
            error = exc
        except Exception as exc:
            error = store_error_to_aws(exc, data_dir=settings.data_dir)
            if isinstance(error, InternalFailure):
                log.exception("unexpected error in %s (request %s)", operation, request_id)
        info = call_info(request)
        recorded = operation is not None and service.is_recorded(operation)
        if error is None and caller is not None and operation is not None:
            ctx = OperationContext(caller, settings, store, clock, limiter, trails, public_keys, token_key, lake,
                                   logs, monitoring, eventbridge, event_bus, insights, organizations, accounts,
                                   iam)
            known_caller, known_params, known_operation = caller, params, operation

            def make_record(result: dict[str, Any] | None, failure: AwsError | None) -> dict[str, Any]:
                return call_record(caller=known_caller, operation=known_operation, params=known_params,
                                   response=result, error_code=failure.code if failure else None,
                                   error_message=failure.message if failure else None,
                                   request_id=request_id, event_time=event_time, info=info, service=service)

            def authorized(handler: Any) -> Callable[[], dict[str, Any]]:
                """The handler behind the IAM check: a denial is the call's AWS error, recorded."""
                def call() -> dict[str, Any]:
                    authorizer.authorize(known_caller, service, known_operation, known_params, info, event_time)
                    return handler(ctx, known_params or {})  # type: ignore[no-any-return]
                return call

            try:
                inline = service.inline.get(operation) or (inline_handlers.get(operation)
                                                            if service.name == "cloudtrail" else None)
                if inline is not None:
                    # A lookup takes about a millisecond and CPython runs one thread at a time
                    # anyway: on the event loop it saves a thread hop per request.
                    response = run_recorded(operation=operation, call=authorized(inline),
                                            make_record=make_record, store=store,
                                            read_only=service.is_read_only(operation), recorded=recorded)
                else:  # may wait on the store (recording, StartLogging/StopLogging flush it) or on storage
                    handler = service.operations[operation]
                    response = await run_in_threadpool(
                        run_recorded, operation=operation, call=authorized(handler),
                        make_record=make_record, store=store,
                        staging=staging_of() if operation in service.unstaged else services_staging(
                            trails, lake, logs, monitoring, eventbridge, organizations, iam),
                        read_only=service.is_read_only(operation), recorded=recorded,
                        commit_errors=lambda: commit_errors(service.name))
            except AwsError as exc:
                error = exc
        elif caller is not None and operation is not None and recorded:
            record_call(
                store,
                caller=caller,
                operation=operation,
                params=params,
                response=None,
                error_code=error.code if error else None,
                error_message=error.message if error else None,
                request_id=request_id,
                event_time=event_time,
                info=info,
                service=service,
            )
        if error is not None:
            return protocol.encode_error(error, service, request_id)
        assert operation is not None and response is not None
        return protocol.encode(response, operation, service, request_id)

    async def health(request: Request) -> Response:
        space = data_directory_status(settings.data_dir, settings.min_free_bytes, store.is_full())
        body: dict[str, Any] = {"status": "degraded" if space.full else "ok", "dataDirectory": space.to_json()}
        if cluster is not None:
            body["cluster"] = await run_in_threadpool(cluster_health, cluster)
            if "error" in body["cluster"]:
                body["status"] = "degraded"
        return JSONResponse(body, headers={"x-amzn-RequestId": new_request_id()})

    from ..console import console_routes
    from .ingest_route import make_ingest_endpoint

    routes = [
        Route("/", api, methods=["POST"]),
        Route("/service/{service_shape}/operation/{operation}", api, methods=["POST"]),
        Route("/PutAuditEvents", api, methods=["POST"]),  # CloudTrail Data (rest-json)
        Route("/_opentrail/health", health, methods=["GET"]),
        Route(
            "/_opentrail/ingest",
            make_ingest_endpoint(settings=settings, store=store, accounts=accounts, clock=clock),
            methods=["POST"],
        ),
        *console_routes(settings=settings, store=store, accounts=accounts, clock=clock, trails=trails,
                        token_key=token_key, lake=lake, logs=logs, monitoring=monitoring, eventbridge=eventbridge,
                        event_bus=event_bus, insights=insights, authorizer=authorizer, iam=iam,
                        organizations=organizations, cluster=cluster),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestIdMiddleware)])


def cluster_health(cluster: Any) -> dict[str, Any]:
    """``cluster.health()``, or this node's id and the error while the database does not answer."""
    try:
        return cluster.health()  # type: ignore[no-any-return]
    except Exception as exc:  # the database unreachable: health still answers
        log.warning("cluster health: %s", exc)
        return {"nodeId": cluster.node_id, "error": " ".join(str(exc).split()) or type(exc).__name__}
