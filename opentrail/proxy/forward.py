"""The forwarding ASGI app: every request goes to the upstream unchanged, every answer comes back
unchanged, and what was seen is handed to the record pipeline after the answer was sent.

- Unchanged: method, raw (percent-encoded) path and query, every header including ``Host`` and
  ``Authorization`` (so SigV4 signatures stay valid upstream), the body bytes; status, headers and
  body bytes of the answer (``Content-Encoding`` is not undone). Only hop-by-hop headers
  (``Connection``, ``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Trailer``, ``Upgrade``) are
  dropped, and HTTP framing is redone hop by hop: a chunked request is re-chunked upstream, an
  ``aws-chunked`` body (signed chunks inside the body) passes through as bytes.
- Streaming in constant memory: request body chunks are sent upstream as they arrive (httpx
  streaming request), response chunks are sent to the client as they are read
  (``aiter_raw``); only the first :data:`~opentrail.proxy.capture.MAX_CAPTURE_BYTES` of each body
  are kept for the record.
- The upstream unreachable (connection refused, timeout before an answer): the client gets
  ``502``/``504`` with an S3-style XML error body (``ServiceUnavailable``/``RequestTimeout``),
  and the attempt is recorded with that errorCode.
- sourceIPAddress: the TCP peer, or, when the peer is one of ``trusted_proxies``, the right-most
  ``X-Forwarded-For`` address that is not itself a trusted proxy.
- The record pipeline gets the call after the last body byte was sent, without waiting: opentrail
  being slow or down never delays or fails the user's request.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import httpx

from .capture import MAX_CAPTURE_BYTES, CapturedCall

log = logging.getLogger("opentrail.proxy")

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})
_HOP_BY_HOP_RESPONSE = _HOP_BY_HOP | {"transfer-encoding"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks. Raises ValueError for a malformed entry."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def source_ip(peer: str, forwarded_for: str | None, trusted: Iterable[Network]) -> str:
    """The client address to record (see the module docstring)."""
    nets = tuple(trusted)

    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in n for n in nets)

    if not forwarded_for or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


def _error_body(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()


class ProxyApp:
    """ASGI app forwarding to ``upstream`` (``http://host:port``); finished calls go to ``sink``
    (which must not block). ``clock`` gives epoch seconds."""

    def __init__(
        self,
        upstream: str,
        sink: Callable[[CapturedCall], None],
        *,
        trusted_proxies: Iterable[Network] = (),
        clock: Callable[[], float] = time.time,
        timeout_s: float = 300.0,
        max_connections: int = 256,
    ) -> None:
        self._upstream = httpx.URL(upstream.rstrip("/"))
        self._sink = sink
        self._trusted = tuple(trusted_proxies)
        self._clock = clock
        self._timeout = httpx.Timeout(timeout_s, connect=10.0)
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            client = httpx.AsyncClient(timeout=self._timeout, limits=self._limits, follow_redirects=False,
                                       trust_env=False)
            for name in list(client.headers.keys()):  # no default Accept/User-Agent/... added
                del client.headers[name]
            self._client = client
        return self._client

    async def aclose(self) -> None:
        """Close pooled upstream connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await self._proxy(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw_headers]
        peer = (scope.get("client") or ("0.0.0.0", 0))[0]
        call = CapturedCall(
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            source_ip=source_ip(peer, next((v for k, v in headers if k == "x-forwarded-for"), None), self._trusted),
            event_time=self._clock(),
        )
        forward_headers = [(k, v) for k, v in raw_headers if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        has_body = any(k in ("content-length", "transfer-encoding") for k, _ in headers)
        captured = bytearray()

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected()
                chunk = message.get("body", b"")
                if chunk:
                    call.bytes_in += len(chunk)
                    if call.request_body is not None:
                        if len(captured) + len(chunk) <= MAX_CAPTURE_BYTES:
                            captured.extend(chunk)
                        else:
                            call.request_body = None
                    yield chunk
                if not message.get("more_body", False):
                    return

        raw_path = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            raw_path += b"?" + scope["query_string"]
        url = self._upstream.copy_with(raw_path=self._upstream.raw_path.rstrip(b"/") + raw_path)
        client = self._http()
        request = client.build_request(call.method, url, headers=forward_headers,
                                       content=body() if has_body else None)
        try:
            response = await client.send(request, stream=True)
        except ClientDisconnected:
            return
        except httpx.TimeoutException as exc:
            await self._answer_error(send, call, 504, "RequestTimeout", f"upstream timed out: {type(exc).__name__}")
            return
        except httpx.HTTPError as exc:
            await self._answer_error(send, call, 502, "ServiceUnavailable", f"upstream unreachable: {type(exc).__name__}")
            return
        if call.request_body is not None:
            call.request_body = bytes(captured)
        call.status = response.status_code
        out_headers = [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP_RESPONSE]
        call.response_headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in out_headers]
        kept = bytearray()
        try:
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            async for chunk in response.aiter_raw():
                if not chunk:
                    continue
                call.bytes_out += len(chunk)
                if call.response_body is not None:
                    if len(kept) + len(chunk) <= MAX_CAPTURE_BYTES:
                        kept.extend(chunk)
                    else:
                        call.response_body = None
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        if call.response_body is not None:
            call.response_body = bytes(kept)
        self._hand_over(call)

    async def _answer_error(self, send: Send, call: CapturedCall, status: int, code: str, message: str) -> None:
        body = _error_body(code, message)
        call.status = status
        call.upstream_error = message
        call.response_body = body
        call.bytes_out = len(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        log.warning("%s %s: %s", call.method, call.path, message)
        self._hand_over(call)

    def _hand_over(self, call: CapturedCall) -> None:
        try:
            self._sink(call)
        except Exception:
            log.exception("could not hand a captured call to the record pipeline")
