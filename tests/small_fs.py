"""A small filesystem that fills up for real: a tmpfs mounted for one test (needs root; tests
using it are skipped where mounting is not permitted)."""

from __future__ import annotations

import errno
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


@contextmanager
def small_filesystem(path: Path, size: str = "4m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on ``path`` (created) for the block; unmounted afterwards.
    Skips the test when ``mount`` is missing or not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        # lazy: a process that still has a file open there must not leave the mount behind
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a ballast file in ``directory`` until its filesystem is full; returns it (delete it
    to free the space)."""
    ballast = directory / "ballast"
    chunk = b"\0" * 65536
    with open(ballast, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    return ballast
