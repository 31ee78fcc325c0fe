"""Staged writes: a service's changes held back until the call that made them is recorded.

A service that keeps state (trails, event data stores) routes every write through
:meth:`Staging.apply`. Outside a staged block the write runs at once, under the service's lock.
Inside :meth:`Staging.changes` (entered by the API for a state-changing call, see
:mod:`opentrail.api.calls`) the lock is held for the whole block and the writes made by this
thread are kept, in order, until the block's ``commit`` runs them; leaving the block without
calling it discards them, and nothing was written. Other threads wait for the lock meanwhile, so
what the operation checked (names, limits) still holds when ``commit`` runs.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator


class Staging:
    """The staged writes of one service, guarded by ``lock`` (the service's re-entrant lock)."""

    def __init__(self, lock: ContextManager[object]) -> None:
        self._lock = lock
        self._local = threading.local()

    @contextmanager
    def changes(self) -> Iterator[Callable[[], None]]:
        """Hold the lock for the block and stage this thread's writes; yields ``commit``."""
        with self._lock:
            staged: list[Callable[[], None]] = []
            previous = getattr(self._local, "changes", None)
            self._local.changes = staged

            def commit() -> None:
                self._local.changes = previous
                while staged:
                    staged.pop(0)()

            try:
                yield commit
            finally:
                self._local.changes = previous

    def apply(self, change: Callable[[], None]) -> None:
        """Run ``change`` now (under the lock), or stage it when this thread is inside
        :meth:`changes`."""
        staged = getattr(self._local, "changes", None)
        if staged is None:
            with self._lock:
                change()
        else:
            staged.append(change)
