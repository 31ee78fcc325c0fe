"""ASGI audit middleware: one CloudTrail record per HTTP request.

    from opentrail.client import EventClient
    from opentrail.middleware.asgi import AuditMiddleware

    client = EventClient(url, key_id, secret, spool_dir=Path("/var/spool/myapp-audit"))
    app = AuditMiddleware(app, client, event_source="myapp.example.com", account_id="123456789012",
                          identity=lambda scope: {"type": "Unknown", "userName": scope["state"]["user"]})

The response passes through untouched and unbuffered (streaming bodies stream); the record is
built and put after the last body chunk was sent (or the application raised), with
``put(block=False)``: with a spool that is a ``write(2)``, without one a full queue drops the
record instead of waiting. Errors while recording are logged and swallowed. WebSocket and
lifespan traffic passes through unrecorded. The record's contents: :mod:`opentrail.middleware.common`.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Iterable, MutableMapping

from .common import Recorder, RequestFacts, camel_case

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def default_event_name(scope: Scope) -> str:
    """The route's endpoint function in CamelCase when the framework set ``scope["endpoint"]``,
    else the HTTP method."""
    endpoint = scope.get("endpoint")
    name = getattr(endpoint, "__name__", None)
    if isinstance(name, str) and name and name != "<lambda>":
        return camel_case(name)
    return str(scope.get("method", "GET"))


class AuditMiddleware:
    """Record every HTTP request that ``include(scope)`` accepts (all by default).

    ``client``: an :class:`opentrail.client.EventClient` (anything with ``put(record, block=)``).
    ``identity(scope) -> dict | None``: the caller's userIdentity; ``event_name(scope) -> str``;
    ``include(scope) -> bool``; ``trusted_proxies``: addresses/networks whose X-Forwarded-For is
    believed; ``account_id``: recipientAccountId; ``region``: awsRegion. ``identity`` and
    ``event_name`` run after the response. Raises ValueError for an empty ``event_source`` or a
    malformed proxy address.
    """

    def __init__(
        self,
        app: ASGIApp,
        client: Any,
        *,
        event_source: str,
        identity: Callable[[Scope], dict[str, Any] | None] | None = None,
        event_name: Callable[[Scope], str | None] | None = None,
        include: Callable[[Scope], bool] | None = None,
        trusted_proxies: Iterable[str] = (),
        account_id: str | None = None,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.recorder = Recorder(
            client,
            event_source=event_source,
            identity=identity,
            event_name=event_name,
            include=include,
            trusted_proxies=trusted_proxies,
            account_id=account_id,
            region=region,
        )
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not self.recorder.wanted(scope):
            await self.app(scope, receive, send)
            return
        facts = _facts(scope, self.clock())
        recorded = False

        def finish() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.recorder.record(facts, scope, default_event_name(scope))

        async def send_wrapper(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                facts.status = int(message.get("status", 200))
            elif kind == "http.response.body":
                facts.bytes_out += len(message.get("body", b""))
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                finish()

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            facts.failed = True  # status stays 500 unless the response had started
            finish()
            raise
        finish()


def _facts(scope: Scope, now: float) -> RequestFacts:
    user_agent = ""
    forwarded = None
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded = value.decode("latin-1") if forwarded is None else forwarded + "," + value.decode("latin-1")
    client = scope.get("client")
    raw_query = scope.get("query_string", b"")
    return RequestFacts(
        method=str(scope.get("method", "GET")),
        path=str(scope.get("path", "/")),
        query_string=raw_query.decode("latin-1") if isinstance(raw_query, bytes) else str(raw_query),
        peer=str(client[0]) if client else None,
        forwarded_for=forwarded,
        user_agent=user_agent,
        started=now,
    )
