"""``POST /_opentrail/ingest``: the ingest endpoint for trusted producers.

SigV4 with service name ``opentrail``, signed with a key of the *admin* account (any other account
gets ``AccessDeniedException``). Body ``{"Records": [<complete CloudTrail record>, ...]}``. Query
parameters: ``visible=false`` (answer once durable, without waiting for the lookup index),
``defaultAccountId`` / ``defaultRegion`` (for records that name no account / Region). Answer: the
:class:`opentrail.ingest.IngestOutcome` JSON ``{"accepted", "duplicates", "expired", "rejected":
[{"index", "code", "reason"}]}``. Errors use the same AWS JSON shape as the CloudTrail API.
Calls to this endpoint are not recorded as CloudTrail events.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..auth.accounts import AccountStore
from ..auth.sigv4 import SignatureRejected
from ..ingest import ingest_records
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
    from .app import authenticate, parse_json_object, read_body

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
            payload = parse_json_object(body)
            records = payload.get("Records")
            if not isinstance(records, list):
                raise SerializationException('The body must be {"Records": [...]}.')
            q = request.query_params
            visible = q.get("visible", "true").lower()
            if visible not in ("true", "false"):
                raise ValidationException("visible must be true or false.")
            default_account = q.get("defaultAccountId") or None
            if default_account is not None and not _ACCOUNT_RE.match(default_account):
                raise ValidationException("defaultAccountId must be 12 digits.")
            default_region = q.get("defaultRegion") or None
            if default_region is not None and not _REGION_RE.match(default_region):
                raise ValidationException("defaultRegion is not a valid Region name.")
            outcome = await run_in_threadpool(
                _ingest, store, records, settings, clock(), default_account, default_region, visible == "true"
            )
            return json_response(outcome, request_id)
        except AwsError as exc:
            return error_response(exc, request_id)
        except Exception:
            log.exception("unexpected error in ingest (request %s)", request_id)
            return error_response(InternalFailure(), request_id)

    return ingest


def _ingest(
    store: EventStore,
    records: list[Any],
    settings: Settings,
    now: float,
    default_account: str | None,
    default_region: str | None,
    wait_visible: bool,
) -> dict[str, Any]:
    return ingest_records(
        store,
        records,
        retention_days=settings.event_history_retention_days,
        now=now,
        default_account_id=default_account,
        default_region=default_region,
        wait_visible=wait_visible,
    ).to_json()
