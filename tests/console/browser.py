"""`opentrail serve` as a process, seeded with real records, and Debian's chromium via Playwright.

Chromium is the system one (``/usr/bin/chromium``, installed by scripts/test.sh); Playwright never
downloads a browser here. Screenshots go to ``artifacts/console/`` (git-ignored).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator

import boto3
from botocore.config import Config

from tests.paths import INVICTUS  # the console tests' dataset, imported from here
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
#: The account of the invictus-ir records; the seeded console user signs in to it.
ACCOUNT = "123837392027"
KEY_ID = "AKIACONSOLETEST00001"
SECRET = "console/test/secret/0123456789abcdefghij"
SCREENSHOTS = ROOT / "artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def browser_page(base_url: str, **context_options: Any) -> Iterator[Any]:
    """A Playwright page in Debian's chromium (headless, 1366x768, 30 s timeouts) whose relative
    URLs go to ``base_url``; ``context_options`` go to ``new_context`` (``accept_downloads``...)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1366, "height": 768}, base_url=base_url, **context_options)
        context.set_default_timeout(30_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            chromium.close()


def client(served: "Served", service: str) -> Any:
    """A boto3 client of ``service`` on ``served`` with the seeded key, no retries."""
    return boto3.client(service, endpoint_url=served.url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def opentrail(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the opentrail CLI; its output, or AssertionError with it when it fails."""
    proc = subprocess.run([sys.executable, "-m", "opentrail.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


class Served:
    """``opentrail serve`` on a free port over ``data_dir``; the key pair above is seeded;
    ``extra_args`` are more ``serve`` options."""

    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / "serve.log"
        self._log_file = self.log.open("w")
        env = {**os.environ, "OPENTRAIL_ACCOUNT_ID": ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": KEY_ID,
               "OPENTRAIL_SECRET_ACCESS_KEY": SECRET}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             "--event-history-retention-days", "0", "--delivery-interval-s", "0.3", "--log-level", "warning", *extra_args],
            stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(self.url + "/_opentrail/health", timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)

    def cloudtrail(self, region: str = "us-east-1") -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=region, aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def lookup_all(self, region: str = "us-east-1", **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.cloudtrail(region).get_paginator("lookup_events").paginate(**params):
            out += page["Events"]
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self._log_file.close()
