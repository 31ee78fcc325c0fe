"""Processes the delivery end-to-end tests run: ``opentrail serve`` and moto's server (S3, SNS, SQS)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT = "111122223333"
KEY_ID = "AKIAOPENTRAILTEST001"
SECRET = "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcde"
#: Credentials the server's boto3 (S3, SNS) and the tests' moto clients use.
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
