"""What the wire layers of the JSON services (CloudWatch Logs, EventBridge, CloudWatch) share: the
caller's account and Region, integer members as Coral reads them, the one edge where a service's
domain errors become its wire errors, and the key its NextTokens are sealed under."""

from __future__ import annotations

import base64
import binascii
import functools
import math
from typing import Any, Callable, Mapping, Sequence

import orjson

from .errors import AwsError, errors_by_code
from .services import Handler
from .token_key import process_token_key


def who(ctx: Any) -> tuple[str, str]:
    """(account, Region) of the caller."""
    return ctx.caller.account_id, ctx.caller.region


def integer(params: dict[str, Any], name: str) -> int | None:
    """An integer or long member as Coral reads it: any JSON number, a fraction truncated toward
    minus infinity (as the model validation checks it); None when absent."""
    value = params.get(name)
    return None if value is None else math.floor(value)


def domain_errors_as(wire_errors: Mapping[str, type[AwsError]]) -> Callable[[Handler], Handler]:
    """A decorator: the handler with the domain errors whose ``code`` names a class of
    ``wire_errors`` answered as that wire error (:func:`opentrail.api.errors.errors_by_code`)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            with errors_by_code(wire_errors):
                return handler(ctx, params)

        return run

    return decorate


def token_key(ctx: Any) -> bytes:
    """The key NextTokens are sealed under: the server's (``ctx.token_key``), else this process's."""
    return ctx.token_key or process_token_key()


def cursor_token(cursor: Sequence[Any]) -> str:
    """A list page's NextToken: the store's cursor (a few JSON values) as URL-safe base64 without
    padding (ListTrails, ListEventDataStores, ListChannels)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(cursor))).decode().rstrip("=")


def cursor_of(token: str, kinds: tuple[type, ...]) -> list[Any] | None:
    """The cursor in ``token`` (:func:`cursor_token`) when it is a list of one value of each type of
    ``kinds`` in order (``float`` takes ints too, never booleans), else None: the caller answers
    its service's invalid-token error."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(value, list) or len(value) != len(kinds):
        return None
    for item, kind in zip(value, kinds):
        accepted = (int, float) if kind is float else kind
        if isinstance(item, bool) or not isinstance(item, accepted):
            return None
    return value
