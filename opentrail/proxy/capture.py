"""What the forwarding layer observed of one call, handed to the record builder.

Bodies are kept only up to :data:`MAX_CAPTURE_BYTES` (enough for every JSON/query/XML API request
and answer worth recording); a larger body is streamed through unseen and ``request_body`` /
``response_body`` is None, while the byte counts stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Largest request or response body kept for requestParameters/responseElements, in bytes.
MAX_CAPTURE_BYTES = 1 << 20


@dataclass(slots=True)
class CapturedCall:
    """One proxied call.

    ``path`` and ``query_string`` are as received (percent-encoded); header names are lower-case;
    ``event_time`` is epoch seconds when the request arrived; ``bytes_in``/``bytes_out`` count the
    body bytes as they crossed the proxy; ``status`` is 502/504 with ``upstream_error`` set when the
    upstream could not be reached (the proxy then answered itself).
    """

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    source_ip: str
    event_time: float
    request_body: bytes | None = b""
    bytes_in: int = 0
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = b""
    bytes_out: int = 0
    upstream_error: str | None = None

    def header(self, name: str) -> str | None:
        """The first request header ``name`` (lower-case), or None."""
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def response_header(self, name: str) -> str | None:
        """The first response header ``name`` (lower-case), or None."""
        for k, v in self.response_headers:
            if k == name:
                return v
        return None
