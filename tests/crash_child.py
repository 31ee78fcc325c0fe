"""Crash tests' child processes: run a script, SIGKILL it (with its process group) after a number
of its rounds of work, counted from the lines it prints that start with ``step``, so the kill lands
mid-work however fast or loaded the machine is."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_child(script: str, args: list[str], kill_after: int | None, *, env: dict[str, str] | None = None,
              timeout_s: float = 300) -> str:
    """What ``python -c script args...`` printed: run to the end (``kill_after`` None; it must exit 0)
    or killed after ``kill_after`` ``step`` lines (or when it printed ``done`` first)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})
    if kill_after is None:
        out, err = proc.communicate(timeout=timeout_s)
        assert proc.returncode == 0, err
        return out
    assert proc.stdout is not None
    seen = [proc.stdout.readline()]
    while kill_after > 0 and seen[-1] and "done" not in seen[-1]:
        seen.append(proc.stdout.readline())
        kill_after -= seen[-1].startswith("step")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and the event store's indexer
    out, _ = proc.communicate(timeout=30)
    return "".join(seen) + out
