"""Processes the delivery end-to-end tests run: ``opentrail serve`` and moto's server (S3, SNS, SQS),
and :class:`HangingEndpoint`, a destination that accepts connections but never answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.serving import free_port

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILTEST001"
SECRET = "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcde"
#: Credentials the server's boto3 (S3, SNS) and the tests' moto clients use.
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer: {log.read_text()}")


class Process:
    def __init__(self, args: list[str], url: str, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._log_file = log.open("a")
        self.proc = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     env={**os.environ, **env})
        _wait_http(url, self.proc, log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self._log_file.close()


class Moto(Process):
    def __init__(self, tmp: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "moto.server", "-p", str(self.port)], self.url + "/moto-api/",
                         tmp / f"moto-{self.port}.log", MOTO_ENV)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")


class Opentrail(Process):
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**MOTO_ENV, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
               "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}
        super().__init__([sys.executable, "-m", "opentrail.cli", "serve", "--port", str(self.port), "--data-dir",
                          str(data_dir), "--event-history-retention-days", "0", *extra],
                         self.url + "/_opentrail/health", data_dir.parent / f"server-{self.port}.log", env)

    def cloudtrail(self) -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def wait_for(fn: Any, timeout: float = 15.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class HangingEndpoint:
    """A TCP server on 127.0.0.1 (``url``). While hanging it accepts connections, reads what they
    send and never answers; otherwise it pipes every new connection to ``upstream_port`` (moto).
    Switching closes the connections of the other mode. ``held`` counts connections left hanging."""

    def __init__(self, upstream_port: int, *, hanging: bool = False) -> None:
        self._upstream_port = upstream_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port = int(self._server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._hanging = hanging
        self._open: list[socket.socket] = []
        self.held = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def hang(self) -> None:
        self._switch(True)

    def answer(self) -> None:
        self._switch(False)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()
        self._switch(self._hanging)

    def _switch(self, hanging: bool) -> None:
        with self._lock:
            self._hanging = hanging
            conns, self._open = self._open, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                hanging = self._hanging
                self._open.append(conn)
                if hanging:
                    self.held += 1
            if hanging:
                threading.Thread(target=self._pump, args=(conn, None), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self._upstream_port), timeout=5)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.append(upstream)
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket | None) -> None:
        """Copy ``src`` to ``dst`` until either closes (``dst`` None: read and drop)."""
        try:
            while chunk := src.recv(65536):
                if dst is not None:
                    dst.sendall(chunk)
        except OSError:
            pass
        finally:
            if dst is not None:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
