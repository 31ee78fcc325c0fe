"""Running the SQLite event store's indexer process: start it, notice when it dies, restart it.

The indexer (:mod:`.sqlite_indexer`) is a child process, ``python -m opentrail.store.sqlite_indexer``,
talking to the store over a socket pair. When it dies -- a crash, the OOM killer, ``kill -9`` -- the
store's end of the pipe reads end-of-file. The supervisor then reaps the process, logs how it
ended, waits a backoff and starts a new one, which resumes after the last log row committed to the
events database (the applied position is committed with the rows, so a row cut short by the kill is
applied again from the start, never twice). Appends meanwhile go on: they are durable in the log.

An indexer that keeps dying (a corrupt ``events.sqlite3``) is restarted at most
:attr:`RestartPolicy.max_restarts` times within :attr:`RestartPolicy.window_s`; the next death stops
the restarts and the store reports :class:`IndexerFailedError` to everything that needs the index.
A full disk is not such a death: a running indexer waits for space itself (it reports ``full``),
and a start that failed for lack of space is retried with the backoff, never counted towards the
give-up.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

#: The folder holding the ``opentrail`` package, so the indexer imports this very copy.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
#: Seconds a dead indexer may take to be reaped before it is killed.
_REAP_TIMEOUT_S = 10.0


class IndexerFailedError(RuntimeError):
    """The indexer process stopped and is not restarted (its message says why): the store keeps
    taking appends into its durable log, but nothing is indexed until it is opened again.
    ``disk_full`` is True when it stopped because the disk was full."""

    disk_full: bool = False


class IndexerUnavailableError(IndexerFailedError):
    """An indexer restart took longer than the store waits (``visible_timeout_s``): the batch is
    durable in the log and will be indexed once the indexer runs again."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When to restart a dead indexer: at most ``max_restarts`` within ``window_s`` seconds (the
    next death within the window gives up), after a backoff of ``first_backoff_s`` doubling with
    each recent death up to ``max_backoff_s``."""

    max_restarts: int = 5
    window_s: float = 60.0
    first_backoff_s: float = 0.1
    max_backoff_s: float = 5.0

    def backoff_s(self, recent_deaths: int) -> float:
        """Seconds to wait before the next start, ``recent_deaths`` (>= 1) counting this one."""
        return min(self.max_backoff_s, self.first_backoff_s * 2 ** max(0, recent_deaths - 1))


def describe_exit(returncode: int | None) -> str:
    """How a process ended, for the log: ``"was killed by SIGKILL"``, ``"exited with status 1"``."""
    if returncode is None:
        return "closed its pipe"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def start_indexer(args: list[str]) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m opentrail.store.sqlite_indexer ARGS... FD`` with one end of a socket pair.

    A fresh interpreter (not fork: this process has threads; not multiprocessing's spawn, which
    would re-import the caller's main module)."""
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "opentrail.store.sqlite_indexer", *args, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))},
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, Connection(ours.detach())


