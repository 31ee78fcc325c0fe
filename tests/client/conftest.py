"""A real opentrail server for the SDK tests that can be stopped and started again on the same port
(same event store), to play an outage."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import uvicorn
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import QuickServer, free_port

ACCOUNT = "111122223333"
REGION = "us-east-1"


class OpentrailServer:
    """``start()``/``stop()`` a uvicorn server in a thread over one store and one account database."""

    def __init__(self, data_dir: Path, settings: Settings | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.accounts = AccountStore(data_dir / "accounts.db")
        self.key: AccessKey = self.accounts.create_access_key(ACCOUNT)
        self.store = MemoryEventStore()
        self.settings = settings or Settings()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: QuickServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = build_app(settings=self.settings, store=self.store, accounts=self.accounts, clock=time.time)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = QuickServer(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def close(self) -> None:
        self.stop()
        self.store.close()
        self.accounts.close()

    def cloudtrail(self) -> Any:
        return boto3.client(
            "cloudtrail",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.key.access_key_id,
            aws_secret_access_key=self.key.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def lookup_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every LookupEvents result (all pages) for ``kwargs``."""
        client = self.cloudtrail()
        out: list[dict[str, Any]] = []
        for page in client.get_paginator("lookup_events").paginate(**kwargs):
            out.extend(page["Events"])
        return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OpentrailServer]:
    srv = OpentrailServer(tmp_path / "server")
    srv.start()
    try:
        yield srv
    finally:
        srv.close()


def make_client(srv: OpentrailServer, **kwargs: Any) -> Any:
    """An EventClient for ``srv`` with fast retries and no atexit hook (tests close it)."""
    from opentrail.client import EventClient

    kwargs.setdefault("retry_base_s", 0.05)
    kwargs.setdefault("retry_max_backoff_s", 0.3)
    kwargs.setdefault("flush_interval_s", 0.05)
    kwargs.setdefault("close_at_exit", False)
    return EventClient(srv.url, srv.key.access_key_id, srv.key.secret_access_key, **kwargs)


class ThreadedUvicorn:
    """An ASGI app served by uvicorn on a free port in a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="off")
        self.server = QuickServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadedUvicorn":
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("app server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ThreadedWsgiref:
    """A WSGI app served by wsgiref's simple_server (one thread per request) on a free port."""

    def __init__(self, app: Any) -> None:
        import socketserver
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Threaded(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        self.httpd = make_server("127.0.0.1", 0, app, server_class=Threaded, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "ThreadedWsgiref":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
