"""`opentrail serve` refuses to start with one line and exit status 1, before any banner: too little
free space, a data directory another server holds, a port in use (the real CLI, as a process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.delivery.servers import Opentrail, free_port
from tests.small_fs import small_filesystem


def serve(data_dir: Path, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opentrail.cli", "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENTRAIL_")},
    )


def test_too_little_free_space_is_one_line(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "data", "1m") as data_dir:
        out = serve(data_dir, free_port())  # default --min-free-bytes: 64 MiB
        assert (out.returncode, out.stdout) == (1, "")
        assert out.stderr == (
            f"Error: the data directory {data_dir} has 1048576 bytes free on {data_dir}, less than --min-free-bytes"
            " 67108864: free space there (or lower --min-free-bytes)\n"
        )
        assert os.listdir(data_dir) == []  # nothing was created


def test_second_server_on_the_same_data_directory_names_the_first(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Opentrail(data_dir)
    try:
        out = serve(data_dir, free_port())
        assert (out.returncode, out.stdout) == (1, "")
        assert out.stderr == (
            f"Error: the data directory {data_dir} is in use by another process (pid {first.proc.pid}, opentrail"
            f" serving {first.url}); stop it or choose another --data-dir\n"
        )
        assert first.cloudtrail().describe_trails()["trailList"] == []  # the first one is untouched
    finally:
        first.stop()


def test_port_in_use_is_one_line_and_no_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = serve(tmp_path / "data", port)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == f"Error: port {port} is in use: Address already in use; choose another with --port\n"
    # the data directory is free again: a server starts on it at once
    server = Opentrail(tmp_path / "data")
    server.stop()


def test_startup_heap_is_frozen_and_young_collections_are_rarer() -> None:
    """What `opentrail serve` does before it serves (a fresh interpreter: the collector is global)."""
    code = ("import gc; from opentrail.server import freeze_startup_heap; freeze_startup_heap(); "
            "print(gc.get_threshold(), gc.get_freeze_count() > 10_000, gc.get_count()[0] < 100)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == "(20000, 50, 100) True True\n"
