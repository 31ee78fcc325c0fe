"""npm packages for tests that run a JavaScript client: installed once per version into a cache folder;
and :func:`run_js_v3`, how those tests make calls through a client of the AWS SDK for JavaScript v3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/opentrail-tests`` (default ``~/.cache/opentrail-tests``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opentrail-tests"


def require_node() -> tuple[str, str]:
    """The paths of ``node`` and ``npm``; skips the test when either is not on PATH."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the JavaScript SDK test")
    return node, npm


def npm_package(name: str, version: str) -> Path:
    """The ``node_modules`` folder holding ``name@version`` (and its dependencies), installed with
    ``npm install`` into ``<cache_root>/npm/<name>@<version>`` the first time. The install goes to a
    temporary folder renamed into place, so an interrupted or concurrent install never leaves a half
    folder. Skips when node/npm are absent; raises RuntimeError (with npm's output) when npm fails."""
    _, npm = require_node()
    folder = cache_root() / "npm" / f"{name.replace('/', '+')}@{version}"
    modules = folder / "node_modules"
    if (modules / name / "package.json").is_file():
        return modules
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=folder.parent))
    try:
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
                               "--prefix", str(staging), f"{name}@{version}"],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm install {name}@{version} failed ({done.returncode}): {done.stderr.strip()}")
        try:
            staging.rename(folder)
        except OSError:  # another process installed it meanwhile
            if not (modules / name / "package.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return modules


#: The one script the JavaScript SDK tests run (any v3 client, chosen by package and class name).
JS_V3_RUNNER = Path(__file__).with_name("js_v3_runner.cjs")


def run_js_v3(package: str, version: str, client_class: str, *, endpoint: str, region: str, key_id: str,
              secret: str, calls: list[tuple[str, dict[str, Any]]],
              session_token: str | None = None) -> list[tuple[str, Any]]:
    """``calls`` ((Operation, input) each) made in order by ``client_class`` of the npm package
    ``package@version`` (:func:`npm_package`) against ``endpoint``, signed with the key (and
    ``session_token`` for STS session credentials); returns
    (Operation, output without ``$metadata``) per call, or (Operation, ``{"error": {"name",
    "message", "status"}}``) for a call the server refused. Fails the test when node fails; skips
    without node/npm."""
    node, _ = require_node()
    modules = npm_package(package, version)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "NODE_PATH": str(modules),
           "OT_SDK": package, "OT_CLIENT": client_class, "OT_ENDPOINT": endpoint, "OT_REGION": region,
           "OT_KEY_ID": key_id, "OT_SECRET": secret, "OT_CALLS": json.dumps(calls)}
    if session_token is not None:
        env["OT_SESSION_TOKEN"] = session_token
    done = subprocess.run([node, str(JS_V3_RUNNER)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [(str(op), answer) for op, answer in json.loads(done.stdout)]
