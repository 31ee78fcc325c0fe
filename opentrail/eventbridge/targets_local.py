"""opentrail's own targets, for sites without SQS, SNS or webhooks (not AWS targets), within the
operator's limits (:mod:`.local_targets`: ``--file-targets-dir``, ``--command-targets-dir``):

- ``arn:opentrail:file:::<path>``: each event is appended to the file (inside the file targets
  folder) as one line (the target's input; an input with a line break is written as a JSON string so
  it stays one line), then the file is fsync'd. The file and its folders are created if missing; a
  symbolic link as the file itself is refused (``O_NOFOLLOW``).
- ``arn:opentrail:command:::<program> [arguments]``: the program (inside the command targets folder;
  words split as a shell would, without running a shell) runs with the input on its standard input;
  exit status 0 = delivered, another status is retried (``ERROR_FROM_TARGET``), running past the
  timeout kills it and is retried (``TIMEOUT``), a program that cannot be started is not
  (``NO_RESOURCE``).

A target outside the limits is not invoked (``NO_PERMISSIONS``, not retried).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import orjson

from .bus_state import Delivery
from .local_targets import LocalTargetPolicy, LocalTargetRefused
from .targets import DELIVERED, Outcome, failed


class FileTargets:
    """Appends to ``arn:opentrail:file:::`` paths (one lock per path across threads)."""

    def __init__(self, policy: LocalTargetPolicy) -> None:
        self._policy = policy
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def send(self, delivery: Delivery) -> Outcome:
        try:
            path = self._policy.file_path(delivery.target.arn)
        except LocalTargetRefused as exc:
            return failed("NO_PERMISSIONS", str(exc), invoked=False)
        line = delivery.payload
        if b"\n" in line or b"\r" in line:
            line = orjson.dumps(line.decode("utf-8", "replace"))
        with self._guard:
            lock = self._locks.setdefault(path, threading.Lock())
        try:
            with lock:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
                try:
                    os.write(fd, line + b"\n")
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except PermissionError as exc:
            return failed("NO_PERMISSIONS", f"{path}: {exc.strerror}")
        except OSError as exc:
            return failed("ERROR_FROM_TARGET", f"{path}: {exc.strerror or exc}", retryable=True)
        return DELIVERED


#: The environment a command target runs in: a search path, not the server's secrets.
COMMAND_ENV = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8"}


class CommandTargets:
    """Runs ``arn:opentrail:command:::`` programs, each for at most ``timeout_s`` seconds."""

    def __init__(self, policy: LocalTargetPolicy, timeout_s: float = 5.0) -> None:
        self._policy = policy
        self._timeout_s = timeout_s

    def send(self, delivery: Delivery) -> Outcome:
        try:
            argv = self._policy.command_argv(delivery.target.arn)
        except LocalTargetRefused as exc:
            return failed("NO_PERMISSIONS", str(exc), invoked=False)
        try:
            done = subprocess.run(argv, input=delivery.payload, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=self._timeout_s, check=False, env=COMMAND_ENV)
        except subprocess.TimeoutExpired:
            return failed("TIMEOUT", f"{argv[0]} ran longer than {self._timeout_s:g} s", retryable=True)
        except OSError as exc:
            return failed("NO_RESOURCE", f"{argv[0]}: {exc.strerror or exc}", invoked=False)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if done.stderr else []
            detail = f": {tail[0][:200]}" if tail else ""
            return failed("ERROR_FROM_TARGET", f"{argv[0]} exited with status {done.returncode}{detail}",
                          retryable=True)
        return DELIVERED
