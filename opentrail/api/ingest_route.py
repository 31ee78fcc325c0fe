"""``POST /_opentrail/ingest``: the ingest endpoint for trusted producers.

SigV4 with service name ``opentrail``, signed with a key of the *admin* account (any other account
gets ``AccessDeniedException``). Body ``{"Records": [<complete CloudTrail record>, ...]}``. Query
parameters: ``visible=false`` (answer once durable, without waiting for the lookup index),
``defaultAccountId`` / ``defaultRegion`` (for records that name no account / Region). Answer: the
:class:`opentrail.ingest.IngestOutcome` JSON ``{"accepted", "duplicates", "expired", "rejected":
[{"index", "code", "reason"}]}``. Errors use the same AWS JSON shape as the CloudTrail API; a full
data directory is ``ServiceUnavailable`` (HTTP 503, retried by AWS SDKs): nothing of that request
was acknowledged, and a retry is deduplicated on eventID.
Calls to this endpoint are not recorded as CloudTrail events.
"""

from __future__ import annotations

import gc
import logging
import re
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..auth.accounts import AccountStore
from ..auth.sigv4 import SignatureRejected
from ..ingest import append_events, read_records
from ..settings import Settings
from ..store.base import EventStore
from .errors import (
    AccessDeniedException,
    AwsError,
    InternalFailure,
    SerializationException,
    ValidationException,
    error_response,
    json_response,
    new_request_id,
    store_error_to_aws,
)

log = logging.getLogger("opentrail.api")

#: SigV4 service name of the ingest endpoint.
INGEST_SERVICE = "opentrail"
#: The action named in AccessDeniedException messages.
INGEST_ACTION = "opentrail:Ingest"
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,64}$")


def make_ingest_endpoint(
    *, settings: Settings, store: EventStore, accounts: AccountStore, clock: Callable[[], float]
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for ``POST /_opentrail/ingest``."""
    from .app import authenticate, read_body

    async def ingest(request: Request) -> Response:
        request_id = new_request_id()
        try:
            body = await read_body(request, settings.max_request_bytes)
            try:
                caller = authenticate(request, body, accounts, INGEST_SERVICE, clock())
            except SignatureRejected as exc:
                raise exc.error from None
            if not caller.is_admin:
                raise AccessDeniedException.for_action(caller.arn, INGEST_ACTION)
            q = request.query_params
            visible = q.get("visible", "true").lower()
            default_account = q.get("defaultAccountId") or None
            default_region = q.get("defaultRegion") or None
            query_error: AwsError | None = None
            if visible not in ("true", "false"):
                query_error = ValidationException("visible must be true or false.")
            elif default_account is not None and not _ACCOUNT_RE.match(default_account):
                query_error = ValidationException("defaultAccountId must be 12 digits.")
            elif default_region is not None and not _REGION_RE.match(default_region):
                query_error = ValidationException("defaultRegion is not a valid Region name.")
            # parsing, reading and compressing run off the event loop, in one thread hop
            outcome = await run_in_threadpool(
                _ingest, store, body, query_error, settings, clock(), default_account, default_region, visible == "true"
            )
            return json_response(outcome, request_id)
        except AwsError as exc:
            return error_response(exc, request_id)
        except Exception as exc:
            error = store_error_to_aws(exc, data_dir=settings.data_dir)
            if isinstance(error, InternalFailure):
                log.exception("unexpected error in ingest (request %s)", request_id)
            else:
                log.warning("ingest refused (request %s): %s: %s", request_id, error.code, error.message)
            return error_response(error, request_id)

    return ingest


def _ingest(
    store: EventStore,
    body: bytes,
    query_error: AwsError | None,
    settings: Settings,
    now: float,
    default_account: str | None,
    default_region: str | None,
    wait_visible: bool,
) -> dict[str, Any]:
    """Parse ``body`` (SerializationException first, then ``query_error``), ingest the records."""
    from .app import parse_json_object

    # A batch is ~30 containers per record, all freed by reference counting once it is read:
    # collecting meanwhile would only traverse them (dozens of young-generation passes per batch).
    pause_gc = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        records = parse_json_object(body).get("Records")
        if not isinstance(records, list):
            raise SerializationException('The body must be {"Records": [...]}.')
        if query_error is not None:
            raise query_error
        events, rejected = read_records(records, default_account_id=default_account, default_region=default_region)
        del records
    finally:
        if pause_gc:
            gc.enable()
    return append_events(store, events, rejected, 0, wait_visible=wait_visible).to_json()
