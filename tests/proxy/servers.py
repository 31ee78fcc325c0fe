"""What the proxy tests run: moto's server and ``opentrail serve`` as processes, the proxy in a
uvicorn thread of the test process (so tests can flush its pipeline and read its records)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from opentrail.proxy.runner import Proxy, ProxyOptions, build_proxy
from tests.delivery.servers import Moto, Process, free_port
from tests.serving import QuickServer

__all__ = ["Moto", "Opentrail", "Process", "RunningProxy", "Tee", "free_port"]

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILPROXY01"
SECRET = "proxy/proxy/proxy/proxy/proxy/proxy/abcd"
REGION = "us-east-1"


class Opentrail(Process):
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID, "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}
        super().__init__([sys.executable, "-m", "opentrail.cli", "serve", "--port", str(self.port), "--data-dir",
                          str(data_dir), "--event-history-retention-days", "0"],
                         self.url + "/_opentrail/health", data_dir.parent / f"server-{self.port}.log", env)

    def cloudtrail(self) -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=REGION, aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


class Tee:
    """Wraps the proxy's EventClient: keeps a copy of every record put."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.records: list[dict[str, Any]] = []

    def put(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self.inner.put(record)

    def flush(self, timeout_s: float | None = None) -> bool:
        return bool(self.inner.flush(timeout_s))

    def close(self, timeout_s: float | None = None) -> None:
        self.inner.close(timeout_s)

    def stats(self) -> dict[str, int]:
        return dict(self.inner.stats())


class RunningProxy:
    """The proxy on a free port in a uvicorn thread."""

    def __init__(self, options: ProxyOptions, **client_options: Any) -> None:
        self.proxy: Proxy = build_proxy(options, **client_options)
        self.tee = Tee(self.proxy.pipeline._events)
        self.proxy.pipeline._events = self.tee
        self.url = f"http://{options.host}:{options.port}"
        config = uvicorn.Config(self.proxy.app, host=options.host, port=options.port, log_level="warning",
                                access_log=False, proxy_headers=False, server_header=False, date_header=False,
                                lifespan="on")
        self.server = QuickServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise AssertionError("proxy did not start")
            time.sleep(0.01)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.tee.records

    def settle(self, calls: int | None = None, timeout_s: float = 20.0) -> None:
        """``calls`` calls (default: every call so far) captured, built into records and put. The
        proxy hands a call over after its last response byte, so a client may see the answer first."""
        deadline = time.monotonic() + timeout_s
        while calls is not None and self.proxy.pipeline.stats()["captured"] < calls:
            assert time.monotonic() < deadline, "calls were not captured"
            time.sleep(0.01)
        assert self.proxy.pipeline.drain(timeout_s)

    def stop(self, close_timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.proxy.close(close_timeout_s)
