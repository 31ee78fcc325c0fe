"""WSGI audit middleware: one CloudTrail record per HTTP request (PEP 3333).

    from opentrail.middleware.wsgi import AuditMiddleware
    app.wsgi_app = AuditMiddleware(app.wsgi_app, client, event_source="myapp.example.com",
                                   account_id="123456789012",
                                   identity=lambda environ: {"userName": environ.get("REMOTE_USER")})

The response iterable passes through unbuffered (streaming bodies stream); the record is put
when the server closes the iterable (after the last chunk was sent), or when the application
raises. ``put(block=False)``: never waits for opentrail. Errors while recording are logged and
swallowed. The record's contents: :mod:`opentrail.middleware.common`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator

from .common import Recorder, RequestFacts

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def default_event_name(environ: Environ) -> str:
    """The HTTP method (WSGI has no route information)."""
    return str(environ.get("REQUEST_METHOD", "GET"))


class AuditMiddleware:
    """Record every request that ``include(environ)`` accepts (all by default). Arguments as
    :class:`opentrail.middleware.asgi.AuditMiddleware`, with the WSGI environ in place of the
    ASGI scope."""

    def __init__(
        self,
        app: WSGIApp,
        client: Any,
        *,
        event_source: str,
        identity: Callable[[Environ], dict[str, Any] | None] | None = None,
        event_name: Callable[[Environ], str | None] | None = None,
        include: Callable[[Environ], bool] | None = None,
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

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not self.recorder.wanted(environ):
            return self.app(environ, start_response)
        facts = _facts(environ, self.clock())

        def start_wrapper(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                facts.status = int(status.split(" ", 1)[0])
            except ValueError:
                facts.status = 500
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            body = self.app(environ, start_wrapper)
        except BaseException:
            facts.failed = True
            self.recorder.record(facts, environ, default_event_name(environ))
            raise
        return _Body(body, facts, lambda: self.recorder.record(facts, environ, default_event_name(environ)))


class _Body:
    """The application's iterable, counting bytes; records once when closed (or on an error)."""

    def __init__(self, body: Iterable[bytes], facts: RequestFacts, record: Callable[[], None]) -> None:
        self._body = body
        self._facts = facts
        self._record = record
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._body:
                self._facts.bytes_out += len(chunk)
                yield chunk
        except BaseException:
            self._facts.failed = True
            if self._facts.bytes_out == 0:
                self._facts.status = 500
            self._finish()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._record()


def _facts(environ: Environ, now: float) -> RequestFacts:
    return RequestFacts(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=_path(environ),
        query_string=str(environ.get("QUERY_STRING", "")),
        peer=environ.get("REMOTE_ADDR") or None,
        forwarded_for=environ.get("HTTP_X_FORWARDED_FOR"),
        user_agent=str(environ.get("HTTP_USER_AGENT", "")),
        started=now,
    )


def _path(environ: Environ) -> str:
    """SCRIPT_NAME + PATH_INFO, decoded from WSGI's latin-1 strings back to UTF-8."""
    raw = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw or "/"
