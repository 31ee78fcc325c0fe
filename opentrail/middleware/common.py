"""What the ASGI and WSGI audit middleware share: the request facts, the client address behind
trusted proxies, and the CloudTrail record of one HTTP request.

The record (:func:`request_record`, built with :func:`opentrail.client.audit_event`):

- eventName: the ``event_name`` callable's answer, else the route's endpoint function in
  CamelCase when the framework recorded one (Starlette/FastAPI ``scope["endpoint"]``:
  ``list_items`` -> ``ListItems``), else the HTTP method (``GET``).
- requestParameters: ``{"httpMethod", "path", "queryParameters"}``; query values are strings,
  a repeated name gives a list; no query string gives ``{}``.
- responseElements: null (the body is the application's business, not the audit log's).
- additionalEventData: ``{"statusCode": int, "bytesTransferredOut": int}`` (the name AWS uses in
  S3 data events for bytes sent).
- errorCode / errorMessage for status >= 400: the status's name in CamelCase and its reason
  phrase (404 -> ``NotFound`` / ``Not Found``); an exception escaping the application is recorded
  as 500 ``InternalServerError`` (and re-raised).
- readOnly: true for GET, HEAD, OPTIONS.
- sourceIPAddress: the peer address; ``X-Forwarded-For`` is used only when the peer is one of
  ``trusted_proxies`` (addresses or networks), walking the header from the right and skipping
  trusted hops; the first untrusted address is the client.
- userAgent: the ``User-Agent`` header; eventTime: when the request arrived.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl

from ..client.audit import audit_event

log = logging.getLogger("opentrail.middleware")

#: Methods recorded with readOnly true.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class RequestFacts:
    """One request as the middleware saw it. ``started`` in epoch seconds; ``status`` 500 when the
    application raised before answering."""

    method: str
    path: str
    query_string: str
    peer: str | None
    forwarded_for: str | None
    user_agent: str
    started: float
    status: int = 500
    bytes_out: int = 0
    failed: bool = False


def trusted_networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """Parse ``["10.0.0.1", "10.1.0.0/16", "::1"]``; raises ValueError for a malformed entry."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The caller's address (rules in the module docstring); ``"unknown"`` without a peer."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not networks or not _is_trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def query_parameters(query_string: str) -> dict[str, Any]:
    """``a=1&b=2&b=3`` -> ``{"a": "1", "b": ["2", "3"]}``."""
    out: dict[str, Any] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name in out:
            prev = out[name]
            out[name] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def camel_case(name: str) -> str:
    """``list_items`` / ``listItems`` / ``NOT_FOUND`` -> ``ListItems`` / ``ListItems`` / ``NotFound``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    out = []
    for p in parts:
        out.append(p[0].upper() + (p[1:].lower() if p.isupper() else p[1:]))
    return "".join(out)


def error_of(status: int) -> tuple[str, str] | None:
    """``(errorCode, errorMessage)`` for status >= 400, else None."""
    if status < 400:
        return None
    try:
        s = HTTPStatus(status)
    except ValueError:
        return (f"Http{status}", f"HTTP status {status}")
    return camel_case(s.name), s.phrase


def request_record(
    facts: RequestFacts,
    *,
    event_source: str,
    event_name: str,
    identity: Mapping[str, Any] | None,
    networks: tuple[Network, ...],
    account_id: str | None,
    region: str,
) -> dict[str, Any]:
    """The CloudTrail record of one request (see the module docstring)."""
    error = error_of(facts.status)
    return audit_event(
        event_source=event_source,
        event_name=event_name,
        user_identity=identity,
        recipient_account_id=account_id,
        aws_region=region,
        request_parameters={
            "httpMethod": facts.method,
            "path": facts.path,
            "queryParameters": query_parameters(facts.query_string),
        },
        response_elements=None,
        error_code=error[0] if error else None,
        error_message=error[1] if error else None,
        additional_event_data={"statusCode": facts.status, "bytesTransferredOut": facts.bytes_out},
        read_only=facts.method in READ_ONLY_METHODS,
        source_ip=client_address(facts.peer, facts.forwarded_for, networks),
        user_agent=facts.user_agent,
        event_time=facts.started,
    )


class Recorder:
    """Turns a finished request into a record and hands it to the client, swallowing (and logging)
    every error: auditing never fails or delays the application's answer.

    ``context`` is the ASGI scope or the WSGI environ; ``identity(context)`` returns the caller's
    userIdentity dict (or None: ``{"type": "Unknown"}``), ``event_name(context)`` the eventName and
    ``include(context)`` whether to record the request at all. ``identity`` and ``event_name`` are
    called after the response was sent, so the application can leave what they need in the
    context (``request.state`` in Starlette is ``scope["state"]``).
    """

    def __init__(
        self,
        client: Any,
        *,
        event_source: str,
        identity: Any = None,
        event_name: Any = None,
        include: Any = None,
        trusted_proxies: Iterable[str] = (),
        account_id: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        if not event_source:
            raise ValueError("event_source is required (your application's host name, e.g. myapp.example.com)")
        self.client = client
        self.event_source = event_source
        self.identity = identity
        self.event_name = event_name
        self.include = include
        self.networks = trusted_networks(trusted_proxies)
        self.account_id = account_id
        self.region = region

    def wanted(self, context: Any) -> bool:
        """``include(context)``; True without one; False (logged) when it raises."""
        if self.include is None:
            return True
        try:
            return bool(self.include(context))
        except Exception:
            log.exception("opentrail middleware: include() failed; request not recorded")
            return False

    def record(self, facts: RequestFacts, context: Any, default_name: str) -> None:
        """Build and put the record of a finished request. Never raises."""
        try:
            identity = self.identity(context) if self.identity is not None else None
            name = self.event_name(context) if self.event_name is not None else None
            record = request_record(
                facts,
                event_source=self.event_source,
                event_name=name or default_name,
                identity=identity,
                networks=self.networks,
                account_id=self.account_id,
                region=self.region,
            )
            self.client.put(record, block=False)
        except Exception:
            log.exception("opentrail middleware: could not record %s %s", facts.method, facts.path)