class IndexerSupervisor:
    """Owns the indexer process and its pipe; restarts the process when it dies.

    ``on_message(msg)`` gets every message but ``started``, ``ready`` and ``failed`` (see
    :mod:`.sqlite_indexer`), on the supervisor's thread. ``on_restarted(ready)`` runs once a
    restarted indexer has applied the log backlog; ``on_gave_up(message)`` once restarts stop.
    ``clock`` is monotonic seconds."""

    def __init__(
        self,
        args: list[str],
        policy: RestartPolicy,
        *,
        on_message: Callable[[tuple[Any, ...]], None],
        on_restarted: Callable[[tuple[Any, ...]], None],
        on_gave_up: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._args = args
        self._policy = policy
        self._on_message = on_message
        self._on_restarted = on_restarted
        self._on_gave_up = on_gave_up
        self._clock = clock
        self._pipe_lock = threading.Lock()
        self._restart_lock = threading.Lock()
        self._closing = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None
        self._thread: threading.Thread | None = None
        self._deaths: list[float] = []
        self._last_error: str | None = None
        self._last_error_full = False
        self._full_starts = 0
        #: Restarts so far (every new process after the first).
        self.restarts = 0
        #: Monotonic time the running indexer died, None while one runs.
        self.down_since: float | None = None

    @property
    def pid(self) -> int | None:
        """The indexer's process id (None before the first start)."""
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> tuple[Any, ...]:
        """Start the indexer, wait until it has applied the log backlog, then watch it from a
        thread. Returns its ``ready`` message; raises :class:`IndexerFailedError` if it ends first."""
        self._spawn()
        assert self._pipe is not None
        ready = self._pump(self._pipe, until_ready=True)
        if ready is None:
            status = self._reap()
            detail = f": {self._last_error}" if self._last_error else ""
            error = IndexerFailedError(f"the indexer process {status} while starting{detail}")
            error.disk_full = self._last_error_full
            raise error
        self._thread = threading.Thread(target=self._run, name="opentrail-indexer-supervisor", daemon=True)
        self._thread.start()
        return ready

    def send(self, msg: tuple[Any, ...]) -> bool:
        """Send ``msg`` to the running indexer; False when there is none (a restart resends what
        must not be lost)."""
        with self._pipe_lock:
            if self._pipe is None:
                return False
            try:
                self._pipe.send(msg)
            except (OSError, ValueError):
                return False
            return True

    def stop(self) -> None:
        """Ask the indexer to apply the whole log and exit; wait for it. No restart after this."""
        self._closing.set()
        with self._restart_lock:  # not in the middle of a restart
            process, pipe = self._process, self._pipe
            self.send(("stop",))
        if process is not None:
            process.wait()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if pipe is not None:
            pipe.close()

    # -- the supervisor thread --------------------------------------------------------------------
    def _spawn(self) -> None:
        process, pipe = start_indexer(self._args)
        with self._pipe_lock:
            old = self._pipe
            self._process, self._pipe = process, pipe
        if old is not None:
            old.close()

    def _pump(self, pipe: Connection, *, until_ready: bool) -> tuple[Any, ...] | None:
        """Hand the indexer's messages on until its pipe ends (None) or, with ``until_ready``, until
        its ``ready`` message (returned)."""
        while True:
            try:
                msg = pipe.recv()
            except (EOFError, OSError):
                return None
            kind = msg[0]
            if kind == "started":
                self.down_since = None
            elif kind == "failed":
                self._last_error = msg[1]
                self._last_error_full = len(msg) > 2 and bool(msg[2])
            elif kind == "ready":
                if until_ready:
                    return msg
            else:
                self._on_message(msg)

    def _run(self) -> None:
        while True:
            pipe = self._pipe
            assert pipe is not None
            self._pump(pipe, until_ready=False)
            if not self._restart():
                return

    def _reap(self) -> str:
        process = self._process
        if process is None:
            return "could not be started"
        try:
            process.wait(timeout=_REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:  # the pipe ended but the process hangs on: end it
            process.kill()
            process.wait()
        return describe_exit(process.returncode)

    def _restart(self) -> bool:
        """Restart the dead indexer (with backoff) until one reaches ``ready``; False when closing
        or when restarts stop."""
        with self._restart_lock:
            while True:
                pid = self.pid
                status = self._reap()
                if self._closing.is_set():
                    return False
                now = self._clock()
                if self.down_since is None:
                    self.down_since = now
                what = f"the event store's indexer process (pid {pid}) {status}"
                if self._last_error:
                    what += f" after: {self._last_error}"
                if self._last_error_full:  # waiting for space is not a failure: never give up on it
                    self._full_starts += 1
                    self._on_message(("full", self._last_error))
                    delay = self._policy.backoff_s(self._full_starts)
                    self.restarts += 1
                    log.warning("%s; the disk is full, starting it again in %.2f s", what, delay)
                    if self._closing.wait(delay):
                        return False
                    if self._start_again():
                        return True
                    continue
                self._full_starts = 0
                self._deaths = [t for t in self._deaths if now - t < self._policy.window_s] + [now]
                if len(self._deaths) > self._policy.max_restarts:
                    message = (
                        f"{what}; it ended {len(self._deaths)} times within {self._policy.window_s:g} s,"
                        " so it is not restarted. Appends are still durable in the event log and are"
                        " indexed when the store is opened again."
                    )
                    log.error("%s", message)
                    self._on_gave_up(message)
                    return False
                delay = self._policy.backoff_s(len(self._deaths))
                self.restarts += 1
                log.warning("%s; restarting it in %.2f s (restart %d)", what, delay, self.restarts)
                if self._closing.wait(delay):
                    return False
                if self._start_again():
                    return True

    def _start_again(self) -> bool:
        """Start a new indexer and wait for its ``ready``; True once it runs (``on_restarted`` done),
        False when it could not start or ended first (``_last_error`` says why)."""
        self._last_error = None
        self._last_error_full = False
        try:
            self._spawn()
        except OSError as exc:
            log.error("could not start the indexer process: %s", exc)
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._last_error_full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            return False
        assert self._pipe is not None
        ready = self._pump(self._pipe, until_ready=True)
        if ready is None:
            return False
        log.warning("the event store's indexer process is running again (pid %s)", self.pid)
        self._full_starts = 0
        self._on_restarted(ready)
        return True
